/**
 * The `ingest_inflight` table: one marker per upload that may have objects in the store but no
 * recording row yet (see the migration). The protocol, which makes an object under
 * `recordings/` with neither a row nor a live marker safe to delete at once:
 * - ingest inserts the marker (committed) before its first put;
 * - ingest removes it with `takeInflight` in the transaction that inserts the recording row, and
 *   fails that transaction when the marker is no longer its own (crash recovery took it over:
 *   the objects may be gone);
 * - a failed upload deletes its objects first, then its marker;
 * - a reconciler reads markers before rows (never the other way round: a commit between the two
 *   reads would hide both); crash recovery takes an abandoned marker over with
 *   `takeOverInflight` (it becomes the owner) before it deletes that upload's objects, and
 *   deletes the marker after them, so that a recovery that fails half-way is retried.
 *
 * Inside a transaction, pass the transaction as `q` (SQLite has one connection).
 */
import type { Knex } from 'knex';

export interface InflightRow {
  recording_id: string;
  object_prefix: string;
  owner: string;
  created_at: number;
  lease_expires_at: number;
  /**
   * Null for an upload (recovery deletes everything under `object_prefix`); a JSON array of keys
   * for a marker that names its objects exactly (`callrec encrypt-existing`: see `markerObjectKeys`).
   */
  object_keys?: string | null;
  /**
   * Null except on the marker a manual redaction writes when it switches the recording to its new
   * objects: the JSON of the deletion-log entry still to be written once the old objects (listed in
   * `object_keys`) are deleted (src/redaction/finish.ts).
   */
  redaction?: string | null;
}

/** The objects crash recovery deletes for a marker: its listed keys, or undefined (everything under its prefix). */
export function markerObjectKeys(row: Pick<InflightRow, 'object_keys'>): string[] | undefined {
  if (row.object_keys === null || row.object_keys === undefined) return undefined;
  const keys = JSON.parse(row.object_keys) as unknown;
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string'))
    throw new Error('an in-flight marker lists its objects as a JSON array of keys');
  return keys;
}

const TABLE = 'ingest_inflight';

function normalize(row: InflightRow): InflightRow {
  return { ...row, created_at: Number(row.created_at), lease_expires_at: Number(row.lease_expires_at) };
}

export async function insertInflight(q: Knex | Knex.Transaction, row: InflightRow): Promise<void> {
  await q(TABLE).insert(row);
}

/** Removes the marker of a committing upload; false when it is gone or no longer `owner`'s (taken over). */
export async function takeInflight(
  q: Knex | Knex.Transaction,
  options: { recordingId: string; owner: string },
): Promise<boolean> {
  return (await q(TABLE).where({ recording_id: options.recordingId, owner: options.owner }).del()) === 1;
}

/** Removes `owner`'s marker (a failed upload after its objects were deleted; a finished recovery). */
export async function deleteInflight(
  q: Knex | Knex.Transaction,
  options: { recordingId: string; owner: string },
): Promise<void> {
  await q(TABLE).where({ recording_id: options.recordingId, owner: options.owner }).del();
}

/** Extends the leases of `owner`'s markers among these (the heartbeat of the uploads a process runs). */
export async function renewInflight(
  q: Knex | Knex.Transaction,
  options: { recordingIds: readonly string[]; owner: string; leaseExpiresAt: number },
): Promise<number> {
  if (options.recordingIds.length === 0) return 0;
  return q(TABLE)
    .whereIn('recording_id', options.recordingIds)
    .andWhere({ owner: options.owner })
    .update({ lease_expires_at: options.leaseExpiresAt });
}

/** The markers of these recording ids. */
export async function findInflight(
  q: Knex | Knex.Transaction,
  recordingIds: readonly string[],
): Promise<InflightRow[]> {
  if (recordingIds.length === 0) return [];
  return ((await q(TABLE).whereIn('recording_id', recordingIds)) as InflightRow[]).map(normalize);
}

/** A page of markers in id order, after `afterId`. */
export async function listInflight(
  q: Knex | Knex.Transaction,
  options: { afterId?: string; limit: number },
): Promise<InflightRow[]> {
  return (
    (await q(TABLE)
      .where('recording_id', '>', options.afterId ?? '')
      .orderBy('recording_id', 'asc')
      .limit(options.limit)) as InflightRow[]
  ).map(normalize);
}

/**
 * Takes over an abandoned upload's marker: makes `owner` its owner only if it is still exactly
 * as read (same owner, lease not renewed since). False when the owner renewed it or committed
 * meanwhile; once true, the old owner can no longer commit.
 */
export async function takeOverInflight(
  q: Knex | Knex.Transaction,
  row: Pick<InflightRow, 'recording_id' | 'owner' | 'lease_expires_at'>,
  next: { owner: string; leaseExpiresAt: number },
): Promise<boolean> {
  const updated = await q(TABLE)
    .where({ recording_id: row.recording_id, owner: row.owner, lease_expires_at: row.lease_expires_at })
    .update({ owner: next.owner, lease_expires_at: next.leaseExpiresAt });
  return updated === 1;
}
