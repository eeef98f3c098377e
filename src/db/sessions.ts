/**
 * The `sessions` table: server-side sessions keyed by the sha256 hex of the
 * random session id held in the cookie (the id itself is never stored).
 * `expires_at` is the earlier of the idle and the absolute deadline; it is
 * what cleanup deletes by. A session of a disabled user is never returned.
 *
 * Inside a transaction pass `trx` as `q` (SQLite has one connection).
 */
import type { Knex } from 'knex';
import type { Role } from '../domain/roles.js';
import { parseQueues } from './users.js';

type Q = Knex | Knex.Transaction;

/**
 * How far a session has come: `full` is signed in; `code` has passed the password and awaits
 * the second factor; `enrol` belongs to a user who needs a second factor and has none, and may
 * only enrol one. Only `full` sessions authenticate requests.
 */
export type SessionStage = 'full' | 'code' | 'enrol';

export interface SessionRow {
  id_hash: string;
  user_id: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
}

export async function insertSession(
  q: Q,
  session: { idHash: string; userId: string; createdAt: number; expiresAt: number; stage?: SessionStage },
): Promise<void> {
  await q('sessions').insert({
    stage: session.stage ?? 'full',
    id_hash: session.idHash,
    user_id: session.userId,
    created_at: session.createdAt,
    last_seen_at: session.createdAt,
    expires_at: session.expiresAt,
  });
}

export interface SessionWithUser {
  idHash: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
  stage: SessionStage;
  /** When the identity provider last confirmed the user; null for a session not signed in through it. */
  oidcCheckedAt: number | null;
  user: { id: string; username: string; role: Role; queues: string[] | null; agentId: string | null };
}

/**
 * The session with this hash and its (enabled) user; undefined when missing or the user is disabled. Expiry is the
 * caller's decision.
 */
export async function findSession(q: Q, idHash: string): Promise<SessionWithUser | undefined> {
  const row = (await q('sessions as s')
    .join('users as u', 'u.id', 's.user_id')
    .where('s.id_hash', idHash)
    .where('u.disabled', false)
    .first(
      's.id_hash',
      's.created_at',
      's.last_seen_at',
      's.expires_at',
      's.stage',
      's.oidc_checked_at',
      'u.id as user_id',
      'u.username',
      'u.role',
      'u.queues',
      'u.agent_id',
    )) as
    | (SessionRow & {
        stage: SessionStage;
        oidc_checked_at: number | string | null;
        username: string;
        role: Role;
        queues: string | null;
        agent_id: string | null;
      })
    | undefined;
  if (!row) return undefined;
  return {
    idHash: row.id_hash,
    createdAt: Number(row.created_at),
    lastSeenAt: Number(row.last_seen_at),
    expiresAt: Number(row.expires_at),
    stage: row.stage,
    oidcCheckedAt: row.oidc_checked_at === null ? null : Number(row.oidc_checked_at),
    user: {
      id: row.user_id,
      username: row.username,
      role: row.role,
      queues: parseQueues(row.queues),
      agentId: row.agent_id ?? null,
    },
  };
}

/** Slides the session: sets last_seen_at and the new expires_at. */
export async function touchSession(q: Q, idHash: string, lastSeenAt: number, expiresAt: number): Promise<void> {
  await q('sessions').where({ id_hash: idHash }).update({ last_seen_at: lastSeenAt, expires_at: expiresAt });
}

/** Deletes one session; deleting a missing session succeeds. */
export async function deleteSession(q: Q, idHash: string): Promise<void> {
  await q('sessions').where({ id_hash: idHash }).delete();
}

/** Deletes every session of a user (on disable). Returns how many were deleted. */
export async function deleteUserSessions(q: Q, userId: string): Promise<number> {
  return Number(await q('sessions').where({ user_id: userId }).delete());
}

/** Deletes sessions whose expires_at is at or before `now`. Returns how many were deleted. */
export async function deleteExpiredSessions(q: Q, now: number): Promise<number> {
  return Number(await q('sessions').where('expires_at', '<=', now).delete());
}
