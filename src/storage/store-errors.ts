/**
 * StoreError → AppError, for the HTTP features. The store's own message (which may name keys,
 * buckets or SDK codes) travels only as `cause`, which the problem middleware logs for 5xx and
 * never sends to a client.
 */
import { AppError, errors } from '../errors.js';
import { StoreError, isStoreFull } from './object-store.js';
import type { InvalidRangeError } from './object-store.js';

/**
 * Maps a store failure to the client-facing error:
 * ObjectNotFound → 404 `not_found` (`what` names the resource, e.g. 'Recording audio'),
 * InvalidRange → 416 `range_not_satisfiable` with `Content-Range: bytes *\/<size>`,
 * StoreFull → 507 `insufficient_storage`, StoreUnavailable (also a versioned bucket that refuses
 * deletes) → 503 `store_unavailable` with Retry-After,
 * a read that fails authentication (ObjectDecrypt, DataKeyMissing) → 500 `integrity`,
 * InvalidKey, ObjectIntegrity and anything else → 500 `internal` (keys are built by the service, so a
 * bad key is a bug; a digest mismatch means bytes changed inside this service).
 * An AppError is returned unchanged.
 */
export function storeErrorToAppError(error: unknown, options: { what?: string } = {}): AppError {
  if (error instanceof AppError) return error;
  if (isStoreFull(error)) return errors.insufficientStorage({ cause: error });
  switch (storeErrorCode(error)) {
    case 'object_not_found':
      return errors.notFound(options.what ?? 'Object', { cause: error });
    case 'invalid_range':
      return errors.rangeNotSatisfiable((error as InvalidRangeError).size, { cause: error });
    case 'integrity':
      return error instanceof Error && error.name === 'ObjectIntegrityError' ? errors.internal({ cause: error }) : errors.integrity({ cause: error });
    case 'store_unavailable':
    case 'versioned_bucket':
      return errors.storeUnavailable({ cause: error });
    default:
      return errors.internal({ cause: error });
  }
}

/**
 * The StoreError code of `error`, or undefined. Checks the `code` of a StoreError-shaped error as
 * well as `instanceof`, so that it also holds when the storage modules were loaded twice (as
 * CommonJS and as ESM, e.g. under a test runner) and the classes are not the same objects.
 */
export function storeErrorCode(error: unknown): StoreError['code'] | undefined {
  if (error instanceof StoreError) return error.code;
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  const names: Record<string, StoreError['code']> = {
    ObjectNotFoundError: 'object_not_found',
    InvalidKeyError: 'invalid_key',
    InvalidRangeError: 'invalid_range',
    StoreUnavailableError: 'store_unavailable',
    StoreFullError: 'store_unavailable',
    VersionedBucketError: 'versioned_bucket',
    ObjectIntegrityError: 'integrity',
    ObjectDecryptError: 'integrity',
    DataKeyMissingError: 'integrity',
  };
  const byName = names[error.name];
  return byName !== undefined && byName === code ? byName : undefined;
}
