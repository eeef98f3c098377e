/**
 * Reads of the filesystem driver (see ./fs-store.ts): `get` (whole or a range of the file),
 * `stat` and `getTags` (from the sidecar).
 */
import fsp from 'node:fs/promises';
import { ObjectNotFoundError, resolveRange } from './object-store.js';
import type { GetOptions, GetResult, ObjectInfo, ServedRange, SignalOption, Tags } from './object-store.js';
import { errno, mapIoError } from './fs-common.js';
import type { FsContext } from './fs-common.js';
import { abortError, throwIfAborted } from './store-helpers.js';

/** `get`, `stat` and `getTags` of an fs store. */
export function fsReads(ctx: FsContext) {
  const { objectPath, readMeta, infoOf, statObject } = ctx;
  return {
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
  };
}
