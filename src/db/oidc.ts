/**
 * Rows of OpenID Connect sign-in: users provisioned by the provider (`users.oidc_subject`), the
 * provider's tokens of a session (`sessions.oidc_tokens`, sealed by the caller) and sign-in
 * flows under way (`oidc_flows`).
 *
 * Inside a transaction pass `trx` as `q` (SQLite has one connection).
 */
import type { Knex } from 'knex';
import type { Role } from '../domain/roles.js';
import { toUser } from './users.js';
import type { User, UserRow } from './users.js';

type Q = Knex | Knex.Transaction;

export async function findUserByOidcSubject(q: Q, subject: string): Promise<User | undefined> {
  const row = (await q('users').where({ oidc_subject: subject }).first()) as UserRow | undefined;
  return row && toUser(row);
}

/** Sets the role and queues of a user (provisioning at each sign-in and re-check). */
export async function setUserRole(q: Q, userId: string, role: Role, queues: readonly string[] | null): Promise<void> {
  await q('users')
    .where({ id: userId })
    .update({ role, queues: queues === null ? null : JSON.stringify(queues) });
}

/** Marks a user as provisioned by the provider under `subject`. */
export async function setUserOidcSubject(q: Q, userId: string, subject: string): Promise<void> {
  await q('users').where({ id: userId }).update({ oidc_subject: subject });
}

export interface OidcSessionState {
  /** Sealed tokens (see src/auth/oidc.ts); null for a session not signed in through the provider. */
  sealedTokens: string | null;
  checkedAt: number | null;
}

export async function findOidcSessionState(q: Q, idHash: string): Promise<OidcSessionState | undefined> {
  const row = (await q('sessions').where({ id_hash: idHash }).first('oidc_tokens', 'oidc_checked_at')) as
    { oidc_tokens: string | null; oidc_checked_at: number | string | null } | undefined;
  if (!row) return undefined;
  return {
    sealedTokens: row.oidc_tokens,
    checkedAt: row.oidc_checked_at === null ? null : Number(row.oidc_checked_at),
  };
}

export async function setOidcSessionState(q: Q, idHash: string, state: { sealedTokens: string; checkedAt: number }) {
  await q('sessions')
    .where({ id_hash: idHash })
    .update({ oidc_tokens: state.sealedTokens, oidc_checked_at: state.checkedAt });
}

export interface OidcFlow {
  state: string;
  nonce: string;
  codeVerifier: string;
  nextPath: string;
  expiresAt: number;
}

export async function insertOidcFlow(q: Q, idHash: string, flow: OidcFlow): Promise<void> {
  await q('oidc_flows').insert({
    id_hash: idHash,
    state: flow.state,
    nonce: flow.nonce,
    code_verifier: flow.codeVerifier,
    next_path: flow.nextPath,
    expires_at: flow.expiresAt,
  });
}

/** Takes (reads and deletes) a flow: each is used once. Undefined when missing; expiry is the caller's decision. */
export async function takeOidcFlow(q: Q, idHash: string): Promise<OidcFlow | undefined> {
  return q.transaction(async (trx) => {
    const row = (await trx('oidc_flows').where({ id_hash: idHash }).first()) as
      | { state: string; nonce: string; code_verifier: string; next_path: string; expires_at: number | string }
      | undefined;
    if (!row) return undefined;
    const deleted = await trx('oidc_flows').where({ id_hash: idHash }).delete();
    if (Number(deleted) !== 1) return undefined;
    return {
      state: row.state,
      nonce: row.nonce,
      codeVerifier: row.code_verifier,
      nextPath: row.next_path,
      expiresAt: Number(row.expires_at),
    };
  });
}

/** Deletes flows that expired at or before `now`. */
export async function deleteExpiredOidcFlows(q: Q, now: number): Promise<void> {
  await q('oidc_flows').where('expires_at', '<=', now).delete();
}
