/**
 * Filesystem ObjectStore driver (the embedded default).
 *
 * Layout under `root`:
 * - `<key>`: the object's bytes, at the path the key names (keys are validated by
 *   `assertValidKey` and then checked to resolve inside root).
 * - `<dir>/.<name>.meta.json`: the sidecar of `<dir>/<name>` with content type, tags, size and
 *   sha256. A valid key segment never starts with `.`, so a sidecar can never collide with a key.
 * - `.tmp/<pid>-<random>/`: temp files of this process's puts in flight, in a folder owned by the
 *   process (src/owned-dirs.ts); never listed. What dead processes left there (a kill -9 during a
 *   put) is removed the first time a store instance writes or pings, and by `removeStaleFsTemp`
 *   (startup, reconcile); the folders of live processes (other instances on the same data dir)
 *   are left alone. `close()` removes the store's own folder.
 *
 * Atomicity: `put` streams into `.tmp/`, hashing as it goes, fsyncs, then renames the sidecar
 * into place, renames the object into place and fsyncs the folder. Readers see the old object
 * (or none) until the object's rename; the object file is the source of truth (a sidecar without
 * an object is not an object). A body that errors, a wrong `contentLength` or an aborted signal
 * removes the temp files and rejects.
 *
 * ETag: `"<sha256 hex of the bytes>"`, computed while writing and kept in the sidecar: a strong
 * validator that changes whenever the content changes. For a file without a matching sidecar
 * (placed by hand) it falls back to `"<size hex>-<mtime ms hex>"`.
 *
 * Listing walks the tree in key order (UTF-8 byte order, as S3 does); the cursor is the
 * base64url-encoded last key of the previous page.
 */
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { claimOwnedDir, removeStaleOwnedDirs } from '../owned-dirs.js';
import type { OwnedDir, StaleRemoval } from '../owned-dirs.js';
import { assertValidKey, assertValidPrefix } from './keys.js';
import { assertValidTags } from './tags.js';
import {
  InvalidKeyError,
  ObjectIntegrityError,
  ObjectNotFoundError,
  StoreFullError,
  StoreUnavailableError,
  resolveRange,
} from './object-store.js';
import type {
  DeleteManyResult,
  GetOptions,
  GetResult,
  ListOptions,
  ListPage,
  ObjectInfo,
  ObjectStore,
  PutOptions,
  ServedRange,
  SignalOption,
  Tags,
  VersionPage,
} from './object-store.js';
import { abortError, isAbortError, listLimit, throwIfAborted } from './store-helpers.js';
export { MAX_LIST_LIMIT } from './store-helpers.js';

const TMP_DIR = '.tmp';
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

interface Meta {
  contentType: string;
  tags: Tags;
  size: number;
  sha256: string;
}

/** Errors that mean the filesystem cannot serve us (as opposed to a missing file). */
const UNAVAILABLE_CODES = new Set(['EACCES', 'EPERM', 'ENOSPC', 'EIO', 'EROFS', 'EMFILE', 'ENFILE', 'EDQUOT', 'EBUSY']);

function errno(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
}

/** Errors that mean the disk is full. */
const FULL_CODES = new Set(['ENOSPC', 'EDQUOT']);

/**
 * Maps an unexpected I/O error: a full disk → StoreFullError, unreachable storage →
 * StoreUnavailableError, anything else unchanged.
 */
function mapIoError(error: unknown, what: string): unknown {
  const code = errno(error);
  if (code && FULL_CODES.has(code)) return new StoreFullError(`filesystem store: ${what} failed (${code})`, { cause: error });
  if (code && UNAVAILABLE_CODES.has(code)) return new StoreUnavailableError(`filesystem store: ${what} failed (${code})`, { cause: error });
  return error;
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Size of one write(2): one huge write is much slower than 1 MiB slices (measured: 16 MiB 100 ms vs 10 ms). */
const WRITE_SLICE = 1024 * 1024;
/** Bytes buffered between hashing and writing (bounded memory per put). */
const STREAM_BUFFER = 1024 * 1024;

/**
 * Writes every byte of `chunks` in order: small chunks go together in one writev(2) of up to
 * WRITE_SLICE (no copy into one buffer), big ones in WRITE_SLICE slices. A short write
 * continues where it stopped.
 */
export async function writeAll(handle: Pick<fsp.FileHandle, 'write' | 'writev'>, chunks: Buffer[]): Promise<void> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    let buffers = pending;
    pending = [];
    pendingBytes = 0;
    while (buffers.length > 0) {
      const { bytesWritten } = buffers.length === 1 ? await handle.write(buffers[0]!) : await handle.writev(buffers);
      if (bytesWritten === 0 && buffers.some((b) => b.length > 0)) throw new Error('write(2) wrote nothing');
      let left = bytesWritten;
      let done = 0;
      while (done < buffers.length && left >= buffers[done]!.length) left -= buffers[done++]!.length;
      buffers = buffers.slice(done);
      if (buffers.length > 0 && left > 0) buffers[0] = buffers[0]!.subarray(left);
    }
  };
  for (const chunk of chunks) {
    for (let offset = 0; offset < chunk.length; offset += WRITE_SLICE) {
      const piece = chunk.subarray(offset, offset + WRITE_SLICE);
      if (pendingBytes + piece.length > WRITE_SLICE && pending.length > 0) await flush();
      pending.push(piece);
      pendingBytes += piece.length;
    }
  }
  if (pending.length > 0) await flush();
}

async function removeQuietly(file: string): Promise<void> {
  await fsp.rm(file, { force: true }).catch(() => undefined);
}

function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  try {
    assertValidKey(key);
  } catch {
    throw new InvalidKeyError('malformed list cursor');
  }
  return key;
}

/** Byte-order comparison of keys (keys are ASCII, so UTF-16 order equals UTF-8 order). */
function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Removes the temp files of puts whose process is dead (kill -9 during a put) from the fs store
 * at `root`; the folders of live processes stay. `dryRun` only reports.
 */
export async function removeStaleFsTemp(options: { root: string; now: number; dryRun?: boolean }): Promise<StaleRemoval> {
  return removeStaleOwnedDirs(path.join(path.resolve(options.root), TMP_DIR), { now: options.now, dryRun: options.dryRun });
}

export function createFsStore(options: { root: string }): ObjectStore {
  const root = path.resolve(options.root);
  const tmpDir = path.join(root, TMP_DIR);
  let tmpReady: Promise<OwnedDir> | undefined;

  /**
   * Creates root, `.tmp/` and this store's own temp folder once per store, clearing what dead
   * processes left there the first time (best effort: a failure there never fails a put).
   */
  function ensureTmp(): Promise<OwnedDir> {
    tmpReady ??= (async () => {
      await removeStaleFsTemp({ root, now: Date.now() }).catch(() => undefined);
      return claimOwnedDir(tmpDir);
    })().catch((error: unknown) => {
      tmpReady = undefined;
      throw mapIoError(error, 'creating the store folder');
    });
    return tmpReady;
  }

  /** Opens a new temp file in the store's own folder; re-creates the folder if a peer removed it. */
  async function openTemp(owned: OwnedDir, file: string): Promise<fsp.FileHandle> {
    try {
      return await fsp.open(file, 'wx');
    } catch (error) {
      if (errno(error) !== 'ENOENT') throw error;
      await owned.ensure();
      return fsp.open(file, 'wx');
    }
  }

  /** The object's path, after validating the key and checking it resolves inside root. */
  function objectPath(key: string): string {
    assertValidKey(key);
    const resolved = path.resolve(root, ...key.split('/'));
    if (!resolved.startsWith(root + path.sep)) throw new InvalidKeyError('resolves outside the store');
    return resolved;
  }

  function metaPath(file: string): string {
    return path.join(path.dirname(file), `.${path.basename(file)}.meta.json`);
  }

  async function readMeta(file: string): Promise<Meta | undefined> {
    try {
      return JSON.parse(await fsp.readFile(metaPath(file), 'utf8')) as Meta;
    } catch (error) {
      if (errno(error) === 'ENOENT' || error instanceof SyntaxError) return undefined;
      throw mapIoError(error, 'reading metadata');
    }
  }

  function infoOf(key: string, stats: fs.Stats, meta: Meta | undefined): ObjectInfo {
    const matches = meta !== undefined && meta.size === stats.size;
    return {
      key,
      size: stats.size,
      contentType: matches ? meta.contentType : DEFAULT_CONTENT_TYPE,
      etag: matches ? `"${meta.sha256}"` : `"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`,
      lastModified: stats.mtime,
    };
  }

  async function statObject(key: string, file: string): Promise<fs.Stats> {
    try {
      const stats = await fsp.stat(file);
      if (!stats.isFile()) throw new ObjectNotFoundError(key);
      return stats;
    } catch (error) {
      if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR') throw new ObjectNotFoundError(key, { cause: error });
      throw mapIoError(error, 'stat');
    }
  }

  /** Writes `data` to a temp file and renames it to `target` (the caller fsyncs the folder). */
  async function writeFileAtomic(target: string, data: string): Promise<void> {
    const owned = await ensureTmp();
    const temp = path.join(owned.path, `${randomUUID()}.meta`);
    try {
      const handle = await openTemp(owned, temp);
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fsp.rename(temp, target);
    } catch (error) {
      await removeQuietly(temp);
      throw error;
    }
  }

  /**
   * Renames the temp files into the key's folder, creating it first. A concurrent delete may
   * remove the (empty) folder between mkdir and rename, so ENOENT is retried a few times.
   */
  async function moveIntoPlace(file: string, tempMeta: string, tempObject: string): Promise<void> {
    const dir = path.dirname(file);
    for (let attempt = 0; ; attempt++) {
      try {
        await fsp.mkdir(dir, { recursive: true });
        await fsp.rename(tempMeta, metaPath(file));
      } catch (error) {
        const code = errno(error);
        if (code === 'ENOENT' && attempt < 5) continue;
        if (code === 'ENOTDIR' || code === 'EEXIST') throw new InvalidKeyError('conflicts with an existing object of the store');
        throw error;
      }
      try {
        await fsp.rename(tempObject, file);
        return;
      } catch (error) {
        const code = errno(error);
        if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST') {
          // The key names a folder of other keys: take the sidecar placed for it back out.
          await removeQuietly(metaPath(file));
          throw new InvalidKeyError('conflicts with a folder of other keys in the store');
        }
        throw error;
      }
    }
  }

  async function removeEmptyParents(file: string): Promise<void> {
    let dir = path.dirname(file);
    while (dir.startsWith(root + path.sep)) {
      try {
        await fsp.rmdir(dir);
      } catch {
        return; // not empty, gone already, or not ours to remove
      }
      dir = path.dirname(dir);
    }
  }

  async function deleteOne(key: string): Promise<void> {
    const file = objectPath(key);
    try {
      await fsp.rm(file, { force: true });
      await fsp.rm(metaPath(file), { force: true });
    } catch (error) {
      if (errno(error) === 'ENOTDIR') return;
      if (errno(error) === 'EISDIR' || errno(error) === 'ERR_FS_EISDIR') return; // a folder, not an object: nothing to delete
      throw mapIoError(error, 'delete');
    }
    await removeEmptyParents(file);
  }

  /** Yields keys under `dir` (whose keys start with `dirKey`) in key order, starting after `after`. */
  async function* walk(dir: string, dirKey: string, namePrefix: string, after: string | undefined): AsyncGenerator<string> {
    let entries: fs.Dirent[];
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR') return;
      throw mapIoError(error, 'list');
    }
    const candidates = entries
      .filter((e) => !e.name.startsWith('.') && e.name.startsWith(namePrefix) && (e.isFile() || e.isDirectory()))
      .map((e) => ({ name: e.name, isDir: e.isDirectory(), sortKey: `${dirKey}${e.name}${e.isDirectory() ? '/' : ''}` }))
      .sort((a, b) => compareKeys(a.sortKey, b.sortKey));
    for (const entry of candidates) {
      if (entry.isDir) {
        const subKey = entry.sortKey;
        // Every key of the subtree starts with subKey; skip the subtree when all of it is <= after.
        if (after !== undefined && !after.startsWith(subKey) && compareKeys(after, subKey) > 0) continue;
        yield* walk(path.join(dir, entry.name), subKey, '', after);
      } else {
        if (after !== undefined && compareKeys(entry.sortKey, after) <= 0) continue;
        yield entry.sortKey;
      }
    }
  }

  const store: ObjectStore = {
    kind: 'fs',
    // A file has no older versions and a delete leaves no marker: its listing is every trace.
    capabilities: { versions: false },

    async put(key: string, source: Readable | Buffer, opts: PutOptions): Promise<ObjectInfo> {
      const body = Buffer.isBuffer(source) ? Readable.from([source]) : source;
      const file = objectPath(key);
      assertValidTags(opts.tags);
      if (opts.lock) throw new TypeError('the fs store cannot lock objects (objectLock() is false)');
      const { signal } = opts;
      let tempObject: string | undefined;
      let tempMeta: string | undefined;
      try {
        throwIfAborted(signal);
        const owned = await ensureTmp();
        tempObject = path.join(owned.path, `${randomUUID()}.part`);
        tempMeta = path.join(owned.path, `${randomUUID()}.meta`);
        const hash = createHash('sha256');
        let size = 0;
        let digest = '';
        const counter = new Transform({
          highWaterMark: STREAM_BUFFER,
          transform(chunk: Buffer, _encoding, callback) {
            hash.update(chunk);
            size += chunk.length;
            callback(null, chunk);
          },
        });
        const handle = await openTemp(owned, tempObject);
        try {
          const out = new Writable({
            // Let chunks gather while a write is in flight, so that writev batches them.
            highWaterMark: STREAM_BUFFER,
            writev(chunks, callback) {
              writeAll(handle, chunks.map((c) => c.chunk as Buffer)).then(() => callback(), callback);
            },
          });
          await pipeline(body, counter, out, signal ? { signal } : {});
          if (opts.contentLength !== undefined && size !== opts.contentLength) {
            throw new Error(`body has ${size} bytes, expected contentLength ${opts.contentLength}`);
          }
          digest = hash.digest('hex');
          if (opts.sha256 !== undefined && digest !== opts.sha256.toLowerCase()) throw new ObjectIntegrityError(key);
          await handle.sync();
        } finally {
          await handle.close();
        }
        throwIfAborted(signal);
        const meta: Meta = { contentType: opts.contentType || DEFAULT_CONTENT_TYPE, tags: { ...opts.tags }, size, sha256: digest };
        const metaHandle = await fsp.open(tempMeta, 'wx');
        try {
          await metaHandle.writeFile(JSON.stringify(meta));
          await metaHandle.sync();
        } finally {
          await metaHandle.close();
        }
        throwIfAborted(signal);
        await moveIntoPlace(file, tempMeta, tempObject);
        await fsyncDir(path.dirname(file));
        const stats = await fsp.stat(file);
        return infoOf(key, stats, meta);
      } catch (error) {
        if (tempObject) await removeQuietly(tempObject);
        if (tempMeta) await removeQuietly(tempMeta);
        if (!body.destroyed) body.destroy();
        if (isAbortError(error) && signal?.aborted) throw abortError(signal);
        throw mapIoError(error, 'put');
      }
    },

    async get(key: string, opts: GetOptions = {}): Promise<GetResult> {
      const file = objectPath(key);
      const { signal } = opts;
      throwIfAborted(signal);
      let handle: fsp.FileHandle;
      try {
        handle = await fsp.open(file, 'r');
      } catch (error) {
        if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR' || errno(error) === 'EISDIR') {
          throw new ObjectNotFoundError(key, { cause: error });
        }
        throw mapIoError(error, 'get');
      }
      let range: ServedRange | undefined;
      let info: ObjectInfo;
      try {
        const stats = await handle.stat();
        if (!stats.isFile()) throw new ObjectNotFoundError(key);
        info = infoOf(key, stats, await readMeta(file));
        if (opts.range) range = resolveRange(opts.range, stats.size);
        throwIfAborted(signal);
      } catch (error) {
        await handle.close();
        throw mapIoError(error, 'get');
      }
      const stream = handle.createReadStream(range ? { start: range.start, end: range.end } : {});
      if (signal) {
        // Destroy the file stream when the signal aborts; the consumer sees an AbortError.
        const onAbort = () => stream.destroy(abortError(signal));
        signal.addEventListener('abort', onAbort, { once: true });
        stream.once('close', () => signal.removeEventListener('abort', onAbort));
      }
      return range ? { body: stream, info, range } : { body: stream, info };
    },

    async stat(key: string, opts: SignalOption = {}): Promise<ObjectInfo> {
      const file = objectPath(key);
      throwIfAborted(opts.signal);
      const stats = await statObject(key, file);
      return infoOf(key, stats, await readMeta(file));
    },

    async getTags(key: string, opts: SignalOption = {}): Promise<Tags> {
      const file = objectPath(key);
      throwIfAborted(opts.signal);
      await statObject(key, file);
      return { ...((await readMeta(file))?.tags ?? {}) };
    },

    async putTags(key: string, tags: Tags, opts: SignalOption = {}): Promise<void> {
      const file = objectPath(key);
      assertValidTags(tags);
      throwIfAborted(opts.signal);
      const stats = await statObject(key, file);
      const current = await readMeta(file);
      let meta: Meta;
      if (current && current.size === stats.size) meta = { ...current, tags: { ...tags } };
      else {
        // No usable sidecar: compute the hash so the ETag stays a strong validator.
        const hash = createHash('sha256');
        await pipeline(fs.createReadStream(file), hash);
        meta = { contentType: current?.contentType ?? DEFAULT_CONTENT_TYPE, tags: { ...tags }, size: stats.size, sha256: hash.digest('hex') };
      }
      try {
        await writeFileAtomic(metaPath(file), JSON.stringify(meta));
        await fsyncDir(path.dirname(file));
      } catch (error) {
        throw mapIoError(error, 'putTags');
      }
    },

    async delete(key: string, opts: SignalOption = {}): Promise<void> {
      throwIfAborted(opts.signal);
      await deleteOne(key);
    },

    async deleteMany(keys: readonly string[], opts: SignalOption = {}): Promise<DeleteManyResult> {
      const result: DeleteManyResult = { deleted: [], failed: [] };
      for (const key of keys) {
        throwIfAborted(opts.signal);
        try {
          await deleteOne(key);
          result.deleted.push(key);
        } catch (error) {
          result.failed.push({ key, error: error instanceof Error ? error : new Error(String(error)) });
        }
      }
      return result;
    },

    async exists(key: string, opts: SignalOption = {}): Promise<boolean> {
      const file = objectPath(key);
      throwIfAborted(opts.signal);
      for (const candidate of [file, metaPath(file)]) {
        try {
          // A folder at the key's path holds other keys; it is no trace of this one.
          if ((await fsp.lstat(candidate)).isDirectory()) continue;
          return true;
        } catch (error) {
          if (errno(error) !== 'ENOENT' && errno(error) !== 'ENOTDIR') throw mapIoError(error, 'exists');
        }
      }
      return false;
    },

    async list(prefix: string, opts: ListOptions = {}): Promise<ListPage> {
      assertValidPrefix(prefix);
      throwIfAborted(opts.signal);
      const limit = listLimit(opts.limit);
      const after = opts.cursor ? decodeCursor(opts.cursor) : opts.startAfter || undefined;
      const slash = prefix.lastIndexOf('/');
      const dirKey = prefix.slice(0, slash + 1);
      const namePrefix = prefix.slice(slash + 1);
      const dir = dirKey === '' ? root : path.join(root, ...dirKey.slice(0, -1).split('/'));
      const keys: string[] = [];
      let more = false;
      for await (const key of walk(dir, dirKey, namePrefix, after)) {
        if (keys.length === limit) {
          more = true;
          break;
        }
        keys.push(key);
      }
      const items: ListPage['items'] = [];
      for (const key of keys) {
        try {
          const stats = await fsp.stat(objectPath(key));
          items.push({ key, size: stats.size, lastModified: stats.mtime });
        } catch (error) {
          if (errno(error) !== 'ENOENT') throw mapIoError(error, 'list');
          // deleted while listing: leave it out
        }
      }
      const last = keys.at(-1);
      return more && last !== undefined ? { items, nextCursor: encodeCursor(last) } : { items };
    },

    async listVersions(prefix: string, opts: ListOptions = {}): Promise<VersionPage> {
      const page = await store.list(prefix, opts);
      const items = page.items.map((i) => ({ key: i.key, versionId: 'null', deleteMarker: false, latest: true, lastModified: i.lastModified }));
      return page.nextCursor ? { items, nextCursor: page.nextCursor } : { items };
    },

    async ping(opts: SignalOption = {}): Promise<void> {
      throwIfAborted(opts.signal);
      let probe: string | undefined;
      try {
        const owned = await ensureTmp();
        probe = path.join(owned.path, `${randomUUID()}.ping`);
        // A few bytes, not an empty file: a full disk still has inodes for empty files.
        const handle = await openTemp(owned, probe);
        try {
          await handle.writeFile('ok');
        } finally {
          await handle.close();
        }
        await fsp.rm(probe);
      } catch (error) {
        if (probe) await removeQuietly(probe);
        const Failure = FULL_CODES.has(errno(error) ?? '') ? StoreFullError : StoreUnavailableError;
        throw new Failure(`filesystem store at ${root} is not writable (${errno(error) ?? 'error'})`, { cause: error });
      }
    },

    async objectLock(): Promise<boolean> {
      return false;
    },

    async close(): Promise<void> {
      // Nothing else is held open between calls: the store's temp folder goes (puts in flight fail).
      const owned = tmpReady;
      tmpReady = undefined;
      await owned?.then((dir) => dir.release(), () => undefined);
    },
  };
  return store;
}

/** The folder (under root) that holds temp files of puts in flight; tests check it is left empty. */
export const FS_STORE_TMP_DIR = TMP_DIR;
