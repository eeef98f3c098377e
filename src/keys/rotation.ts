/**
 * Keyring maintenance: list the key-encryption keys (KEKs), rotate (a new current KEK, then
 * every data key re-wrapped with it, in batches, without rewriting any object), and remove a
 * KEK that wraps nothing any more.
 *
 * Running instances follow the keyring file (see `fileKeyring`): they wrap new keys with the
 * new KEK from their next wrap on, and unwrap keys re-wrapped meanwhile. A key wrapped by an
 * old KEK after the re-wrap passed it (an instance that had not seen the file yet) is left to
 * `rewrapAll` run again; `listKeks` shows what each KEK still wraps. Rotate, rewrap and remove
 * hold the keyring's lock file, so they never interleave.
 */
import type { Db } from '../db/db.js';
import { countKeysByKek, keysNotWrappedBy, rewrapRecordingKey } from '../db/recording-keys.js';
import {
  KeyringError,
  keyringWrapper,
  newKeyringEntry,
  readKeyringFile,
  withKeyringLock,
  writeKeyringFile,
} from './keyring.js';

export interface KekSummary {
  id: string;
  createdAt: string;
  current: boolean;
  /** Data keys (recordings) it wraps now. */
  recordings: number;
}

function mustRead(file: string) {
  const ring = readKeyringFile(file);
  if (!ring) throw new KeyringError(`the keyring ${file} does not exist`);
  return ring;
}

/** The KEKs of the keyring with how many recordings each wraps; no key material. */
export async function listKeks(options: { db: Db; file: string }): Promise<KekSummary[]> {
  const ring = mustRead(options.file);
  const counts = await countKeysByKek(options.db.knex);
  return ring.keys.map((k) => ({
    id: k.id,
    createdAt: k.createdAt,
    current: k.id === ring.current,
    recordings: counts.get(k.id) ?? 0,
  }));
}

/**
 * Re-wraps every data key not wrapped by the current KEK with it, `batchSize` per transaction,
 * in recording id order. A key deleted (shredded) or re-wrapped by someone else meanwhile is
 * skipped. Resumable: it only ever looks at keys not yet wrapped by the current KEK.
 */
export async function rewrapAll(
  options: RewrapOptions,
): Promise<{ kekId: string; rewrapped: number; skipped: number }> {
  return withKeyringLock(options.file, () => rewrapLocked(options));
}

interface RewrapOptions {
  db: Db;
  file: string;
  batchSize?: number;
  progress?: (line: string) => void;
  signal?: AbortSignal;
}

async function rewrapLocked(options: RewrapOptions): Promise<{ kekId: string; rewrapped: number; skipped: number }> {
  const ring = mustRead(options.file);
  const wrapper = keyringWrapper(ring);
  const batchSize = options.batchSize ?? 500;
  let afterId = '';
  let rewrapped = 0;
  let skipped = 0;
  for (;;) {
    options.signal?.throwIfAborted();
    const rows = await keysNotWrappedBy(options.db.knex, { kekId: ring.current, afterId, limit: batchSize });
    if (rows.length === 0) break;
    afterId = rows[rows.length - 1]!.recording_id;
    const fresh = await Promise.all(
      rows.map(async (row) => {
        const key = await wrapper.unwrap(
          { kekId: row.kek_id, wrapped: row.wrapped },
          { recordingId: row.recording_id },
        );
        return { row, wrapped: await wrapper.wrap(key, { recordingId: row.recording_id }) };
      }),
    );
    await options.db.knex.transaction(async (trx) => {
      for (const { row, wrapped } of fresh) {
        const done = await rewrapRecordingKey(trx, {
          recordingId: row.recording_id,
          fromKekId: row.kek_id,
          kekId: wrapped.kekId,
          wrapped: wrapped.wrapped,
        });
        if (done) rewrapped += 1;
        else skipped += 1;
      }
    });
    options.progress?.(
      `keys: ${rewrapped} re-wrapped with ${ring.current}${skipped ? `, ${skipped} skipped (deleted meanwhile)` : ''}`,
    );
    if (rows.length < batchSize) break;
  }
  return { kekId: ring.current, rewrapped, skipped };
}

/**
 * Adds a new KEK as the current one (the file rewritten atomically, mode 0600), then re-wraps every data key with it.
 */
export async function rotateKeyring(options: {
  db: Db;
  file: string;
  now: Date;
  batchSize?: number;
  progress?: (line: string) => void;
  signal?: AbortSignal;
}): Promise<{ kekId: string; rewrapped: number; skipped: number }> {
  return withKeyringLock(options.file, async () => {
    const ring = mustRead(options.file);
    const entry = newKeyringEntry(options.now);
    writeKeyringFile(options.file, { current: entry.id, keys: [...ring.keys, entry] }, { exclusive: false });
    options.progress?.(`keys: new key ${entry.id} is current; re-wrapping the data keys`);
    return rewrapLocked(options);
  });
}

/** Removes a KEK from the keyring; refused for the current one and for one that still wraps a data key. */
export async function removeKek(options: { db: Db; file: string; kekId: string }): Promise<void> {
  return withKeyringLock(options.file, () => removeLocked(options));
}

async function removeLocked(options: { db: Db; file: string; kekId: string }): Promise<void> {
  const ring = mustRead(options.file);
  if (!ring.keys.some((k) => k.id === options.kekId)) throw new KeyringError(`the keyring has no key ${options.kekId}`);
  if (ring.current === options.kekId) throw new KeyringError(`${options.kekId} is the current key: rotate first`);
  const inUse = (await countKeysByKek(options.db.knex)).get(options.kekId) ?? 0;
  if (inUse > 0)
    throw new KeyringError(`${options.kekId} still wraps ${inUse} recordings: run \`callrec keys rewrap\` first`);
  writeKeyringFile(
    options.file,
    { current: ring.current, keys: ring.keys.filter((k) => k.id !== options.kekId) },
    { exclusive: false },
  );
}
