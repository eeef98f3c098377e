/**
 * Crypto-shredding on every deletion path, on every database × store: the data key goes in the
 * transaction that appends the deletion-log entry, the entry records it inside its hash, and a
 * copy of the objects taken before (a backup, a replica) cannot be decrypted afterwards.
 */
import { buffer } from 'node:stream/consumers';
import { expect } from 'chai';
import { hashEntry, rowToEntry } from '../../src/audit/deletion-log.js';
import { verifyDeletionLog } from '../../src/audit/verify.js';
import { readLogPage } from '../../src/db/deletion-log.js';
import { readRecordingKey } from '../../src/db/recording-keys.js';
import type { KeyWrapper } from '../../src/keys/keyring.js';
import { deleteRecording } from '../../src/retention/delete-recording.js';
import { sweepOnce } from '../../src/retention/sweep.js';
import { verifyModeFor } from '../../src/retention/delete-core.js';
import type { DeletionDeps } from '../../src/retention/delete-core.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { encryptedRecordingStore, testKeyring } from '../support/encryption.js';
import { createStoredRecording } from '../support/recordings.js';
import { DAY, LEASE, appendEntries, deletionDeps, logRows, rowExists } from '../support/retention.js';
import { rejection } from '../support/rejection.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

for (const dbBackend of dbBackends) {
  for (const storeBackend of storeBackends) {
    describe(`crypto-shredding (${dbBackend.name}, encrypted ${storeBackend.name})`, function () {
      let tdb: TestDb;
      let tstore: TestStore;
      let keyring: KeyWrapper;
      let store: ObjectStore;
      let deps: DeletionDeps & { logs: string[] };

      before(async () => {
        tdb = await dbBackend.create();
        tstore = await storeBackend.create();
        keyring = testKeyring();
        store = encryptedRecordingStore({ db: tdb.db, store: tstore.store, wrapper: keyring });
        deps = deletionDeps(tdb.db, store);
      });
      after(async () => {
        await tstore?.dispose();
        await tdb?.dispose();
      });

      const sweep = (now: number) =>
        sweepOnce(deps, { now, batchSize: 50, leaseMs: LEASE, verify: verifyModeFor(store) });
      const copyAside = async (keys: string[]) =>
        Promise.all(keys.map(async (key) => ({ key, bytes: await buffer((await tstore.store.get(key)).body) })));

      it('when the sweeper deletes an encrypted recording, then its key goes with the row, the entry records keyShredded and the KEK id, and a copy of its objects taken before cannot be decrypted', async () => {
        const rec = await createStoredRecording({
          db: tdb.db,
          store,
          overrides: { started_at: T0 - 30 * DAY, expires_at: T0 },
        });
        const key = await readRecordingKey(tdb.db.knex, rec.row.id);
        expect(key?.kek_id).to.equal(keyring.currentKekId);
        const backup = await copyAside(rec.keys);

        const due = await sweep(T0);
        expect(due.deleted.map((d) => d.recordingId)).to.include(rec.row.id);
        expect(await rowExists(tdb.db, rec.row.id)).to.equal(false);
        expect(await readRecordingKey(tdb.db.knex, rec.row.id)).to.equal(undefined);
        const [row] = await logRows(tdb.db, rec.row.id);
        expect(row).to.include({ kek_id: keyring.currentKekId });
        expect(Boolean(row!.key_shredded)).to.equal(true);
        const entry = rowToEntry((await readLogPage(tdb.db.knex, Number(row!.seq) - 1, 1))[0]!);
        expect(entry).to.include({ keyShredded: true, kekId: keyring.currentKekId });
        expect(hashEntry(entry), 'the shredding is inside the hashed entry').to.equal(entry.hash);
        expect((await verifyDeletionLog(tdb.db)).ok).to.equal(true);

        // The backup put back: nothing the product has decrypts it, and the error says why.
        for (const { key: objectKey, bytes } of backup) {
          expect(bytes.includes(rec.playbackBody) || bytes.includes(rec.originalBody)).to.equal(false);
          await tstore.store.put(objectKey, bytes, { contentType: 'application/octet-stream', tags: {} });
          const error = await rejection(store.get(objectKey));
          expect(error).to.have.property('name', 'DataKeyMissingError');
          expect(error.message).to.match(/shredded/);
        }
        await tstore.store.deleteMany(rec.keys);
      });

      it('when an erasure deletes an encrypted recording, then the returned entry records the shredded key', async () => {
        const rec = await createStoredRecording({ db: tdb.db, store, overrides: { expires_at: T0 + 40 * DAY } });
        const entry = await deleteRecording({
          deps: { ...deps, config: { sweep: { leaseMs: LEASE, intervalMs: 60_000, batchSize: 10 } } },
          recordingId: rec.row.id,
          reason: 'erasure_request',
          actor: 'privacy-officer',
          reference: 'DSR-2026-014',
          now: T0 + 7 * DAY,
        });
        expect(entry).to.include({
          recordingId: rec.row.id,
          reason: 'erasure_request',
          keyShredded: true,
          kekId: keyring.currentKekId,
        });
        expect(await readRecordingKey(tdb.db.knex, rec.row.id)).to.equal(undefined);
        expect((await verifyDeletionLog(tdb.db)).ok).to.equal(true);
      });

      it('when the deletion transaction fails before its commit, then the recording keeps its row and its key (never one without the other)', async () => {
        const rec = await createStoredRecording({ db: tdb.db, store, overrides: { expires_at: T0 + 40 * DAY } });
        const error = await rejection(
          deleteRecording({
            deps: { ...deps, config: { sweep: { leaseMs: LEASE, intervalMs: 60_000, batchSize: 10 } } },
            recordingId: rec.row.id,
            reason: 'erasure_request',
            actor: 'privacy-officer',
            now: T0 + 7 * DAY,
            failpoint: (step) => {
              if (step === 'beforeCommit') throw new Error('injected failure before commit');
            },
          }),
        );
        expect(error).to.be.instanceOf(Error);
        expect(await rowExists(tdb.db, rec.row.id)).to.equal(true);
        expect(await readRecordingKey(tdb.db.knex, rec.row.id)).to.not.equal(undefined);
        expect(await logRows(tdb.db, rec.row.id)).to.have.length(0);
      });

      it('when entries without shredding (older ones, plaintext recordings) precede shredded ones, then the whole chain verifies and the old entries carry no shredding members', async () => {
        await appendEntries(tdb.db, 2);
        await appendEntries(tdb.db, 2, { shreddedKey: { kekId: 'k20260101-00000000' } });
        const rows = await readLogPage(tdb.db.knex, 0, 1000);
        const plain = rows.filter((r) => r.key_shredded === null || r.key_shredded === undefined);
        expect(plain.length).to.be.greaterThan(0);
        for (const r of plain) expect(rowToEntry(r)).to.not.have.property('keyShredded');
        for (const r of rows) expect(hashEntry(rowToEntry(r)), `seq ${r.seq}`).to.equal(r.hash);
        expect((await verifyDeletionLog(tdb.db)).ok).to.equal(true);
      });
    });
  }
}
