/**
 * The object store goes away in the middle of a sweep: a PRIVATE MinIO (own port
 * and data dir; the shared one is never touched) is stopped right after the claim.
 * Failures are counted, nothing is logged for recordings that still exist, and after
 * MinIO comes back on the same port and data the next sweep completes.
 */
import path from 'node:path';
import { expect } from 'chai';
import { verifyDeletionLog } from '../../src/audit/verify.js';
import type { StoreConfig } from '../../src/config.js';
import { isAppError } from '../../src/errors.js';
import { deleteRecording } from '../../src/retention/delete-recording.js';
import { sweepOnce } from '../../src/retention/sweep.js';
import { createObjectStore } from '../../src/storage/create-store.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { setupBucket } from '../../src/storage/setup-bucket.js';
import { dbBackends, tempDir } from '../support/backends.js';
import type { TestDb } from '../support/backends.js';
import { createStoredRecording } from '../support/recordings.js';
import type { StoredRecording } from '../support/recordings.js';
import { DAY, LEASE, counterValue, deletionDeps } from '../support/retention.js';
import { PrivateMinio, freePort } from '../support/private-minio.js';

const NOW = Date.UTC(2026, 4, 1);
const USER = 'outage-test';
const PASSWORD = 'outage-test-password-123';

for (const dbBackend of dbBackends) {
  describe(`retention when the object store fails mid-sweep (${dbBackend.name}, private MinIO)`, function () {
    this.timeout(120_000);
    let minio: PrivateMinio;
    let tdb: TestDb;
    let store: ObjectStore;

    before(async () => {
      minio = new PrivateMinio(await freePort(), path.join(tempDir('callrec-minio-'), 'data'), {
        user: USER,
        password: PASSWORD,
      });
      await minio.start();
      const config: Extract<StoreConfig, { kind: 's3' }> = {
        kind: 's3',
        endpoint: minio.endpoint,
        bucket: 'callrec-outage',
        region: 'us-east-1',
        accessKeyId: USER,
        secretAccessKey: PASSWORD,
        forcePathStyle: true,
        versionedBucket: 'refuse',
      };
      await setupBucket(config, { retentionDays: 30 });
      store = await createObjectStore(config);
      tdb = await dbBackend.create();
    });
    after(async () => {
      await store?.close();
      await minio?.stop();
      await tdb?.dispose();
    });

    const stillThere = async (recs: StoredRecording[]) => {
      for (const rec of recs) {
        expect(await tdb.db.knex('recordings').where({ id: rec.row.id }).first(), 'row').to.not.equal(undefined);
        expect(await tdb.db.knex('deletion_log').where({ recording_id: rec.row.id }), 'entries').to.have.length(0);
      }
    };

    it('when MinIO stops right after the claim, then every deletion fails and is counted, nothing is logged, and after MinIO returns the next sweep completes', async () => {
      const recs: StoredRecording[] = [];
      for (let i = 0; i < 4; i++)
        recs.push(await createStoredRecording({ db: tdb.db, store, overrides: { expires_at: NOW - 1000 - i } }));
      const deps = deletionDeps(tdb.db, store);

      const broken = await sweepOnce(deps, {
        now: NOW,
        batchSize: 10,
        leaseMs: LEASE,
        failpoint: async (step) => {
          if (step === 'claimed') await minio.stop();
        },
      });
      expect(broken.deleted).to.have.length(0);
      expect(broken.failed.map((f) => f.id).sort()).to.deep.equal(recs.map((r) => r.row.id).sort());
      expect(new Set(broken.failed.map((f) => f.reason))).to.deep.equal(new Set(['store_unavailable']));
      expect(await counterValue(deps.metrics.sweeperFailures)).to.equal(4);
      await stillThere(recs);
      const row = await tdb.db.knex('recordings').where({ id: recs[0]!.row.id }).first();
      expect(row).to.include({ status: 'deleting', last_error: 'store_unavailable', claimed_by: null });
      expect(Number(row.delete_attempts)).to.equal(1);
      expect(Number(row.next_attempt_at)).to.be.greaterThan(NOW);

      // While it is down, a retry finds the store down again: still nothing logged.
      const retry = await sweepOnce(deps, { now: NOW + DAY, batchSize: 10, leaseMs: LEASE });
      expect(retry.failed).to.have.length(4);
      await stillThere(recs);

      // An erasure while the store is down: 503 store_unavailable, the row stays claimed for the sweeper.
      const erased = await createStoredRecording({
        db: tdb.db,
        store: await storeWhile(minio, store),
        overrides: { expires_at: NOW + 30 * DAY },
      });
      await minio.stop();
      const error = await deleteRecording({
        deps: { ...deps, config: { sweep: { leaseMs: LEASE, intervalMs: 60_000, batchSize: 10 } } },
        recordingId: erased.row.id,
        reason: 'erasure_request',
        actor: 'privacy-1',
        now: NOW + DAY,
      }).catch((e: unknown) => e);
      expect(isAppError(error) && error.code).to.equal('store_unavailable');
      await stillThere([erased]);

      await minio.start();
      const healed = await sweepOnce(deps, { now: NOW + 2 * DAY, batchSize: 10, leaseMs: LEASE });
      expect(healed.failed).to.deep.equal([]);
      expect(healed.deleted.map((d) => d.recordingId).sort()).to.deep.equal(
        [...recs, erased].map((r) => r.row.id).sort(),
      );
      for (const rec of [...recs, erased]) {
        for (const key of rec.keys) expect(await store.exists(key)).to.equal(false);
        expect(await tdb.db.knex('deletion_log').where({ recording_id: rec.row.id })).to.have.length(1);
      }
      const [erasure] = await tdb.db.knex('deletion_log').where({ recording_id: erased.row.id });
      expect(erasure).to.include({ reason: 'erasure_request', actor: 'privacy-1' });
      expect((await verifyDeletionLog(tdb.db)).ok).to.equal(true);
    });

    it('when MinIO stops after the objects were deleted but before their absence was verified, then nothing is logged until a later sweep verifies', async () => {
      const now = NOW + 10 * DAY;
      const recs: StoredRecording[] = [];
      for (let i = 0; i < 2; i++)
        recs.push(await createStoredRecording({ db: tdb.db, store, overrides: { expires_at: now - 1000 - i } }));
      const deps = deletionDeps(tdb.db, store);
      const broken = await sweepOnce(deps, {
        now,
        batchSize: 10,
        leaseMs: LEASE,
        failpoint: async (step) => {
          if (step === 'deleted') await minio.stop();
        },
      });
      expect(broken.deleted).to.have.length(0);
      expect(broken.failed).to.have.length(2);
      await stillThere(recs);
      await minio.start();
      const healed = await sweepOnce(deps, { now: now + DAY, batchSize: 10, leaseMs: LEASE });
      expect(healed.deleted.map((d) => d.recordingId).sort()).to.deep.equal(recs.map((r) => r.row.id).sort());
      expect((await verifyDeletionLog(tdb.db)).ok).to.equal(true);
    });
  });
}

/** Restarts MinIO if needed and returns the store (for writing a fixture while it is up). */
async function storeWhile(minio: PrivateMinio, store: ObjectStore): Promise<ObjectStore> {
  try {
    await store.ping();
  } catch {
    await minio.start();
  }
  return store;
}
