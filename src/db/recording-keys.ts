/**
 * The `recording_keys` table: each encrypted recording's data key, wrapped by a keyring key
 * (see the migration `20261201130000_encryption-keys`). Raw row access only; wrapping lives in
 * src/keys/. A row exists from before the recording's first object until the transaction that
 * appends the recording's deletion-log entry deletes it (crypto-shredding).
 *
 * Inside a transaction, pass the transaction as `q` (SQLite has one connection).
 */
import type { Knex } from 'knex';

export interface RecordingKeyRow {
  recording_id: string;
  kek_id: string;
  wrapped: Buffer;
  created_at: number;
}

const TABLE = 'recording_keys';

function normalize(row: RecordingKeyRow): RecordingKeyRow {
  return { ...row, wrapped: Buffer.from(row.wrapped), created_at: Number(row.created_at) };
}

/** Inserts the row unless the recording has one already (a concurrent first put); the caller reads the winner back. */
export async function insertRecordingKeyIfAbsent(q: Knex | Knex.Transaction, row: RecordingKeyRow): Promise<void> {
  await q(TABLE).insert(row).onConflict('recording_id').ignore();
}

export async function readRecordingKey(
  q: Knex | Knex.Transaction,
  recordingId: string,
): Promise<RecordingKeyRow | undefined> {
  const row = (await q(TABLE).where({ recording_id: recordingId }).first()) as RecordingKeyRow | undefined;
  return row ? normalize(row) : undefined;
}

/**
 * Deletes the keys of these recordings (crypto-shredding; inside the deletion's transaction)
 * and returns, per recording that had one, the id of the key-encryption key that wrapped it.
 */
export async function deleteRecordingKeys(
  q: Knex | Knex.Transaction,
  recordingIds: readonly string[],
): Promise<Map<string, string>> {
  const shredded = new Map<string, string>();
  for (let i = 0; i < recordingIds.length; i += 500) {
    const ids = recordingIds.slice(i, i + 500);
    const rows = (await q(TABLE).whereIn('recording_id', ids).select('recording_id', 'kek_id')) as Array<{
      recording_id: string;
      kek_id: string;
    }>;
    if (rows.length === 0) continue;
    await q(TABLE).whereIn('recording_id', ids).del();
    for (const r of rows) shredded.set(r.recording_id, r.kek_id);
  }
  return shredded;
}

/** How many data keys each key-encryption key wraps (the ids in use). */
export async function countKeysByKek(q: Knex | Knex.Transaction): Promise<Map<string, number>> {
  const rows = (await q(TABLE).select('kek_id').count({ n: '*' }).groupBy('kek_id')) as Array<{
    kek_id: string;
    n: number | string;
  }>;
  return new Map(rows.map((r) => [r.kek_id, Number(r.n)]));
}

/** One row wrapped by `kekId` (the start checks that the keyring really unwraps it). */
export async function sampleKeyOf(q: Knex | Knex.Transaction, kekId: string): Promise<RecordingKeyRow | undefined> {
  const row = (await q(TABLE).where({ kek_id: kekId }).orderBy('recording_id').first()) as RecordingKeyRow | undefined;
  return row ? normalize(row) : undefined;
}

/** Up to `limit` rows not wrapped by `kekId`, in recording id order after `afterId` (rotation's batches). */
export async function keysNotWrappedBy(
  q: Knex | Knex.Transaction,
  options: { kekId: string; afterId: string; limit: number },
): Promise<RecordingKeyRow[]> {
  const rows = (await q(TABLE)
    .whereNot({ kek_id: options.kekId })
    .andWhere('recording_id', '>', options.afterId)
    .orderBy('recording_id')
    .limit(options.limit)) as RecordingKeyRow[];
  return rows.map(normalize);
}

/**
 * Replaces a key's wrapping, only if it is still wrapped as read (`fromKekId`); false otherwise (shredded or re-wrapped
 * meanwhile).
 */
export async function rewrapRecordingKey(
  q: Knex | Knex.Transaction,
  options: { recordingId: string; fromKekId: string; kekId: string; wrapped: Buffer },
): Promise<boolean> {
  const n = await q(TABLE)
    .where({ recording_id: options.recordingId, kek_id: options.fromKekId })
    .update({ kek_id: options.kekId, wrapped: options.wrapped });
  return n === 1;
}

/**
 * Deletes keys of uploads that never became a recording: no recording row, no in-flight marker,
 * created before `createdBefore` (a crashed or failed ingest; its objects are removed by the same
 * recovery). Returns how many.
 */
export async function deleteOrphanKeys(
  q: Knex | Knex.Transaction,
  options: { createdBefore: number },
): Promise<number> {
  return q(TABLE)
    .where('created_at', '<', options.createdBefore)
    .whereNotExists((sub) =>
      sub.select(q.raw('1')).from('recordings').whereRaw('recordings.id = recording_keys.recording_id'),
    )
    .whereNotExists((sub) =>
      sub
        .select(q.raw('1'))
        .from('ingest_inflight')
        .whereRaw('ingest_inflight.recording_id = recording_keys.recording_id'),
    )
    .del();
}

// --- callrec encrypt-existing (src/keys/encrypt-existing.ts) --------------------------------

/** Stored recordings without a data key (stored before encryption: plaintext), in id order after `afterId`. */
function plaintextRecordings(q: Knex | Knex.Transaction, afterId: string) {
  return q('recordings')
    .where('status', 'stored')
    .andWhere('id', '>', afterId)
    .whereNotExists((sub) =>
      sub.select(q.raw('1')).from(TABLE).whereRaw('recording_keys.recording_id = recordings.id'),
    );
}

/** How many stored recordings have no data key. */
export async function countPlaintextRecordings(q: Knex | Knex.Transaction): Promise<number> {
  const rows = (await plaintextRecordings(q, '').count({ n: '*' })) as Array<{ n: number | string }>;
  return Number(rows[0]?.n ?? 0);
}

/** Up to `limit` stored recordings without a data key, in id order after `afterId` (raw rows: normalize them). */
export async function findPlaintextRecordings<Row>(
  q: Knex | Knex.Transaction,
  options: { afterId: string; limit: number },
): Promise<Row[]> {
  return (await plaintextRecordings(q, options.afterId).orderBy('id', 'asc').limit(options.limit)) as Row[];
}

/** The recording, if it is still stored, still has no data key and still points at these objects. */
export async function isStillPlaintext(
  q: Knex | Knex.Transaction,
  options: { recordingId: string; originalKey: string; playbackKey: string },
): Promise<boolean> {
  const row = (await plaintextRecordings(q, '')
    .andWhere({ id: options.recordingId, original_key: options.originalKey, playback_key: options.playbackKey })
    .first('id')) as { id: string } | undefined;
  return row !== undefined;
}

/**
 * Inside the switching transaction: points the recording at its encrypted copies and stores its
 * wrapped data key, only if it is still stored and still points at the plaintext objects `from`
 * (false otherwise: claimed for deletion, erased or deleted meanwhile; nothing changed).
 */
export async function switchToEncryptedCopies(
  trx: Knex.Transaction,
  options: {
    recordingId: string;
    from: { originalKey: string; playbackKey: string };
    to: { originalKey: string; playbackKey: string };
    key: RecordingKeyRow;
  },
): Promise<boolean> {
  const n = await trx('recordings')
    .where({
      id: options.recordingId,
      status: 'stored',
      original_key: options.from.originalKey,
      playback_key: options.from.playbackKey,
    })
    .update({ original_key: options.to.originalKey, playback_key: options.to.playbackKey });
  if (n !== 1) return false;
  await trx(TABLE).insert(options.key);
  return true;
}
