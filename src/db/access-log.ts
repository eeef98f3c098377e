/**
 * The `access_log` table: who did what to which recording, when. Append-only
 * from the application's side; it holds user names and recording ids, never
 * phone numbers or audio.
 */
import type { Knex } from 'knex';
import type { Principal } from '../domain/roles.js';

/** Every action the access log records (the audit query's filter and the API document use this list). */
export const ACCESS_ACTIONS = [
  'play',
  'download',
  'export',
  'view',
  'hold',
  'release',
  'erase',
  'search',
  'restrict',
  'unrestrict',
  'correct',
  // A training evaluation deleted at the end of its own retention (src/training/expiry.ts).
  'eval_expired',
  // Sign-in events (the security log; recordingId is null): see src/auth/security-log.ts.
  'sign_in',
  'sign_in_failed',
  'code_failed',
  'recovery_used',
  'mfa_enrolled',
  'mfa_reset',
  'role_changed',
] as const;
export type AccessAction = (typeof ACCESS_ACTIONS)[number];

export interface AccessEntry {
  id: number;
  userId: string | null;
  username: string;
  role: string;
  recordingId: string | null;
  action: AccessAction;
  at: string;
  requestId: string | null;
  detail: string | null;
}

interface AccessRow {
  id: number;
  user_id: string | null;
  username: string;
  role: string;
  recording_id: string | null;
  action: AccessAction;
  at: number;
  request_id: string | null;
  detail: string | null;
}

export async function appendAccess(
  q: Knex | Knex.Transaction,
  entry: {
    principal: Pick<Principal, 'userId' | 'username' | 'role'>;
    recordingId: string | null;
    action: AccessAction;
    at: number;
    requestId?: string;
    detail?: string;
  },
): Promise<void> {
  await q('access_log').insert({
    user_id: entry.principal.userId,
    username: entry.principal.username,
    role: entry.principal.role,
    recording_id: entry.recordingId,
    action: entry.action,
    at: entry.at,
    request_id: entry.requestId ?? null,
    detail: entry.detail ?? null,
  });
}

export interface AccessQuery {
  from?: number;
  to?: number;
  recordingId?: string;
  username?: string;
  action?: AccessAction;
  /** Exclusive lower bound on id (cursor). */
  afterId?: number;
  limit: number;
}

/** The largest id the column can hold (`increments`: a 32-bit integer on PostgreSQL); no entry lies after it. */
const MAX_ID = 2_147_483_647;

/** Entries in id order (oldest first), at most `limit`. An `afterId` past every possible id gives none. */
export async function queryAccess(q: Knex | Knex.Transaction, query: AccessQuery): Promise<AccessEntry[]> {
  let builder = q<AccessRow>('access_log').orderBy('id', 'asc').limit(query.limit);
  if (query.from !== undefined) builder = builder.where('at', '>=', query.from);
  if (query.to !== undefined) builder = builder.where('at', '<', query.to);
  if (query.recordingId) builder = builder.where('recording_id', query.recordingId);
  if (query.username) builder = builder.where('username', query.username);
  if (query.action) builder = builder.where('action', query.action);
  if (query.afterId !== undefined) builder = builder.where('id', '>', Math.min(query.afterId, MAX_ID));
  const rows = (await builder) as AccessRow[];
  return rows.map((r) => ({
    id: r.id,
    userId: r.user_id,
    username: r.username,
    role: r.role,
    recordingId: r.recording_id,
    action: r.action,
    at: new Date(r.at).toISOString(),
    requestId: r.request_id,
    detail: r.detail,
  }));
}
