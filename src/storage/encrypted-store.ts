/**
 * Encryption at rest as ObjectStore middleware: wraps any driver, encrypts what is put under
 * a recording's key with that recording's data key (format: ./encrypted-format.ts), decrypts
 * what is read. Sizes, ranges and ETags it returns describe the plaintext; the driver sees
 * only ciphertext.
 *
 * Contract (in addition to the ObjectStore contract, which it keeps):
 * - Which recording and role an object belongs to comes from `bindingOf(key)`; a key it
 *   maps to nothing (e.g. published checkpoints) passes through unencrypted.
 * - Data keys come from the `DataKeySource` the decorator receives (storage/ knows no table):
 *   `forWrite` for a put (undefined: store plaintext, e.g. encryption off), `forRead` for a
 *   read (undefined: the recording has no key: stored before encryption, or shredded).
 *   Nothing is cached: a shredded key is gone for the very next read.
 * - A read of an object whose recording has a key must decrypt and authenticate; anything
 *   else (damaged, truncated, reordered, swapped between recordings or roles, a plaintext
 *   object in its place) throws ObjectDecryptError (code `integrity`), never wrong bytes.
 *   A read of an encrypted object whose recording has no key throws DataKeyMissingError
 *   (code `integrity`): its key was shredded, nothing can decrypt it.
 * - A ranged read fetches only the header and the segments covering the range.
 * - Up to READ_AHEAD_SEGMENTS covering segments are authenticated before `get` resolves
 *   (so damage there rejects the get: a 500 before any byte is sent); a longer read
 *   authenticates the rest as it streams and ends the body with ObjectDecryptError at the
 *   first segment that fails, before releasing any of its bytes.
 * - `list` sizes of bound keys are converted assuming the configured segment size.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  FormatError,
  HEADER_SIZE,
  TAG_SIZE,
  DEFAULT_SEGMENT_SIZE,
  encryptBuffer,
  encryptedSize,
  hasMagic,
  newHeader,
  openSegment,
  parseHeader,
  plainSizeOf,
  segmentContext,
  segmentCount,
  segmentOffset,
} from './encrypted-format.js';
import type { ObjectBinding, SegmentContext } from './encrypted-format.js';
import { ByteQueue, EncryptStream } from './encrypted-stream.js';
import { assertValidKey } from './keys.js';
import { InvalidRangeError, ObjectIntegrityError, StoreError, resolveRange } from './object-store.js';
import type {
  GetOptions,
  GetResult,
  ListOptions,
  ListPage,
  ObjectInfo,
  ObjectStore,
  PutOptions,
  RangeRequest,
  ServedRange,
  SignalOption,
} from './object-store.js';

/** A recording's data key, unwrapped, and the id of the keyring key that wraps it. */
export interface DataKey {
  readonly key: Buffer;
  readonly kekId: string;
}

/** Where the decorator gets data keys; implemented above storage/ (it needs the database and the keyring). */
export interface DataKeySource {
  /**
   * The key for a new object of the recording (created and stored wrapped on first use), or undefined to store
   * plaintext.
   */
  forWrite(recordingId: string, options?: SignalOption): Promise<DataKey | undefined>;
  /** The recording's key, or undefined when it has none (stored before encryption, or shredded). */
  forRead(recordingId: string, options?: SignalOption): Promise<DataKey | undefined>;
}

/** Which recording and role the object under `key` belongs to; undefined: not encrypted. */
export type BindingOf = (key: string) => ObjectBinding | undefined;

/** Segments authenticated before `get` resolves (512 KiB of plaintext at the default size). */
export const READ_AHEAD_SEGMENTS = 8;

/** The object does not decrypt (damaged, truncated, reordered, swapped, or not encrypted at all). */
export class ObjectDecryptError extends StoreError {
  override readonly name = 'ObjectDecryptError';
  constructor(
    readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(
      'integrity',
      `the object ${key} does not decrypt: ${options?.cause instanceof Error ? options.cause.message : 'damaged'}`,
      options,
    );
  }
}

/** The object is encrypted, but its recording's data key is gone (shredded): nothing can decrypt it. */
export class DataKeyMissingError extends StoreError {
  override readonly name = 'DataKeyMissingError';
  constructor(readonly key: string) {
    super(
      'integrity',
      `the object ${key} is encrypted and the data key of its recording was shredded (or never existed)`,
    );
  }
}

export interface EncryptedStoreOptions {
  dataKeys: DataKeySource;
  bindingOf: BindingOf;
  /** Plaintext bytes per segment of new objects (default 64 KiB). */
  segmentSize?: number;
}

/**
 * Reads exactly `n` bytes from an async iterator of chunks (fewer only at its end); gathered in
 * `scratch` when they span chunks (see ByteQueue.take).
 */
async function readExactly(
  source: AsyncIterator<Buffer>,
  queue: ByteQueue,
  n: number,
  scratch?: Buffer,
): Promise<Buffer> {
  while (queue.length < n) {
    const next = await source.next();
    if (next.done) break;
    queue.push(next.value);
  }
  return queue.take(Math.min(n, queue.length), scratch);
}

export function createEncryptedStore(inner: ObjectStore, options: EncryptedStoreOptions): ObjectStore {
  const { dataKeys, bindingOf } = options;
  const segmentSize = options.segmentSize ?? DEFAULT_SEGMENT_SIZE;

  const decryptError = (key: string, error: unknown) =>
    error instanceof FormatError ? new ObjectDecryptError(key, { cause: error }) : error;

  /**
   * Plaintext of the segments [first, last] of a stored object whose body `body` starts at the
   * first segment (or at the header, when `ctx` is a function of it), sliced to [from, to] of the plaintext.
   */
  async function* plaintext(options: {
    key: string;
    body: Readable;
    /** The object's context, or how to make it from the header the body starts with. */
    ctx: SegmentContext | ((header: Buffer) => SegmentContext);
    storedSize: number;
    first: number;
    from: number;
    to: number;
  }): AsyncGenerator<Buffer> {
    const { key, body, storedSize, from, to } = options;
    const source = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const queue = new ByteQueue();
    try {
      let ctx: SegmentContext;
      if (typeof options.ctx === 'function') {
        const header = await readExactly(source, queue, HEADER_SIZE);
        ctx = options.ctx(header);
      } else ctx = options.ctx;
      const size = ctx.header.segmentSize;
      const plainSize = plainSizeOf(storedSize, size);
      if (plainSize === undefined) throw new FormatError('the object has a length no plaintext has (truncated?)');
      const n = segmentCount(plainSize, size);
      const lastWanted = Math.min(n - 1, Math.floor(to / size));
      // Opening a segment keeps nothing of its input: one buffer gathers every segment that spans chunks.
      let scratch: Buffer | undefined;
      for (let i = options.first; i <= lastWanted; i++) {
        const want = Math.min(size + TAG_SIZE, storedSize - segmentOffset(i, size));
        scratch ??= Buffer.allocUnsafeSlow(size + TAG_SIZE);
        const sealed = await readExactly(source, queue, want, scratch);
        if (sealed.length !== want) throw new FormatError(`segment ${i} ends early`);
        const plain = openSegment(ctx, i, i === n - 1, sealed);
        const base = i * size;
        const slice = plain.subarray(Math.max(0, from - base), Math.min(plain.length, to - base + 1));
        if (slice.length) yield slice;
      }
    } catch (error) {
      throw decryptError(key, error);
    } finally {
      body.destroy();
    }
  }

  /**
   * Resolves after up to READ_AHEAD_SEGMENTS chunks were produced (authenticated); the body yields them, then the rest.
   */
  async function readAhead(chunks: AsyncGenerator<Buffer>): Promise<Readable> {
    const early: Buffer[] = [];
    let done = false;
    try {
      while (early.length < READ_AHEAD_SEGMENTS) {
        const next = await chunks.next();
        if (next.done) {
          done = true;
          break;
        }
        early.push(next.value);
      }
    } catch (error) {
      await chunks.return(undefined).catch(() => undefined);
      throw error;
    }
    async function* all(): AsyncGenerator<Buffer> {
      try {
        yield* early;
        if (!done) yield* chunks;
      } finally {
        await chunks.return(undefined);
      }
    }
    return Readable.from(all(), { objectMode: false });
  }

  function plainInfo(info: ObjectInfo, size: number): ObjectInfo {
    return { ...info, size };
  }

  async function headerOf(
    key: string,
    dataKey: Buffer,
    binding: ObjectBinding,
    signal?: AbortSignal,
  ): Promise<{ ctx: SegmentContext; info: ObjectInfo; plainSize: number }> {
    const got = await inner.get(key, { range: { start: 0, end: HEADER_SIZE - 1 }, signal });
    const bytes = Buffer.concat(await got.body.toArray());
    try {
      const header = parseHeader(bytes);
      const plainSize = plainSizeOf(got.info.size, header.segmentSize);
      if (plainSize === undefined) throw new FormatError('the object has a length no plaintext has (truncated?)');
      return { ctx: segmentContext(dataKey, header, binding), info: got.info, plainSize };
    } catch (error) {
      throw decryptError(key, error);
    }
  }

  async function getRange(
    key: string,
    dataKey: Buffer,
    binding: ObjectBinding,
    range: RangeRequest,
    signal?: AbortSignal,
  ): Promise<GetResult> {
    // A range from a known start: the header and the covering segments in parallel, assuming
    // this store's segment size (checked against the header; read again if it differs).
    let segments: Promise<GetResult> | undefined;
    let guessed: { first: number; last: number } | undefined;
    if ('start' in range && range.end !== undefined) {
      guessed = { first: Math.floor(range.start / segmentSize), last: Math.floor(range.end / segmentSize) };
      const g = guessed;
      segments = inner.get(key, {
        range: { start: segmentOffset(g.first, segmentSize), end: segmentOffset(g.last + 1, segmentSize) - 1 },
        signal,
      });
      segments.catch(() => undefined);
    }
    let head: Awaited<ReturnType<typeof headerOf>>;
    try {
      head = await headerOf(key, dataKey, binding, signal);
    } catch (error) {
      void segments?.then(
        (s) => s.body.destroy(),
        () => undefined,
      );
      if (error instanceof InvalidRangeError)
        throw decryptError(key, new FormatError('the object is shorter than a header'));
      throw error;
    }
    let served: ServedRange;
    try {
      served = resolveRange(range, head.plainSize);
    } catch (error) {
      void segments?.then(
        (s) => s.body.destroy(),
        () => undefined,
      );
      throw error;
    }
    const size = head.ctx.header.segmentSize;
    const first = Math.floor(served.start / size);
    const last = Math.floor(served.end / size);
    if (!segments || size !== segmentSize || guessed!.first !== first) {
      void segments?.then(
        (s) => s.body.destroy(),
        () => undefined,
      );
      segments = inner.get(key, {
        range: { start: segmentOffset(first, size), end: segmentOffset(last + 1, size) - 1 },
        signal,
      });
    }
    const got = await segments;
    if (got.info.etag !== head.info.etag || got.info.size !== head.info.size) {
      got.body.destroy();
      throw new ObjectDecryptError(key, {
        cause: new FormatError('the object changed between the header and segment reads'),
      });
    }
    const body = await readAhead(
      plaintext({
        key,
        body: got.body,
        ctx: head.ctx,
        storedSize: head.info.size,
        first,
        from: served.start,
        to: served.end,
      }),
    );
    return { body, info: plainInfo(got.info, head.plainSize), range: served };
  }

  async function getWhole(
    key: string,
    dataKey: Buffer,
    binding: ObjectBinding,
    signal?: AbortSignal,
  ): Promise<GetResult> {
    const got = await inner.get(key, { signal });
    let plainSize: number | undefined;
    const chunks = plaintext({
      key,
      body: got.body,
      ctx: (bytes) => {
        const header = parseHeader(bytes);
        plainSize = plainSizeOf(got.info.size, header.segmentSize);
        return segmentContext(dataKey, header, binding);
      },
      storedSize: got.info.size,
      first: 0,
      from: 0,
      to: Number.MAX_SAFE_INTEGER,
    });
    const body = await readAhead(chunks);
    if (plainSize === undefined) {
      body.destroy();
      throw new ObjectDecryptError(key, {
        cause: new FormatError('the object has a length no plaintext has (truncated?)'),
      });
    }
    return { body, info: plainInfo(got.info, plainSize) };
  }

  /** A recording without a key: its objects must be plaintext (stored before encryption, or with it off). */
  async function refuseShredded(key: string, signal?: AbortSignal): Promise<void> {
    try {
      const got = await inner.get(key, { range: { start: 0, end: HEADER_SIZE - 1 }, signal });
      const bytes = Buffer.concat(await got.body.toArray());
      if (hasMagic(bytes)) throw new DataKeyMissingError(key);
    } catch (error) {
      if (error instanceof InvalidRangeError) return; // empty: plaintext
      throw error;
    }
  }

  async function put(key: string, body: Readable | Buffer, putOptions: PutOptions): Promise<ObjectInfo> {
    assertValidKey(key);
    const binding = bindingOf(key);
    const dataKey = binding ? await dataKeys.forWrite(binding.recordingId, { signal: putOptions.signal }) : undefined;
    if (!binding || !dataKey) return inner.put(key, body, putOptions);
    const { sha256, contentLength, ...rest } = putOptions;
    if (Buffer.isBuffer(body)) {
      putOptions.signal?.throwIfAborted();
      if (contentLength !== undefined && contentLength !== body.length)
        throw new RangeError('the body length differs from its contentLength');
      if (sha256 && createHash('sha256').update(body).digest('hex') !== sha256.toLowerCase())
        throw new ObjectIntegrityError(key);
      const sealed = encryptBuffer(dataKey.key, binding, body, { kekId: dataKey.kekId, segmentSize });
      const info = await inner.put(key, sealed, {
        ...rest,
        contentLength: sealed.length,
        sha256: createHash('sha256').update(sealed).digest('hex'),
      });
      return plainInfo(info, body.length);
    }
    const ctx = segmentContext(dataKey.key, newHeader({ kekId: dataKey.kekId, segmentSize }), binding);
    const encrypt = new EncryptStream(ctx, { length: contentLength, sha256 });
    const [fed, stored] = await Promise.allSettled([
      pipeline(body, encrypt, { signal: putOptions.signal }),
      inner
        .put(key, encrypt, {
          ...rest,
          ...(contentLength !== undefined ? { contentLength: encryptedSize(contentLength, segmentSize) } : {}),
        })
        .catch((error: unknown) => {
          body.destroy();
          encrypt.destroy();
          throw error;
        }),
    ]);
    if (encrypt.mismatch) {
      if (stored.status === 'fulfilled') await inner.delete(key).catch(() => undefined);
      throw new ObjectIntegrityError(key);
    }
    if (stored.status === 'rejected')
      throw fed.status === 'rejected' && (fed.reason as Error)?.name === 'AbortError' ? fed.reason : stored.reason;
    if (fed.status === 'rejected') {
      // The store took a body that the source did not finish: never keep it.
      await inner.delete(key).catch(() => undefined);
      throw fed.reason;
    }
    return plainInfo(stored.value, contentLength ?? plainSizeOf(stored.value.size, segmentSize) ?? stored.value.size);
  }

  async function get(key: string, getOptions: GetOptions = {}): Promise<GetResult> {
    assertValidKey(key);
    getOptions.signal?.throwIfAborted();
    const binding = bindingOf(key);
    if (!binding) return inner.get(key, getOptions);
    const dataKey = await dataKeys.forRead(binding.recordingId, { signal: getOptions.signal });
    if (!dataKey) {
      await refuseShredded(key, getOptions.signal);
      return inner.get(key, getOptions);
    }
    return getOptions.range
      ? getRange(key, dataKey.key, binding, getOptions.range, getOptions.signal)
      : getWhole(key, dataKey.key, binding, getOptions.signal);
  }

  async function stat(key: string, statOptions: SignalOption = {}): Promise<ObjectInfo> {
    assertValidKey(key);
    const binding = bindingOf(key);
    if (!binding) return inner.stat(key, statOptions);
    const dataKey = await dataKeys.forRead(binding.recordingId, statOptions);
    if (!dataKey) {
      await refuseShredded(key, statOptions.signal);
      return inner.stat(key, statOptions);
    }
    try {
      const head = await headerOf(key, dataKey.key, binding, statOptions.signal);
      return plainInfo(head.info, head.plainSize);
    } catch (error) {
      if (error instanceof InvalidRangeError)
        throw new ObjectDecryptError(key, { cause: new FormatError('the object is shorter than a header') });
      throw error;
    }
  }

  async function list(prefix: string, listOptions?: ListOptions): Promise<ListPage> {
    const page = await inner.list(prefix, listOptions);
    return {
      ...page,
      items: page.items.map((item) =>
        bindingOf(item.key) ? { ...item, size: plainSizeOf(item.size, segmentSize) ?? item.size } : item,
      ),
    };
  }

  return {
    kind: inner.kind,
    capabilities: inner.capabilities,
    encrypting: true,
    ...(inner.upkeep ? { upkeep: inner.upkeep } : {}),
    put,
    get,
    stat,
    list,
    getTags: (key, o) => inner.getTags(key, o),
    putTags: (key, tags, o) => inner.putTags(key, tags, o),
    delete: (key, o) => inner.delete(key, o),
    deleteMany: (keys, o) => inner.deleteMany(keys, o),
    exists: (key, o) => inner.exists(key, o),
    listVersions: (prefix, o) => inner.listVersions(prefix, o),
    ping: (o) => inner.ping(o),
    objectLock: (o) => inner.objectLock(o),
    close: () => inner.close(),
  };
}
