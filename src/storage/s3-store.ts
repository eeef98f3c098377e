/** S3 ObjectStore driver (MinIO, AWS S3). TO BE WRITTEN by the storage work. */
import type { StoreConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { ObjectStore } from './object-store.js';

export function createS3Store(_config: Extract<StoreConfig, { kind: 's3' }>, _deps: { logger?: Logger }): ObjectStore {
  throw new Error('s3-store not implemented yet');
}
