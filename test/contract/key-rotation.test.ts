/**
 * `callrec keys`: rotation re-wraps every data key with a new key-encryption key in batches,
 * rewrites no object, and keeps every recording playable, also for an instance that opened the
 * keyring before the rotation and while uploads and playback go on; list and remove.
 */
import fs from 'node:fs';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { expect } from 'chai';
import { keysCommand } from '../../src/cli/keys.js';
import type { CliContext } from '../../src/cli/context.js';
import { createManualClock } from '../../src/clock.js';
import { countKeysByKek } from '../../src/db/recording-keys.js';
import { encryptingStore, openKeyring } from '../../src/keys/data-keys.js';
import { newKeyringEntry, readKeyringFile, writeKeyringFile } from '../../src/keys/keyring.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { testConfig } from '../support/app.js';
import { dbBackends, storeBackends, tempDir } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { createStoredRecording } from '../support/recordings.js';
import type { StoredRecording } from '../support/recordings.js';

const NOW = Date.UTC(2026, 10, 30, 12, 0, 0);
const fsBackend = storeBackends.find((b) => b.name === 'fs')!;

for (const dbBackend of dbBackends) {
  describe(`keys list, rotate, remove (${dbBackend.name})`, function () {
    let tdb: TestDb;
    let tstore: TestStore;
    let file: string;
    let store: ObjectStore;

    beforeEach(async () => {
      tdb = await dbBackend.create();
      tstore = await fsBackend.create();
      file = path.join(tempDir(), 'keyring');
      store = await encryptingStore({
        config: { encryption: { enabled: true, keyringFile: file } },
        db: tdb.db,
        store: tstore.store,
      });
    });
    afterEach(async () => {
      await tstore?.dispose();
      await tdb?.dispose();
    });

    /** Runs `callrec keys …` in-process; returns exit code, stdout and stderr lines. */
    const keys = async (...args: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const ctx: CliContext = {
        config: testConfig({ CALLREC_KEYRING_FILE: file }),
        db: tdb.db,
        store,
        logger: createLogger({ level: 'silent' }),
        clock: createManualClock(NOW),
        metrics: createMetrics(),
        out: (line) => out.push(line),
        err: (line) => err.push(line),
        close: async () => undefined,
      };
      return { code: await keysCommand.run(args, ctx), out, err };
    };
    const plays = async (s: ObjectStore, rec: StoredRecording) =>
      (await buffer((await s.get(rec.row.playback_key)).body)).equals(rec.playbackBody) &&
      (await buffer((await s.get(rec.row.original_key)).body)).equals(rec.originalBody);
    const rawBytes = async (rec: StoredRecording) =>
      Promise.all(rec.keys.map(async (k) => buffer((await tstore.store.get(k)).body)));

    it('when the keys are rotated, then every data key is re-wrapped with the new key, no object changes, and every recording plays, also through a store opened before', async () => {
      const recs: StoredRecording[] = [];
      for (let i = 0; i < 5; i++) recs.push(await createStoredRecording({ db: tdb.db, store }));
      const before = await Promise.all(recs.map(rawBytes));
      const old = readKeyringFile(file)!.current;

      const rotated = await keys('rotate', '--batch-size', '2');
      expect(rotated.code, rotated.err.join('\n')).to.equal(0);
      const ring = readKeyringFile(file)!;
      expect(ring.current).to.not.equal(old);
      expect(ring.keys.map((k) => k.id)).to.deep.equal([old, ring.current]);
      expect(fs.statSync(file).mode & 0o777).to.equal(0o600);
      expect(rotated.err.some((l) => l.includes('re-wrapped'))).to.equal(true);
      expect(Object.fromEntries(await countKeysByKek(tdb.db.knex))).to.deep.equal({ [ring.current]: 5 });
      expect(await Promise.all(recs.map(rawBytes)), 'no object rewritten').to.deep.equal(before);

      for (const rec of recs) expect(await plays(store, rec), 'store opened before the rotation').to.equal(true);
      const reopened = await encryptingStore({
        config: { encryption: { enabled: true, keyringFile: file } },
        db: tdb.db,
        store: tstore.store,
      });
      for (const rec of recs) expect(await plays(reopened, rec), 'store opened after').to.equal(true);
      const fresh = await createStoredRecording({ db: tdb.db, store });
      expect((await countKeysByKek(tdb.db.knex)).get(ring.current), 'new recordings wrapped by the new key').to.equal(
        6,
      );
      expect(await plays(store, fresh)).to.equal(true);

      const listed = await keys('list');
      expect(listed.out).to.deep.equal([
        `${old}\t${ring.keys[0]!.createdAt}\t0 recordings`,
        `${ring.current}\t${ring.keys[1]!.createdAt}\t6 recordings\tcurrent`,
      ]);
      for (const k of ring.keys) expect(listed.out.join('\n')).to.not.include(k.key.toString('base64'));
    });

    it('when a key is current or still wraps recordings, then remove refuses it; once nothing uses it, then it goes and the start check still passes', async () => {
      await createStoredRecording({ db: tdb.db, store });
      const old = readKeyringFile(file)!.current;
      const current = await keys('remove', old);
      expect(current.code).to.equal(1);
      expect(current.err.join('\n')).to.include('current key');

      // A rotation whose re-wrap did not run yet (a crash right after the new key was written).
      const ring = readKeyringFile(file)!;
      const entry = newKeyringEntry(new Date(NOW));
      writeKeyringFile(file, { current: entry.id, keys: [...ring.keys, entry] }, { exclusive: false });
      const inUse = await keys('remove', old);
      expect(inUse.code).to.equal(1);
      expect(inUse.err.join('\n')).to.include('still wraps 1 recordings');

      expect((await keys('rewrap')).code).to.equal(0);
      const removed = await keys('remove', old);
      expect(removed.code, removed.err.join('\n')).to.equal(0);
      expect(readKeyringFile(file)!.keys.map((k) => k.id)).to.deep.equal([entry.id]);
      expect(
        (
          await openKeyring({
            config: { encryption: { enabled: true, keyringFile: file } },
            db: tdb.db,
            now: new Date(NOW),
          })
        )?.currentKekId,
      ).to.equal(entry.id);
    });

    it('when another keys command holds the keyring lock, then rotate refuses and changes nothing; a lock left by a dead process is taken over', async () => {
      const before = fs.readFileSync(file, 'utf8');
      fs.writeFileSync(`${file}.lock`, String(process.pid));
      const refused = await keys('rotate');
      expect(refused.code).to.equal(1);
      expect(refused.err.join('\n')).to.include('holds');
      expect(fs.readFileSync(file, 'utf8')).to.equal(before);
      fs.writeFileSync(`${file}.lock`, '2147483646');
      expect((await keys('rotate')).code).to.equal(0);
      expect(fs.existsSync(`${file}.lock`)).to.equal(false);
      expect(readKeyringFile(file)!.keys).to.have.length(2);
    });

    it('when keys are rotated while uploads and playback run, then nothing fails and every recording still plays', async () => {
      const recs: StoredRecording[] = [];
      for (let i = 0; i < 6; i++) recs.push(await createStoredRecording({ db: tdb.db, store }));
      let stop = false;
      const failures: unknown[] = [];
      const load = (async () => {
        while (!stop) {
          try {
            recs.push(await createStoredRecording({ db: tdb.db, store }));
            for (const rec of recs.slice(-4))
              if (!(await plays(store, rec))) failures.push(new Error(`wrong audio for ${rec.row.id}`));
          } catch (error) {
            failures.push(error);
          }
        }
      })();
      const rotated = await keys('rotate', '--batch-size', '1');
      stop = true;
      await load;
      expect(rotated.code, rotated.err.join('\n')).to.equal(0);
      expect(failures).to.deep.equal([]);
      // A key wrapped by an instance that had not seen the new keyring yet is left for rewrap.
      expect((await keys('rewrap')).code).to.equal(0);
      expect([...(await countKeysByKek(tdb.db.knex)).keys()]).to.deep.equal([readKeyringFile(file)!.current]);
      for (const rec of recs) expect(await plays(store, rec), rec.row.id).to.equal(true);
    });
  });
}
