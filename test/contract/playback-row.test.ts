/**
 * The audio route's row lookup (`findPlaybackRowById`, a plain knex query) returns
 * what the general lookup returns, with the restriction `isRecordingRestricted` answers,
 * sees only committed state, and leaves no read transaction open behind it (another
 * process's commit is seen at once).
 */
import { expect } from 'chai';
import { findPlaybackRowById, findRecordingById, PLAYBACK_COLUMNS } from '../../src/db/recordings.js';
import { isRecordingRestricted } from '../../src/db/privacy-requests.js';
import { createDb } from '../../src/db/db.js';
import type { Db } from '../../src/db/db.js';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { createStoredRecording } from '../support/recordings.js';

const fsStore = storeBackends.find((b) => b.name === 'fs')!;
const findPlaybackRow = (db: Db, id: string) => findPlaybackRowById(db.knex, id);

for (const backend of dbBackends) {
  describe(`playback row lookup (${backend.name})`, function () {
    let testDb: TestDb;
    let testStore: TestStore;
    beforeEach(async () => {
      testDb = await backend.create();
      testStore = await fsStore.create();
    });
    afterEach(async () => {
      await testStore?.dispose();
      await testDb?.dispose();
    });

    it("when the recording exists, then its playback columns equal the full row's; when it does not, then undefined", async () => {
      const held = await createStoredRecording({
        db: testDb.db,
        store: testStore.store,
        overrides: { legal_hold: true, hold_reason: 'case', hold_by: 'p', hold_at: 1, queue: 'sales' },
      });
      const plain = await createStoredRecording({ db: testDb.db, store: testStore.store, overrides: { queue: null } });
      for (const rec of [held, plain]) {
        const full = (await findRecordingById(testDb.db.knex, rec.row.id))!;
        const expected = { ...Object.fromEntries(PLAYBACK_COLUMNS.map((c) => [c, full[c]])), restricted: false };
        expect(await findPlaybackRow(testDb.db, rec.row.id)).to.deep.equal(expected);
      }
      expect(await findPlaybackRow(testDb.db, '01JAAAAAAAAAAAAAAAAAAAAAAA')).to.equal(undefined);
    });

    it('when the caller or the callee number is restricted, then the lookup says restricted as the restriction query does', async () => {
      const restrict = (number: string) =>
        testDb.db.knex('subject_restrictions').insert({ number, mode: 'restrict', created_at: 1, created_by: 'p' });
      const byCaller = await createStoredRecording({
        db: testDb.db,
        store: testStore.store,
        overrides: { caller_number: '+31201111111', callee_number: '+31202222222' },
      });
      const byCallee = await createStoredRecording({
        db: testDb.db,
        store: testStore.store,
        overrides: { caller_number: '+31203333333', callee_number: '+31204444444' },
      });
      const noNumbers = await createStoredRecording({
        db: testDb.db,
        store: testStore.store,
        overrides: { caller_number: null, callee_number: null },
      });
      await restrict('+31201111111');
      await restrict('+31204444444');
      for (const [rec, restricted] of [
        [byCaller, true],
        [byCallee, true],
        [noNumbers, false],
      ] as const) {
        expect((await findPlaybackRow(testDb.db, rec.row.id))!.restricted, rec.row.id).to.equal(restricted);
        expect(await isRecordingRestricted(testDb.db.knex, rec.row.id)).to.equal(restricted);
      }
    });

    it('when a transaction changes the row, then the lookup sees the committed state only', async () => {
      const rec = await createStoredRecording({ db: testDb.db, store: testStore.store });
      let inside: Promise<unknown> | undefined;
      await testDb.db.knex.transaction(async (trx) => {
        await trx('recordings').where({ id: rec.row.id }).update({ status: 'deleting' });
        inside = findPlaybackRow(testDb.db, rec.row.id);
        // SQLite (one connection): the lookup waits for the commit; PostgreSQL (another connection):
        // it answers before the commit, from the old state.
        if (testDb.db.client === 'pg') await inside;
      });
      const seen = (await inside) as { status: string };
      expect(seen.status).to.equal(testDb.db.client === 'sqlite' ? 'deleting' : 'stored');
      expect(((await findPlaybackRow(testDb.db, rec.row.id)) as { status: string }).status).to.equal('deleting');
    });

    it('when another process commits after a lookup, then this process sees the commit, can still write, and its log can be checkpointed', async () => {
      const rec = await createStoredRecording({
        db: testDb.db,
        store: testStore.store,
        overrides: { agent_id: 'before' },
      });
      expect(await findPlaybackRow(testDb.db, rec.row.id)).to.not.equal(undefined);
      // Another process on the same database (the CLI, a second instance).
      const other = createDb(testDb.config);
      try {
        await other.knex('recordings').where({ id: rec.row.id }).update({ agent_id: 'changed-elsewhere' });
      } finally {
        await other.close();
      }
      expect((await findRecordingById(testDb.db.knex, rec.row.id))!.agent_id, 'a stale snapshot').to.equal(
        'changed-elsewhere',
      );
      await testDb.db.knex('recordings').where({ id: rec.row.id }).update({ queue: 'written-after' });
      expect((await findRecordingById(testDb.db.knex, rec.row.id))!.queue).to.equal('written-after');
      if (testDb.db.client === 'sqlite') {
        const [checkpoint] = (await testDb.db.knex.raw('PRAGMA wal_checkpoint(TRUNCATE)')) as Array<{ busy: number }>;
        expect(checkpoint!.busy, 'the WAL could be reset').to.equal(0);
      }
    });
  });
}
