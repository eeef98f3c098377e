/**
 * The S3 driver's client and what every part of it shares (see ./s3-store.ts): settings,
 * constants, the mapping of SDK errors to StoreErrors, tagging and server-side encryption
 * parameters, and the context the parts of the driver are built from.
 */
import { S3Client } from '@aws-sdk/client-s3';
import type { StoreConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { ObjectNotFoundError, StoreError, StoreFullError, StoreUnavailableError } from './object-store.js';
import type { ObjectInfo, Tags } from './object-store.js';
import { isAbortError } from './store-helpers.js';

export type S3StoreConfig = Extract<StoreConfig, { kind: 's3' }>;

/** Part size of multipart uploads; bodies up to this size go in one PutObject. */
export const PART_SIZE = 8 * 1024 * 1024;
/** Parts uploaded concurrently by one put (memory per put ≈ (QUEUE_SIZE + 1) × PART_SIZE). */
export const QUEUE_SIZE = 2;
/** DeleteObjects accepts at most 1,000 keys per request. */
export const DELETE_BATCH = 1000;
export const PING_TIMEOUT_MS = 5000;
/** How long the bucket's Object Lock status is trusted (it can be switched on, never off). */
export const OBJECT_LOCK_CACHE_MS = 60_000;
/** Concurrent connections to the S3 endpoint per client (kept alive between requests). */
export const S3_MAX_SOCKETS = 256;
/**
 * What S3 and MinIO answer when a body is not the one its checksum or signed payload hash names
 * (MinIO: XAmzContentChecksumMismatch for a wrong x-amz-checksum-sha256).
 */
export const DIGEST_MISMATCH: ReadonlySet<string> = new Set([
  'XAmzContentSHA256Mismatch',
  'XAmzContentChecksumMismatch',
  'BadDigest',
  'InvalidDigest',
]);

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
        'Disable versioning on the bucket, or set CALLREC_S3_VERSIONED=delete-versions to delete every version of a ' +
        'key.',
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

export function sdkStatus(error: unknown): number | undefined {
  return (error as SdkErrorShape | undefined)?.$metadata?.httpStatusCode;
}

export function sdkName(error: unknown): string {
  const e = error as SdkErrorShape | undefined;
  return e?.name ?? e?.Code ?? e?.code ?? 'Error';
}

export function isNotFound(error: unknown): boolean {
  const name = sdkName(error);
  return name === 'NoSuchKey' || name === 'NotFound' || (sdkStatus(error) === 404 && name !== 'NoSuchBucket');
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
  const detail = [
    sdkName(error),
    status ? `HTTP ${status}` : undefined,
    code && code !== sdkName(error) ? code : undefined,
  ]
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

/** ObjectInfo from a HEAD or GET answer; `size` is the whole object's (a ranged GET's ContentLength is the range's). */
export function infoOf(
  key: string,
  out: { ContentType?: string; ETag?: string; LastModified?: Date },
  size: number,
): ObjectInfo {
  return {
    key,
    size,
    contentType: out.ContentType ?? 'application/octet-stream',
    etag: etagOf(out.ETag),
    lastModified: out.LastModified ?? new Date(0),
  };
}

export function etagOf(value: string | undefined): string {
  return value ?? '""';
}

/**
 * The server-side encryption parameters of a PutObject or CreateMultipartUpload (Upload passes
 * them to both) for CALLREC_S3_SSE: none, SSE-S3 (AES256), or SSE-KMS with an optional key id.
 */
export function sseParams(sse: S3StoreConfig['sse']): {
  ServerSideEncryption?: 'AES256' | 'aws:kms';
  SSEKMSKeyId?: string;
} {
  if (!sse || sse.mode === 'none') return {};
  if (sse.mode === 'AES256') return { ServerSideEncryption: 'AES256' };
  return { ServerSideEncryption: 'aws:kms', ...(sse.kmsKeyId ? { SSEKMSKeyId: sse.kmsKeyId } : {}) };
}

/** What the parts of one S3 store share: its client, bucket, settings and logger. */
export interface S3Context {
  readonly client: S3Client;
  readonly Bucket: string;
  readonly config: S3StoreConfig;
  readonly sse: ReturnType<typeof sseParams>;
  readonly logger?: Logger;
  sendOpts(signal: AbortSignal | undefined): { abortSignal?: AbortSignal };
}
