/** Filesystem ObjectStore driver (the embedded default). TO BE WRITTEN by the storage work. */
import type { ObjectStore } from './object-store.js';

export function createFsStore(_options: { root: string }): ObjectStore {
  throw new Error('fs-store not implemented yet');
}
