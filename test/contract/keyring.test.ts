/**
 * The keyring at start: created on first start (mode 0600), checked against the data keys in
 * the database afterwards; a missing or wrong keyring while encrypted recordings exist stops
 * the start with one line, never a silent new keyring.
 */
import fs from 'node:fs';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { expect } from 'chai';
import { loadConfig } from '../../src/config.js';
import { readRecordingKey } from '../../src/db/recording-keys.js';
import { encryptingStore, openKeyring } from '../../src/keys/data-keys.js';
import { KeyringError, newKeyringEntry, readKeyringFile, writeKeyringFile } from '../../src/keys/keyring.js';
import { dbBackends, storeBackends, tempDir } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { createStoredRecording } from '../support/recordings.js';
import { rejection } from '../support/rejection.js';

const NOW = new Date(Date.UTC(2026, 10, 30, 12, 0, 0));
const fsBackend = storeBackends.find((b) => b.name === 'fs')!;

describe('encryption settings', () => {
  it('when nothing is set, then encryption is on and the keyring is <data dir>/keyring; CALLREC_ENCRYPTION=off and CALLREC_KEYRING_FILE change them', () => {
    const dir = tempDir();
    const defaults = loadConfig({ CALLREC_DATA_DIR: dir });
    expect(defaults.encryption).to.deep.equal({ enabled: true, keyringFile: path.join(dir, 'keyring') });
    const set = loadConfig({
      CALLREC_DATA_DIR: dir,
      CALLREC_ENCRYPTION: 'off',
      CALLREC_KEYRING_FILE: '/run/secrets/callrec-keyring',
    });
    expect(set.encryption).to.deep.equal({ enabled: false, keyringFile: '/run/secrets/callrec-keyring' });
    expect(() => loadConfig({ CALLREC_DATA_DIR: dir, CALLREC_ENCRYPTION: 'yes' })).to.throw(
      /CALLREC_ENCRYPTION expects on or off/,
    );
  });
});

for (const dbBackend of dbBackends) {
  describe(`keyring at start (${dbBackend.name})`, function () {
    let tdb: TestDb;
    let tstore: TestStore;
    let file: string;
    const config = (overrides: { enabled?: boolean } = {}) => ({
      encryption: { enabled: overrides.enabled ?? true, keyringFile: file },
    });

    beforeEach(async () => {
      tdb = await dbBackend.create();
      tstore = await fsBackend.create();
      file = path.join(tempDir(), 'secrets', 'keyring');
    });
    afterEach(async () => {
      await tstore?.dispose();
      await tdb?.dispose();
    });

    it('when no keyring exists and nothing is encrypted, then the first start creates one (mode 0600, one key) and the next start opens the same one', async () => {
      const first = await openKeyring({ config: config(), db: tdb.db, now: NOW });
      expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
      const ring = readKeyringFile(file)!;
      expect(ring.keys).to.have.length(1);
      expect(first?.currentKekId)
        .to.equal(ring.current)
        .and.match(/^k20261130-[0-9a-f]{8}$/);
      const second = await openKeyring({ config: config(), db: tdb.db, now: NOW });
      expect(second?.currentKekId).to.equal(first?.currentKekId);
    });

    it("when a killed writer left a temp copy of the keyring beside it, then the next start removes it; a live process's stays", async () => {
      await openKeyring({ config: config(), db: tdb.db, now: NOW });
      const dead = `${file}.2147483646.0a1b2c3d.tmp`;
      const live = `${file}.${process.pid}.0a1b2c3d.tmp`;
      fs.writeFileSync(dead, 'x', { mode: 0o600 });
      fs.writeFileSync(live, 'x', { mode: 0o600 });
      await openKeyring({ config: config(), db: tdb.db, now: NOW });
      expect(fs.existsSync(dead)).to.equal(false);
      expect(fs.existsSync(live)).to.equal(true);
      fs.rmSync(live);
    });

    it('when the keyring is missing while encrypted recordings exist, then the start stops with one line naming the file, and no new keyring is made', async () => {
      const store = await encryptingStore({ config: config(), db: tdb.db, store: tstore.store, now: NOW });
      const rec = await createStoredRecording({ db: tdb.db, store });
      expect(await readRecordingKey(tdb.db.knex, rec.row.id)).to.not.equal(undefined);
      fs.rmSync(file);
      const error = await rejection(openKeyring({ config: config(), db: tdb.db, now: NOW }));
      expect(error).to.be.instanceOf(KeyringError);
      expect(error.message).to.include(file).and.include('missing').and.not.include('\n');
      expect(fs.existsSync(file)).to.equal(false);
    });

    it('when the keyring is another one (other ids, or the same id with other key material), then the start stops with one line', async () => {
      const store = await encryptingStore({ config: config(), db: tdb.db, store: tstore.store, now: NOW });
      await createStoredRecording({ db: tdb.db, store });
      const real = readKeyringFile(file)!;

      const other = newKeyringEntry(NOW);
      writeKeyringFile(file, { current: other.id, keys: [other] }, { exclusive: false });
      const unknown = await rejection(openKeyring({ config: config(), db: tdb.db, now: NOW }));
      expect(unknown).to.be.instanceOf(KeyringError);
      expect(unknown.message).to.include(real.current).and.include('wrong keyring');

      const forged = { ...newKeyringEntry(NOW), id: real.current };
      writeKeyringFile(file, { current: forged.id, keys: [forged] }, { exclusive: false });
      const wrong = await rejection(openKeyring({ config: config(), db: tdb.db, now: NOW }));
      expect(wrong).to.be.instanceOf(KeyringError);
      expect(wrong.message).to.include('does not unwrap').and.not.include('\n');

      writeKeyringFile(file, real, { exclusive: false });
      expect((await openKeyring({ config: config(), db: tdb.db, now: NOW }))?.currentKekId).to.equal(real.current);
    });

    it('when encryption is off and nothing is encrypted, then no keyring is made and new recordings are stored in plaintext', async () => {
      const store = await encryptingStore({
        config: config({ enabled: false }),
        db: tdb.db,
        store: tstore.store,
        now: NOW,
      });
      expect(fs.existsSync(file)).to.equal(false);
      const rec = await createStoredRecording({ db: tdb.db, store });
      expect(await readRecordingKey(tdb.db.knex, rec.row.id)).to.equal(undefined);
      expect((await buffer((await tstore.store.get(rec.row.playback_key)).body)).equals(rec.playbackBody)).to.equal(
        true,
      );
    });

    it('when encryption is switched off after recordings were encrypted, then those stay playable with the keyring', async () => {
      const on = await encryptingStore({ config: config(), db: tdb.db, store: tstore.store, now: NOW });
      const rec = await createStoredRecording({ db: tdb.db, store: on });
      const off = await encryptingStore({
        config: config({ enabled: false }),
        db: tdb.db,
        store: tstore.store,
        now: NOW,
      });
      expect((await buffer((await off.get(rec.row.playback_key)).body)).equals(rec.playbackBody)).to.equal(true);
    });
  });
}
