/**
 * Maps ObjectStore errors to client-safe AppErrors for playback (the store's
 * message is never sent). A missing object behind a visible row is reported
 * as a missing recording: the row is about to be swept, or an integrity fault
 * that the reconciler reports.
 */
import { AppError, errors } from '../errors.js';
import { InvalidRangeError, ObjectNotFoundError, StoreError } from '../storage/object-store.js';

export function toStoreAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof InvalidRangeError) return errors.rangeNotSatisfiable(error.size);
  if (error instanceof ObjectNotFoundError) return errors.notFound('Recording', { cause: error });
  if (error instanceof StoreError) return errors.storeUnavailable({ cause: error });
  return errors.internal({ cause: error });
}
