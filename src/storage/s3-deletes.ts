/**
 * Deletes of the S3 driver (see ./s3-store.ts): `delete` and `deleteMany` (DeleteObjects in
 * batches), per CALLREC_S3_VERSIONED on a versioned bucket (every version and delete marker, or
 * VersionedBucketError), the status read anew at every call. The absence proof is `exists` /
 * `listVersions` (./s3-listing.ts).
 */
import { DeleteObjectCommand, DeleteObjectsCommand } from '@aws-sdk/client-s3';
import type { ObjectIdentifier } from '@aws-sdk/client-s3';
import { assertValidKey } from './keys.js';
import { StoreUnavailableError } from './object-store.js';
import type { DeleteManyResult, SignalOption } from './object-store.js';
import { DELETE_BATCH, VersionedBucketError, isNotFound, mapS3Error } from './s3-client.js';
import type { S3Context } from './s3-client.js';
import { getVersioningStatus, listKeyVersions } from './s3-listing.js';
import { isAbortError, throwIfAborted } from './store-helpers.js';

/** `delete` and `deleteMany` of an S3 store. */
export function s3Deletes(ctx: S3Context) {
  const { client, Bucket, config, sendOpts } = ctx;

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

  return {
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
          failures = await deleteIdentifiers(
            unique.map((Key) => ({ Key })),
            signal,
          );
        }
      }
      for (const key of valid) {
        const failure = failures.get(key);
        if (failure) result.failed.push({ key, error: failure });
        else result.deleted.push(key);
      }
      return result;
    },
  };
}
