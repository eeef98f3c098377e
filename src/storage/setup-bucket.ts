/** Bucket bootstrap (create, lifecycle rule, versioning check). TO BE WRITTEN by the storage work. */
import type { StoreConfig } from '../config.js';

export async function setupBucket(_config: Extract<StoreConfig, { kind: 's3' }>, _options: { retentionDays: number }): Promise<void> {
  throw new Error('setup-bucket not implemented yet');
}
