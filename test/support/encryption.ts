/**
 * Encryption fixtures: data keys held in memory (for store-level suites without a database),
 * the encrypting decorator over any test store, and the encrypted backends of the contract suite.
 */
import { randomBytes } from 'node:crypto';
import type { Db } from '../../src/db/db.js';
import { createDataKeySource } from '../../src/keys/data-keys.js';
import { keyringWrapper, newKeyringEntry } from '../../src/keys/keyring.js';
import type { KeyWrapper } from '../../src/keys/keyring.js';
import { createEncryptedStore } from '../../src/storage/encrypted-store.js';
import type { BindingOf, DataKey, DataKeySource } from '../../src/storage/encrypted-store.js';
import { recordingBindingOfKey } from '../../src/storage/keys.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { storeBackends } from './backends.js';
import type { StoreBackend, TestStore } from './backends.js';

/** Data keys in a Map: one per recording id, created on first write; `shred` forgets one. */
export function memoryDataKeys(
  overrides: { kekId?: string } = {},
): DataKeySource & { keys: Map<string, DataKey>; shred(id: string): void } {
  const keys = new Map<string, DataKey>();
  const kekId = overrides.kekId ?? 'ktest-0001';
  return {
    keys,
    shred: (id) => keys.delete(id),
    async forRead(id) {
      return keys.get(id);
    },
    async forWrite(id) {
      if (!keys.has(id)) keys.set(id, { key: randomBytes(32), kekId });
      return keys.get(id);
    },
  };
}

/** Every key is its own object of one recording (`contract`): the contract suite's keys are not recording keys. */
export const everyKeyBinding: BindingOf = (key) => ({ recordingId: 'contract', role: key });

export function encryptedOver(
  inner: ObjectStore,
  options: { dataKeys?: DataKeySource; bindingOf?: BindingOf; segmentSize?: number } = {},
): ObjectStore {
  return createEncryptedStore(inner, {
    dataKeys: options.dataKeys ?? memoryDataKeys(),
    bindingOf: options.bindingOf ?? everyKeyBinding,
    segmentSize: options.segmentSize,
  });
}

/** A test keyring held in memory (one key). */
export function testKeyring(): KeyWrapper {
  const entry = newKeyringEntry(new Date());
  return keyringWrapper({ current: entry.id, keys: [entry] });
}

/** The service's encrypting store over a test store and database: data keys in `recording_keys`, wrapped by `wrapper`. */
export function encryptedRecordingStore(options: {
  db: Db;
  store: ObjectStore;
  wrapper?: KeyWrapper;
  encrypt?: boolean;
}): ObjectStore {
  const dataKeys = createDataKeySource({
    db: options.db,
    wrapper: options.wrapper ?? testKeyring(),
    encrypt: options.encrypt ?? true,
  });
  return createEncryptedStore(options.store, { dataKeys, bindingOf: recordingBindingOfKey });
}

/** The plain backends, each behind the decorator (with in-memory data keys). */
export const encryptedStoreBackends: Array<{ name: string; create(): Promise<TestStore> }> = storeBackends.map(
  (backend: StoreBackend) => ({
    name: `encrypted ${backend.name}`,
    async create() {
      const t = await backend.create();
      return { ...t, store: encryptedOver(t.store) };
    },
  }),
);
