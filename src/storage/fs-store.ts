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
import { randomUUID } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { StoreFullError, StoreUnavailableError } from './object-store.js';
import type { ObjectStore, SignalOption } from './object-store.js';
import { FULL_CODES, TMP_DIR, createFsContext, errno, removeQuietly } from './fs-common.js';
import { fsDeletes } from './fs-deletes.js';
import { fsListing } from './fs-listing.js';
import { fsReads } from './fs-reads.js';
import { fsWrites } from './fs-writes.js';
import { throwIfAborted } from './store-helpers.js';

export { removeStaleFsTemp } from './fs-common.js';
export { writeAll } from './fs-writes.js';
export { MAX_LIST_LIMIT } from './store-helpers.js';

export function createFsStore(options: { root: string }): ObjectStore {
  const root = path.resolve(options.root);
  const ctx = createFsContext(root);
  const { ensureTmp, openTemp } = ctx;

  const store: ObjectStore = {
    kind: 'fs',
    // A file has no older versions and a delete leaves no marker: its listing is every trace.
    capabilities: { versions: false },
    ...fsWrites(ctx),
    ...fsReads(ctx),
    ...fsDeletes(ctx),
    ...fsListing(ctx),

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
      await ctx.releaseTmp();
    },
  };
  return store;
}

/** The folder (under root) that holds temp files of puts in flight; tests check it is left empty. */
export const FS_STORE_TMP_DIR = TMP_DIR;
