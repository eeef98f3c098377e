/**
 * The `user_mfa` and `user_recovery_codes` tables (second factor of local accounts). The sealed
 * secret leaves this module only through `findMfa`, which the code check and enrolment use;
 * recovery codes are stored and looked up by their sha256 hex only.
 *
 * Inside a transaction pass `trx` as `q` (SQLite has one connection).
 */
import type { Knex } from 'knex';

type Q = Knex | Knex.Transaction;

export interface MfaRow {
  userId: string;
  /** The sealed secret (see src/auth/totp.ts). */
  sealedSecret: string;
  createdAt: number;
  confirmedAt: number | null;
  lastStep: number | null;
}

interface Row {
  user_id: string;
  secret: string;
  created_at: number | string;
  confirmed_at: number | string | null;
  last_step: number | string | null;
}

const num = (v: number | string | null) => (v === null ? null : Number(v));

export async function findMfa(q: Q, userId: string): Promise<MfaRow | undefined> {
  const row = (await q('user_mfa').where({ user_id: userId }).first()) as Row | undefined;
  if (!row) return undefined;
  return {
    userId: row.user_id,
    sealedSecret: row.secret,
    createdAt: Number(row.created_at),
    confirmedAt: num(row.confirmed_at),
    lastStep: num(row.last_step),
  };
}

/** True when the user has a confirmed factor. */
export async function hasConfirmedMfa(q: Q, userId: string): Promise<boolean> {
  const row = (await q('user_mfa').where({ user_id: userId }).whereNotNull('confirmed_at').first('user_id')) as
    { user_id: string } | undefined;
  return row !== undefined;
}

/**
 * Stores a pending (unconfirmed) secret, replacing an earlier pending one. Returns false, and
 * changes nothing, when the user has a confirmed factor already.
 */
export async function putPendingMfa(
  q: Q,
  entry: { userId: string; sealedSecret: string; at: number },
): Promise<boolean> {
  const existing = await findMfa(q, entry.userId);
  if (existing?.confirmedAt != null) return false;
  if (existing) {
    const changed = await q('user_mfa')
      .where({ user_id: entry.userId })
      .whereNull('confirmed_at')
      .update({ secret: entry.sealedSecret, created_at: entry.at, last_step: null });
    return Number(changed) === 1;
  }
  await q('user_mfa').insert({ user_id: entry.userId, secret: entry.sealedSecret, created_at: entry.at });
  return true;
}

/**
 * Records that a code of `step` was accepted, only if no code of this step or a later one was
 * accepted before (one conditional UPDATE: two requests with the same code cannot both win).
 * `confirmAt` also confirms a pending factor. Returns whether this call won.
 */
export async function claimStep(q: Q, entry: { userId: string; step: number; confirmAt?: number }): Promise<boolean> {
  let builder = q('user_mfa')
    .where({ user_id: entry.userId })
    .where((w) => w.whereNull('last_step').orWhere('last_step', '<', entry.step));
  builder = entry.confirmAt === undefined ? builder.whereNotNull('confirmed_at') : builder.whereNull('confirmed_at');
  const changed = await builder.update({
    last_step: entry.step,
    ...(entry.confirmAt === undefined ? {} : { confirmed_at: entry.confirmAt }),
  });
  return Number(changed) === 1;
}

/** Replaces the user's recovery codes with these hashes. */
export async function replaceRecoveryCodes(q: Q, userId: string, codeHashes: readonly string[]): Promise<void> {
  await q('user_recovery_codes').where({ user_id: userId }).delete();
  await q('user_recovery_codes').insert(codeHashes.map((h) => ({ user_id: userId, code_hash: h })));
}

/** Marks an unused recovery code used; returns whether it was there and unused (single use under concurrency). */
export async function useRecoveryCode(q: Q, entry: { userId: string; codeHash: string; at: number }): Promise<boolean> {
  const changed = await q('user_recovery_codes')
    .where({ user_id: entry.userId, code_hash: entry.codeHash })
    .whereNull('used_at')
    .update({ used_at: entry.at });
  return Number(changed) === 1;
}

/** How many unused recovery codes the user has left. */
export async function countUnusedRecoveryCodes(q: Q, userId: string): Promise<number> {
  const row = (await q('user_recovery_codes')
    .where({ user_id: userId })
    .whereNull('used_at')
    .count({ n: '*' })
    .first()) as { n: number | string } | undefined;
  return Number(row?.n ?? 0);
}

/** Removes the factor and the recovery codes of a user; returns whether there was a factor. */
export async function deleteMfa(q: Q, userId: string): Promise<boolean> {
  await q('user_recovery_codes').where({ user_id: userId }).delete();
  return Number(await q('user_mfa').where({ user_id: userId }).delete()) > 0;
}
