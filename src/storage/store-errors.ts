/**
 * StoreError → AppError, for the HTTP features. The store's own message (which may name keys,
 * buckets or SDK codes) travels only as `cause`, which the problem middleware logs for 5xx and
 * never sends to a client.
 */
import { AppError, errors } from '../errors.js';
import { InvalidRangeError, ObjectNotFoundError, StoreError, StoreUnavailableError } from './object-store.js';

/**
 * Maps a store failure to the client-facing error:
 * ObjectNotFound → 404 `not_found` (`what` names the resource, e.g. 'Recording audio'),
 * InvalidRange → 416 `range_not_satisfiable` with `Content-Range: bytes *\/<size>`,
 * StoreUnavailable → 503 `store_unavailable` with Retry-After,
 * InvalidKey and anything else → 500 `internal` (keys are built by the service, so a bad key is a bug).
 * An AppError is returned unchanged.
 */
export function storeErrorToAppError(error: unknown, options: { what?: string } = {}): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof ObjectNotFoundError) return errors.notFound(options.what ?? 'Object', { cause: error });
  if (error instanceof InvalidRangeError) return errors.rangeNotSatisfiable(error.size, { cause: error });
  if (error instanceof StoreUnavailableError) return errors.storeUnavailable({ cause: error });
  if (error instanceof StoreError) return errors.internal({ cause: error });
  return errors.internal({ cause: error });
}
