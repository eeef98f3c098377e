/**
 * The ObjectStore contract every driver (fs, s3) fulfils. It knows keys,
 * bytes and tags only: no tables, no HTTP.
 *
 * Contract, for every driver:
 * - Keys are validated by `assertValidKey` before any I/O; a bad key throws InvalidKeyError.
 * - `put` is atomic: readers see the old object (or none) until the new one is complete.
 *   A body stream that errors, or an aborted signal, leaves no object and no temp data behind,
 *   and the put rejects.
 * - `get`/`stat`/`getTags` of a missing key throw ObjectNotFoundError.
 * - `get` with a range serves exactly the satisfiable part (clamped to the object), and throws
 *   InvalidRangeError (carrying the size) when nothing is satisfiable.
 * - `delete` is idempotent: deleting a missing key succeeds.
 * - `deleteMany` deletes in batches and reports per-key failures instead of throwing.
 * - `exists` is the verification after a delete: false only when no trace of the key remains
 *   (no version and no delete marker either, whatever the bucket's versioning was thought to be).
 * - `listVersions` lists every trace of the keys under a prefix: on a store with
 *   `capabilities.versions`, each version and each delete marker, as the backend holds them at
 *   the time of the call (never from a cached idea of its versioning); on one without, each key
 *   once, as its current version. An absence proof by listing uses it, never `list`.
 * - Callers ask `capabilities`, never `kind`, what a store can do.
 * - Any failure to reach the backend throws StoreUnavailableError, never a raw SDK error.
 */
import type { Readable } from 'node:stream';
import type { StaleRemoval } from '../owned-dirs.js';
import type { SetupBucketReport } from './setup-bucket.js';

export type Tags = Record<string, string>;

export interface ObjectInfo {
  key: string;
  size: number;
  contentType: string;
  etag: string;
  lastModified: Date;
}

/** A parsed single range; `end` is inclusive. Drivers never see HTTP headers. */
export type RangeRequest = { start: number; end?: number } | { suffix: number };

export interface ServedRange {
  start: number;
  end: number;
}

export interface PutOptions {
  contentType: string;
  contentLength?: number;
  tags: Tags;
  /**
   * The body's SHA-256 (hex), when the caller already knows it (ingest hashed the audio
   * as it arrived). The put then succeeds only if the bytes stored are exactly those:
   * otherwise it rejects with ObjectIntegrityError and leaves no object. On S3 a body of
   * known length up to one part is checked by the server (the digest is the request's
   * signed payload hash and its x-amz-checksum-sha256), larger ones as they stream out.
   */
  sha256?: string;
  /**
   * Write-once retention (S3 Object Lock): no version of the object can be deleted or
   * overwritten before `retainUntil` (in GOVERNANCE mode, except by a principal allowed to
   * bypass governance retention). Only for a store whose `objectLock()` is true
   * (any other store rejects the put and stores nothing), and only with a Buffer body
   * shorter than one part (8 MiB), which goes as one PutObject carrying its checksum.
   */
  lock?: { mode: 'COMPLIANCE' | 'GOVERNANCE'; retainUntil: Date };
  signal?: AbortSignal;
}

export interface GetOptions {
  range?: RangeRequest;
  signal?: AbortSignal;
}

export interface GetResult {
  body: Readable;
  info: ObjectInfo;
  /** The bytes served when a range was asked for; absent for a whole-object read. */
  range?: ServedRange;
}

export interface SignalOption {
  signal?: AbortSignal;
}

export interface ListOptions extends SignalOption {
  cursor?: string;
  limit?: number;
  /**
   * Only keys strictly greater than this string (byte order, like S3's StartAfter); it need
   * not be an existing key. Applies to the first page: a `cursor` (which comes from a
   * listing that already started after it) takes precedence.
   */
  startAfter?: string;
}

export interface ListPage {
  items: Array<Pick<ObjectInfo, 'key' | 'size' | 'lastModified'>>;
  nextCursor?: string;
}

/** One trace of a key: a version (the current one or an older one) or a delete marker. */
export interface VersionItem {
  key: string;
  /**
   * The backend's version id; `null` for the version written while versioning was off (and on a store without
   * versions).
   */
  versionId: string;
  /** A delete marker: no bytes, but a trace of the key (and what hides its older versions). */
  deleteMarker: boolean;
  /** The key's current version (or current delete marker). */
  latest: boolean;
  lastModified: Date;
}

export interface VersionPage {
  /** In key order; the traces of one key newest first. One key's traces may span pages. */
  items: VersionItem[];
  nextCursor?: string;
}

/** What a store can do, declared by the driver; callers test these, never `kind`. */
export interface StoreCapabilities {
  /**
   * The backend can keep older versions and delete markers of a key: a delete may leave the
   * bytes behind. True for every S3 bucket, since anyone with the right can switch versioning
   * on while callrec runs; an absence proof there must list versions (`listVersions`).
   */
  readonly versions: boolean;
}

/** An incomplete multipart upload under `recordings/` (S3). */
export interface PendingUpload {
  key: string;
  uploadId: string;
  initiated: Date;
}

/**
 * Housekeeping that only some backends need, declared by the store (set where the driver is
 * created, src/storage/create-store.ts, and passed on by decorators). Callers test for each
 * member, never `kind`; a store without `upkeep` (a driver made directly, in tests) needs none.
 */
export interface StoreUpkeep {
  /**
   * Checks before serving (S3: the bucket exists, its versioning is acceptable, versions may be listed); throws
   * otherwise.
   */
  checkBeforeServing?(): Promise<void>;
  /**
   * `callrec setup-bucket` (S3): creates the bucket, installs the lifecycle rules, checks versioning; a report per
   * step.
   */
  setUp?(options: { retentionDays: number }): Promise<SetupBucketReport>;
  /** Removes what killed processes' puts left in the store's own temp area (fs); `dryRun` only reports. */
  removeStaleTemp?(options: { now: number; dryRun?: boolean }): Promise<StaleRemoval>;
  /** Aborts the incomplete multipart uploads under `recordings/` that `select` picks (S3); `dryRun` only reports. */
  abortUploads?(options: {
    select: (uploads: PendingUpload[]) => Promise<PendingUpload[]> | PendingUpload[];
    dryRun?: boolean;
    signal?: AbortSignal;
  }): Promise<{ aborted: number; found: number; keys: string[] }>;
}

export interface DeleteManyResult {
  deleted: string[];
  failed: Array<{ key: string; error: Error }>;
}

export interface ObjectStore {
  readonly kind: 'fs' | 's3';
  readonly capabilities: StoreCapabilities;
  /** Backend-specific housekeeping the store declares (see StoreUpkeep). */
  readonly upkeep?: StoreUpkeep;
  /**
   * True for the encrypting decorator (./encrypted-store.ts): a put under a recording's key creates
   * that recording's data key when it has none. Absent on the drivers.
   */
  readonly encrypting?: boolean;
  /**
   * Stores `body` under `key`, atomically: readers see the old object or the whole new one,
   * never a part. A Buffer body is sent as it is (on S3 one PutObject when shorter than a
   * part, which the SDK can retry on a reset connection; a stream cannot be retried).
   */
  put(key: string, body: Readable | Buffer, options: PutOptions): Promise<ObjectInfo>;
  get(key: string, options?: GetOptions): Promise<GetResult>;
  stat(key: string, options?: SignalOption): Promise<ObjectInfo>;
  getTags(key: string, options?: SignalOption): Promise<Tags>;
  /** Replaces the tags of an existing object (used by the reconciler to re-tag). */
  putTags(key: string, tags: Tags, options?: SignalOption): Promise<void>;
  delete(key: string, options?: SignalOption): Promise<void>;
  deleteMany(keys: readonly string[], options?: SignalOption): Promise<DeleteManyResult>;
  exists(key: string, options?: SignalOption): Promise<boolean>;
  list(prefix: string, options?: ListOptions): Promise<ListPage>;
  /**
   * Every trace (version, delete marker) of the keys under `prefix`, in key order, paged like
   * `list` (`limit` counts traces; `startAfter`: only keys strictly greater). Asks the backend
   * each time: an empty listing proves that no trace of those keys remains.
   */
  listVersions(prefix: string, options?: ListOptions): Promise<VersionPage>;
  /** Resolves when the backend answers; throws StoreUnavailableError otherwise. */
  ping(options?: SignalOption): Promise<void>;
  /**
   * Whether puts may carry `lock`: S3 Object Lock is enabled on the bucket (asked of the
   * bucket, cached for a minute; it cannot be switched off once on). Always false on fs.
   */
  objectLock(options?: SignalOption): Promise<boolean>;
  close(): Promise<void>;
}

export class StoreError extends Error {
  constructor(
    readonly code:
      'object_not_found' | 'invalid_key' | 'invalid_range' | 'store_unavailable' | 'versioned_bucket' | 'integrity',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class ObjectNotFoundError extends StoreError {
  override readonly name = 'ObjectNotFoundError';
  constructor(
    readonly key: string,
    options?: { cause?: unknown },
  ) {
    super('object_not_found', `object not found: ${key}`, options);
  }
}

export class InvalidKeyError extends StoreError {
  override readonly name = 'InvalidKeyError';
  constructor(reason: string) {
    super('invalid_key', `invalid object key: ${reason}`);
  }
}

export class InvalidRangeError extends StoreError {
  override readonly name = 'InvalidRangeError';
  constructor(readonly size: number) {
    super('invalid_range', `range not satisfiable for an object of ${size} bytes`);
  }
}

/** The bytes a put received are not the ones its `sha256` names; nothing was stored. */
export class ObjectIntegrityError extends StoreError {
  override readonly name = 'ObjectIntegrityError';
  constructor(
    readonly key: string,
    options?: { cause?: unknown },
  ) {
    super('integrity', `the body of ${key} does not match its sha256`, options);
  }
}

export class StoreUnavailableError extends StoreError {
  override readonly name: string = 'StoreUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('store_unavailable', message, options);
  }
}

/**
 * The backend has no space left for a put (a full disk under the fs store, a full MinIO).
 * A StoreUnavailableError (code `store_unavailable`, so retries treat it alike), told apart
 * by `isStoreFull` so that the edge can answer 507 `insufficient_storage`.
 */
export class StoreFullError extends StoreUnavailableError {
  override readonly name: string = 'StoreFullError';
}

/** True for a StoreFullError (also one from a second copy of this module). */
export function isStoreFull(error: unknown): boolean {
  return (
    error instanceof StoreFullError ||
    (error instanceof Error &&
      error.name === 'StoreFullError' &&
      (error as { code?: unknown }).code === 'store_unavailable')
  );
}

/**
 * Resolves a range request against an object size (RFC 9110 single-range rules):
 * `end` past the object is clamped, a suffix larger than the object is the whole object,
 * and an unsatisfiable request (start past the end, empty object, zero suffix) throws InvalidRangeError.
 */
export function resolveRange(range: RangeRequest, size: number): ServedRange {
  if ('suffix' in range) {
    if (range.suffix <= 0 || size === 0) throw new InvalidRangeError(size);
    return { start: Math.max(0, size - range.suffix), end: size - 1 };
  }
  if (range.start >= size || (range.end !== undefined && range.end < range.start)) throw new InvalidRangeError(size);
  return { start: range.start, end: Math.min(range.end ?? size - 1, size - 1) };
}
