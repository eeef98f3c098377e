/**
 * The retention sweeper and the shared deletion path, on every database × store.
 */
import { expect } from 'chai';
import { ulid } from 'ulid';
import { verifyDeletionLog } from '../../src/audit/verify.js';
import { isAppError } from '../../src/errors.js';
import { deleteRecording } from '../../src/retention/delete-recording.js';
import { sweepAll, sweepOnce } from '../../src/retention/sweep.js';
import { verifyModeFor } from '../../src/retention/delete-core.js';
import type { DeletionDeps, VerifyMode } from '../../src/retention/delete-core.js';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { createStoredRecording } from '../support/recordings.js';
import { Readable } from 'node:stream';
import { DAY, LEASE, counterValue, deletionDeps, logRows, rowExists } from '../support/retention.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

for (const dbBackend of dbBackends) {
  for (const storeBackend of storeBackends) {
    describe(`retention sweeper (${dbBackend.name}, ${storeBackend.name})`, function () {
      let tdb: TestDb;
      let tstore: TestStore;
      let deps: DeletionDeps & { logs: string[] };

      before(async () => {
        tdb = await dbBackend.create();
        tstore = await storeBackend.create();
        deps = deletionDeps(tdb.db, tstore.store);
      });
      after(async () => {
        await tstore?.dispose();
        await tdb?.dispose();
      });

      const sweep = (now: number, extra: { dryRun?: boolean; batchSize?: number } = {}) =>
        sweepOnce(deps, {
          now,
          batchSize: extra.batchSize ?? 50,
          leaseMs: LEASE,
          dryRun: extra.dryRun,
          verify: verifyModeFor(tstore.store),
        });

      const anyKeyExists = async (keys: string[]) =>
        (await Promise.all(keys.map((k) => tstore.store.exists(k)))).some(Boolean);

      it('when a sweep runs one second before the deadline, then the recording stays; when one runs at the deadline, then it is deleted and logged once', async () => {
        const startedAt = T0 - 30 * DAY;
        const rec = await createStoredRecording({
          db: tdb.db,
          store: tstore.store,
          overrides: { started_at: startedAt, expires_at: T0 },
        });

        const early = await sweep(T0 - 1000);
        expect(early.deleted.map((d) => d.recordingId)).to.not.include(rec.row.id);
        expect(await rowExists(tdb.db, rec.row.id)).to.equal(true);
        expect(await anyKeyExists(rec.keys)).to.equal(true);

        const due = await sweep(T0);
        expect(due.deleted.map((d) => d.recordingId)).to.include(rec.row.id);
        expect(await rowExists(tdb.db, rec.row.id)).to.equal(false);
        expect(await anyKeyExists(rec.keys)).to.equal(false);
        const entries = await logRows(tdb.db, rec.row.id);
        expect(entries).to.have.length(1);
        expect(entries[0]).to.include({
          reason: 'retention_expired',
          actor: 'sweeper',
          source: rec.row.source,
          call_id: rec.row.call_id,
        });
        expect(Number(entries[0]!.deleted_at)).to.equal(T0);
        expect(JSON.parse(entries[0]!.objects as string)).to.deep.equal([
          { key: rec.row.original_key, sha256: rec.row.original_sha256, sizeBytes: rec.row.original_size },
          { key: rec.row.playback_key, sha256: rec.row.playback_sha256, sizeBytes: rec.row.playback_size },
        ]);
        expect(JSON.stringify(entries[0]))
          .to.not.include(rec.row.caller_number!)
          .and.not.include(rec.row.callee_number!);

        const again = await sweep(T0 + 1000);
        expect(again.deleted.map((d) => d.recordingId)).to.not.include(rec.row.id);
        expect(await logRows(tdb.db, rec.row.id)).to.have.length(1);
        expect((await verifyDeletionLog(tdb.db)).ok).to.equal(true);
      });

      it('when a due recording is on legal hold, then the sweep skips it; when the hold is released, then the next sweep deletes it', async () => {
        const rec = await createStoredRecording({
          db: tdb.db,
          store: tstore.store,
          overrides: {
            expires_at: T0 + DAY,
            legal_hold: true,
            hold_reason: 'court case',
            hold_by: 'privacy-1',
            hold_at: T0,
          },
        });
        const held = await sweep(T0 + 2 * DAY);
        expect(held.held).to.be.greaterThan(0);
        expect(held.deleted.map((d) => d.recordingId)).to.not.include(rec.row.id);
        expect(await rowExists(tdb.db, rec.row.id)).to.equal(true);
        expect(await anyKeyExists(rec.keys)).to.equal(true);

        await tdb.db
          .knex('recordings')
          .where({ id: rec.row.id })
          .update({ legal_hold: false, hold_reason: null, hold_by: null, hold_at: null });
        const released = await sweep(T0 + 2 * DAY + 1000);
        expect(released.deleted.map((d) => d.recordingId)).to.include(rec.row.id);
        expect(await rowExists(tdb.db, rec.row.id)).to.equal(false);
        expect(await logRows(tdb.db, rec.row.id)).to.have.length(1);
      });

      it('when a sweep is a dry run, then it lists the due recordings and changes nothing', async () => {
        const rec = await createStoredRecording({
          db: tdb.db,
          store: tstore.store,
          overrides: { expires_at: T0 + 3 * DAY },
        });
        const dry = await sweep(T0 + 3 * DAY, { dryRun: true });
        expect(dry.wouldDelete).to.include(rec.row.id);
        expect(dry.deleted).to.have.length(0);
        const row = await tdb.db.knex('recordings').where({ id: rec.row.id }).first();
        expect(row.status).to.equal('stored');
        expect(await anyKeyExists(rec.keys)).to.equal(true);
        await sweep(T0 + 3 * DAY);
      });

      it('when the backlog exceeds the batch size, then sweepAll keeps going until every due recording is deleted', async () => {
        const recs = [];
        for (let i = 0; i < 7; i++)
          recs.push(
            await createStoredRecording({ db: tdb.db, store: tstore.store, overrides: { expires_at: T0 + 4 * DAY } }),
          );
        const passes: number[] = [];
        const summary = await sweepAll(deps, {
          now: T0 + 4 * DAY,
          batchSize: 3,
          leaseMs: LEASE,
          onPass: (p) => passes.push(p.deleted.length),
        });
        expect(summary.deleted).to.be.at.least(7);
        expect(passes.length).to.be.at.least(3);
        for (const r of recs) expect(await rowExists(tdb.db, r.row.id)).to.equal(false);
      });

      it('when the objects of a due recording are already gone, then it is still deleted and logged once', async () => {
        const rec = await createStoredRecording({
          db: tdb.db,
          store: tstore.store,
          overrides: { expires_at: T0 + 5 * DAY, writeObjects: false },
        });
        const result = await sweep(T0 + 5 * DAY);
        expect(result.deleted.map((d) => d.recordingId)).to.include(rec.row.id);
        expect(await logRows(tdb.db, rec.row.id)).to.have.length(1);
      });

      it('when a sweeper died holding a claim, then the claim is taken over only after its lease expired', async () => {
        const now = T0 + 6 * DAY;
        const rec = await createStoredRecording({
          db: tdb.db,
          store: tstore.store,
          overrides: {
            expires_at: now - DAY,
            status: 'deleting',
            claimed_by: 'sweeper:dead:1:abc',
            claim_expires_at: now + 1000,
            delete_attempts: 1,
          },
        });
        // This one died after deleting the objects: nothing left to delete.
        const emptied = await createStoredRecording({
          db: tdb.db,
          store: tstore.store,
          overrides: {
            expires_at: now - DAY,
            status: 'deleting',
            claimed_by: 'sweeper:dead:1:abc',
            claim_expires_at: now + 1000,
            delete_attempts: 1,
            writeObjects: false,
          },
        });
        const during = await sweep(now);
        expect(during.deleted.map((d) => d.recordingId)).to.not.include(rec.row.id);
        expect(await rowExists(tdb.db, rec.row.id)).to.equal(true);
        const after = await sweep(now + 1001);
        expect(after.deleted.map((d) => d.recordingId)).to.include.members([rec.row.id, emptied.row.id]);
        expect(after.resumed).to.include.members([rec.row.id, emptied.row.id]);
        expect(after.alreadyAbsent).to.deep.equal([emptied.row.id]);
        expect(await logRows(tdb.db, rec.row.id)).to.have.length(1);
        expect(await logRows(tdb.db, emptied.row.id)).to.have.length(1);
      });

      for (const verify of ['exists', 'list'] as VerifyMode[]) {
        it(`when an object is still there after the delete (verification by ${verify}), then nothing is logged and the deletion is retried`, async () => {
          const now = T0 + 9 * DAY;
          const rec = await createStoredRecording({
            db: tdb.db,
            store: tstore.store,
            overrides: { expires_at: now - 1 },
          });
          const result = await sweepOnce(deps, {
            now,
            batchSize: 50,
            leaseMs: LEASE,
            verify,
            failpoint: async (step) => {
              // Someone writes the object again between the delete and the check.
              if (step === 'deleted')
                await tstore.store.put(rec.row.original_key, Readable.from([rec.originalBody]), {
                  contentType: 'audio/wav',
                  tags: {},
                });
            },
          });
          expect(result.failed).to.deep.equal([{ id: rec.row.id, reason: 'still_present' }]);
          expect(await logRows(tdb.db, rec.row.id)).to.have.length(0);
          expect(await rowExists(tdb.db, rec.row.id)).to.equal(true);
          const retried = await sweepOnce(deps, { now: now + DAY, batchSize: 50, leaseMs: LEASE, verify });
          expect(retried.deleted.map((d) => d.recordingId)).to.include(rec.row.id);
          expect(await anyKeyExists(rec.keys)).to.equal(false);
          expect(await logRows(tdb.db, rec.row.id)).to.have.length(1);
        });
      }

      it('when an erasure is requested, then the recording, its notes and objects are gone and one erasure entry names actor and reference', async () => {
        const rec = await createStoredRecording({
          db: tdb.db,
          store: tstore.store,
          overrides: { expires_at: T0 + 40 * DAY },
        });
        await tdb.db.knex('notes').insert({
          id: ulid(),
          recording_id: rec.row.id,
          author: 'trainer-1',
          offset_ms: 100,
          text: 'good greeting',
          created_at: T0,
        });
        const entry = await deleteRecording({
          deps: { ...deps, config: { sweep: { leaseMs: LEASE, intervalMs: 60_000, batchSize: 10 } } },
          recordingId: rec.row.id,
          reason: 'erasure_request',
          actor: 'privacy-officer',
          reference: 'DSR-2026-001',
          now: T0 + 7 * DAY,
        });
        expect(entry).to.include({
          recordingId: rec.row.id,
          reason: 'erasure_request',
          actor: 'privacy-officer',
          reference: 'DSR-2026-001',
          verified: true,
        });
        expect(await rowExists(tdb.db, rec.row.id)).to.equal(false);
        expect(await tdb.db.knex('notes').where({ recording_id: rec.row.id })).to.have.length(0);
        expect(await anyKeyExists(rec.keys)).to.equal(false);
        expect((await verifyDeletionLog(tdb.db)).ok).to.equal(true);

        const second = await deleteRecording({
          deps: { ...deps, config: { sweep: { leaseMs: LEASE, intervalMs: 60_000, batchSize: 10 } } },
          recordingId: rec.row.id,
          reason: 'erasure_request',
          actor: 'privacy-officer',
          now: T0 + 7 * DAY,
        }).catch((e: unknown) => e);
        expect(isAppError(second) && second.code).to.equal('not_found');
        expect(await logRows(tdb.db, rec.row.id)).to.have.length(1);
      });

      it('when an erasure targets a recording on legal hold, then it is refused and nothing is deleted', async () => {
        const rec = await createStoredRecording({
          db: tdb.db,
          store: tstore.store,
          overrides: { expires_at: T0 + 40 * DAY, legal_hold: true },
        });
        const failuresBefore = await counterValue(deps.metrics.sweeperFailures);
        const error = await deleteRecording({
          deps: { ...deps, config: { sweep: { leaseMs: LEASE, intervalMs: 60_000, batchSize: 10 } } },
          recordingId: rec.row.id,
          reason: 'erasure_request',
          actor: 'privacy-officer',
          now: T0 + 8 * DAY,
        }).catch((e: unknown) => e);
        expect(isAppError(error) && error.code).to.equal('legal_hold');
        expect(await rowExists(tdb.db, rec.row.id)).to.equal(true);
        expect(await anyKeyExists(rec.keys)).to.equal(true);
        expect(await logRows(tdb.db, rec.row.id)).to.have.length(0);
        expect(await counterValue(deps.metrics.sweeperFailures)).to.equal(failuresBefore);
      });
    });
  }
}
