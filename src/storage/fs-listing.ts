/**
 * Listing of the filesystem driver (see ./fs-store.ts): `list` walks the tree in key order
 * (UTF-8 byte order, as S3 does; the cursor is the base64url-encoded last key of the previous
 * page), `listVersions` is that listing (a file has no versions), `exists` looks for the object
 * or its sidecar.
 */
import type fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { assertValidKey, assertValidPrefix } from './keys.js';
import { InvalidKeyError } from './object-store.js';
import type { ListOptions, ListPage, SignalOption, VersionPage } from './object-store.js';
import { errno, mapIoError } from './fs-common.js';
import type { FsContext } from './fs-common.js';
import { listLimit, throwIfAborted } from './store-helpers.js';

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

/** `list`, `listVersions` and `exists` of an fs store. */
export function fsListing(ctx: FsContext) {
  const { root, objectPath, metaPath } = ctx;

  /** Yields keys under `dir` (whose keys start with `dirKey`) in key order, starting after `after`. */
  async function* walk(
    dir: string,
    dirKey: string,
    namePrefix: string,
    after: string | undefined,
  ): AsyncGenerator<string> {
    let entries: fs.Dirent[];
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR') return;
      throw mapIoError(error, 'list');
    }
    const candidates = entries
      .filter((e) => !e.name.startsWith('.') && e.name.startsWith(namePrefix) && (e.isFile() || e.isDirectory()))
      .map((e) => ({
        name: e.name,
        isDir: e.isDirectory(),
        sortKey: `${dirKey}${e.name}${e.isDirectory() ? '/' : ''}`,
      }))
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

  const methods = {
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
      const page = await methods.list(prefix, opts);
      const items = page.items.map((i) => ({
        key: i.key,
        versionId: 'null',
        deleteMarker: false,
        latest: true,
        lastModified: i.lastModified,
      }));
      return page.nextCursor ? { items, nextCursor: page.nextCursor } : { items };
    },
  };
  return methods;
}
