/**
 * Deletes of the filesystem driver (see ./fs-store.ts): the object, its sidecar and the folders
 * it leaves empty; a missing key is deleted already. The absence proof is `exists`.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { DeleteManyResult, SignalOption } from './object-store.js';
import { errno, mapIoError } from './fs-common.js';
import type { FsContext } from './fs-common.js';
import { throwIfAborted } from './store-helpers.js';

/** `delete` and `deleteMany` of an fs store. */
export function fsDeletes(ctx: FsContext) {
  const { root, objectPath, metaPath } = ctx;

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
      // a folder, not an object: nothing to delete
      if (errno(error) === 'EISDIR' || errno(error) === 'ERR_FS_EISDIR') return;
      throw mapIoError(error, 'delete');
    }
    await removeEmptyParents(file);
  }

  return {
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
  };
}
