/**
 * What the parts of the filesystem driver share (see ./fs-store.ts): the layout (temp folder,
 * sidecars), the mapping of I/O errors to StoreErrors, and the context of one store: its root,
 * its own temp folder, and how a key maps to its file, sidecar and ObjectInfo.
 */
import type fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { claimOwnedDir, removeStaleOwnedDirs } from '../owned-dirs.js';
import type { OwnedDir, StaleRemoval } from '../owned-dirs.js';
import { assertValidKey } from './keys.js';
import { InvalidKeyError, ObjectNotFoundError, StoreFullError, StoreUnavailableError } from './object-store.js';
import type { ObjectInfo, Tags } from './object-store.js';

export const TMP_DIR = '.tmp';
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

export interface Meta {
  contentType: string;
  tags: Tags;
  size: number;
  sha256: string;
}

/** Errors that mean the filesystem cannot serve us (as opposed to a missing file). */
const UNAVAILABLE_CODES = new Set(['EACCES', 'EPERM', 'ENOSPC', 'EIO', 'EROFS', 'EMFILE', 'ENFILE', 'EDQUOT', 'EBUSY']);

export function errno(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error
    ? String((error as { code: unknown }).code)
    : undefined;
}

/** Errors that mean the disk is full. */
export const FULL_CODES = new Set(['ENOSPC', 'EDQUOT']);

/**
 * Maps an unexpected I/O error: a full disk → StoreFullError, unreachable storage →
 * StoreUnavailableError, anything else unchanged.
 */
export function mapIoError(error: unknown, what: string): unknown {
  const code = errno(error);
  if (code && FULL_CODES.has(code))
    return new StoreFullError(`filesystem store: ${what} failed (${code})`, { cause: error });
  if (code && UNAVAILABLE_CODES.has(code))
    return new StoreUnavailableError(`filesystem store: ${what} failed (${code})`, { cause: error });
  return error;
}

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function removeQuietly(file: string): Promise<void> {
  await fsp.rm(file, { force: true }).catch(() => undefined);
}

/**
 * Removes the temp files of puts whose process is dead (kill -9 during a put) from the fs store
 * at `root`; the folders of live processes stay. `dryRun` only reports.
 */
export async function removeStaleFsTemp(options: {
  root: string;
  now: number;
  dryRun?: boolean;
}): Promise<StaleRemoval> {
  return removeStaleOwnedDirs(path.join(path.resolve(options.root), TMP_DIR), {
    now: options.now,
    dryRun: options.dryRun,
  });
}

export type FsContext = ReturnType<typeof createFsContext>;

/** The context of one fs store at `root` (resolved): paths, sidecars, and its own temp folder. */
export function createFsContext(root: string) {
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

  /** Removes the store's own temp folder (puts in flight fail). */
  async function releaseTmp(): Promise<void> {
    const owned = tmpReady;
    tmpReady = undefined;
    await owned?.then(
      (dir) => dir.release(),
      () => undefined,
    );
  }

  return { root, ensureTmp, openTemp, objectPath, metaPath, readMeta, infoOf, statObject, releaseTmp };
}
