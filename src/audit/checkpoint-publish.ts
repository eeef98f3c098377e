/**
 * Checkpoints published outside the database, so that a truncation or rewrite of the
 * deletion log is caught against a copy the database cannot change:
 *
 * - the object store, one object per checkpoint under `checkpoints/`, named
 *   `checkpoints/<first 11 of the size's 15 digits>/<size, 15 digits>-<headHash>.json` (a
 *   folder per 10,000 entries of the log, so that the fs store lists a large set page by
 *   page without reading one huge folder for each page) and holding the signed document
 *   `{at, headHash, keyId, signature, size}` (canonical JSON). No tags: the retention
 *   lifecycle rule (which matches the `retention` tag) never expires them, and the
 *   reconciler and the sweeper only ever list `recordings/`. On a bucket with Object Lock
 *   enabled each is put with a retention (CALLREC_CHECKPOINT_LOCK_MODE, until `at` +
 *   CALLREC_CHECKPOINT_RETAIN), so not even the service's own credentials can delete it;
 * - the application log: one info line per checkpoint with size, head hash, time, key id
 *   and signature (`checkpointLogFields`; ids and digests only, nothing personal).
 *
 * Because the key names size and head hash, a verifier compares the whole published set
 * with the chain from one listing of the prefix; only an object that disagrees with the
 * chain is read (to tell a genuine signed checkpoint from a planted one).
 */
import type { KeyObject } from 'node:crypto';
import { createHash } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { ObjectStore } from '../storage/object-store.js';
import { canonicalJson } from './canonical-json.js';
import { checkpointText, keyIdOf, verifyText } from './checkpoint-key.js';
import type { Checkpoint } from './checkpoints.js';

export const CHECKPOINTS_PREFIX = 'checkpoints/';
const SIZE_DIGITS = 15;
const FOLDER_DIGITS = 11;
const KEY = /^checkpoints\/(\d{11})\/(\d{15})-([0-9a-f]{64})\.json$/;
/** A published document is a few hundred bytes; anything much larger is not one. */
const MAX_DOCUMENT_BYTES = 4096;

/** A checkpoint as its object key names it (not yet read, not yet verified). */
export interface PublishedCheckpoint {
  key: string;
  size: number;
  headHash: string;
}

/** `checkpoints/00000000000/000000000001234-<headHash>.json` */
export function checkpointObjectKey(c: { size: number; headHash: string }): string {
  if (!Number.isSafeInteger(c.size) || c.size < 1 || String(c.size).length > SIZE_DIGITS)
    throw new RangeError(`checkpoint size out of range: ${c.size}`);
  if (!/^[0-9a-f]{64}$/.test(c.headHash)) throw new TypeError('checkpoint head hash must be 64 lowercase hex digits');
  const digits = String(c.size).padStart(SIZE_DIGITS, '0');
  return `${CHECKPOINTS_PREFIX}${digits.slice(0, FOLDER_DIGITS)}/${digits}-${c.headHash}.json`;
}

/** The size and head hash a key names, or undefined for a key of any other shape. */
export function parseCheckpointKey(key: string): PublishedCheckpoint | undefined {
  const match = KEY.exec(key);
  if (!match || !match[2]!.startsWith(match[1]!)) return undefined;
  const size = Number(match[2]);
  return size >= 1 ? { key, size, headHash: match[3]! } : undefined;
}

/** The published document: the checkpoint exactly as the API shows it, in canonical JSON. */
export function checkpointDocument(c: Checkpoint): Buffer {
  return Buffer.from(
    canonicalJson({ at: c.at, headHash: c.headHash, keyId: c.keyId, signature: c.signature, size: c.size }),
    'utf8',
  );
}

/**
 * The checkpoint as the log line carries it. The signature goes as hex under `sigHex`: the
 * logger redacts every key named like "signature" (a safety net for request signatures; a
 * checkpoint signature is public, the API serves it), and its phone-number scrubbing could
 * hit a base64 `+` followed by digits, never hex.
 */
export function checkpointLogFields(c: Checkpoint): {
  size: number;
  headHash: string;
  at: string;
  keyId: string;
  sigHex: string;
} {
  return {
    size: c.size,
    headHash: c.headHash,
    at: c.at,
    keyId: c.keyId,
    sigHex: Buffer.from(c.signature, 'base64').toString('hex'),
  };
}

export interface PublishDeps {
  store: ObjectStore;
  logger: Logger;
  config: { audit: Pick<Config['audit'], 'checkpointLock'> };
}

/**
 * Writes the checkpoint to the log output and to the object store (locked where the bucket
 * has Object Lock). Never throws for a store failure: the checkpoint is in the database and
 * the log line, and `maybeCheckpoint` puts the newest one again at its next run when its
 * object is missing. Resolves whether the object was stored, and locked.
 */
export async function publishCheckpoint(
  deps: PublishDeps,
  checkpoint: Checkpoint,
  options: { signal?: AbortSignal } = {},
): Promise<{ key: string; published: boolean; locked: boolean }> {
  const key = checkpointObjectKey(checkpoint);
  const body = checkpointDocument(checkpoint);
  let published = false;
  let locked = false;
  try {
    const lockable = await deps.store.objectLock({ signal: options.signal });
    const { mode, retainMs } = deps.config.audit.checkpointLock;
    await deps.store.put(key, body, {
      contentType: 'application/json',
      contentLength: body.length,
      tags: {},
      sha256: createHash('sha256').update(body).digest('hex'),
      ...(lockable ? { lock: { mode, retainUntil: new Date(Date.parse(checkpoint.at) + retainMs) } } : {}),
      signal: options.signal,
    });
    published = true;
    locked = lockable;
  } catch (error) {
    deps.logger.warn(
      { size: checkpoint.size, err: { name: (error as Error)?.name, code: (error as { code?: unknown })?.code } },
      'deletion log checkpoint not written to the object store; it is put again at the next checkpoint run',
    );
  }
  deps.logger.info({ checkpoint: checkpointLogFields(checkpoint), published, locked }, 'deletion log checkpoint');
  return { key, published, locked };
}

/** Every published checkpoint named under the prefix, smallest size first: one listing, page by page. */
export async function listPublishedCheckpoints(
  store: ObjectStore,
  options: { signal?: AbortSignal } = {},
): Promise<PublishedCheckpoint[]> {
  const found: PublishedCheckpoint[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list(CHECKPOINTS_PREFIX, { signal: options.signal, ...(cursor ? { cursor } : {}) });
    for (const item of page.items) {
      const parsed = parseCheckpointKey(item.key);
      if (parsed) found.push(parsed);
    }
    cursor = page.nextCursor;
  } while (cursor);
  return found.sort((a, b) => a.size - b.size || (a.headHash < b.headHash ? -1 : a.headHash > b.headHash ? 1 : 0));
}

/**
 * Whether the object `published` names holds a checkpoint signed by `publicKey` for exactly
 * the size and head hash its key names. A missing, oversized or malformed object, another
 * key id or a bad signature: false.
 */
export async function verifyPublishedCheckpoint(
  store: ObjectStore,
  published: PublishedCheckpoint,
  options: { publicKey: KeyObject; signal?: AbortSignal },
): Promise<boolean> {
  let document: Partial<Record<keyof Checkpoint, unknown>>;
  try {
    const { body, info } = await store.get(published.key, { signal: options.signal });
    if (info.size > MAX_DOCUMENT_BYTES) {
      body.destroy();
      return false;
    }
    document = JSON.parse((await buffer(body)).toString('utf8')) as typeof document;
  } catch (error) {
    if ((error as Error)?.name === 'AbortError') throw error;
    if ((error as { code?: unknown })?.code === 'store_unavailable') throw error;
    return false;
  }
  const { size, headHash, at, keyId, signature } = document ?? {};
  if (
    size !== published.size ||
    headHash !== published.headHash ||
    typeof at !== 'string' ||
    typeof signature !== 'string'
  )
    return false;
  if (keyId !== keyIdOf(options.publicKey)) return false;
  return verifyText(options.publicKey, checkpointText({ size, headHash, at }), signature);
}
