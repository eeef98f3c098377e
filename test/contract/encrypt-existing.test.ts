/**
 * `callrec encrypt-existing` on SQLite + fs and PostgreSQL + MinIO: recordings stored before
 * encryption become encrypted in place (copies under fresh keys, verified, row switched with the
 * key in one transaction, plaintext deleted and proven gone), keep playing byte for byte, and a
 * recording claimed for deletion or erased meanwhile is neither switched nor resurrected, and
 * keeps no copy.
 */
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { expect } from 'chai';
import { encryptExistingCommand } from '../../src/cli/encrypt-existing.js';
import type { CliContext } from '../../src/cli/context.js';
import { createManualClock } from '../../src/clock.js';
import { readRecordingKey } from '../../src/db/recording-keys.js';
import { claimRecordingById } from '../../src/db/recordings.js';
import { encryptingStore, openKeyring } from '../../src/keys/data-keys.js';
import { encryptExisting } from '../../src/keys/encrypt-existing.js';
import type { EncryptExistingStep } from '../../src/keys/encrypt-existing.js';
import type { KeyWrapper } from '../../src/keys/keyring.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { deleteRecording } from '../../src/retention/delete-recording.js';
import { sweepAll } from '../../src/retention/sweep.js';
import { RECORDINGS_PREFIX } from '../../src/storage/keys.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { testConfig } from '../support/app.js';
import { dbBackends, storeBackends, tempDir } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { createStoredRecording } from '../support/recordings.js';
import type { StoredRecordingOverrides } from '../support/recordings.js';
import { DAY, LEASE, deletionDeps } from '../support/retention.js';
import { seededBytes } from '../support/random.js';
import { allRecordingKeys, assertAllEncrypted } from '../support/encrypt-existing.js';

const NOW = Date.UTC(2026, 10, 30, 12, 0, 0);

const COMBOS = [
  {
    name: 'sqlite+fs',
    db: dbBackends.find((b) => b.name === 'sqlite')!,
    store: storeBackends.find((b) => b.name === 'fs')!,
  },
  {
    name: 'postgres+minio',
    db: dbBackends.find((b) => b.name === 'postgres')!,
    store: storeBackends.find((b) => b.name === 'minio')!,
  },
];

for (const combo of COMBOS) {
  describe(`callrec encrypt-existing (${combo.name})`, function () {
    this.timeout(120_000);
    let tdb: TestDb;
    let tstore: TestStore;
    let raw: ObjectStore;
    let store: ObjectStore;
    let wrapper: KeyWrapper;
    let keyringFile: string;

    beforeEach(async () => {
      tdb = await combo.db.create();
      tstore = await combo.store.create();
      raw = tstore.store;
      keyringFile = path.join(tempDir(), 'keyring');
      const config = { encryption: { enabled: true, keyringFile } };
      store = await encryptingStore({ config, db: tdb.db, store: raw });
      wrapper = (await openKeyring({ config, db: tdb.db, now: new Date(NOW) }))!;
    });
    afterEach(async () => {
      await tstore?.dispose();
      await tdb?.dispose();
    });

    /** A recording stored in plaintext, as before encryption (objects through the driver itself). */
    const plaintextRecording = (overrides: StoredRecordingOverrides = {}) =>
      createStoredRecording({ db: tdb.db, store: raw, overrides: { started_at: NOW - DAY, ...overrides } });

    const run = (options: { failpoint?: (step: EncryptExistingStep, id: string) => Promise<void> } = {}) => {
      const lines: string[] = [];
      return encryptExisting(
        { db: tdb.db, store: raw, wrapper },
        { now: () => NOW, batchSize: 2, progress: (l) => lines.push(l), failpoint: options.failpoint },
      ).then((result) => ({ result, lines }));
    };

    it('when recordings were stored in plaintext (one held, one of several segments), then each is encrypted in place, plays byte for byte, keeps its tags, and no plaintext object, copy or marker is left; a second run finds nothing', async function () {
      const big = seededBytes('encrypt-existing-big', 200 * 1024 + 17);
      const recs = [
        await plaintextRecording({ originalBody: big, tags: { retention: '30d', extra: 'kept' } }),
        await plaintextRecording({ legal_hold: true, hold_reason: 'case', hold_by: 'po', hold_at: NOW }),
        await plaintextRecording(),
      ];
      const encrypted = await createStoredRecording({ db: tdb.db, store, overrides: { started_at: NOW - DAY } });
      const encryptedRow = await tdb.db.knex('recordings').where({ id: encrypted.row.id }).first();

      const { result, lines } = await run();

      expect(result).to.deep.include({ found: 3, encrypted: 3, skipped: [], failed: [] });
      await assertAllEncrypted({ db: tdb, raw, store, recordings: recs });
      expect(
        (await buffer((await store.get(encrypted.row.original_key)).body)).equals(encrypted.originalBody),
      ).to.equal(true);
      // The recording already encrypted is left exactly as it was.
      expect(await tdb.db.knex('recordings').where({ id: encrypted.row.id }).first()).to.deep.equal(encryptedRow);
      const row0 = await tdb.db.knex('recordings').where({ id: recs[0]!.row.id }).first();
      expect(await raw.getTags(row0.original_key)).to.deep.equal({ retention: '30d', extra: 'kept' });
      const ranged = await store.get(row0.original_key, { range: { start: 70_000, end: 70_000 + 65_535 } });
      expect((await buffer(ranged.body)).equals(big.subarray(70_000, 70_000 + 65_536))).to.equal(true);
      expect(Boolean((await tdb.db.knex('recordings').where({ id: recs[1]!.row.id }).first()).legal_hold)).to.equal(
        true,
      );
      expect(lines.join('\n'), 'progress names no number').to.not.match(/\+31|3120/);
      expect(lines.at(-1)).to.match(/3\/3 encrypted/);

      const again = await run();
      expect(again.result).to.deep.equal({ found: 0, encrypted: 0, skipped: [], failed: [] });
    });

    it('when the recording is erased while its copies are written, then it is not switched or resurrected: its copies are deleted and nothing of it is left', async function () {
      const rec = await plaintextRecording();
      const { result } = await run({
        failpoint: async (step, id) => {
          if (step !== 'written') return;
          await deleteRecording({
            deps: {
              ...deletionDeps(tdb.db, store),
              config: { sweep: { leaseMs: LEASE, batchSize: 10, intervalMs: 60_000 } },
            },
            recordingId: id,
            reason: 'erasure_request',
            actor: 'privacy-test',
            reference: 'ENC-1',
            now: NOW,
          });
        },
      });
      expect(result.skipped).to.deep.equal([{ id: rec.row.id, reason: 'deleted_meanwhile' }]);
      expect(await tdb.db.knex('recordings').where({ id: rec.row.id }).first()).to.equal(undefined);
      expect(await readRecordingKey(tdb.db.knex, rec.row.id)).to.equal(undefined);
      expect(await allRecordingKeys(raw)).to.deep.equal([]);
      const versions = await raw.listVersions(RECORDINGS_PREFIX);
      expect(versions.items.filter((v) => !v.deleteMarker).map((v) => v.key)).to.deep.equal([]);
      expect(await tdb.db.knex('ingest_inflight').select('recording_id')).to.deep.equal([]);
      expect(await tdb.db.knex('deletion_log').where({ recording_id: rec.row.id })).to.have.length(1);
    });

    it('when the sweeper claims the recording before the switch, then it stays as claimed (plaintext, no key, no copy) and the sweep then deletes it completely', async function () {
      const rec = await plaintextRecording({ expires_at: NOW - 1000 });
      const { result } = await run({
        failpoint: async (step, id) => {
          if (step !== 'verified') return;
          const claim = await claimRecordingById(tdb.db.knex, {
            id,
            now: NOW,
            claimant: 'sweeper:test',
            leaseMs: 1,
            reason: 'retention_expired',
            actor: 'sweeper',
            reference: null,
          });
          expect(claim).to.have.property('claimed');
        },
      });
      expect(result.skipped).to.deep.equal([{ id: rec.row.id, reason: 'deleted_meanwhile' }]);
      const row = await tdb.db.knex('recordings').where({ id: rec.row.id }).first();
      expect(row).to.include({ status: 'deleting', original_key: rec.row.original_key });
      expect(await readRecordingKey(tdb.db.knex, rec.row.id)).to.equal(undefined);
      expect(await allRecordingKeys(raw)).to.deep.equal([rec.row.original_key, rec.row.playback_key].sort());

      const summary = await sweepAll(deletionDeps(tdb.db, store), { now: NOW + 10, batchSize: 10, leaseMs: LEASE });
      expect(summary.failed).to.deep.equal([]);
      expect(await tdb.db.knex('recordings').where({ id: rec.row.id }).first()).to.equal(undefined);
      expect(await allRecordingKeys(raw)).to.deep.equal([]);
    });

    it('when a plaintext object does not match its row (damaged), then that recording fails with integrity and stays plaintext and readable, with no copy left; the others are encrypted', async function () {
      const damaged = await plaintextRecording();
      const good = await plaintextRecording();
      const bad = Buffer.from(damaged.originalBody);
      bad[3] = bad[3]! ^ 0xff;
      await raw.put(damaged.row.original_key, Readable.from([bad]), {
        contentType: 'audio/wav',
        contentLength: bad.length,
        tags: { retention: '30d' },
      });
      const { result, lines } = await run();
      expect(result.failed).to.deep.equal([{ id: damaged.row.id, reason: 'integrity' }]);
      expect(result.encrypted).to.equal(1);
      expect(lines.join('\n')).to.include(`${damaged.row.id} failed (integrity)`);
      const row = await tdb.db.knex('recordings').where({ id: damaged.row.id }).first();
      expect(row.original_key).to.equal(damaged.row.original_key);
      expect(await readRecordingKey(tdb.db.knex, damaged.row.id)).to.equal(undefined);
      expect((await buffer((await store.get(damaged.row.original_key)).body)).equals(bad)).to.equal(true);
      const goodRow = await tdb.db.knex('recordings').where({ id: good.row.id }).first();
      expect(await allRecordingKeys(raw)).to.deep.equal(
        [damaged.row.original_key, damaged.row.playback_key, goodRow.original_key, goodRow.playback_key].sort(),
      );
      expect(await tdb.db.knex('ingest_inflight').select('recording_id')).to.deep.equal([]);
    });

    it('when run as `callrec encrypt-existing`, then it prints the summary as JSON on stdout, progress on stderr, and exits 0', async function () {
      const recs = [await plaintextRecording(), await plaintextRecording()];
      const out: string[] = [];
      const err: string[] = [];
      const ctx: CliContext = {
        config: testConfig({ CALLREC_KEYRING_FILE: keyringFile }),
        db: tdb.db,
        store,
        driver: raw,
        logger: createLogger({ level: 'silent' }),
        clock: createManualClock(NOW),
        metrics: createMetrics(),
        out: (l) => out.push(l),
        err: (l) => err.push(l),
        close: async () => undefined,
      };
      expect(await encryptExistingCommand.run([], ctx)).to.equal(0);
      expect(JSON.parse(out.join(''))).to.deep.include({ found: 2, encrypted: 2 });
      expect(err.join('\n')).to.match(/2\/2 encrypted/);
      await assertAllEncrypted({ db: tdb, raw, store, recordings: recs });
    });
  });
}
