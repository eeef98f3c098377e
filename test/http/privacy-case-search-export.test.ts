/**
 * Two known faults of the privacy tools (issue #17), on SQLite + fs and PostgreSQL + MinIO:
 * - a search of recordings by case reference (`GET /v1/recordings?caseReference=`) finds a
 *   subject's calls and is written to the access log as a subject search is (`search`, the hit
 *   count, never the reference);
 * - the subject export's manifest carries the call metadata stored since the pipeline issue
 *   (number kinds, agent channel, call group, case reference, end) and the corrections made.
 */
import { expect } from 'chai';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { DbBackend, StoreBackend, TestDb, TestStore } from '../support/backends.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { createStoredPrivacyRequest } from '../support/privacy-requests.js';
import { createStoredRecording } from '../support/recordings.js';
import { createTestUser } from '../support/users.js';
import { accessLogRows, api, download, newPhone, readZip } from './subject-helpers.js';

const combos: Array<[DbBackend, StoreBackend]> = [
  [dbBackends.find((b) => b.name === 'sqlite')!, storeBackends.find((b) => b.name === 'fs')!],
  [dbBackends.find((b) => b.name === 'postgres')!, storeBackends.find((b) => b.name === 'minio')!],
];

for (const [dbBackend, storeBackend] of combos) {
  describe(`case-reference search and export metadata (${dbBackend.name} + ${storeBackend.name})`, function () {
    this.timeout(60_000);
    let db: TestDb;
    let store: TestStore;
    let app: TestApp;
    let privacy: { token: string; username: string };

    before(async () => {
      db = await dbBackend.create();
      store = await storeBackend.create();
      app = await startTestApp({ db: db.db, store: store.store });
      const u = await createTestUser(db.db, { role: 'privacy' });
      privacy = { token: u.token, username: u.user.username };
    });
    after(async () => {
      await app.close();
      await store.dispose();
      await db.dispose();
    });

    it('when a privacy officer lists recordings by case reference, then one search entry with the hit count and without the reference is in the access log', async () => {
      const reference = `DOS-${Date.now()}`;
      await createStoredRecording({ db: db.db, store: store.store, overrides: { case_reference: reference } });
      await createStoredRecording({ db: db.db, store: store.store, overrides: { case_reference: reference } });
      const before = (await accessLogRows(db.db)).length;

      const res = await api<{ items: unknown[] }>(
        app.url,
        `/v1/recordings?caseReference=${encodeURIComponent(reference)}`,
        { token: privacy.token },
      );

      expect(res.status).to.equal(200);
      expect(res.body.items).to.have.length(2);
      const added = (await accessLogRows(db.db)).slice(before);
      expect(added.map((r) => ({ action: r.action, recordingId: r.recording_id, user: r.username }))).to.deep.equal([
        { action: 'search', recordingId: null, user: privacy.username },
      ]);
      expect(added[0]!.detail).to.equal('by=caseReference count=2');
      expect(JSON.stringify(added)).not.to.include(reference);
    });

    it('when a subject is exported, then the manifest carries number kinds, agent channel, call group, case reference, end and the corrections', async () => {
      const phone = newPhone();
      const startedAt = Date.now() - 3_600_000;
      const rec = await createStoredRecording({
        db: db.db,
        store: store.store,
        overrides: {
          caller_number: phone.e164,
          caller_number_kind: 'e164',
          callee_number: null,
          callee_number_kind: 'internal',
          agent_channel: 'right',
          original_channels: 2,
          call_group_id: 'linked-42',
          case_reference: 'DOS-99',
          started_at: startedAt,
          ended_at: startedAt + 95_000,
        },
      });
      const request = await createStoredPrivacyRequest(db.db, {
        numbers: [phone.e164],
        overrides: { kind: 'correction' },
      });
      const corrected = await api(app.url, `/v1/recordings/${rec.row.id}`, {
        token: privacy.token,
        method: 'PATCH',
        body: { requestId: request.id, agentId: 'agent-corrected', queue: 'billing-corrected' },
      });
      expect(corrected.status).to.equal(200);

      const res = await download(app.url, `/v1/subjects/export?phone=${encodeURIComponent(phone.e164)}`, privacy.token);
      expect(res.status).to.equal(200);
      const manifest = JSON.parse(readZip(res.file).get('manifest.json')!.toString('utf8')) as {
        recordings: Array<Record<string, unknown>>;
      };
      const entry = manifest.recordings.find((r) => r.id === rec.row.id)!;
      expect(entry).to.deep.include({
        callerNumber: phone.e164,
        callerNumberKind: 'e164',
        calleeNumber: null,
        calleeNumberKind: 'internal',
        agentChannel: 'right',
        callGroupId: 'linked-42',
        caseReference: 'DOS-99',
        endedAt: new Date(startedAt + 95_000).toISOString(),
        agentId: 'agent-corrected',
      });
      const corrections = entry.corrections as Array<{ by: string; fields: string[]; at: string }>;
      expect(corrections).to.have.length(1);
      expect(corrections[0]!.by).to.equal(privacy.username);
      expect(corrections[0]!.fields).to.have.members(['agentId', 'queue']);
      expect(JSON.stringify(corrections)).not.to.include('corrected');
    });
  });
}
