/**
 * StoreError recognition for the callers of the store. The mapping to HTTP errors lives at the
 * edge (src/http/store-errors.ts): the storage layer raises StoreErrors and knows nothing of HTTP.
 */
import { StoreError } from './object-store.js';

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
