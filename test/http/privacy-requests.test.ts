/**
 * The privacy-request register (issue #17) over HTTP, on SQLite + fs and PostgreSQL + MinIO:
 * registering with the one-month deadline, the register's filters, cursor and CSV, extension
 * and closing, actions done under a request (search, export, erasure, hold, refusals) on the
 * timeline, restriction and objection (trainers and admins no longer see the recordings),
 * correction, and the overdue gauge moving with the injected clock.
 */
import { expect } from 'chai';
import { createManualClock } from '../../src/clock.js';
import { dueAtFor } from '../../src/privacy/deadline.js';
import { sweepOnce } from '../../src/retention/sweep.js';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { DbBackend, StoreBackend, TestDb, TestStore } from '../support/backends.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { createStoredPrivacyRequest, privacyRequestBody } from '../support/privacy-requests.js';
import type { PrivacyRequestOverrides } from '../support/privacy-requests.js';
import { createStoredRecording } from '../support/recordings.js';
import type { StoredRecordingOverrides } from '../support/recordings.js';
import { createTestUser } from '../support/users.js';
import { accessLogRows, api, deletionLogRows, mentionsPhone, newPhone } from './subject-helpers.js';

const DAY_MS = 86_400_000;

interface Timeline {
  action: string;
  actor: string;
  recordingIds: string[];
  deletionSeqs: number[];
  detail: string | null;
}
interface RequestBody {
  id: string;
  reference: string;
  kind: string;
  status: string;
  dueAt: string;
  receivedAt: string;
  daysLeft: number | null;
  extensionMonths: number;
  outcome: string | null;
  phones?: string[];
  timeline: Timeline[];
  code?: string;
}
interface Page {
  items: RequestBody[];
  nextCursor: string | null;
}

const combos: Array<[DbBackend, StoreBackend]> = [
  [dbBackends.find((b) => b.name === 'sqlite')!, storeBackends.find((b) => b.name === 'fs')!],
  [dbBackends.find((b) => b.name === 'postgres')!, storeBackends.find((b) => b.name === 'minio')!],
];

for (const [dbBackend, storeBackend] of combos) {
  describe(`privacy requests (${dbBackend.name} + ${storeBackend.name})`, function () {
    this.timeout(60_000);
    let db: TestDb;
    let store: TestStore;
    let app: TestApp;
    // 1 February 2027, 10:00 in Amsterdam.
    const clock = createManualClock(Date.parse('2027-02-01T10:00:00+01:00'));
    const users = {} as Record<'privacy' | 'admin' | 'trainer' | 'auditor', { token: string; username: string }>;

    const record = (overrides: StoredRecordingOverrides = {}) =>
      createStoredRecording({
        db: db.db,
        store: store.store,
        overrides: {
          started_at: clock.now() - DAY_MS,
          waveform: JSON.stringify({ durationMs: 4000, channels: 1, peaks: [[0.1]] }),
          ...overrides,
        },
      });
    const openRequest = (numbers: string[], overrides: PrivacyRequestOverrides = {}) =>
      createStoredPrivacyRequest(db.db, { numbers, overrides: { received_at: clock.now() - DAY_MS, ...overrides } });
    const as = (who: keyof typeof users) => users[who].token;
    const getRequest = async (id: string) =>
      (await api<RequestBody>(app.url, `/v1/privacy-requests/${id}`, { token: as('privacy') })).body;

    before(async () => {
      db = await dbBackend.create();
      store = await storeBackend.create();
      app = await startTestApp({ db: db.db, store: store.store, clock });
      for (const role of ['privacy', 'admin', 'trainer', 'auditor'] as const) {
        const u = await createTestUser(db.db, { role });
        users[role] = { token: u.token, username: u.user.username };
      }
    });
    after(async () => {
      await app.close();
      await store.dispose();
      await db.dispose().catch(() => undefined);
    });

    describe('registering', () => {
      it('when a request received on 31 January at 23:30 Amsterdam time is registered, then it is due at the end of 28 February with a PR reference and a created event', async () => {
        const phone = newPhone();
        const res = await api<RequestBody>(app.url, '/v1/privacy-requests', {
          token: as('privacy'),
          method: 'POST',
          body: privacyRequestBody({
            kind: 'erasure',
            phone: phone.national,
            receivedAt: '2027-01-31T23:30:00+01:00',
            channel: 'letter',
            caseReference: 'DOS-17',
          }),
        });
        expect(res.status).to.equal(201);
        expect(res.headers.get('location')).to.equal(`/v1/privacy-requests/${res.body.id}`);
        expect(res.body.reference).to.match(/^PR-2027-\d{4,}$/);
        expect(res.body.dueAt).to.equal('2027-02-28T22:59:59.999Z');
        expect(res.body).to.include({ kind: 'erasure', status: 'open', extensionMonths: 0, daysLeft: 27 });
        expect(res.body.phones).to.deep.equal([phone.e164]);
        expect(res.body.timeline.map((e) => e.action)).to.deep.equal(['created']);
        expect(res.body.timeline[0]!.actor).to.equal(users.privacy.username);
        expect(app.logs.some((line) => mentionsPhone(line, phone))).to.equal(false);
      });

      it('when two requests are registered, then their references differ and both name the year of receipt', async () => {
        const refs = [];
        for (const receivedAt of ['2026-12-31T12:00:00Z', '2027-01-15T12:00:00Z']) {
          const res = await api<RequestBody>(app.url, '/v1/privacy-requests', {
            token: as('privacy'),
            method: 'POST',
            body: privacyRequestBody({ phone: newPhone().e164, receivedAt }),
          });
          expect(res.status).to.equal(201);
          refs.push(res.body.reference);
        }
        expect(refs[0]).to.match(/^PR-2026-/);
        expect(refs[1]).to.match(/^PR-2027-/);
        expect(refs[0]!.slice(8)).not.to.equal(refs[1]!.slice(8));
      });

      it('when receivedAt lies in the future, then 422 received_in_future and nothing is stored', async () => {
        const before = (await db.db.knex('privacy_requests').count({ n: '*' }).first()) as { n: number | string };
        const res = await api<{ code: string }>(app.url, '/v1/privacy-requests', {
          token: as('privacy'),
          method: 'POST',
          body: privacyRequestBody({
            phone: newPhone().e164,
            receivedAt: new Date(clock.now() + DAY_MS).toISOString(),
          }),
        });
        expect(res.status).to.equal(422);
        expect(res.body.code).to.equal('received_in_future');
        const after = (await db.db.knex('privacy_requests').count({ n: '*' }).first()) as { n: number | string };
        expect(Number(after.n)).to.equal(Number(before.n));
      });

      it('when the phone, kind or channel is wrong, then 400 invalid_request naming the fields, without echoing the number', async () => {
        const res = await api<{ code: string; fields: Array<{ field: string; message: string }> }>(
          app.url,
          '/v1/privacy-requests',
          {
            token: as('privacy'),
            method: 'POST',
            body: privacyRequestBody({ phone: '+3161234', kind: 'gossip' }),
          },
        );
        expect(res.status).to.equal(400);
        expect(res.body.code).to.equal('invalid_request');
        expect(res.body.fields.map((f) => f.field)).to.include('kind');
        const phoneOnly = await api<{ code: string; fields: Array<{ field: string; message: string }> }>(
          app.url,
          '/v1/privacy-requests',
          {
            token: as('privacy'),
            method: 'POST',
            body: privacyRequestBody({ phone: '+31 6 1234', additionalPhones: ['06 12345678'] }),
          },
        );
        expect(phoneOnly.status).to.equal(400);
        expect(phoneOnly.body.fields).to.deep.equal([{ field: 'phone', message: 'not a valid phone number' }]);
        expect(JSON.stringify(phoneOnly.body)).not.to.contain('1234');
      });
    });

    describe('the register', () => {
      it('when filtered by status, then open holds every request not closed, due_soon those due within 7 days, overdue those past dueAt, closed the closed ones', async () => {
        const phone = newPhone().e164;
        const now = clock.now();
        const fresh = await openRequest([phone], { received_at: now - DAY_MS, kind: 'copy' });
        const soon = await openRequest([phone], { received_at: now - 26 * DAY_MS, kind: 'copy' });
        const late = await openRequest([phone], { received_at: now - 40 * DAY_MS, kind: 'copy' });
        const done = await openRequest([phone], {
          received_at: now - 2 * DAY_MS,
          kind: 'copy',
          closed: { outcome: 'fulfilled', at: now },
        });
        const ids = async (query: string) =>
          (
            await api<Page>(app.url, `/v1/privacy-requests?kind=copy&phone=${encodeURIComponent(phone)}&${query}`, {
              token: as('privacy'),
            })
          ).body.items.map((i) => i.id);
        expect(await ids('status=open')).to.have.members([fresh.id, soon.id, late.id]);
        expect(await ids('status=due_soon')).to.deep.equal([soon.id]);
        expect(await ids('status=overdue')).to.deep.equal([late.id]);
        expect(await ids('status=closed')).to.deep.equal([done.id]);
        expect(await ids('sort=due')).to.deep.equal([late.id, soon.id, fresh.id, done.id]);
        expect(await ids('sort=newest')).to.deep.equal([fresh.id, done.id, soon.id, late.id]);
        const page = await api<Page>(
          app.url,
          `/v1/privacy-requests?phone=${encodeURIComponent(phone)}&status=overdue`,
          { token: as('privacy') },
        );
        expect(page.body.items[0]).to.include({ status: 'overdue' });
        expect(page.body.items[0]!.daysLeft).to.be.below(0);
        expect(page.body.items[0]).not.to.have.property('phones');
      });

      it('when filtered by the date of receipt, then from is inclusive and to exclusive', async () => {
        const phone = newPhone().e164;
        const a = await openRequest([phone], { received_at: Date.parse('2027-01-10T00:00:00Z') });
        await openRequest([phone], { received_at: Date.parse('2027-01-20T00:00:00Z') });
        const res = await api<Page>(
          app.url,
          `/v1/privacy-requests?phone=${encodeURIComponent(phone)}&from=2027-01-10&to=2027-01-20`,
          { token: as('privacy') },
        );
        expect(res.body.items.map((i) => i.id)).to.deep.equal([a.id]);
      });

      it('when more requests match than a page holds, then the cursor walks through each once, in both orders', async () => {
        const phone = newPhone().e164;
        const made: string[] = [];
        // Two share a receipt time: the sequence breaks the tie.
        for (const days of [3, 5, 5, 7, 9])
          made.push((await openRequest([phone], { received_at: clock.now() - days * DAY_MS })).id);
        for (const sort of ['newest', 'due']) {
          const seen: string[] = [];
          let cursor: string | null = null;
          do {
            const q: string = `/v1/privacy-requests?phone=${encodeURIComponent(phone)}&sort=${sort}&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
            const res = await api<Page>(app.url, q, { token: as('privacy') });
            expect(res.status).to.equal(200);
            seen.push(...res.body.items.map((i) => i.id));
            cursor = res.body.nextCursor;
          } while (cursor);
          expect(seen, sort).to.have.length(5);
          expect(seen, sort).to.have.members(made);
        }
      });

      it('when the register is asked for as CSV, then every matching request is a row, and no phone number is in it', async () => {
        const phone = newPhone();
        const made = [
          (await openRequest([phone.e164])).reference,
          (await openRequest([phone.e164], { case_reference: 'dossier, "quoted"' })).reference,
        ];
        const res = await fetch(`${app.url}/v1/privacy-requests?phone=${encodeURIComponent(phone.e164)}`, {
          headers: { authorization: `Bearer ${as('privacy')}`, accept: 'text/csv' },
        });
        expect(res.status).to.equal(200);
        expect(res.headers.get('content-type')).to.match(/^text\/csv/);
        const text = await res.text();
        const lines = text.trim().split('\r\n');
        expect(lines[0]).to.match(/^id,reference,kind,channel,identityVerified,caseReference,receivedAt,dueAt/);
        expect(lines).to.have.length(3);
        for (const ref of made) expect(text).to.contain(ref);
        expect(text).to.contain('"dossier, ""quoted"""');
        expect(mentionsPhone(text, phone)).to.equal(false);
      });

      it('when a query parameter is wrong, then 400 invalid_query', async () => {
        for (const q of [
          'status=lost',
          'kind=x',
          'sort=oldest',
          'cursor=abc',
          'limit=0',
          'from=yesterday',
          'phone=abc',
          'other=1',
        ]) {
          const res = await api<{ code: string }>(app.url, `/v1/privacy-requests?${q}`, { token: as('privacy') });
          expect(res.status, q).to.equal(400);
          expect(res.body.code, q).to.equal('invalid_query');
        }
      });

      it('when a request does not exist, then 404 not_found for it and its actions', async () => {
        for (const [method, path, body] of [
          ['GET', '/v1/privacy-requests/01ARZ3NDEKTSV4RRFFQ69G5FAV', undefined],
          ['POST', '/v1/privacy-requests/01ARZ3NDEKTSV4RRFFQ69G5FAV/close', { outcome: 'fulfilled' }],
          ['POST', '/v1/privacy-requests/not-an-id/extend', { months: 1, reason: 'x' }],
        ] as const) {
          const res = await api<{ code: string }>(app.url, path, { token: as('privacy'), method, body });
          expect(res.status, path).to.equal(404);
          expect(res.body.code).to.equal('not_found');
        }
      });
    });

    describe('extending and closing', () => {
      it('when extended by one and then one more month, then the deadline counts from receipt; a third month is refused', async () => {
        const received = Date.parse('2027-01-31T12:00:00+01:00');
        const req = await openRequest([newPhone().e164], { received_at: received });
        const one = await api<RequestBody>(app.url, `/v1/privacy-requests/${req.id}/extend`, {
          token: as('privacy'),
          method: 'POST',
          body: { months: 1, reason: 'many recordings' },
        });
        expect(one.status).to.equal(200);
        expect(one.body.dueAt).to.equal('2027-03-31T21:59:59.999Z');
        const two = await api<RequestBody>(app.url, `/v1/privacy-requests/${req.id}/extend`, {
          token: as('privacy'),
          method: 'POST',
          body: { months: 1, reason: 'still many' },
        });
        expect(two.body.dueAt).to.equal(new Date(dueAtFor({ receivedAt: received, extensionMonths: 2 })).toISOString());
        const three = await api<{ code: string }>(app.url, `/v1/privacy-requests/${req.id}/extend`, {
          token: as('privacy'),
          method: 'POST',
          body: { months: 1, reason: 'more' },
        });
        expect(three.status).to.equal(409);
        expect(three.body.code).to.equal('extension_not_allowed');
        const events = (await getRequest(req.id)).timeline.filter((e) => e.action === 'extended');
        expect(events).to.have.length(2);
        expect(events[0]!.detail).to.contain('many recordings');
      });

      it('when an overdue request is extended, then 409 extension_not_allowed; without a reason, 400', async () => {
        const late = await openRequest([newPhone().e164], { received_at: clock.now() - 40 * DAY_MS });
        const res = await api<{ code: string }>(app.url, `/v1/privacy-requests/${late.id}/extend`, {
          token: as('privacy'),
          method: 'POST',
          body: { months: 2, reason: 'late' },
        });
        expect(res.status).to.equal(409);
        expect(res.body.code).to.equal('extension_not_allowed');
        const bare = await api<{ code: string }>(app.url, `/v1/privacy-requests/${late.id}/extend`, {
          token: as('privacy'),
          method: 'POST',
          body: { months: 1 },
        });
        expect(bare.status).to.equal(400);
      });

      it('when closed as refused without a reason, then 400; with one, closed with outcome and reason; a second close is 409 request_closed', async () => {
        const req = await openRequest([newPhone().e164]);
        const bare = await api<{ code: string }>(app.url, `/v1/privacy-requests/${req.id}/close`, {
          token: as('privacy'),
          method: 'POST',
          body: { outcome: 'refused' },
        });
        expect(bare.status).to.equal(400);
        const res = await api<RequestBody & { closeReason: string }>(app.url, `/v1/privacy-requests/${req.id}/close`, {
          token: as('privacy'),
          method: 'POST',
          body: { outcome: 'refused', reason: 'Identity could not be verified' },
        });
        expect(res.status).to.equal(200);
        expect(res.body).to.include({
          status: 'closed',
          outcome: 'refused',
          closeReason: 'Identity could not be verified',
          daysLeft: null,
        });
        expect(res.body.timeline.at(-1)).to.include({ action: 'closed' });
        const again = await api<{ code: string }>(app.url, `/v1/privacy-requests/${req.id}/close`, {
          token: as('privacy'),
          method: 'POST',
          body: { outcome: 'fulfilled' },
        });
        expect(again.status).to.equal(409);
        expect(again.body.code).to.equal('request_closed');
      });

      it('when an action is done under a closed request, then 409 request_closed and nothing is done', async () => {
        const phone = newPhone().e164;
        const rec = await record({ caller_number: phone });
        const req = await openRequest([phone], { closed: { outcome: 'withdrawn', reason: 'withdrawn by letter' } });
        const res = await api<{ code: string }>(app.url, `/v1/recordings/${rec.row.id}`, {
          token: as('privacy'),
          method: 'DELETE',
          body: { reason: 'erasure_request', reference: 'X', requestId: req.id },
        });
        expect(res.status).to.equal(409);
        expect(res.body.code).to.equal('request_closed');
        expect((await deletionLogRows(db.db)).some((r) => r.recording_id === rec.row.id)).to.equal(false);
      });
    });

    describe('actions under a request', () => {
      it('when search, export and erasure are done under a request, then each lands on its timeline, the erasure with its deletion-log seqs', async () => {
        const phone = newPhone();
        const a = await record({ caller_number: phone.e164 });
        const b = await record({ callee_number: phone.e164 });
        const req = await openRequest([phone.e164], { kind: 'erasure' });
        const q = `phone=${encodeURIComponent(phone.e164)}&requestId=${req.id}`;
        expect((await api(app.url, `/v1/subjects/recordings?${q}`, { token: as('privacy') })).status).to.equal(200);
        const exported = await fetch(`${app.url}/v1/subjects/export?${q}`, {
          headers: { authorization: `Bearer ${as('privacy')}` },
        });
        expect(exported.status).to.equal(200);
        await exported.arrayBuffer();
        const erased = await api<{ erased: Array<{ id: string; seq: number }> }>(
          app.url,
          `/v1/subjects/recordings?phone=${encodeURIComponent(phone.e164)}`,
          {
            token: as('privacy'),
            method: 'DELETE',
            body: { reason: 'erasure_request', reference: req.reference, requestId: req.id },
          },
        );
        expect(erased.status).to.equal(200);

        const timeline = (await getRequest(req.id)).timeline;
        // One erase event per recording, each written with its deletion-log entry.
        expect(timeline.map((e) => e.action)).to.deep.equal(['search', 'export', 'erase', 'erase']);
        expect(timeline[0]!.recordingIds).to.have.members([a.row.id, b.row.id]);
        expect(timeline[1]!.recordingIds).to.have.members([a.row.id, b.row.id]);
        const logged = (await deletionLogRows(db.db)).filter((r) => [a.row.id, b.row.id].includes(r.recording_id));
        const erases = timeline.slice(2);
        expect(erases.flatMap((e) => e.deletionSeqs)).to.have.members(logged.map((r) => Number(r.seq)));
        expect(erases.flatMap((e) => e.recordingIds)).to.have.members([a.row.id, b.row.id]);
        for (const e of erases) {
          const entry = logged.find((r) => r.recording_id === e.recordingIds[0]);
          expect(e.deletionSeqs).to.deep.equal([Number(entry!.seq)]);
        }
        for (const e of timeline) expect(e.actor).to.equal(users.privacy.username);
      });

      it('when an erasure under a request is refused for a legal hold, then 409 legal_hold and the refusal with its reason is on the timeline', async () => {
        const phone = newPhone();
        const held = await record({
          caller_number: phone.e164,
          legal_hold: true,
          hold_reason: 'claim 7',
          hold_by: 'x',
          hold_at: clock.now(),
        });
        const req = await openRequest([phone.e164], { kind: 'erasure' });
        const res = await api<{ code: string }>(
          app.url,
          `/v1/subjects/recordings?phone=${encodeURIComponent(phone.e164)}`,
          {
            token: as('privacy'),
            method: 'DELETE',
            body: { reason: 'erasure_request', reference: req.reference, requestId: req.id },
          },
        );
        expect(res.status).to.equal(409);
        expect(res.body.code).to.equal('legal_hold');
        const one = await api<{ code: string }>(app.url, `/v1/recordings/${held.row.id}`, {
          token: as('privacy'),
          method: 'DELETE',
          body: { reason: 'erasure_request', reference: req.reference, requestId: req.id },
        });
        expect(one.status).to.equal(409);
        const refusals = (await getRequest(req.id)).timeline.filter((e) => e.action === 'erase_refused');
        expect(refusals).to.have.length(2);
        for (const r of refusals) {
          expect(r.recordingIds).to.deep.equal([held.row.id]);
          expect(r.detail).to.match(/legal hold/);
        }
      });

      it('when a hold is placed and released under a request, then both are on its timeline with their reasons', async () => {
        const phone = newPhone().e164;
        const rec = await record({ caller_number: phone });
        const req = await openRequest([phone]);
        expect(
          (
            await api(app.url, `/v1/recordings/${rec.row.id}/hold`, {
              token: as('privacy'),
              method: 'PUT',
              body: { reason: 'complaint pending', requestId: req.id },
            })
          ).status,
        ).to.equal(200);
        expect(
          (
            await api(app.url, `/v1/recordings/${rec.row.id}/hold`, {
              token: as('privacy'),
              method: 'DELETE',
              body: { reason: 'settled', requestId: req.id },
            })
          ).status,
        ).to.equal(200);
        const timeline = (await getRequest(req.id)).timeline;
        expect(timeline.map((e) => [e.action, e.detail])).to.deep.equal([
          ['hold', 'complaint pending'],
          ['release', 'settled'],
        ]);
      });

      it("when a number that is not the request's is searched under it, then 409 not_in_request and nothing lands on the timeline", async () => {
        const req = await openRequest([newPhone().e164]);
        const other = newPhone().e164;
        const res = await api<{ code: string }>(
          app.url,
          `/v1/subjects/recordings?phone=${encodeURIComponent(other)}&requestId=${req.id}`,
          { token: as('privacy') },
        );
        expect(res.status).to.equal(409);
        expect(res.body.code).to.equal('not_in_request');
        expect((await getRequest(req.id)).timeline.map((e) => e.action)).to.deep.equal([]);
      });
    });

    describe('restriction and objection', () => {
      const trainerSees = async (id: string, who: 'trainer' | 'admin' | 'privacy' = 'trainer') => {
        const statuses: Record<string, number> = {};
        for (const suffix of ['', '/audio', '/waveform', '/notes']) {
          const res = await fetch(`${app.url}/v1/recordings/${id}${suffix}`, {
            headers: { authorization: `Bearer ${as(who)}` },
          });
          await res.arrayBuffer();
          statuses[suffix || 'detail'] = res.status;
        }
        const list = await api<{ items: Array<{ id: string }> }>(
          app.url,
          `/v1/recordings?limit=200&from=${new Date(clock.now() - 3 * DAY_MS).toISOString()}`,
          { token: as(who) },
        );
        statuses.list = list.body.items.some((i) => i.id === id) ? 200 : 404;
        return statuses;
      };
      const all = (status: number) => ({
        detail: status,
        '/audio': status,
        '/waveform': status,
        '/notes': status,
        list: status,
      });

      it('when a number is restricted, then trainers and admins no longer see its recordings in list, detail, audio, waveform and notes; privacy officers still do', async () => {
        const phone = newPhone();
        const rec = await record({ callee_number: phone.e164 });
        const bystander = await record({ caller_number: newPhone().e164 });
        const req = await openRequest([phone.e164], { kind: 'restriction' });
        expect(await trainerSees(rec.row.id)).to.deep.equal(all(200));

        const res = await api<{ restricted: boolean; mode: string; recordingIds: string[] }>(
          app.url,
          '/v1/subjects/restriction',
          {
            token: as('privacy'),
            method: 'PUT',
            body: { phone: phone.national, requestId: req.id },
          },
        );
        expect(res.status).to.equal(200);
        expect(res.body).to.deep.include({ restricted: true, mode: 'restrict', recordingIds: [rec.row.id] });
        expect(await trainerSees(rec.row.id)).to.deep.equal(all(404));
        expect(await trainerSees(rec.row.id, 'admin')).to.deep.equal(all(404));
        expect(await trainerSees(rec.row.id, 'privacy')).to.deep.equal(all(200));
        expect(await trainerSees(bystander.row.id)).to.deep.equal(all(200));

        const restrictEntry = (await accessLogRows(db.db)).filter((r) => r.action === 'restrict').at(-1)!;
        expect(restrictEntry).to.include({ username: users.privacy.username, recording_id: null });
        expect(restrictEntry.detail).to.equal(`mode=restrict request=${req.reference} count=1`);
        expect(mentionsPhone(JSON.stringify(restrictEntry), phone)).to.equal(false);
        expect((await getRequest(req.id)).timeline.map((e) => e.action)).to.deep.equal(['restrict']);
      });

      it('when a recording of an objecting number arrives later, then it is stored already restricted', async () => {
        const phone = newPhone().e164;
        const req = await openRequest([phone], { kind: 'objection' });
        expect(
          (
            await api(app.url, '/v1/subjects/restriction', {
              token: as('privacy'),
              method: 'PUT',
              body: { phone, requestId: req.id, mode: 'object' },
            })
          ).status,
        ).to.equal(200);
        const later = await record({ caller_number: phone });
        expect(await trainerSees(later.row.id)).to.deep.equal(all(404));
        const status = await api<{ mode: string; recordingIds: string[] }>(
          app.url,
          `/v1/subjects/restriction?phone=${encodeURIComponent(phone)}`,
          { token: as('privacy') },
        );
        expect(status.body).to.deep.include({ mode: 'object', recordingIds: [later.row.id] });
      });

      it('when a restriction is lifted, then trainers see the recordings again and the lift is logged as unrestrict and on the timeline', async () => {
        const phone = newPhone().e164;
        const rec = await record({ caller_number: phone });
        const req = await openRequest([phone]);
        await api(app.url, '/v1/subjects/restriction', {
          token: as('privacy'),
          method: 'PUT',
          body: { phone, requestId: req.id },
        });
        const res = await api<{ lifted: boolean; restricted: boolean }>(app.url, '/v1/subjects/restriction', {
          token: as('privacy'),
          method: 'DELETE',
          body: { phone, requestId: req.id, reason: 'objection assessed: legitimate interest prevails' },
        });
        expect(res.body).to.include({ lifted: true, restricted: false });
        expect(await trainerSees(rec.row.id)).to.deep.equal(all(200));
        const entry = (await accessLogRows(db.db)).filter((r) => r.action === 'unrestrict').at(-1)!;
        expect(entry.detail).to.contain(`request=${req.reference}`);
        expect((await getRequest(req.id)).timeline.map((e) => e.action)).to.deep.equal(['restrict', 'unrestrict']);
        const again = await api<{ lifted: boolean }>(app.url, '/v1/subjects/restriction', {
          token: as('privacy'),
          method: 'DELETE',
          body: { phone, requestId: req.id },
        });
        expect(again.body.lifted).to.equal(false);
      });

      it('when a restricted recording reaches its deadline, then the sweeper deletes it as usual', async () => {
        const phone = newPhone().e164;
        const rec = await record({ caller_number: phone, expires_at: clock.now() + 1000 });
        const req = await openRequest([phone]);
        await api(app.url, '/v1/subjects/restriction', {
          token: as('privacy'),
          method: 'PUT',
          body: { phone, requestId: req.id },
        });
        await sweepOnce(app.deps, { now: clock.now() + 2000, batchSize: 500, leaseMs: 60_000 });
        const logged = (await deletionLogRows(db.db)).find((r) => r.recording_id === rec.row.id);
        expect(logged?.reason).to.equal('retention_expired');
      });

      it("when the restriction names a number that is not the request's, then 409 not_in_request and nothing is restricted", async () => {
        const req = await openRequest([newPhone().e164]);
        const other = newPhone().e164;
        const res = await api<{ code: string }>(app.url, '/v1/subjects/restriction', {
          token: as('privacy'),
          method: 'PUT',
          body: { phone: other, requestId: req.id },
        });
        expect(res.status).to.equal(409);
        expect(res.body.code).to.equal('not_in_request');
        expect(await db.db.knex('subject_restrictions').where({ number: other }).first()).to.equal(undefined);
      });
    });

    describe('correction', () => {
      it('when the caller number is corrected, then subject search finds the recording under the new number only and the access log names the field, not the values', async () => {
        const wrong = newPhone();
        const right = newPhone();
        const rec = await record({ caller_number: wrong.e164, agent_id: 'agent-1' });
        const req = await openRequest([right.e164], { kind: 'correction' });
        const res = await api<{ callerNumber: string; agentId: string }>(app.url, `/v1/recordings/${rec.row.id}`, {
          token: as('privacy'),
          method: 'PATCH',
          body: { requestId: req.id, callerNumber: right.national, agentId: 'agent-1' },
        });
        expect(res.status).to.equal(200);
        expect(res.body.callerNumber).to.equal(right.e164);
        const find = async (p: string) =>
          (
            await api<{ items: Array<{ id: string }> }>(
              app.url,
              `/v1/subjects/recordings?phone=${encodeURIComponent(p)}`,
              { token: as('privacy') },
            )
          ).body.items.map((i) => i.id);
        expect(await find(right.e164)).to.deep.equal([rec.row.id]);
        expect(await find(wrong.e164)).to.deep.equal([]);
        const entry = (await accessLogRows(db.db)).filter(
          (r) => r.action === 'correct' && r.recording_id === rec.row.id,
        );
        expect(entry).to.have.length(1);
        expect(entry[0]!.detail).to.equal(`fields=callerNumber request=${req.reference}`);
        expect(
          mentionsPhone(JSON.stringify(entry[0]), wrong) || mentionsPhone(JSON.stringify(entry[0]), right),
        ).to.equal(false);
        const timeline = (await getRequest(req.id)).timeline;
        expect(timeline.map((e) => [e.action, e.detail])).to.deep.equal([['correct', 'fields=callerNumber']]);
      });

      it('when a withheld caller is corrected to a number, then the recording shows a phone number (kind e164) and search finds it', async () => {
        const right = newPhone();
        const rec = await record({ caller_number: null, caller_number_kind: 'withheld' });
        const req = await openRequest([right.e164], { kind: 'correction' });
        const res = await api<{ callerNumber: string | null; callerNumberKind: string | null }>(
          app.url,
          `/v1/recordings/${rec.row.id}`,
          { token: as('privacy'), method: 'PATCH', body: { requestId: req.id, callerNumber: right.national } },
        );
        expect(res.status).to.equal(200);
        expect(res.body).to.include({ callerNumber: right.e164, callerNumberKind: 'e164' });
        const found = await api<{ items: Array<{ id: string }> }>(
          app.url,
          `/v1/subjects/recordings?phone=${encodeURIComponent(right.e164)}`,
          { token: as('privacy') },
        );
        expect(found.body.items.map((i) => i.id)).to.deep.equal([rec.row.id]);
      });

      it('when a correction changes nothing, then the recording is answered and nothing is logged', async () => {
        const rec = await record({ queue: 'sales' });
        const req = await openRequest([newPhone().e164]);
        const before = (await accessLogRows(db.db)).length;
        const res = await api(app.url, `/v1/recordings/${rec.row.id}`, {
          token: as('privacy'),
          method: 'PATCH',
          body: { requestId: req.id, queue: 'sales' },
        });
        expect(res.status).to.equal(200);
        expect((await accessLogRows(db.db)).length).to.equal(before);
      });

      it('when a correction has no request, a bad number or an unknown field, then 400 invalid_request and the row is unchanged', async () => {
        const rec = await record({ queue: 'sales' });
        const req = await openRequest([newPhone().e164]);
        for (const body of [
          { queue: 'billing' },
          { requestId: req.id, callerNumber: '12' },
          { requestId: req.id, startedAt: '2027-01-01T00:00:00Z' },
        ]) {
          const res = await api<{ code: string }>(app.url, `/v1/recordings/${rec.row.id}`, {
            token: as('privacy'),
            method: 'PATCH',
            body,
          });
          expect(res.status, JSON.stringify(body)).to.equal(400);
          expect(res.body.code).to.equal('invalid_request');
        }
        const row = (await db.db.knex('recordings').where({ id: rec.row.id }).first()) as { queue: string };
        expect(row.queue).to.equal('sales');
      });
    });

    describe('the letter', () => {
      const letter = async (id: string, lang: string) => {
        const res = await fetch(`${app.url}/v1/privacy-requests/${id}/letter?lang=${lang}`, {
          headers: { authorization: `Bearer ${as('privacy')}` },
        });
        return { status: res.status, headers: res.headers, text: await res.text() };
      };

      it('when an erasure request was carried out and closed, then the Dutch letter names every deletion-log entry, the outcome and the Autoriteit Persoonsgegevens', async () => {
        const phone = newPhone();
        const recs = [await record({ caller_number: phone.e164 }), await record({ callee_number: phone.e164 })];
        const req = await openRequest([phone.e164], {
          kind: 'erasure',
          received_at: Date.parse('2027-01-20T09:00:00+01:00'),
        });
        await api(app.url, `/v1/subjects/recordings?phone=${encodeURIComponent(phone.e164)}&requestId=${req.id}`, {
          token: as('privacy'),
        });
        const erased = await api<{ erased: Array<{ id: string; seq: number }> }>(
          app.url,
          `/v1/subjects/recordings?phone=${encodeURIComponent(phone.e164)}`,
          {
            token: as('privacy'),
            method: 'DELETE',
            body: { reason: 'erasure_request', reference: req.reference, requestId: req.id },
          },
        );
        expect(erased.body.erased).to.have.length(2);
        await api(app.url, `/v1/privacy-requests/${req.id}/close`, {
          token: as('privacy'),
          method: 'POST',
          body: { outcome: 'fulfilled' },
        });

        const nl = await letter(req.id, 'nl');
        expect(nl.status).to.equal(200);
        expect(nl.headers.get('content-type')).to.match(/^text\/html; charset=utf-8/);
        expect(nl.text).to.contain('<html lang="nl">');
        expect(nl.text).to.contain(
          `Op 20 januari 2027 ontvingen wij uw verzoek om het wissen van de gespreksopnamen waarin uw telefoonnummer voorkomt. Wij hebben uw verzoek geregistreerd onder kenmerk ${req.reference}.`,
        );
        expect(nl.text).to.contain('Wij hebben 2 opnamen gevonden.');
        expect(nl.text).to.contain('hebben wij 2 opnamen gewist.');
        for (const { id, seq } of erased.body.erased) {
          expect(nl.text).to.contain(`opname <code>${id}</code>: vermelding nr. ${seq} in het wislogboek`);
        }
        expect(recs.map((r) => r.row.id).every((id) => nl.text.includes(id))).to.equal(true);
        expect(nl.text).to.contain('Wij hebben uw verzoek volledig uitgevoerd.');
        expect(nl.text).to.contain('een klacht indienen bij de Autoriteit Persoonsgegevens');
        expect(nl.text).to.contain('@media print');

        const en = await letter(req.id, 'en');
        expect(en.text).to.contain('<html lang="en">');
        expect(en.text).to.contain(
          'On 20 January 2027 we received your request for erasure of the call recordings in which your phone number appears.',
        );
        for (const { seq } of erased.body.erased) expect(en.text).to.contain(`entry no. ${seq} in the deletion log`);
        expect(en.text).to.contain('Autoriteit Persoonsgegevens');
      });

      it('when a request was refused with a reason and an erasure was refused for a hold, then the letter gives both reasons, HTML-escaped', async () => {
        const phone = newPhone().e164;
        await record({
          caller_number: phone,
          legal_hold: true,
          hold_reason: 'claim',
          hold_by: 'x',
          hold_at: clock.now(),
        });
        const req = await openRequest([phone], { kind: 'erasure' });
        await api(app.url, `/v1/subjects/recordings?phone=${encodeURIComponent(phone)}`, {
          token: as('privacy'),
          method: 'DELETE',
          body: { reason: 'erasure_request', reference: req.reference, requestId: req.id },
        });
        await api(app.url, `/v1/privacy-requests/${req.id}/close`, {
          token: as('privacy'),
          method: 'POST',
          body: { outcome: 'partially_fulfilled', reason: 'De opname is nodig in een <lopende> procedure' },
        });
        const nl = await letter(req.id, 'nl');
        expect(nl.text).to.contain(
          'Eén opname hebben wij niet gewist, omdat wij deze moeten bewaren voor een juridische procedure (artikel 17, derde lid, onder e, AVG).',
        );
        expect(nl.text).to.contain('Wij hebben uw verzoek gedeeltelijk uitgevoerd.');
        expect(nl.text).to.contain('Toelichting: De opname is nodig in een &lt;lopende&gt; procedure');
        expect(nl.text).not.to.contain('<lopende>');
      });

      it('when the letter is served, then its CSP allows its one stylesheet by hash and nothing inline else', async () => {
        const req = await openRequest([newPhone().e164]);
        const res = await letter(req.id, 'nl');
        const csp = res.headers.get('content-security-policy') ?? '';
        expect(csp).to.match(/style-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
        expect(csp).not.to.contain('unsafe-inline');
        expect(csp).to.contain("script-src 'self'");
        expect(res.text).not.to.contain('<script');
        expect(res.text).to.contain('Uw verzoek is nog in behandeling.');
      });

      it('when the language is not nl or en, then 400 invalid_query', async () => {
        const req = await openRequest([newPhone().e164]);
        const res = await letter(req.id, 'de');
        expect(res.status).to.equal(400);
        expect(JSON.parse(res.text).code).to.equal('invalid_query');
      });
    });

    describe('gauges', () => {
      it("when the clock passes a request's dueAt, then the overdue gauge counts it; once closed, it leaves the open gauges", async () => {
        const gauges = async () => {
          const text = await (await fetch(`${app.url}/metrics`)).text();
          const value = (state: string) =>
            Number(new RegExp(`^callrec_privacy_requests\\{state="${state}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
          return { open: value('open'), dueSoon: value('due_soon'), overdue: value('overdue') };
        };
        const start = clock.now();
        try {
          // Everything already in the register is closed first, so that the counts are this test's.
          await db.db
            .knex('privacy_requests')
            .where('status', 'open')
            .update({ status: 'closed', outcome: 'withdrawn', closed_at: start, closed_by: 'test' });
          const req = await openRequest([newPhone().e164], { received_at: start - 20 * DAY_MS });
          const dueAt = dueAtFor({ receivedAt: start - 20 * DAY_MS });
          expect(await gauges()).to.deep.equal({ open: 1, dueSoon: 0, overdue: 0 });
          clock.set(dueAt - DAY_MS);
          expect(await gauges()).to.deep.equal({ open: 1, dueSoon: 1, overdue: 0 });
          clock.set(dueAt + 1);
          expect(await gauges()).to.deep.equal({ open: 1, dueSoon: 0, overdue: 1 });
          await api(app.url, `/v1/privacy-requests/${req.id}/close`, {
            token: as('privacy'),
            method: 'POST',
            body: { outcome: 'fulfilled' },
          });
          expect(await gauges()).to.deep.equal({ open: 0, dueSoon: 0, overdue: 0 });
        } finally {
          clock.set(start);
        }
      });
    });
  });
}
