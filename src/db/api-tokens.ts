/**
 * The `api_tokens` table. Only the sha256 hex of a token is stored; the token
 * itself is shown once when created and cannot be recovered. A revoked token,
 * or a token of a disabled user, is never returned by `findActiveToken`.
 *
 * Inside a transaction pass `trx` as `q` (SQLite has one connection).
 */
import type { Knex } from 'knex';
import type { Role } from '../domain/roles.js';
import { parseQueues } from './users.js';

type Q = Knex | Knex.Transaction;

export interface ApiToken {
  id: string;
  userId: string;
  username: string;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

interface TokenJoinRow {
  id: string;
  user_id: string;
  username: string;
  name: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

const toApiToken = (r: TokenJoinRow): ApiToken => ({
  id: r.id,
  userId: r.user_id,
  username: r.username,
  name: r.name,
  createdAt: Number(r.created_at),
  lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
  revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
});

export async function insertApiToken(
  q: Q,
  token: { id: string; userId: string; name: string; tokenHash: string; createdAt: number },
): Promise<void> {
  await q('api_tokens').insert({
    id: token.id,
    user_id: token.userId,
    name: token.name,
    token_hash: token.tokenHash,
    created_at: token.createdAt,
    last_used_at: null,
    revoked_at: null,
  });
}

export interface ActiveToken {
  tokenId: string;
  lastUsedAt: number | null;
  user: { id: string; username: string; role: Role; queues: string[] | null; agentId: string | null };
}

/** The token with this hash when it is not revoked and its user is not disabled; otherwise undefined. */
export async function findActiveToken(q: Q, tokenHash: string): Promise<ActiveToken | undefined> {
  const row = (await q('api_tokens as t')
    .join('users as u', 'u.id', 't.user_id')
    .where('t.token_hash', tokenHash)
    .whereNull('t.revoked_at')
    .where('u.disabled', false)
    .first(
      't.id as token_id',
      't.last_used_at',
      'u.id as user_id',
      'u.username',
      'u.role',
      'u.queues',
      'u.agent_id',
    )) as
    | {
        token_id: string;
        last_used_at: number | null;
        user_id: string;
        username: string;
        role: Role;
        queues: string | null;
        agent_id: string | null;
      }
    | undefined;
  if (!row) return undefined;
  return {
    tokenId: row.token_id,
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
    user: {
      id: row.user_id,
      username: row.username,
      role: row.role,
      queues: parseQueues(row.queues),
      agentId: row.agent_id ?? null,
    },
  };
}

/**
 * Records a use at `now`, but writes only when the stored value is older than
 * `minIntervalMs` (or unset), so that busy tokens cost at most one write per interval.
 */
export async function touchApiToken(q: Q, tokenId: string, now: number, minIntervalMs: number): Promise<void> {
  await q('api_tokens')
    .where({ id: tokenId })
    .andWhere((w) => w.whereNull('last_used_at').orWhere('last_used_at', '<=', now - minIntervalMs))
    .update({ last_used_at: now });
}

/** Tokens (never their hashes), newest first; of one user when `userId` is given. */
export async function listApiTokens(q: Q, options: { userId?: string } = {}): Promise<ApiToken[]> {
  let builder = q('api_tokens as t')
    .join('users as u', 'u.id', 't.user_id')
    .select('t.id', 't.user_id', 'u.username', 't.name', 't.created_at', 't.last_used_at', 't.revoked_at')
    .orderBy('t.created_at', 'desc')
    .orderBy('t.id', 'desc');
  if (options.userId) builder = builder.where('t.user_id', options.userId);
  return ((await builder) as TokenJoinRow[]).map(toApiToken);
}

/** Tokens whose id or name equals `idOrName`. */
export async function findApiTokensByIdOrName(q: Q, idOrName: string): Promise<ApiToken[]> {
  const rows = (await q('api_tokens as t')
    .join('users as u', 'u.id', 't.user_id')
    .where('t.id', idOrName)
    .orWhere('t.name', idOrName)
    .select('t.id', 't.user_id', 'u.username', 't.name', 't.created_at', 't.last_used_at', 't.revoked_at')
    .orderBy('t.created_at', 'asc')) as TokenJoinRow[];
  return rows.map(toApiToken);
}

/**
 * Marks a token revoked at `now`; revoking a revoked token keeps its first revocation time. Returns false when no such
 * token exists.
 */
export async function revokeApiToken(q: Q, tokenId: string, now: number): Promise<boolean> {
  const exists = await q('api_tokens').where({ id: tokenId }).first('id');
  if (!exists) return false;
  await q('api_tokens').where({ id: tokenId }).whereNull('revoked_at').update({ revoked_at: now });
  return true;
}
