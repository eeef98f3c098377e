import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { createManualClock } from '../../src/clock.js';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { DbBackend, StoreBackend, TestDb, TestStore } from '../support/backends.js';
import { startTestApp, testConfig } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { createStoredRecording } from '../support/recordings.js';
import { audioFixtureBytes } from '../support/fixtures.js';
import { signedUpload } from '../support/upload.js';
import { createTestUser } from '../support/users.js';
import {
  accessLogRows,
  api,
  deletionLogRows,
  download,
  listAllKeys,
  mentionsPhone,
  newPhone,
  readZip,
} from './subject-helpers.js';

const DAY_MS = 86_400_000;

const combos: Array<[DbBackend, StoreBackend]> = dbBackends.flatMap((d) =>
  storeBackends.map((s) => [d, s] as [DbBackend, StoreBackend]),
);

for (const [dbBackend, storeBackend] of combos) {
  describe(`privacy: no phone number in logs, keys or the deletion log (${dbBackend.name} + ${storeBackend.name})`, function () {
    let db: TestDb;
    let store: TestStore;
    let app: TestApp;

    before(async () => {
      db = await dbBackend.create();
      store = await storeBackend.create();
      // trace: every log line the code can write is captured
      app = await startTestApp({
        db: db.db,
        store: store.store,
        config: testConfig({ CALLREC_LOG_LEVEL: 'trace' }),
        clock: createManualClock(Date.now()),
      });
    });
    after(async () => {
      await app.close();
      await store.dispose();
      await db.dispose().catch(() => undefined);
    });

    it('when a subject is searched, exported, held, released and erased, then the number appears in no log line, object key, deletion-log or access-log row', async () => {
      const phone = newPhone();
      const { token } = await createTestUser(db.db, { role: 'privacy' });
      const now = app.deps.clock.now();
      const make = (overrides: Record<string, unknown>) =>
        createStoredRecording({ db: db.db, store: store.store, overrides: { started_at: now - DAY_MS, ...overrides } });
      const a = await make({ caller_number: phone.e164 });
      const b = await make({ callee_number: phone.e164 });
      const c = await make({ caller_number: phone.e164, callee_number: newPhone().e164 });
      // one recording through the real upload hook, the caller number sent in national form
      const uploaded = await signedUpload({
        url: app.url,
        fields: {
          callId: `call-${randomUUID()}`,
          startedAt: new Date(now - 3_600_000).toISOString(),
          direction: 'inbound',
          callerNumber: phone.national,
          calleeNumber: '+31201234567',
        },
        audio: await audioFixtureBytes('ulaw-mono'),
      });
      expect(uploaded.status, uploaded.text).to.equal(201);
      expect(uploaded.body.callerNumber).to.equal(phone.e164);
      const q = (form: string) => `phone=${encodeURIComponent(form)}`;
      const problems: string[] = [];

      for (const form of [phone.national, phone.e164, `0031${phone.digits}`]) {
        const res = await api<{ items: unknown[] }>(app.url, `/v1/subjects/recordings?${q(form)}`, { token });
        expect(res.status).to.equal(200);
        expect(res.body.items).to.have.length(4);
      }
      const zip = await download(app.url, `/v1/subjects/export?${q(phone.national)}`, token);
      expect(zip.status).to.equal(200);
      expect(readZip(zip.file).size).to.equal(2 + 4 * 2);
      const keysBefore = await listAllKeys(store.store);
      expect(keysBefore).to.have.length(4 * 2);

      expect(
        (
          await api(app.url, `/v1/recordings/${c.row.id}/hold`, {
            token,
            method: 'PUT',
            body: { reason: 'claim 2026-3' },
          })
        ).status,
      ).to.equal(200);
      expect(
        (
          await api(app.url, `/v1/recordings/${c.row.id}/hold`, {
            token,
            method: 'DELETE',
            body: { reason: 'settled' },
          })
        ).status,
      ).to.equal(200);

      // refused inputs carrying the number: neither the answer nor the logs repeat it
      for (const [method, route, body] of [
        ['GET', `/v1/subjects/recordings?${q(`${phone.national}x`)}`, undefined],
        ['GET', `/v1/subjects/export?${q(`${phone.e164}999999`)}`, undefined],
        ['PUT', `/v1/recordings/${c.row.id}/hold`, { reason: `caller ${phone.national}` }],
        ['DELETE', `/v1/recordings/${a.row.id}`, { reason: 'erasure_request', reference: `for ${phone.e164}` }],
      ] as const) {
        const res = await api(app.url, route, { token, method, body });
        expect(res.status, `${method} ${route}`).to.equal(400);
        problems.push(JSON.stringify(res.body));
      }

      const one = await api(app.url, `/v1/recordings/${a.row.id}`, {
        token,
        method: 'DELETE',
        body: { reason: 'erasure_request', reference: 'DSR-1' },
      });
      expect(one.status).to.equal(200);
      const all = await api<{ count: number }>(app.url, `/v1/subjects/recordings?${q(phone.national)}`, {
        token,
        method: 'DELETE',
        body: { reason: 'erasure_request', reference: 'DSR-1' },
      });
      expect(all.status).to.equal(200);
      expect(all.body.count).to.equal(3);

      // what was written, all of it
      const logs = app.logs;
      expect(logs.some((l) => l.includes('recording erased on request'))).to.equal(true);
      expect(logs.filter((l) => l.includes('"msg":"request"')).length).to.be.at.least(10);
      const keys = [...keysBefore, ...(await listAllKeys(store.store))];
      const deletions = await deletionLogRows(db.db);
      const access = await accessLogRows(db.db);
      expect(deletions.map((d) => d.recording_id)).to.have.members([a.row.id, b.row.id, c.row.id, uploaded.body.id]);
      expect(access.length).to.be.at.least(8);

      const leaks = [
        ...logs.filter((l) => mentionsPhone(l, phone)).map((l) => `log: ${l}`),
        ...keys.filter((k) => mentionsPhone(k, phone)).map((k) => `key: ${k}`),
        ...deletions
          .map((d) => JSON.stringify(d))
          .filter((d) => mentionsPhone(d, phone))
          .map((d) => `deletion log: ${d}`),
        ...access
          .map((r) => JSON.stringify(r))
          .filter((r) => mentionsPhone(r, phone))
          .map((r) => `access log: ${r}`),
        ...problems.filter((p) => mentionsPhone(p, phone)).map((p) => `problem: ${p}`),
      ];
      expect(leaks).to.deep.equal([]);
    });
  });
}
