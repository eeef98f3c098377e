/**
 * A bucket callrec imports from and deletes in, but does not own (an S3 drop bucket: Amazon
 * Connect's recordings bucket, a Genesys export target). Its keys are the platform's, not ours,
 * so they are not held to `assertValidKey`; they are never logged (they may name a call).
 *
 * - `listPage`: one ListObjectsV2 page after `startAfter` (the caller's persisted cursor).
 * - `download`: streams an object into a writable (bounded memory), with its ETag.
 * - `readSmall`: an object of at most `maxBytes` (a sidecar), or undefined when there is none.
 * - `exists`: HeadObject (404 → false); `etagOf`: its ETag, or undefined on 404.
 * - `deleteAndVerify`: deletes the keys and proves them gone: HeadObject answers 404 for each,
 *   and, when the bucket keeps versions (Enabled or Suspended, read at every call), every
 *   version and delete marker of each key is deleted too and ListObjectVersions shows none left.
 *
 * Errors: a missing object → ObjectNotFoundError; anything else → StoreUnavailableError (or
 * StoreError subclasses from `mapS3Error`); an abort → AbortError.
 */
import type { Writable } from 'node:stream';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { StoreUnavailableError } from './object-store.js';
import { createS3Client, getVersioningStatus, isNotFound, listKeyVersions, mapS3Error } from './s3-store.js';

export interface DropBucketConfig {
  endpoint: string | undefined;
  region: string;
  bucket: string;
  forcePathStyle: boolean;
  /** Undefined: the AWS SDK's default chain. */
  credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
}

export interface DropObject {
  key: string;
  etag: string;
  size: number;
  lastModified: number;
}

export interface DropBucket {
  listPage(options: {
    prefix: string;
    startAfter?: string;
    limit?: number;
    signal?: AbortSignal;
  }): Promise<{ objects: DropObject[]; truncated: boolean }>;
  download(key: string, into: Writable, options: { signal?: AbortSignal }): Promise<{ etag: string }>;
  readSmall(
    key: string,
    options: { maxBytes: number; signal?: AbortSignal },
  ): Promise<{ text: string; etag: string } | undefined>;
  exists(key: string, options?: { signal?: AbortSignal }): Promise<boolean>;
  etagOf(key: string, options?: { signal?: AbortSignal }): Promise<string | undefined>;
  deleteAndVerify(keys: readonly string[], options?: { signal?: AbortSignal }): Promise<void>;
  close(): void;
}

export class ObjectTooLargeError extends StoreUnavailableError {
  override readonly name = 'ObjectTooLargeError';
}

export function openDropBucket(config: DropBucketConfig): DropBucket {
  const client: S3Client = createS3Client({
    kind: 's3',
    endpoint: config.endpoint,
    bucket: config.bucket,
    region: config.region,
    accessKeyId: config.credentials?.accessKeyId,
    secretAccessKey: config.credentials?.secretAccessKey,
    forcePathStyle: config.forcePathStyle,
    versionedBucket: 'delete-versions',
  });
  const Bucket = config.bucket;
  const opts = (signal: AbortSignal | undefined) => (signal ? { abortSignal: signal } : {});

  const headEtag = async (key: string, signal?: AbortSignal): Promise<string | undefined> => {
    try {
      const out = await client.send(new HeadObjectCommand({ Bucket, Key: key }), opts(signal));
      return out.ETag ?? '""';
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw mapS3Error(error, 'head');
    }
  };
  const head = async (key: string, signal?: AbortSignal): Promise<boolean> =>
    (await headEtag(key, signal)) !== undefined;

  return {
    async listPage({ prefix, startAfter, limit, signal }) {
      try {
        const out = await client.send(
          new ListObjectsV2Command({
            Bucket,
            Prefix: prefix || undefined,
            StartAfter: startAfter || undefined,
            MaxKeys: limit ?? 1000,
          }),
          opts(signal),
        );
        const objects = (out.Contents ?? [])
          .filter((o) => o.Key !== undefined)
          .map((o) => ({
            key: o.Key!,
            etag: o.ETag ?? '""',
            size: o.Size ?? 0,
            lastModified: o.LastModified?.getTime() ?? 0,
          }));
        return { objects, truncated: out.IsTruncated === true };
      } catch (error) {
        throw mapS3Error(error, 'list');
      }
    },
    async download(key, into, { signal }) {
      let out;
      try {
        out = await client.send(new GetObjectCommand({ Bucket, Key: key }), opts(signal));
      } catch (error) {
        throw mapS3Error(error, 'get', key);
      }
      const body = out.Body as Readable | undefined;
      if (!body) throw new StoreUnavailableError('s3 drop bucket: get answered no body');
      await pipeline(body, into, signal ? { signal } : {});
      return { etag: out.ETag ?? '""' };
    },
    async readSmall(key, { maxBytes, signal }) {
      let out;
      try {
        out = await client.send(new GetObjectCommand({ Bucket, Key: key }), opts(signal));
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw mapS3Error(error, 'get');
      }
      const body = out.Body as Readable | undefined;
      if (!body) throw new StoreUnavailableError('s3 drop bucket: get answered no body');
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > maxBytes) {
          body.destroy();
          throw new ObjectTooLargeError(`s3 drop bucket: object longer than ${maxBytes} bytes`);
        }
        chunks.push(chunk);
      }
      return { text: Buffer.concat(chunks).toString('utf8'), etag: out.ETag ?? '""' };
    },
    exists(key, options = {}) {
      return head(key, options.signal);
    },
    etagOf(key, options = {}) {
      return headEtag(key, options.signal);
    },
    async deleteAndVerify(keys, options = {}) {
      const { signal } = options;
      const versioned = (await getVersioningStatus(client, Bucket, signal)) !== 'Disabled';
      for (const key of keys) {
        try {
          await client.send(new DeleteObjectCommand({ Bucket, Key: key }), opts(signal));
        } catch (error) {
          if (!isNotFound(error)) throw mapS3Error(error, 'delete');
        }
        if (versioned) {
          const ids = await listKeyVersions(client, Bucket, key, signal);
          if (ids.length > 0) {
            try {
              const out = await client.send(
                new DeleteObjectsCommand({ Bucket, Delete: { Objects: ids, Quiet: true } }),
                opts(signal),
              );
              if ((out.Errors ?? []).length > 0)
                throw new StoreUnavailableError(
                  `s3 drop bucket: ${out.Errors!.length} versions not deleted (${out.Errors![0]!.Code ?? 'error'})`,
                );
            } catch (error) {
              throw mapS3Error(error, 'delete versions');
            }
          }
        }
      }
      for (const key of keys) {
        if (await head(key, signal))
          throw new StoreUnavailableError('s3 drop bucket: an object is still there after its delete');
        if (versioned && (await listKeyVersions(client, Bucket, key, signal)).length > 0)
          throw new StoreUnavailableError('s3 drop bucket: versions of an object are still there after their delete');
      }
    },
    close() {
      client.destroy();
    },
  };
}
