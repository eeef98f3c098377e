/**
 * S3 ObjectStore driver (MinIO, AWS S3), on @aws-sdk/client-s3 and @aws-sdk/lib-storage.
 *
 * - `put` streams the body through lib-storage's Upload: one PutObject for bodies up to
 *   PART_SIZE, a multipart upload (PART_SIZE parts, QUEUE_SIZE in flight: bounded memory) above.
 *   Tags travel on the PutObject / CreateMultipartUpload itself (`x-amz-tagging`), so an object
 *   never exists untagged. A body that errors, a body whose length differs from `contentLength`,
 *   or an aborted signal fails the upload; Upload then aborts the multipart upload before `put`
 *   rejects. (The signal is not handed to Upload itself, whose own abort rejects at once and
 *   cleans up later; instead the body is destroyed, which runs Upload's failure path.) If the
 *   abort arrives after S3 already committed the object, `put` deletes it and rejects, so an
 *   aborted put leaves no object (keys are fresh: nothing older is lost). The ObjectInfo `put`
 *   answers is built from the upload's answer (the stored ETag) without a HEAD; its
 *   `lastModified` is this client's clock at commit, not the server's. With a known `sha256`,
 *   a single PutObject carries it as its checksum and signed payload hash (the server checks
 *   the bytes, this process does not hash them again); a multipart upload hashes as it streams
 *   and fails before completing when the digest differs.
 * - Ranged `get`: one GET with the request's own `Range` (one round trip per seek); the answer's
 *   Content-Range gives the size, and it is used only when it is exactly what `resolveRange`
 *   makes of the request at that size. Anything else (416, no or another Content-Range) falls
 *   back to HEAD, `resolveRange`, then GET `Range: bytes=a-b` with `If-Match` the HEAD's ETag,
 *   so the served range and the reported info always belong to the same object.
 * - `deleteMany`: DeleteObjects in batches of 1,000; per-key `Errors` are reported.
 * - `list`: ListObjectsV2; the cursor is the continuation token.
 * - `listVersions` and `exists`: ListObjectVersions (every page), so they see every version and
 *   delete marker whatever the bucket's versioning is thought to be: `capabilities.versions` is
 *   true, since versioning can be switched on at any time while callrec runs.
 * - Versioned bucket (versioning Enabled or Suspended), per CALLREC_S3_VERSIONED:
 *   `delete-versions` deletes every version and delete marker of a key; `refuse` makes every
 *   delete throw VersionedBucketError (a delete would only add a delete marker and keep the
 *   audio). Each `delete`/`deleteMany` call reads the versioning status anew (one
 *   GetBucketVersioning, no cache); a bucket switched between that read and the delete is
 *   caught by the caller's absence proof (`listVersions`), which then finds the versions left.
 * - Object Lock: `objectLock()` asks GetObjectLockConfiguration (cached for a minute); a put
 *   with `lock` (a Buffer shorter than a part) sends ObjectLockMode and ObjectLockRetainUntilDate
 *   with its sha256 checksum, which S3 requires of a locked put.
 * - Errors: missing key → ObjectNotFoundError; anything else from the SDK (refused connection,
 *   timeout, 5xx, access denied, missing bucket) → StoreUnavailableError; an abort → AbortError.
 *   Timeouts and retries are modest so a dead endpoint fails in seconds.
 */
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import type { Logger } from '../logger.js';
import { StoreUnavailableError } from './object-store.js';
import type { ObjectStore, SignalOption } from './object-store.js';
import {
  OBJECT_LOCK_CACHE_MS,
  PING_TIMEOUT_MS,
  createS3Client,
  isNotFound,
  mapS3Error,
  sdkName,
  sseParams,
} from './s3-client.js';
import type { S3Context, S3StoreConfig } from './s3-client.js';
import { s3Deletes } from './s3-deletes.js';
import { getObjectLockEnabled, s3Listing } from './s3-listing.js';
import { s3Reads } from './s3-reads.js';
import { s3Writes } from './s3-writes.js';
import { abortError, throwIfAborted } from './store-helpers.js';

export {
  DELETE_BATCH,
  DIGEST_MISMATCH,
  PART_SIZE,
  QUEUE_SIZE,
  S3_MAX_SOCKETS,
  VersionedBucketError,
  createS3Client,
  encodeTagging,
  isNotFound,
  mapS3Error,
  sseParams,
} from './s3-client.js';
export type { S3StoreConfig } from './s3-client.js';
export { getObjectLockEnabled, getVersioningStatus, listKeyVersions } from './s3-listing.js';
export type { VersioningStatus } from './s3-listing.js';
export { MAX_LIST_LIMIT, isAbortError } from './store-helpers.js';

export function createS3Store(config: S3StoreConfig, deps: { logger?: Logger } = {}): ObjectStore {
  const client = createS3Client(config);
  const Bucket = config.bucket;
  const ctx: S3Context = {
    client,
    Bucket,
    config,
    sse: sseParams(config.sse),
    logger: deps.logger,
    sendOpts: (signal) => (signal ? { abortSignal: signal } : {}),
  };
  let objectLockCache: { value: boolean; at: number } | undefined;
  const { head, ...reads } = s3Reads(ctx);
  const deletes = s3Deletes(ctx);
  const writes = s3Writes(ctx, { head, remove: (key) => deletes.delete(key) });

  const store: ObjectStore = {
    kind: 's3',
    capabilities: { versions: true },
    ...writes,
    ...reads,
    ...deletes,
    ...s3Listing(ctx),

    async ping(opts: SignalOption = {}): Promise<void> {
      throwIfAborted(opts.signal);
      const timeout = AbortSignal.timeout(PING_TIMEOUT_MS);
      const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
      try {
        await client.send(new HeadBucketCommand({ Bucket }), { abortSignal: signal });
      } catch (error) {
        if (opts.signal?.aborted) throw abortError(opts.signal);
        if (timeout.aborted)
          throw new StoreUnavailableError(`s3 store: no answer within ${PING_TIMEOUT_MS} ms`, { cause: error });
        if (isNotFound(error) || sdkName(error) === 'NoSuchBucket') {
          throw new StoreUnavailableError(`s3 store: bucket ${Bucket} does not exist (run \`callrec setup-bucket\`)`, {
            cause: error,
          });
        }
        throw mapS3Error(error, 'ping');
      }
    },

    async objectLock(opts: SignalOption = {}): Promise<boolean> {
      throwIfAborted(opts.signal);
      const now = performance.now();
      // Cached: Object Lock, once enabled on a bucket, cannot be switched off again.
      if (!objectLockCache || now - objectLockCache.at > OBJECT_LOCK_CACHE_MS) {
        objectLockCache = { value: await getObjectLockEnabled(client, Bucket, opts.signal), at: now };
      }
      return objectLockCache.value;
    },

    async close(): Promise<void> {
      client.destroy();
    },
  };
  return store;
}
