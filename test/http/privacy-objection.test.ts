/**
 * Objection at ingest (issue #17, item 5), end to end over HTTP on SQLite + fs and PostgreSQL +
 * MinIO: an officer places an objection that says "do not keep" under a request; an upload from
 * or to that number is then answered 200 `kept: false`, nothing of it is stored (no row, no
 * object, no temp file), and one deletion-log entry of reason `objection` (actor `ingest`, the
 * request's reference, no objects) records it; a retry is answered the same without a second
 * entry. A plain objection keeps new recordings, restricted; lifting the objection keeps the next one.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { verifyDeletionLog } from '../../src/audit/verify.js';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { startTestApp, testConfig } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import type { Config } from '../../src/config.js';
import { audioFixtureBytes } from '../support/fixtures.js';
import { createStoredPrivacyRequest } from '../support/privacy-requests.js';
import { signedUpload, TEST_SOURCE } from '../support/upload.js';
import { createTestUser } from '../support/users.js';
import { api, deletionLogRows, listAllKeys, mentionsPhone, newPhone } from './subject-helpers.js';
import type { TestPhone } from './subject-helpers.js';

const COMBOS = [
  { db: dbBackends.find((b) => b.name === 'sqlite')!, store: storeBackends.find((b) => b.name === 'fs')! },
  { db: dbBackends.find((b) => b.name === 'postgres')!, store: storeBackends.find((b) => b.name === 'minio')! },
];

let seq = 0;

for (const combo of COMBOS) {
  describe(`objection at ingest (${combo.db.name} × ${combo.store.name})`, function () {
    this.timeout(60_000);
    let tdb: TestDb;
    let tstore: TestStore;
    let config: Config;
    let app: TestApp;
    let privacy: string;
    let trainer: string;

    before(async () => {
      tdb = await combo.db.create();
      tstore = await combo.store.create();
      config = testConfig();
      app = await startTestApp({ db: tdb.db, store: tstore.store, config });
      privacy = (await createTestUser(tdb.db, { role: 'privacy' })).token;
      trainer = (await createTestUser(tdb.db, { role: 'trainer' })).token;
    });
    after(async () => {
      await app?.close();
      await tstore?.dispose();
      await tdb?.dispose();
      fs.rmSync(config.dataDir, { recursive: true, force: true });
    });

    const upload = async (fields: Record<string, string | undefined>) =>
      signedUpload({
        url: app.url,
        fields: {
          callId: `objection-${Date.now()}-${++seq}`,
          startedAt: new Date(Date.now() - 60_000).toISOString(),
          ...fields,
        },
        audio: await audioFixtureBytes('ulaw-mono'),
      });
    const object = async (phone: TestPhone, body: Record<string, unknown>) => {
      const request = await createStoredPrivacyRequest(tdb.db, {
        numbers: [phone.e164],
        overrides: { kind: 'objection' },
      });
      const res = await api<{ doNotKeep: boolean; mode: string; code?: string }>(app.url, '/v1/subjects/restriction', {
        token: privacy,
        method: 'PUT',
        body: { phone: phone.e164, requestId: request.id, ...body },
      });
      return { request, res };
    };
    const tempFiles = () => {
      const dir = path.join(config.dataDir, 'tmp');
      return fs.existsSync(dir)
        ? fs.readdirSync(dir, { recursive: true }).filter((f) => String(f).includes('ingest'))
        : [];
    };

    it('when the caller objected with "do not keep", then the upload is answered 200 kept:false, nothing is stored and one objection entry is logged', async () => {
      const phone = newPhone();
      const { request, res } = await object(phone, { mode: 'object', doNotKeep: true });
      expect(res.status).to.equal(200);
      expect(res.body).to.include({ mode: 'object', doNotKeep: true });
      const keysBefore = await listAllKeys(tstore.store);
      const logBefore = (await deletionLogRows(tdb.db)).length;

      const callId = `objection-kept-not-${++seq}`;
      const answer = await upload({ callId, callerNumber: phone.national });

      expect(answer.status).to.equal(200);
      expect(answer.body).to.include({ kept: false, reason: 'objection' });
      expect(await tdb.db.knex('recordings').where({ call_id: callId }).first()).to.equal(undefined);
      const inflight = (await tdb.db.knex('ingest_inflight').count({ n: '*' }).first()) as { n: number | string };
      expect(Number(inflight.n)).to.equal(0);
      expect(await listAllKeys(tstore.store)).to.deep.equal(keysBefore);
      expect(tempFiles()).to.deep.equal([]);
      const log = await deletionLogRows(tdb.db);
      expect(log.length).to.equal(logBefore + 1);
      const entry = log[log.length - 1]!;
      expect(entry).to.include({
        recording_id: answer.body.id,
        reason: 'objection',
        actor: 'ingest',
        reference: request.reference,
        source: TEST_SOURCE,
        call_id: callId,
        objects: '[]',
      });
      expect(Number(entry.seq)).to.equal(answer.body.deletionSeq);
      expect(mentionsPhone(JSON.stringify(log), phone)).to.equal(false);
      expect(app.logs.some((line) => mentionsPhone(line, phone))).to.equal(false);
      expect((await verifyDeletionLog(tdb.db)).ok).to.equal(true);

      const retry = await upload({ callId, callerNumber: phone.e164 });
      expect(retry.status).to.equal(200);
      expect(retry.body).to.deep.equal(answer.body);
      expect((await deletionLogRows(tdb.db)).length).to.equal(logBefore + 1);
    });

    it('when the callee objected with "do not keep", then a call to that number is not kept either', async () => {
      const phone = newPhone();
      await object(phone, { mode: 'object', doNotKeep: true });
      const answer = await upload({ callerNumber: newPhone().e164, calleeNumber: phone.e164 });
      expect(answer.status).to.equal(200);
      expect(answer.body).to.include({ kept: false, reason: 'objection' });
    });

    it('when the objection does not say "do not keep", then the new recording is stored already restricted', async () => {
      const phone = newPhone();
      await object(phone, { mode: 'object' });
      const answer = await upload({ callerNumber: phone.e164 });
      expect(answer.status).to.equal(201);
      const asTrainer = await api(app.url, `/v1/recordings/${answer.body.id}`, { token: trainer });
      expect(asTrainer.status).to.equal(404);
      const asOfficer = await api(app.url, `/v1/recordings/${answer.body.id}`, { token: privacy });
      expect(asOfficer.status).to.equal(200);
    });

    it('when "do not keep" is asked with mode restrict, then 400 invalid_request and nothing is restricted', async () => {
      const phone = newPhone();
      const { res } = await object(phone, { mode: 'restrict', doNotKeep: true });
      expect(res.status).to.equal(400);
      expect(res.body.code).to.equal('invalid_request');
      expect(await tdb.db.knex('subject_restrictions').where({ number: phone.e164 }).first()).to.equal(undefined);
    });

    it('when the "do not keep" objection is lifted, then the next recording is stored again', async () => {
      const phone = newPhone();
      const { request } = await object(phone, { mode: 'object', doNotKeep: true });
      expect((await upload({ callerNumber: phone.e164 })).status).to.equal(200);
      const lift = await api(app.url, '/v1/subjects/restriction', {
        token: privacy,
        method: 'DELETE',
        body: { phone: phone.e164, requestId: request.id, reason: 'objection withdrawn' },
      });
      expect(lift.status).to.equal(200);
      const answer = await upload({ callerNumber: phone.e164 });
      expect(answer.status).to.equal(201);
      expect(answer.body.id).to.be.a('string');
    });
  });
}
