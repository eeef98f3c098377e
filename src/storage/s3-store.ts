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
import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  GetObjectTaggingCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { ObjectIdentifier } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { StoreConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { assertValidKey, assertValidPrefix } from './keys.js';
import { assertValidTags } from './tags.js';
import { ObjectIntegrityError, ObjectNotFoundError, StoreError, StoreFullError, StoreUnavailableError, resolveRange } from './object-store.js';
import type {
  DeleteManyResult,
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
  Tags,
  VersionItem,
  VersionPage,
} from './object-store.js';

export type S3StoreConfig = Extract<StoreConfig, { kind: 's3' }>;

/** Part size of multipart uploads; bodies up to this size go in one PutObject. */
export const PART_SIZE = 8 * 1024 * 1024;
/** Parts uploaded concurrently by one put (memory per put ≈ (QUEUE_SIZE + 1) × PART_SIZE). */
export const QUEUE_SIZE = 2;
/** DeleteObjects accepts at most 1,000 keys per request. */
export const DELETE_BATCH = 1000;
export const MAX_LIST_LIMIT = 1000;
const PING_TIMEOUT_MS = 5000;
/** How long the bucket's Object Lock status is trusted (it can be switched on, never off). */
const OBJECT_LOCK_CACHE_MS = 60_000;
/** Concurrent connections to the S3 endpoint per client (kept alive between requests). */
export const S3_MAX_SOCKETS = 256;
/**
 * What S3 and MinIO answer when a body is not the one its checksum or signed payload hash names
 * (MinIO: XAmzContentChecksumMismatch for a wrong x-amz-checksum-sha256).
 */
export const DIGEST_MISMATCH: ReadonlySet<string> = new Set(['XAmzContentSHA256Mismatch', 'XAmzContentChecksumMismatch', 'BadDigest', 'InvalidDigest']);

/**
 * The bucket keeps versions, and CALLREC_S3_VERSIONED=refuse: deleting would only add a delete
 * marker. A StoreUnavailableError (the store cannot do what is asked) with its own code.
 */
export class VersionedBucketError extends StoreUnavailableError {
  override readonly name = 'VersionedBucketError';
  override readonly code = 'versioned_bucket';
  constructor(bucket: string, status: string) {
    super(
      `bucket ${bucket} has versioning ${status}: a delete would only add a delete marker and keep the recording. ` +
        'Disable versioning on the bucket, or set CALLREC_S3_VERSIONED=delete-versions to delete every version of a key.',
    );
  }
}

/** The S3 client with the project's settings: path-style for MinIO, modest timeouts and retries. */
export function createS3Client(config: S3StoreConfig): S3Client {
  const client = new S3Client({
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    ...(config.accessKeyId && config.secretAccessKey
      ? { credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey } }
      : {}),
    maxAttempts: 3,
    // Connection refused fails at once; an endpoint that does not answer fails after
    // connectionTimeout; a stalled transfer after socketTimeout of silence.
    // Connections are kept alive (no TCP handshake per read); a streaming GET holds its
    // socket until the listener has the body, so allow more than the SDK's default 50.
    requestHandler: {
      connectionTimeout: 3000,
      socketTimeout: 30_000,
      httpAgent: { keepAlive: true, maxSockets: S3_MAX_SOCKETS },
      httpsAgent: { keepAlive: true, maxSockets: S3_MAX_SOCKETS },
    },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  // A PutObject that carries ChecksumSHA256 (a put with a known `sha256`) signs that digest as its
  // payload hash (x-amz-content-sha256, hex) instead of having the signer hash the body again: the
  // server then checks the bytes against it twice, and this process reads them once.
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const checksum = (args.input as { ChecksumSHA256?: unknown }).ChecksumSHA256;
      const request = args.request as { headers?: Record<string, string> } | undefined;
      if (context.commandName === 'PutObjectCommand' && typeof checksum === 'string' && request?.headers) {
        request.headers['x-amz-content-sha256'] = Buffer.from(checksum, 'base64').toString('hex');
      }
      return next(args);
    },
    { step: 'build', name: 'callrecKnownPayloadHash' },
  );
  return client;
}

interface SdkErrorShape {
  name?: string;
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

function sdkStatus(error: unknown): number | undefined {
  return (error as SdkErrorShape | undefined)?.$metadata?.httpStatusCode;
}

function sdkName(error: unknown): string {
  const e = error as SdkErrorShape | undefined;
  return e?.name ?? e?.Code ?? e?.code ?? 'Error';
}

export function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || (error as { code?: string }).code === 'ABORT_ERR');
}

export function isNotFound(error: unknown): boolean {
  const name = sdkName(error);
  return name === 'NoSuchKey' || name === 'NotFound' || (sdkStatus(error) === 404 && name !== 'NoSuchBucket');
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  return new DOMException('The operation was aborted', 'AbortError');
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/**
 * Maps an SDK error: our own StoreErrors and aborts pass through, a missing object becomes
 * ObjectNotFoundError when `key` is given, a full backend (HTTP 507, MinIO's
 * `XMinioStorageFull`) StoreFullError, everything else StoreUnavailableError.
 */
export function mapS3Error(error: unknown, what: string, key?: string): Error {
  if (error instanceof StoreError) return error;
  if (isAbortError(error)) return error as Error;
  if (key !== undefined && isNotFound(error)) return new ObjectNotFoundError(key, { cause: error });
  const status = sdkStatus(error);
  const code = (error as { code?: string } | undefined)?.code;
  const detail = [sdkName(error), status ? `HTTP ${status}` : undefined, code && code !== sdkName(error) ? code : undefined]
    .filter(Boolean)
    .join(', ');
  if (status === 507 || sdkName(error) === 'XMinioStorageFull' || code === 'XMinioStorageFull') {
    return new StoreFullError(`s3 store: ${what} failed (${detail})`, { cause: error });
  }
  return new StoreUnavailableError(`s3 store: ${what} failed (${detail})`, { cause: error });
}

/** `x-amz-tagging` value: URL-query encoding of the tag set. */
export function encodeTagging(tags: Tags): string {
  return Object.entries(tags)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
}

export type VersioningStatus = 'Disabled' | 'Enabled' | 'Suspended';

export async function getVersioningStatus(client: S3Client, bucket: string, signal?: AbortSignal): Promise<VersioningStatus> {
  try {
    const out = await client.send(new GetBucketVersioningCommand({ Bucket: bucket }), signal ? { abortSignal: signal } : {});
    return out.Status === 'Enabled' || out.Status === 'Suspended' ? out.Status : 'Disabled';
  } catch (error) {
    throw mapS3Error(error, 'reading bucket versioning');
  }
}

/**
 * Whether Object Lock is enabled on the bucket (GetObjectLockConfiguration). A bucket without
 * a lock configuration answers false; so does one whose configuration this principal may not
 * read (then a locked put could not be relied on anyway). Other failures throw.
 */
export async function getObjectLockEnabled(client: S3Client, bucket: string, signal?: AbortSignal): Promise<boolean> {
  try {
    const out = await client.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }), signal ? { abortSignal: signal } : {});
    return out.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled';
  } catch (error) {
    if (isAbortError(error)) throw error;
    const name = sdkName(error);
    const status = sdkStatus(error);
    if (name === 'ObjectLockConfigurationNotFoundError' || name === 'AccessDenied' || (status === 404 && name !== 'NoSuchBucket') || status === 403) return false;
    throw mapS3Error(error, 'reading the object lock configuration');
  }
}

/** One page of ListObjectVersions: versions and delete markers merged in key order, each key's newest first. */
async function versionsPage(
  client: S3Client,
  input: { bucket: string; prefix: string; keyMarker?: string; versionIdMarker?: string; limit?: number },
  signal?: AbortSignal,
): Promise<{ items: VersionItem[]; next?: { keyMarker: string; versionIdMarker?: string } }> {
  const out = await client.send(
    new ListObjectVersionsCommand({
      Bucket: input.bucket,
      Prefix: input.prefix || undefined,
      KeyMarker: input.keyMarker,
      VersionIdMarker: input.keyMarker === undefined ? undefined : input.versionIdMarker,
      MaxKeys: input.limit,
    }),
    signal ? { abortSignal: signal } : {},
  );
  const entry = (deleteMarker: boolean) => (v: { Key?: string; VersionId?: string; IsLatest?: boolean; LastModified?: Date }): VersionItem => ({
    key: v.Key!,
    versionId: v.VersionId ?? 'null',
    deleteMarker,
    latest: v.IsLatest === true,
    lastModified: v.LastModified ?? new Date(0),
  });
  const items = [
    ...(out.Versions ?? []).filter((v) => v.Key !== undefined).map(entry(false)),
    ...(out.DeleteMarkers ?? []).filter((v) => v.Key !== undefined).map(entry(true)),
  ].sort(
    (a, b) =>
      compareBytes(a.key, b.key) || Number(b.latest) - Number(a.latest) || b.lastModified.getTime() - a.lastModified.getTime(),
  );
  if (!out.IsTruncated) return { items };
  // A truncated page without a marker cannot be followed; ending there would prove absence falsely.
  if (!out.NextKeyMarker) throw new StoreUnavailableError('s3 store: a truncated version listing named no next marker');
  // The markers are opaque (MinIO appends its own state to NextKeyMarker): handed back as they are.
  return { items, next: { keyMarker: out.NextKeyMarker, ...(out.NextVersionIdMarker ? { versionIdMarker: out.NextVersionIdMarker } : {}) } };
}

/** Byte order of keys (S3's order); valid keys are ASCII, where it is JavaScript's string order. */
function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Every version id and delete marker id of exactly `key`, asked of the bucket (every page, until
 * the listing passes `key`): whatever its versioning is, an empty answer means no trace is left.
 */
export async function listKeyVersions(client: S3Client, bucket: string, key: string, signal?: AbortSignal): Promise<ObjectIdentifier[]> {
  const found: ObjectIdentifier[] = [];
  let marker: { keyMarker: string; versionIdMarker?: string } | undefined;
  for (;;) {
    const page = await versionsPage(client, { bucket, prefix: key, ...marker }, signal);
    for (const v of page.items) if (v.key === key) found.push({ Key: key, VersionId: v.versionId });
    // Listed in key order: once a longer key sharing the prefix shows, nothing more of `key` follows.
    // (Not judged from NextKeyMarker, which MinIO extends with its own state.)
    if (!page.next || page.items.some((v) => v.key > key)) return found;
    marker = page.next;
  }
}

/** The `listVersions` cursor: the opaque markers of the next page. */
function encodeVersionCursor(next: { keyMarker: string; versionIdMarker?: string }): string {
  return Buffer.from(JSON.stringify([next.keyMarker, next.versionIdMarker ?? null])).toString('base64url');
}

function decodeVersionCursor(cursor: string): { keyMarker: string; versionIdMarker?: string } {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && typeof value[0] === 'string' && (value[1] === null || typeof value[1] === 'string')) {
      return { keyMarker: value[0], ...(typeof value[1] === 'string' ? { versionIdMarker: value[1] } : {}) };
    }
  } catch {
    // fall through
  }
  throw new StoreUnavailableError('s3 store: invalid listVersions cursor');
}

/** An aborted signal destroys the body (a client that went away stops the read). */
function tieToSignal(body: Readable, signal: AbortSignal | undefined): void {
  if (!signal) return;
  const onAbort = () => body.destroy(abortError(signal));
  if (signal.aborted) onAbort();
  else {
    signal.addEventListener('abort', onAbort, { once: true });
    body.once('close', () => signal.removeEventListener('abort', onAbort));
  }
}

/** ObjectInfo from a HEAD or GET answer; `size` is the whole object's (a ranged GET's ContentLength is the range's). */
function infoOf(key: string, out: { ContentType?: string; ETag?: string; LastModified?: Date }, size: number): ObjectInfo {
  return { key, size, contentType: out.ContentType ?? 'application/octet-stream', etag: etagOf(out.ETag), lastModified: out.LastModified ?? new Date(0) };
}

function etagOf(value: string | undefined): string {
  return value ?? '""';
}

/**
 * The server-side encryption parameters of a PutObject or CreateMultipartUpload (Upload passes
 * them to both) for CALLREC_S3_SSE: none, SSE-S3 (AES256), or SSE-KMS with an optional key id.
 */
export function sseParams(sse: S3StoreConfig['sse']): { ServerSideEncryption?: 'AES256' | 'aws:kms'; SSEKMSKeyId?: string } {
  if (!sse || sse.mode === 'none') return {};
  if (sse.mode === 'AES256') return { ServerSideEncryption: 'AES256' };
  return { ServerSideEncryption: 'aws:kms', ...(sse.kmsKeyId ? { SSEKMSKeyId: sse.kmsKeyId } : {}) };
}

export function createS3Store(config: S3StoreConfig, deps: { logger?: Logger } = {}): ObjectStore {
  const client = createS3Client(config);
  const Bucket = config.bucket;
  const sse = sseParams(config.sse);
  const sendOpts = (signal: AbortSignal | undefined) => (signal ? { abortSignal: signal } : {});
  let objectLockCache: { value: boolean; at: number } | undefined;

  /**
   * Whether deletes must remove versions; throws VersionedBucketError under `refuse`. Reads the
   * bucket's status at every call: versioning can be switched on while callrec runs, and a
   * cached `Disabled` would turn this call's deletes into delete markers.
   */
  async function mustDeleteVersions(signal?: AbortSignal): Promise<boolean> {
    const status = await getVersioningStatus(client, Bucket, signal);
    if (status === 'Disabled') return false;
    if (config.versionedBucket === 'refuse') throw new VersionedBucketError(Bucket, status);
    return true;
  }

  /**
   * The fast path of a ranged get: GET with the request's Range as it is. Answers undefined
   * (nothing open) whenever the answer is not exactly the range `resolveRange` would serve,
   * or S3 refused the range (416): the caller then takes the HEAD + If-Match path, which
   * also produces the precise InvalidRangeError. Other failures throw as `get` does.
   */
  async function rangedGetInOneTrip(key: string, request: RangeRequest, signal?: AbortSignal): Promise<GetResult | undefined> {
    const header =
      'suffix' in request
        ? request.suffix > 0
          ? `bytes=-${request.suffix}`
          : undefined
        : request.end === undefined || request.end >= request.start
          ? `bytes=${request.start}-${request.end ?? ''}`
          : undefined;
    if (!header) return undefined;
    let out;
    try {
      out = await client.send(new GetObjectCommand({ Bucket, Key: key, Range: header }), sendOpts(signal));
    } catch (error) {
      if (sdkStatus(error) === 416 || sdkName(error) === 'InvalidRange') return undefined;
      throw mapS3Error(error, 'get', key);
    }
    const body = out.Body as Readable | undefined;
    const served = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(out.ContentRange ?? '');
    let range: ServedRange | undefined;
    if (served) {
      const [start, end, size] = [Number(served[1]), Number(served[2]), Number(served[3])];
      try {
        const expected = resolveRange(request, size);
        if (expected.start === start && expected.end === end) range = expected;
      } catch {
        range = undefined;
      }
      if (range && body) {
        tieToSignal(body, signal);
        return { body, info: infoOf(key, out, size), range };
      }
    }
    body?.destroy();
    return undefined;
  }

  async function head(key: string, signal?: AbortSignal): Promise<ObjectInfo> {
    try {
      const out = await client.send(new HeadObjectCommand({ Bucket, Key: key }), sendOpts(signal));
      return infoOf(key, out, out.ContentLength ?? 0);
    } catch (error) {
      throw mapS3Error(error, 'head', key);
    }
  }

  /** Deletes identifiers in batches of DELETE_BATCH; returns the keys that failed, with why. */
  async function deleteIdentifiers(ids: ObjectIdentifier[], signal?: AbortSignal): Promise<Map<string, Error>> {
    const failures = new Map<string, Error>();
    for (let i = 0; i < ids.length; i += DELETE_BATCH) {
      const batch = ids.slice(i, i + DELETE_BATCH);
      try {
        const out = await client.send(
          new DeleteObjectsCommand({ Bucket, Delete: { Objects: batch, Quiet: true } }),
          sendOpts(signal),
        );
        for (const e of out.Errors ?? []) {
          if (!e.Key || e.Code === 'NoSuchKey' || e.Code === 'NoSuchVersion') continue;
          failures.set(e.Key, new StoreUnavailableError(`s3 store: delete failed (${e.Code ?? 'unknown'})`));
        }
      } catch (error) {
        if (isAbortError(error)) throw error;
        const mapped = mapS3Error(error, 'deleteObjects');
        for (const id of batch) if (id.Key) failures.set(id.Key, mapped);
      }
    }
    return failures;
  }

  async function deleteAllVersions(key: string, signal?: AbortSignal): Promise<void> {
    // Loop: a put racing the delete may add a version between listing and deleting.
    for (let round = 0; round < 3; round++) {
      const ids = await listKeyVersions(client, Bucket, key, signal).catch((error: unknown) => {
        throw mapS3Error(error, 'listing versions');
      });
      if (ids.length === 0) return;
      const failures = await deleteIdentifiers(ids, signal);
      const failure = failures.get(key);
      if (failure) throw failure;
    }
  }

  /** S3 committed a put after its caller gave up: removes the object, then rejects with the abort. */
  async function discardAbortedPut(key: string, signal: AbortSignal): Promise<never> {
    await store.delete(key).catch((error: unknown) => {
      deps.logger?.warn({ err: error, key }, 'could not remove an object whose put was aborted');
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
    const sha256 = opts.sha256?.toLowerCase() ?? (opts.lock ? createHash('sha256').update(body).digest('hex') : undefined);
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
      if (sha256 !== undefined && DIGEST_MISMATCH.has(sdkName(error))) throw new ObjectIntegrityError(key, { cause: error });
      throw mapS3Error(error, 'put');
    }
    if (signal?.aborted) await discardAbortedPut(key, signal);
    if (out.ETag && opts.contentType) return { key, size: body.length, contentType: opts.contentType, etag: etagOf(out.ETag), lastModified: new Date() };
    return head(key);
  }

  const store: ObjectStore = {
    kind: 's3',
    capabilities: { versions: true },

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
          if (expected !== undefined && size > expected) callback(new Error(`body is longer than contentLength ${expected}`));
          else callback(null, chunk);
        },
        flush(callback) {
          if (expected !== undefined && size !== expected) callback(new Error(`body has ${size} bytes, expected contentLength ${expected}`));
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
          if (serverChecks && DIGEST_MISMATCH.has(sdkName(error))) throw new ObjectIntegrityError(key, { cause: error });
          throw mapS3Error(error, 'put');
        }
        if (signal?.aborted) await discardAbortedPut(key, signal);
        // PutObject and CompleteMultipartUpload answer the stored ETag: no HEAD needed. The
        // server's Last-Modified is not in that answer; the client's clock at commit stands in.
        const etag = (done as { ETag?: string }).ETag;
        if (etag && opts.contentType) return { key, size, contentType: opts.contentType, etag: etagOf(etag), lastModified: new Date() };
        return await head(key);
      } finally {
        signal?.removeEventListener('abort', onAbort);
        if (!body.destroyed) body.destroy();
      }
    },

    async get(key: string, opts: GetOptions = {}): Promise<GetResult> {
      assertValidKey(key);
      const { signal } = opts;
      throwIfAborted(signal);
      if (opts.range) {
        const direct = await rangedGetInOneTrip(key, opts.range, signal);
        if (direct) return direct;
      }
      for (let attempt = 0; ; attempt++) {
        let info: ObjectInfo | undefined;
        let range: { start: number; end: number } | undefined;
        if (opts.range) {
          info = await head(key, signal);
          range = resolveRange(opts.range, info.size);
        }
        let out;
        try {
          out = await client.send(
            new GetObjectCommand({
              Bucket,
              Key: key,
              ...(range && info ? { Range: `bytes=${range.start}-${range.end}`, IfMatch: info.etag } : {}),
            }),
            sendOpts(signal),
          );
        } catch (error) {
          // The object changed between HEAD and GET: start over once.
          if (range && (sdkStatus(error) === 412 || sdkName(error) === 'PreconditionFailed') && attempt === 0) continue;
          throw mapS3Error(error, 'get', key);
        }
        const body = out.Body as Readable | undefined;
        if (!body) throw new StoreUnavailableError('s3 store: get returned no body');
        tieToSignal(body, signal);
        info ??= infoOf(key, out, out.ContentLength ?? 0);
        return range ? { body, info, range } : { body, info };
      }
    },

    async stat(key: string, opts: SignalOption = {}): Promise<ObjectInfo> {
      assertValidKey(key);
      throwIfAborted(opts.signal);
      return head(key, opts.signal);
    },

    async getTags(key: string, opts: SignalOption = {}): Promise<Tags> {
      assertValidKey(key);
      throwIfAborted(opts.signal);
      try {
        const out = await client.send(new GetObjectTaggingCommand({ Bucket, Key: key }), sendOpts(opts.signal));
        const tags: Tags = {};
        for (const t of out.TagSet ?? []) if (t.Key !== undefined) tags[t.Key] = t.Value ?? '';
        return tags;
      } catch (error) {
        throw mapS3Error(error, 'getTags', key);
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

    async delete(key: string, opts: SignalOption = {}): Promise<void> {
      assertValidKey(key);
      throwIfAborted(opts.signal);
      if (await mustDeleteVersions(opts.signal)) return deleteAllVersions(key, opts.signal);
      try {
        await client.send(new DeleteObjectCommand({ Bucket, Key: key }), sendOpts(opts.signal));
      } catch (error) {
        if (isNotFound(error)) return;
        throw mapS3Error(error, 'delete');
      }
    },

    async deleteMany(keys: readonly string[], opts: SignalOption = {}): Promise<DeleteManyResult> {
      const { signal } = opts;
      throwIfAborted(signal);
      const result: DeleteManyResult = { deleted: [], failed: [] };
      const valid: string[] = [];
      for (const key of keys) {
        try {
          assertValidKey(key);
          valid.push(key);
        } catch (error) {
          result.failed.push({ key, error: error as Error });
        }
      }
      const unique = [...new Set(valid)];
      let failures = new Map<string, Error>();
      if (unique.length > 0) {
        let versions = false;
        try {
          versions = await mustDeleteVersions(signal);
        } catch (error) {
          if (isAbortError(error)) throw error;
          for (const key of unique) failures.set(key, error as Error);
        }
        if (failures.size === 0 && versions) {
          for (const key of unique) {
            try {
              await deleteAllVersions(key, signal);
            } catch (error) {
              if (isAbortError(error)) throw error;
              failures.set(key, error as Error);
            }
          }
        } else if (failures.size === 0) {
          failures = await deleteIdentifiers(unique.map((Key) => ({ Key })), signal);
        }
      }
      for (const key of valid) {
        const failure = failures.get(key);
        if (failure) result.failed.push({ key, error: failure });
        else result.deleted.push(key);
      }
      return result;
    },

    async exists(key: string, opts: SignalOption = {}): Promise<boolean> {
      assertValidKey(key);
      throwIfAborted(opts.signal);
      // One listing of the key's versions and delete markers (the current object is one of
      // them): true while any trace is left, on any bucket, without trusting its status.
      try {
        return (await listKeyVersions(client, Bucket, key, opts.signal)).length > 0;
      } catch (error) {
        throw mapS3Error(error, 'listing versions');
      }
    },

    async list(prefix: string, opts: ListOptions = {}): Promise<ListPage> {
      assertValidPrefix(prefix);
      throwIfAborted(opts.signal);
      const limit = Math.max(1, Math.min(opts.limit ?? MAX_LIST_LIMIT, MAX_LIST_LIMIT));
      try {
        const out = await client.send(
          new ListObjectsV2Command({
            Bucket,
            Prefix: prefix || undefined,
            MaxKeys: limit,
            ContinuationToken: opts.cursor,
            StartAfter: opts.cursor ? undefined : opts.startAfter || undefined,
          }),
          sendOpts(opts.signal),
        );
        const items = (out.Contents ?? [])
          .filter((o) => o.Key !== undefined)
          .map((o) => ({ key: o.Key!, size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) }));
        return out.IsTruncated && out.NextContinuationToken ? { items, nextCursor: out.NextContinuationToken } : { items };
      } catch (error) {
        throw mapS3Error(error, 'list');
      }
    },

    async listVersions(prefix: string, opts: ListOptions = {}): Promise<VersionPage> {
      assertValidPrefix(prefix);
      throwIfAborted(opts.signal);
      const limit = Math.max(1, Math.min(opts.limit ?? MAX_LIST_LIMIT, MAX_LIST_LIMIT));
      const after = opts.cursor ? undefined : opts.startAfter || undefined;
      // MinIO refuses a key marker outside the prefix (NotImplemented); one before every key
      // under the prefix changes nothing, one after all of them leaves nothing.
      if (after !== undefined && !after.startsWith(prefix) && after > prefix) return { items: [] };
      const marker = opts.cursor
        ? decodeVersionCursor(opts.cursor)
        : after !== undefined && after.startsWith(prefix)
          ? { keyMarker: after }
          : undefined;
      try {
        const page = await versionsPage(client, { bucket: Bucket, prefix, limit, ...marker }, opts.signal);
        // KeyMarker alone lists keys after it (S3, MinIO); kept exact here whatever the server does.
        const items = after === undefined ? page.items : page.items.filter((v) => v.key > after);
        return page.next ? { items, nextCursor: encodeVersionCursor(page.next) } : { items };
      } catch (error) {
        throw mapS3Error(error, 'listing versions');
      }
    },

    async ping(opts: SignalOption = {}): Promise<void> {
      throwIfAborted(opts.signal);
      const timeout = AbortSignal.timeout(PING_TIMEOUT_MS);
      const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
      try {
        await client.send(new HeadBucketCommand({ Bucket }), { abortSignal: signal });
      } catch (error) {
        if (opts.signal?.aborted) throw abortError(opts.signal);
        if (timeout.aborted) throw new StoreUnavailableError(`s3 store: no answer within ${PING_TIMEOUT_MS} ms`, { cause: error });
        if (isNotFound(error) || sdkName(error) === 'NoSuchBucket') {
          throw new StoreUnavailableError(`s3 store: bucket ${Bucket} does not exist (run \`callrec setup-bucket\`)`, { cause: error });
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
