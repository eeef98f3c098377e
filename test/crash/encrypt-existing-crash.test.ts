/**
 * Crash safety of `callrec encrypt-existing`: a real process is SIGKILLed right after each step
 * (marker, copies written, verified, switched, plaintext deleted, done) while encrypting the
 * second of three plaintext recordings. Right after the kill every recording plays (its row
 * points at plaintext without a key, or at copies with one); after `callrec encrypt-existing`
 * runs again every recording is encrypted, plays, and no plaintext object, copy, marker or key
 * without its recording is left. A recording erased between the kill and the rerun keeps nothing.
 */
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { encryptExistingCommand } from '../../src/cli/encrypt-existing.js';
import type { CliContext } from '../../src/cli/context.js';
import { createManualClock } from '../../src/clock.js';
import { encryptingStore } from '../../src/keys/data-keys.js';
import { ENCRYPT_EXISTING_STEPS } from '../../src/keys/encrypt-existing.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { deleteRecording } from '../../src/retention/delete-recording.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { testConfig } from '../support/app.js';
import { tempDir } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { allRecordingKeys, assertAllEncrypted } from '../support/encrypt-existing.js';
import { createStoredRecording } from '../support/recordings.js';
import type { StoredRecording } from '../support/recordings.js';
import { DAY, LEASE, deletionDeps } from '../support/retention.js';
import { CRASH_BACKENDS, runChildScript } from './run-child.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'encrypt-existing-child.ts');
const NOW = Date.UTC(2026, 10, 30, 12, 0, 0);

const COMBOS = CRASH_BACKENDS;
const runChild = (env: Record<string, string>) => runChildScript(CHILD, env);

for (const combo of COMBOS) {
  describe(`crash safety of encrypt-existing (${combo.name})`, function () {
    this.timeout(180_000);
    let tdb: TestDb;
    let tstore: TestStore;
    let raw: ObjectStore;
    let store: ObjectStore;
    let keyringFile: string;

    beforeEach(async () => {
      tdb = await combo.db.create();
      tstore = await combo.store.create();
      raw = tstore.store;
      keyringFile = path.join(tempDir(), 'keyring');
      store = await encryptingStore({ config: { encryption: { enabled: true, keyringFile } }, db: tdb.db, store: raw });
    });
    afterEach(async () => {
      await tstore?.dispose();
      await tdb?.dispose();
    });

    const seed = async (count: number) => {
      const recs: StoredRecording[] = [];
      for (let i = 0; i < count; i++)
        recs.push(await createStoredRecording({ db: tdb.db, store: raw, overrides: { started_at: NOW - DAY } }));
      return recs;
    };

    const killAt = async (failpoint: string) => {
      const child = await runChild({
        CALLREC_TEST_CHILD_DB: JSON.stringify(tdb.config),
        CALLREC_TEST_CHILD_STORE: JSON.stringify(tstore.config),
        CALLREC_TEST_CHILD_KEYRING: keyringFile,
        CALLREC_TEST_CHILD_NOW: String(NOW),
        CALLREC_TEST_FAILPOINT: failpoint,
      });
      expect(child.signal, child.stderr).to.equal('SIGKILL');
    };

    /** `callrec encrypt-existing` again, in this process (crash recovery first, then the rest). */
    const rerun = async () => {
      const err: string[] = [];
      const out: string[] = [];
      const ctx: CliContext = {
        config: testConfig({ CALLREC_KEYRING_FILE: keyringFile }),
        db: tdb.db,
        store,
        driver: raw,
        logger: createLogger({ level: 'silent' }),
        clock: createManualClock(NOW + 60_000),
        metrics: createMetrics(),
        out: (l) => out.push(l),
        err: (l) => err.push(l),
        close: async () => undefined,
      };
      expect(await encryptExistingCommand.run([], ctx), err.join('\n')).to.equal(0);
      return JSON.parse(out.join('')) as { failed: unknown[] };
    };

    /** Every recording plays through the service's store as it is now. */
    const assertAllPlay = async (recs: StoredRecording[]) => {
      for (const rec of recs) {
        const row = await tdb.db.knex('recordings').where({ id: rec.row.id }).first();
        expect((await buffer((await store.get(row.original_key)).body)).equals(rec.originalBody)).to.equal(true);
        expect((await buffer((await store.get(row.playback_key)).body)).equals(rec.playbackBody)).to.equal(true);
      }
    };

    for (const step of ENCRYPT_EXISTING_STEPS) {
      it(`when encrypt-existing is killed right after "${step}", then every recording still plays, and a rerun encrypts all of them leaving no plaintext object, copy or marker`, async function () {
        const recs = await seed(3);
        await killAt(`${step}:2`);
        await assertAllPlay(recs);
        const result = await rerun();
        expect(result.failed).to.deep.equal([]);
        await assertAllEncrypted({ db: tdb, raw, store, recordings: recs });
      });
    }

    for (const step of ['written', 'switched'] as const) {
      it(`when encrypt-existing is killed right after "${step}" and the recording is then erased, then the rerun leaves nothing of it: no copy, no plaintext, no key, no marker`, async function () {
        const [rec] = await seed(1);
        await killAt(step);
        await deleteRecording({
          deps: {
            ...deletionDeps(tdb.db, store),
            config: { sweep: { leaseMs: LEASE, batchSize: 10, intervalMs: 60_000 } },
          },
          recordingId: rec!.row.id,
          reason: 'erasure_request',
          actor: 'privacy-test',
          reference: 'ENC-CRASH',
          now: NOW,
        });
        await rerun();
        expect(await allRecordingKeys(raw)).to.deep.equal([]);
        expect(await tdb.db.knex('ingest_inflight').select('recording_id')).to.deep.equal([]);
        expect(await tdb.db.knex('recording_keys').select('recording_id')).to.deep.equal([]);
        expect(await tdb.db.knex('deletion_log').where({ recording_id: rec!.row.id })).to.have.length(1);
      });
    }
  });
}
