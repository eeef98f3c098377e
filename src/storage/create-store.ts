/**
 * Opens the ObjectStore the configuration names. The s3 driver is loaded only
 * when configured, so the embedded default never loads the AWS SDK.
 */
import type { Logger } from '../logger.js';
import type { StoreConfig } from '../config.js';
import type { ObjectStore } from './object-store.js';
import { createFsStore } from './fs-store.js';

export async function createObjectStore(config: StoreConfig, deps: { logger?: Logger } = {}): Promise<ObjectStore> {
  if (config.kind === 'fs') return createFsStore({ root: config.root });
  const { createS3Store } = await import('./s3-store.js');
  return createS3Store(config, deps);
}
