/**
 * Opens the ObjectStore the configuration names, with the housekeeping its backend declares
 * (`upkeep`: the one place that tells the drivers apart). The s3 driver and its helpers are
 * loaded only when configured, so the embedded default never loads the AWS SDK.
 */
import type { Logger } from '../logger.js';
import type { StoreConfig } from '../config.js';
import type { ObjectStore, StoreUpkeep } from './object-store.js';
import { createFsStore, removeStaleFsTemp } from './fs-store.js';

export async function createObjectStore(config: StoreConfig, deps: { logger?: Logger } = {}): Promise<ObjectStore> {
  if (config.kind === 'fs') {
    const root = config.root;
    return withUpkeep(createFsStore({ root }), {
      removeStaleTemp: (options) => removeStaleFsTemp({ root, ...options }),
    });
  }
  const { createS3Store } = await import('./s3-store.js');
  return withUpkeep(createS3Store(config, deps), {
    async checkBeforeServing() {
      // A missing bucket, or a versioned one under CALLREC_S3_VERSIONED=refuse (a delete would only add a delete
      // marker).
      const { checkBucket } = await import('./setup-bucket.js');
      await checkBucket(config);
    },
    async setUp(options) {
      const { setupBucket } = await import('./setup-bucket.js');
      return setupBucket(config, options);
    },
    async abortUploads(options) {
      const { abortUploads } = await import('./s3-multipart.js');
      return abortUploads(config, options);
    },
  });
}

function withUpkeep(store: ObjectStore, upkeep: StoreUpkeep): ObjectStore {
  return Object.assign(store, { upkeep });
}
