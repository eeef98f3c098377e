/**
 * Per-recording data keys: created on a recording's first put, stored wrapped in
 * `recording_keys`, unwrapped on every read (never cached: a shredded key is gone for the next
 * read), destroyed by the deletion paths (src/retention/delete-core.ts) in the transaction that
 * appends the deletion-log entry.
 *
 * Also the start-up check of the keyring against the keys in the database, and the assembly
 * of the encrypting store the service and the CLI use.
 */
import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import type { Db } from '../db/db.js';
import { countKeysByKek, insertRecordingKeyIfAbsent, readRecordingKey, sampleKeyOf } from '../db/recording-keys.js';
import type { Logger } from '../logger.js';
import { createEncryptedStore } from '../storage/encrypted-store.js';
import type { DataKey, DataKeySource } from '../storage/encrypted-store.js';
import { recordingBindingOfKey } from '../storage/keys.js';
import type { ObjectStore } from '../storage/object-store.js';
import {
  KeyringError,
  fileKeyring,
  newKeyringEntry,
  readKeyringFile,
  removeStaleKeyringTemp,
  writeKeyringFile,
} from './keyring.js';
import type { KeyWrapper } from './keyring.js';

/**
 * Data keys from the database, wrapped by `wrapper`. With `encrypt` false (CALLREC_ENCRYPTION=off)
 * `forWrite` returns undefined for a recording without a key (it is stored in plaintext).
 */
export function createDataKeySource(options: {
  db: Db;
  wrapper: KeyWrapper | undefined;
  encrypt: boolean;
  now?: () => number;
}): DataKeySource {
  const { db, wrapper } = options;
  const now = options.now ?? Date.now;
  const unwrap = async (recordingId: string, row: { kek_id: string; wrapped: Buffer }): Promise<DataKey> => {
    if (!wrapper) throw new KeyringError(`recording ${recordingId} is encrypted but no keyring is open`);
    return {
      key: await wrapper.unwrap({ kekId: row.kek_id, wrapped: row.wrapped }, { recordingId }),
      kekId: row.kek_id,
    };
  };
  return {
    async forRead(recordingId) {
      const row = await readRecordingKey(db.knex, recordingId);
      return row ? unwrap(recordingId, row) : undefined;
    },
    async forWrite(recordingId) {
      const existing = await readRecordingKey(db.knex, recordingId);
      if (existing) return unwrap(recordingId, existing);
      if (!options.encrypt || !wrapper) return undefined;
      const key = randomBytes(32);
      const wrapped = await wrapper.wrap(key, { recordingId });
      await insertRecordingKeyIfAbsent(db.knex, {
        recording_id: recordingId,
        kek_id: wrapped.kekId,
        wrapped: wrapped.wrapped,
        created_at: now(),
      });
      // A concurrent first put of the same recording may have won: use whichever key is stored.
      const stored = await readRecordingKey(db.knex, recordingId);
      if (!stored) throw new KeyringError(`the data key of ${recordingId} vanished right after it was stored`);
      return stored.wrapped.equals(wrapped.wrapped) ? { key, kekId: wrapped.kekId } : unwrap(recordingId, stored);
    },
  };
}

/**
 * Opens the keyring for this start and checks it against the database:
 * - the file is missing: with encrypted recordings in the database, KeyringError ("restore it";
 *   never a silent new keyring); otherwise, with encryption on, a new keyring with one key is
 *   created (mode 0600); with it off, none is needed (undefined);
 * - the file exists: every KEK id the database uses must be in it and unwrap one of its data
 *   keys (a wrong keyring stops the start).
 */
export async function openKeyring(options: {
  config: Pick<Config, 'encryption'>;
  db: Db;
  now: Date;
}): Promise<KeyWrapper | undefined> {
  const file = options.config.encryption.keyringFile;
  removeStaleKeyringTemp(file);
  const inUse = await countKeysByKek(options.db.knex);
  const total = [...inUse.values()].reduce((a, b) => a + b, 0);
  let ring = readKeyringFile(file);
  if (!ring) {
    if (total > 0) {
      throw new KeyringError(
        `the keyring ${file} is missing, but ${total} recordings are encrypted with its keys ` +
          `(${[...inUse.keys()].join(', ')}): restore the file (CALLREC_KEYRING_FILE); a new keyring cannot decrypt ` +
          `them`,
      );
    }
    if (!options.config.encryption.enabled) return undefined;
    const fresh = { current: '', keys: [newKeyringEntry(options.now)] };
    fresh.current = fresh.keys[0]!.id;
    try {
      writeKeyringFile(file, fresh, { exclusive: true });
      ring = fresh;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new KeyringError(
          `the keyring ${file} cannot be created (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
        );
      ring = readKeyringFile(file)!;
    }
  }
  const wrapper = fileKeyring(file, ring);
  for (const [kekId, count] of inUse) {
    if (!wrapper.has(kekId))
      throw new KeyringError(
        `the keyring ${file} does not hold the key ${kekId}, which wraps ${count} recordings: wrong keyring file?`,
      );
    const sample = await sampleKeyOf(options.db.knex, kekId);
    if (sample) {
      try {
        await wrapper.unwrap({ kekId, wrapped: sample.wrapped }, { recordingId: sample.recording_id });
      } catch {
        throw new KeyringError(
          `the key ${kekId} in the keyring ${file} does not unwrap the data keys it wrapped: wrong keyring file?`,
        );
      }
    }
  }
  return wrapper;
}

/**
 * The store the service and the CLI use: the driver wrapped by the encrypting decorator, with
 * data keys from the database and the keyring (opened and checked here).
 */
export async function encryptingStore(options: {
  config: Pick<Config, 'encryption'>;
  db: Db;
  store: ObjectStore;
  logger?: Logger;
  now?: Date;
}): Promise<ObjectStore> {
  const wrapper = await openKeyring({ config: options.config, db: options.db, now: options.now ?? new Date() });
  if (wrapper)
    options.logger?.info(
      { kekId: wrapper.currentKekId, encryption: options.config.encryption.enabled },
      'keyring open',
    );
  const dataKeys = createDataKeySource({ db: options.db, wrapper, encrypt: options.config.encryption.enabled });
  return createEncryptedStore(options.store, { dataKeys, bindingOf: recordingBindingOfKey });
}
