/**
 * An action done under a privacy request and its timeline event commit together (issue #17,
 * known fault): when the timeline write fails (as a crash between the two would leave it), the
 * action is not done either: no hold, no correction, no restriction, no search entry in the
 * access log, no erasure logged. SQLite + fs and PostgreSQL + MinIO; the fault is injected on
 * the INSERT into privacy_request_events.
 */
import { expect } from 'chai';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { DbBackend, StoreBackend, TestDb, TestStore } from '../support/backends.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { failQueries } from '../support/db-faults.js';
import { createStoredPrivacyRequest } from '../support/privacy-requests.js';
import { createStoredRecording } from '../support/recordings.js';
import { createTestUser } from '../support/users.js';
import { accessLogRows, api, deletionLogRows, newPhone } from './subject-helpers.js';

const isTimelineWrite = (sql: string) => /^\s*insert\s+into\s+["`]?privacy_request_events["`]?/i.test(sql);

const combos: Array<[DbBackend, StoreBackend]> = [
  [dbBackends.find((b) => b.name === 'sqlite')!, storeBackends.find((b) => b.name === 'fs')!],
  [dbBackends.find((b) => b.name === 'postgres')!, storeBackends.find((b) => b.name === 'minio')!],
];

for (const [dbBackend, storeBackend] of combos) {
  describe(`privacy timeline written with its action (${dbBackend.name} + ${storeBackend.name})`, function () {
    this.timeout(60_000);
    let db: TestDb;
    let store: TestStore;
    let app: TestApp;
    let token: string;
    let undo: (() => void) | undefined;

    before(async () => {
      db = await dbBackend.create();
      store = await storeBackend.create();
      app = await startTestApp({ db: db.db, store: store.store });
      token = (await createTestUser(db.db, { role: 'privacy' })).token;
    });
    afterEach(() => {
      undo?.();
      undo = undefined;
    });
    after(async () => {
      await app.close();
      await store.dispose();
      await db.dispose();
    });

    /** A recording of a fresh number and an open request for it; then timeline writes fail. */
    async function setUp() {
      const phone = newPhone();
      const rec = await createStoredRecording({
        db: db.db,
        store: store.store,
        overrides: { caller_number: phone.e164 },
      });
      const request = await createStoredPrivacyRequest(db.db, { numbers: [phone.e164] });
      undo = failQueries(db.db, { match: isTimelineWrite, code: 'EINJECTED' });
      return { phone, rec, request };
    }
    const accessActions = async (recordingId: string | null) =>
      (await accessLogRows(db.db)).filter((r) => r.recording_id === recordingId).map((r) => r.action);

    it('when the timeline write of a hold fails, then 5xx and the recording is not held', async () => {
      const { rec, request } = await setUp();
      const res = await api(app.url, `/v1/recordings/${rec.row.id}/hold`, {
        token,
        method: 'PUT',
        body: { reason: 'claim 9', requestId: request.id },
      });
      expect(res.status).to.be.at.least(500);
      const row = (await db.db.knex('recordings').where({ id: rec.row.id }).first()) as { legal_hold: unknown };
      expect(Boolean(row.legal_hold)).to.equal(false);
      expect(await accessActions(rec.row.id)).not.to.include('hold');
    });

    it('when the timeline write of a correction fails, then 5xx and the recording keeps its agent', async () => {
      const { rec, request } = await setUp();
      const res = await api(app.url, `/v1/recordings/${rec.row.id}`, {
        token,
        method: 'PATCH',
        body: { requestId: request.id, agentId: 'corrected-agent' },
      });
      expect(res.status).to.be.at.least(500);
      const row = (await db.db.knex('recordings').where({ id: rec.row.id }).first()) as { agent_id: string | null };
      expect(row.agent_id).to.equal(rec.row.agent_id);
      expect(await accessActions(rec.row.id)).not.to.include('correct');
    });

    it('when the timeline write of a restriction fails, then 5xx and the number is not restricted', async () => {
      const { phone, request } = await setUp();
      const res = await api(app.url, '/v1/subjects/restriction', {
        token,
        method: 'PUT',
        body: { phone: phone.e164, requestId: request.id, mode: 'restrict' },
      });
      expect(res.status).to.be.at.least(500);
      expect(await db.db.knex('subject_restrictions').where({ number: phone.e164 }).first()).to.equal(undefined);
    });

    it('when the timeline write of a search fails, then 5xx and no search entry is in the access log', async () => {
      const { phone, request } = await setUp();
      const before = (await accessActions(null)).length;
      const res = await api(
        app.url,
        `/v1/subjects/recordings?phone=${encodeURIComponent(phone.e164)}&requestId=${request.id}`,
        { token },
      );
      expect(res.status).to.be.at.least(500);
      expect((await accessActions(null)).length).to.equal(before);
    });

    it('when the timeline write of an erasure fails, then 5xx and no deletion-log entry or erase entry is written', async () => {
      const { rec, request } = await setUp();
      const res = await api(app.url, `/v1/recordings/${rec.row.id}`, {
        token,
        method: 'DELETE',
        body: { reason: 'erasure_request', reference: request.reference, requestId: request.id },
      });
      expect(res.status).to.be.at.least(500);
      expect((await deletionLogRows(db.db)).map((r) => r.recording_id)).not.to.include(rec.row.id);
      expect(await accessActions(rec.row.id)).not.to.include('erase');
    });
  });
}
