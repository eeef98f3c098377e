/**
 * What a failed database call during ingest answers: a full database disk is 507
 * `insufficient_storage`, any other failure 503 `db_unavailable`; an AppError stays itself.
 */
import { AppError, errors } from '../errors.js';
import { isStorageFull } from '../http/problem.js';

export function dbError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  return isStorageFull(error) ? errors.insufficientStorage({ cause: error }) : errors.dbUnavailable({ cause: error });
}
