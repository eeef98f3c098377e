/**
 * Writes of the S3 driver (see ./s3-store.ts): `put` (one PutObject for a Buffer shorter than a
 * part, lib-storage's Upload otherwise: one PutObject or a multipart upload; tags, the checksum,
 * server-side encryption and Object Lock on the request itself) and `putTags`.
 */
import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PutObjectCommand, PutObjectTaggingCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { assertValidKey } from './keys.js';
import { assertValidTags } from './tags.js';
import { ObjectIntegrityError } from './object-store.js';
import type { ObjectInfo, PutOptions, SignalOption, Tags } from './object-store.js';
import { DIGEST_MISMATCH, PART_SIZE, QUEUE_SIZE, encodeTagging, etagOf, mapS3Error, sdkName } from './s3-client.js';
import type { S3Context } from './s3-client.js';
import { abortError, throwIfAborted } from './store-helpers.js';

/** `put` and `putTags` of an S3 store; `head` reads what a put stored, `remove` deletes what an aborted one left. */
export function s3Writes(
  ctx: S3Context,
  parts: {
    head(key: string, signal?: AbortSignal): Promise<ObjectInfo>;
    remove(key: string): Promise<void>;
  },
) {
  const { client, Bucket, sse, sendOpts } = ctx;
  const { head } = parts;

  /** S3 committed a put after its caller gave up: removes the object, then rejects with the abort. */
  async function discardAbortedPut(key: string, signal: AbortSignal): Promise<never> {
    await parts.remove(key).catch((error: unknown) => {
      ctx.logger?.warn({ err: error, key }, 'could not remove an object whose put was aborted');
    });
    throw abortError(signal);
  }

  /** A body shorter than a part, in memory: one PutObject (retried by the SDK), no Upload. */
  async function putBuffer(key: string, body: Buffer, opts: PutOptions): Promise<ObjectInfo> {
    const { signal } = opts;
    throwIfAborted(signal);
    if (opts.contentLength !== undefined && opts.contentLength !== body.length) {
      throw new Error(`body has ${body.length} bytes, expected contentLength ${opts.contentLength}`);
    }
    // A locked put must carry a checksum (S3 requires Content-MD5 or an x-amz-checksum): its sha256.
    const sha256 =
      opts.sha256?.toLowerCase() ?? (opts.lock ? createHash('sha256').update(body).digest('hex') : undefined);
    let out;
    try {
      out = await client.send(
        new PutObjectCommand({
          Bucket,
          Key: key,
          Body: body,
          ContentLength: body.length,
          ContentType: opts.contentType,
          Tagging: encodeTagging(opts.tags),
          ...sse,
          ...(sha256 !== undefined ? { ChecksumSHA256: Buffer.from(sha256, 'hex').toString('base64') } : {}),
          ...(opts.lock ? { ObjectLockMode: opts.lock.mode, ObjectLockRetainUntilDate: opts.lock.retainUntil } : {}),
        }),
        sendOpts(signal),
      );
    } catch (error) {
      if (signal?.aborted) throw abortError(signal);
      if (sha256 !== undefined && DIGEST_MISMATCH.has(sdkName(error)))
        throw new ObjectIntegrityError(key, { cause: error });
      throw mapS3Error(error, 'put');
    }
    if (signal?.aborted) await discardAbortedPut(key, signal);
    if (out.ETag && opts.contentType)
      return {
        key,
        size: body.length,
        contentType: opts.contentType,
        etag: etagOf(out.ETag),
        lastModified: new Date(),
      };
    return head(key);
  }

  return {
    async put(key: string, source: Readable | Buffer, opts: PutOptions): Promise<ObjectInfo> {
      assertValidKey(key);
      assertValidTags(opts.tags);
      if (Buffer.isBuffer(source) && source.length < PART_SIZE) return putBuffer(key, source, opts);
      if (opts.lock) {
        if (!Buffer.isBuffer(source)) source.destroy();
        throw new TypeError(`a locked put takes a Buffer body shorter than ${PART_SIZE} bytes`);
      }
      const body = Buffer.isBuffer(source) ? Readable.from([source]) : source;
      const { signal } = opts;
      if (signal?.aborted) {
        body.destroy();
        throw abortError(signal);
      }
      const expected = opts.contentLength;
      const sha256 = opts.sha256?.toLowerCase();
      // One PutObject (Upload's path for a body shorter than a part): the server checks the digest.
      // A multipart upload: the parts are checked by their signatures, the whole here as it streams.
      const serverChecks = sha256 !== undefined && expected !== undefined && expected < PART_SIZE;
      const hash = sha256 !== undefined && !serverChecks ? createHash('sha256') : undefined;
      let size = 0;
      const counter = new Transform({
        highWaterMark: 1024 * 1024,
        transform(chunk: Buffer, _encoding, callback) {
          size += chunk.length;
          hash?.update(chunk);
          if (expected !== undefined && size > expected)
            callback(new Error(`body is longer than contentLength ${expected}`));
          else callback(null, chunk);
        },
        flush(callback) {
          if (expected !== undefined && size !== expected)
            callback(new Error(`body has ${size} bytes, expected contentLength ${expected}`));
          else if (hash && hash.digest('hex') !== sha256) callback(new ObjectIntegrityError(key));
          else callback();
        },
      });
      const onAbort = () => body.destroy(abortError(signal!));
      signal?.addEventListener('abort', onAbort, { once: true });
      const piping = pipeline(body, counter).catch((error: unknown) => error);
      try {
        const upload = new Upload({
          client,
          params: {
            Bucket,
            Key: key,
            Body: counter,
            ContentType: opts.contentType,
            Tagging: encodeTagging(opts.tags),
            ...sse,
            ...(serverChecks ? { ChecksumSHA256: Buffer.from(sha256, 'hex').toString('base64') } : {}),
          },
          partSize: PART_SIZE,
          queueSize: QUEUE_SIZE,
          leavePartsOnError: false,
        });
        let done;
        try {
          done = await upload.done();
        } catch (error) {
          if (signal?.aborted) throw abortError(signal);
          // The body failed (or had the wrong length): report that, not the upload's echo of it.
          if (counter.destroyed || body.destroyed) {
            const sourceError = await piping;
            if (sourceError instanceof Error) throw sourceError;
          }
          if (serverChecks && DIGEST_MISMATCH.has(sdkName(error)))
            throw new ObjectIntegrityError(key, { cause: error });
          throw mapS3Error(error, 'put');
        }
        if (signal?.aborted) await discardAbortedPut(key, signal);
        // PutObject and CompleteMultipartUpload answer the stored ETag: no HEAD needed. The
        // server's Last-Modified is not in that answer; the client's clock at commit stands in.
        const etag = (done as { ETag?: string }).ETag;
        if (etag && opts.contentType)
          return { key, size, contentType: opts.contentType, etag: etagOf(etag), lastModified: new Date() };
        return await head(key);
      } finally {
        signal?.removeEventListener('abort', onAbort);
        if (!body.destroyed) body.destroy();
      }
    },

    async putTags(key: string, tags: Tags, opts: SignalOption = {}): Promise<void> {
      assertValidKey(key);
      assertValidTags(tags);
      throwIfAborted(opts.signal);
      try {
        await client.send(
          new PutObjectTaggingCommand({
            Bucket,
            Key: key,
            Tagging: { TagSet: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
          }),
          sendOpts(opts.signal),
        );
      } catch (error) {
        throw mapS3Error(error, 'putTags', key);
      }
    },
  };
}
