/**
 * The `deletion_log` table: raw row access only (the hash chain itself is
 * built and checked by `src/audit/deletion-log.ts`). Rows are never updated or
 * deleted by the application.
 *
 * Inside a transaction, pass the transaction (`trx`) as `q` (SQLite has one connection).
 */
import type { Knex } from 'knex';

/**
 * Why an entry was written. `privacy_request`: a closed privacy request deleted after its
 * retention (the entry's recordingId is the request's id, callId its reference, no objects).
 * `objection`: a recording of a number under a "do not keep" objection, refused at ingest
 * before any object was stored (no objects). `redaction`: the old objects of a recording that was
 * redacted (a span silenced after the fact, one entry per redaction, with its `span`); the
 * recording itself lives on under new objects and gets its own deletion entry later.
 */
export type DeletionReason =
  'retention_expired' | 'erasure_request' | 'lifecycle_expired' | 'privacy_request' | 'objection' | 'redaction';
export const DELETION_REASONS: readonly DeletionReason[] = [
  'retention_expired',
  'erasure_request',
  'lifecycle_expired',
  'privacy_request',
  'objection',
  'redaction',
];

export interface DeletionLogRow {
  seq: number;
  recording_id: string;
  source: string;
  call_id: string;
  reason: DeletionReason;
  actor: string;
  reference: string | null;
  started_at: number;
  expires_at: number;
  deleted_at: number;
  /** canonical JSON text of [{key, sha256, sizeBytes}] */
  objects: string;
  verified: boolean;
  prev_hash: string;
  hash: string;
  /**
   * Whether the deletion destroyed the recording's data key (crypto-shredding), and the id of
   * the key-encryption key that had wrapped it. Null (or absent) on entries of recordings stored
   * in plaintext and on every entry written before encryption existed: those hash as before.
   */
  key_shredded?: boolean | null;
  kek_id?: string | null;
  /**
   * A `redaction` entry's silenced span, canonical JSON `{"endMs":…,"startMs":…}`; null (or
   * absent) on every other entry: those hash as before.
   */
  span?: string | null;
}

/** An arbitrary constant naming the deletion log's PostgreSQL advisory lock. */
export const DELETION_LOG_LOCK_ID = 7_315_020_461;

/**
 * Takes the log's append lock for the rest of the transaction `trx`.
 *
 * PostgreSQL: `pg_advisory_xact_lock`, released at commit or rollback, so every
 * instance appends one after the other and reads the head only after the
 * previous append committed (READ COMMITTED: each statement sees the latest commit).
 *
 * SQLite: the lock is the database's write lock. knex opens a deferred
 * transaction, so the first *write* statement of the transaction acquires it
 * (waiting up to busy_timeout for another process); a no-op UPDATE is such a
 * statement. Because it is taken before the head is read, the head read inside
 * the same transaction cannot be stale. Within one process there is one
 * connection, so transactions are serialized anyway.
 */
export async function lockDeletionLog(trx: Knex.Transaction, client: 'sqlite' | 'pg'): Promise<void> {
  if (client === 'pg') await trx.raw('select pg_advisory_xact_lock(?)', [DELETION_LOG_LOCK_ID]);
  else await trx.raw('update deletion_log set seq = seq where seq < 0');
}

export function normalizeLogRow(row: DeletionLogRow): DeletionLogRow {
  return {
    ...row,
    verified: Boolean(row.verified),
    ...(row.key_shredded !== undefined && row.key_shredded !== null ? { key_shredded: Boolean(row.key_shredded) } : {}),
  };
}

/** The last entry (highest seq), or undefined for an empty log. */
export async function readLogHead(
  q: Knex | Knex.Transaction,
): Promise<Pick<DeletionLogRow, 'seq' | 'hash' | 'deleted_at'> | undefined> {
  return (await q('deletion_log').select('seq', 'hash', 'deleted_at').orderBy('seq', 'desc').first()) as
    Pick<DeletionLogRow, 'seq' | 'hash' | 'deleted_at'> | undefined;
}

/** Inserts finished rows (hashes computed by the caller) in batches of ≤ 500. */
export async function insertLogRows(trx: Knex.Transaction, rows: DeletionLogRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) await trx('deletion_log').insert(rows.slice(i, i + 500));
}

/**
 * Rows with seq > afterSeq in seq order, at most `limit`: the verifier's page. A raw
 * statement (no query builder per page): the verifier reads millions of rows this way.
 */
export async function readLogPage(
  q: Knex | Knex.Transaction,
  afterSeq: number,
  limit: number,
): Promise<DeletionLogRow[]> {
  const result = (await q.raw(
    'select seq, recording_id, source, call_id, reason, actor, reference, started_at, expires_at, deleted_at, ' +
      'objects, verified, prev_hash, hash, key_shredded, kek_id, span from deletion_log where seq > ? ' +
      'order by seq asc limit ?',
    [afterSeq, limit],
  )) as DeletionLogRow[] | { rows: DeletionLogRow[] };
  return Array.isArray(result) ? result : result.rows;
}

/** The first entry of `reason` for the call (source, callId), if any (rare reasons only: no index on the call). */
export async function findEntryOfCall(
  q: Knex | Knex.Transaction,
  options: { source: string; callId: string; reason: DeletionReason },
): Promise<DeletionLogRow | undefined> {
  const row = (await q('deletion_log')
    .where({ reason: options.reason, source: options.source, call_id: options.callId })
    .orderBy('seq', 'asc')
    .first()) as DeletionLogRow | undefined;
  return row && normalizeLogRow(row);
}

export async function countLog(q: Knex | Knex.Transaction): Promise<number> {
  const row = (await q('deletion_log').count({ n: '*' }).first()) as { n: number | string } | undefined;
  return Number(row?.n ?? 0);
}

export interface DeletionQuery {
  /** deleted_at ≥ from (epoch ms) */
  from?: number;
  /** deleted_at < to (epoch ms) */
  to?: number;
  reason?: DeletionReason;
  recordingId?: string;
  /** The ingest source the recording came from. */
  source?: string;
  /** Exclusive lower bound on seq (cursor). */
  afterSeq?: number;
  limit: number;
}

/** Entries in seq order (oldest first), at most `limit`. */
export async function queryDeletionRows(q: Knex | Knex.Transaction, query: DeletionQuery): Promise<DeletionLogRow[]> {
  let builder = q('deletion_log').orderBy('seq', 'asc').limit(query.limit);
  if (query.from !== undefined) builder = builder.where('deleted_at', '>=', query.from);
  if (query.to !== undefined) builder = builder.where('deleted_at', '<', query.to);
  if (query.reason) builder = builder.where('reason', query.reason);
  if (query.recordingId) builder = builder.where('recording_id', query.recordingId);
  if (query.source) builder = builder.where('source', query.source);
  if (query.afterSeq !== undefined) builder = builder.where('seq', '>', query.afterSeq);
  return ((await builder) as DeletionLogRow[]).map(normalizeLogRow);
}
