/**
 * `callrec encrypt-existing`: encrypts in place the recordings stored before encryption (a
 * recording without a `recording_keys` row is plaintext), one recording at a time:
 *
 * 1. marker: an in-flight marker (src/db/ingest-inflight.ts) for the folder of the copies
 *    (`<recording folder>/enc/`), committed before any put; the row is read again after it
 *    (still `stored`, still without a key, objects as read);
 * 2. written: a fresh random data key, kept in memory only; each object copied through the
 *    encrypting decorator to its `encryptedCopyKey`, the plaintext checked against the row's
 *    length and SHA-256 as it streams (a damaged original is never encrypted);
 * 3. verified: each copy read back, decrypted and authenticated, its length and SHA-256
 *    compared with the row's;
 * 4. switched: ONE transaction takes the marker (fails when crash recovery took it over),
 *    points the row at the copies only if it is still `stored` and still points at the
 *    plaintext objects (a recording claimed for deletion or erased meanwhile is never touched,
 *    let alone resurrected), inserts the wrapped data key, and writes a second marker that
 *    lists the plaintext objects exactly (`object_keys`);
 * 5. plaintext deleted: the plaintext objects deleted and their absence verified (`exists`: no
 *    version, no delete marker), then the second marker removed.
 *
 * Anything failing before the switch deletes the copies (their key was never stored: they were
 * undecryptable anyway) and the marker. A kill at any point leaves a marker whose owner is dead:
 * crash recovery (run first by the command, at every start and in the background) deletes the
 * copies (first marker: its prefix) or the plaintext objects (second marker: its keys). So a
 * rerun finishes the job; a recording deleted meanwhile keeps neither copy nor plaintext.
 *
 * The reconciler leaves objects of a recording with a marker alone (markers are read before
 * rows), so it never deletes a copy being written nor races the second step.
 *
 * Output (progress, failures) names recording ids and short codes only: no numbers, no keys.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Db } from '../db/db.js';
import { deleteInflight, insertInflight, takeInflight } from '../db/ingest-inflight.js';
import { normalizeRow } from '../db/recordings.js';
import {
  countPlaintextRecordings,
  findPlaintextRecordings,
  isStillPlaintext,
  switchToEncryptedCopies,
} from '../db/recording-keys.js';
import type { RecordingRow } from '../db/recordings.js';
import { OWNER_LEASE_MS, currentOwner, formatOwner } from '../process-owner.js';
import { createEncryptedStore } from '../storage/encrypted-store.js';
import type { DataKey } from '../storage/encrypted-store.js';
import { ENCRYPTED_COPY_FOLDER, encryptedCopyKey, recordingBindingOfKey } from '../storage/keys.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { KeyWrapper } from './keyring.js';

/** The steps after which a test failpoint may fire (the crash test kills the process there). */
export const ENCRYPT_EXISTING_STEPS = [
  'marked',
  'written',
  'verified',
  'switched',
  'plaintextDeleted',
  'done',
] as const;
export type EncryptExistingStep = (typeof ENCRYPT_EXISTING_STEPS)[number];

export interface EncryptExistingDeps {
  db: Db;
  /** The driver itself (fs or S3), NOT the encrypting decorator: the plaintext is read as stored. */
  store: ObjectStore;
  wrapper: KeyWrapper;
}

export interface EncryptExistingOptions {
  now: () => number;
  /** Rows read per query (default 100). */
  batchSize?: number;
  /** One line per batch and per failure: counts, recording ids and short codes only. */
  progress?: (line: string) => void;
  signal?: AbortSignal;
  /** Test-only hook called after each step of each recording. */
  failpoint?: (step: EncryptExistingStep, recordingId: string) => void | Promise<void>;
}

export interface EncryptExistingResult {
  /** Plaintext recordings found at the start. */
  found: number;
  encrypted: number;
  /**
   * Left as they are, with a short code: `deleted_meanwhile` (claimed for deletion, erased or
   * gone before the switch), `busy` (another run holds its marker), `unknown_key` (an object key
   * of an unknown shape).
   */
  skipped: Array<{ id: string; reason: string }>;
  /** Failed with a short code (`integrity`, `store_unavailable`, …); rerun to retry. */
  failed: Array<{ id: string; reason: string }>;
}

type Role = 'original' | 'playback';
const ROLES: readonly Role[] = ['original', 'playback'];

interface Plan {
  row: RecordingRow;
  objects: Array<{ role: Role; from: string; to: string; sha256: string; size: number; contentType: string }>;
}

class Skip extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

function planOf(row: RecordingRow): Plan | undefined {
  const objects: Plan['objects'] = [];
  for (const role of ROLES) {
    const from = role === 'original' ? row.original_key : row.playback_key;
    const to = encryptedCopyKey(from);
    if (!to || recordingBindingOfKey(to)?.recordingId !== row.id) return undefined;
    objects.push({
      role,
      from,
      to,
      sha256: role === 'original' ? row.original_sha256 : row.playback_sha256,
      size: Number(role === 'original' ? row.original_size : row.playback_size),
      contentType: role === 'original' ? row.original_content_type : row.playback_content_type,
    });
  }
  return { row, objects };
}

function codeOf(error: unknown): string {
  const e = error as { name?: string; code?: unknown } | undefined;
  if (e instanceof Skip) return e.reason;
  if (e?.name === 'AbortError') return 'aborted';
  if (typeof e?.code === 'string' && /^[a-z_]{3,40}$/.test(e.code)) return e.code;
  return 'failed';
}

/** SHA-256 and length of a readable, consumed through a pipeline. */
async function digestOf(body: NodeJS.ReadableStream, signal?: AbortSignal): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  await pipeline(
    body,
    new Writable({
      write(chunk: Buffer, _enc, callback) {
        hash.update(chunk);
        size += chunk.length;
        callback();
      },
    }),
    { signal },
  );
  return { sha256: hash.digest('hex'), size };
}

/** Deletes `keys` and proves them gone (no version, no delete marker); throws otherwise. */
async function deleteAndVerify(store: ObjectStore, keys: readonly string[], signal?: AbortSignal): Promise<void> {
  const result = await store.deleteMany(keys, { signal });
  if (result.failed.length) throw result.failed[0]!.error;
  for (const key of keys) {
    if (await store.exists(key, { signal }))
      throw Object.assign(new Error('an object is still present after its delete'), { code: 'still_present' });
  }
}

/**
 * Encrypts every plaintext recording (see the module comment). Never throws for one recording:
 * its failure is reported and the next one goes on; throws only when aborted or when the
 * database cannot be read at all.
 */
export async function encryptExisting(
  deps: EncryptExistingDeps,
  options: EncryptExistingOptions,
): Promise<EncryptExistingResult> {
  const { db, store, wrapper } = deps;
  const { signal } = options;
  const batchSize = options.batchSize ?? 100;
  const owner = formatOwner(currentOwner(), `encrypt-${randomBytes(4).toString('hex')}`);
  const result: EncryptExistingResult = {
    found: await countPlaintextRecordings(db.knex),
    encrypted: 0,
    skipped: [],
    failed: [],
  };
  options.progress?.(`encrypt-existing: ${result.found} plaintext recording(s) to encrypt`);
  const fail = options.failpoint ?? (() => undefined);

  const encryptOne = async (plan: Plan): Promise<void> => {
    const id = plan.row.id;
    const copyPrefix = plan.objects[0]!.to.slice(0, plan.objects[0]!.to.lastIndexOf('/') + 1);
    if (!copyPrefix.endsWith(`/${ENCRYPTED_COPY_FOLDER}`)) throw new Skip('unknown_key');
    const now = options.now();
    try {
      await insertInflight(db.knex, {
        recording_id: id,
        object_prefix: copyPrefix,
        owner,
        created_at: now,
        lease_expires_at: now + OWNER_LEASE_MS,
      });
    } catch {
      throw new Skip('busy');
    }
    let switched = false;
    try {
      // Read again under the marker: a deletion that claimed it since the page was read wins.
      const from = { originalKey: plan.row.original_key, playbackKey: plan.row.playback_key };
      if (!(await isStillPlaintext(db.knex, { recordingId: id, ...from }))) throw new Skip('deleted_meanwhile');
      await fail('marked', id);

      const dataKey: DataKey = { key: randomBytes(32), kekId: wrapper.currentKekId };
      const sealing = createEncryptedStore(store, {
        dataKeys: { forWrite: async () => dataKey, forRead: async () => dataKey },
        bindingOf: recordingBindingOfKey,
      });
      for (const o of plan.objects) {
        signal?.throwIfAborted();
        const tags = await store.getTags(o.from, { signal });
        const got = await store.get(o.from, { signal });
        await sealing.put(o.to, got.body, {
          contentType: o.contentType,
          contentLength: o.size,
          sha256: o.sha256,
          tags,
          signal,
        });
      }
      await fail('written', id);

      for (const o of plan.objects) {
        const got = await sealing.get(o.to, { signal });
        const read = await digestOf(got.body, signal);
        if (read.size !== o.size || read.sha256 !== o.sha256.toLowerCase())
          throw Object.assign(new Error('an encrypted copy does not read back as its original'), { code: 'integrity' });
      }
      await fail('verified', id);

      const wrapped = await wrapper.wrap(dataKey.key, { recordingId: id });
      const plaintextKeys = plan.objects.map((o) => o.from);
      await db.knex.transaction(async (trx) => {
        // crash recovery deleted (or is deleting) the copies
        if (!(await takeInflight(trx, { recordingId: id, owner }))) throw new Skip('taken_over');
        const done = await switchToEncryptedCopies(trx, {
          recordingId: id,
          from,
          to: { originalKey: plan.objects[0]!.to, playbackKey: plan.objects[1]!.to },
          key: { recording_id: id, kek_id: wrapped.kekId, wrapped: wrapped.wrapped, created_at: options.now() },
        });
        if (!done) throw new Skip('deleted_meanwhile');
        await insertInflight(trx, {
          recording_id: id,
          object_prefix: copyPrefix.slice(0, -ENCRYPTED_COPY_FOLDER.length),
          object_keys: JSON.stringify(plaintextKeys),
          owner,
          created_at: options.now(),
          lease_expires_at: options.now() + OWNER_LEASE_MS,
        });
      });
      switched = true;
      await fail('switched', id);

      await deleteAndVerify(store, plaintextKeys, signal);
      await fail('plaintextDeleted', id);
      await deleteInflight(db.knex, { recordingId: id, owner });
      await fail('done', id);
    } catch (error) {
      if (!switched) {
        // Nothing points at the copies: delete them, then the marker (left for crash recovery
        // when the delete fails; after `taken_over`, recovery owns the marker and the copies).
        if (!(error instanceof Skip && error.reason === 'taken_over')) {
          try {
            await deleteAndVerify(
              store,
              plan.objects.map((o) => o.to),
            );
            await deleteInflight(db.knex, { recordingId: id, owner });
          } catch {
            // The marker stays; crash recovery deletes the copies once this process is gone.
          }
        }
      }
      // After the switch the recording is encrypted; a plaintext object left behind is named by
      // the second marker, which crash recovery handles once this process is gone.
      throw error;
    }
  };

  let afterId = '';
  for (;;) {
    signal?.throwIfAborted();
    const rows = (await findPlaintextRecordings<RecordingRow>(db.knex, { afterId, limit: batchSize })).map(
      normalizeRow,
    );
    if (rows.length === 0) break;
    afterId = rows[rows.length - 1]!.id;
    for (const row of rows) {
      signal?.throwIfAborted();
      const plan = planOf(row);
      try {
        if (!plan) throw new Skip('unknown_key');
        await encryptOne(plan);
        result.encrypted += 1;
      } catch (error) {
        if (signal?.aborted) throw error;
        const reason = codeOf(error);
        if (error instanceof Skip) result.skipped.push({ id: row.id, reason });
        else {
          result.failed.push({ id: row.id, reason });
          options.progress?.(`encrypt-existing: ${row.id} failed (${reason}); a rerun retries it`);
        }
      }
    }
    options.progress?.(
      `encrypt-existing: ${result.encrypted}/${result.found} encrypted, ${result.skipped.length} skipped, ` +
        `${result.failed.length} failed`,
    );
    if (rows.length < batchSize) break;
  }
  return result;
}
