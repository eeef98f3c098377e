/**
 * StoreError → AppError, for the HTTP features. The store's own message (which may name keys,
 * buckets or SDK codes) travels only as `cause`, which the problem middleware logs for 5xx and
 * never sends to a client.
 */
import { AppError, errors } from '../errors.js';
import { isStoreFull } from '../storage/object-store.js';
import type { InvalidRangeError } from '../storage/object-store.js';
import { storeErrorCode } from '../storage/store-errors.js';

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
      return error instanceof Error && error.name === 'ObjectIntegrityError'
        ? errors.internal({ cause: error })
        : errors.integrity({ cause: error });
    case 'store_unavailable':
    case 'versioned_bucket':
      return errors.storeUnavailable({ cause: error });
    default:
      return errors.internal({ cause: error });
  }
}
