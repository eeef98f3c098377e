/**
 * Training reviews over HTTP (issue #20) on SQLite and PostgreSQL: forms and their versions,
 * evaluations scored on the server, drafts, bad input leaving no row, phone numbers refused,
 * queue scoping, blind calibration, a recording deleted while evaluated (erasure and sweeper),
 * and the evaluations' own retention.
 */
import { expect } from 'chai';
import { createManualClock } from '../../src/clock.js';
import type { Clock } from '../../src/clock.js';
import { queryAccess } from '../../src/db/access-log.js';
import { sweepOnce } from '../../src/retention/sweep.js';
import { expireEvaluations } from '../../src/training/index.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { createStoredRecording } from '../support/recordings.js';
import type { StoredRecordingOverrides } from '../support/recordings.js';
import { createTestUser } from '../support/users.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);

/**
 * Section 0 "Opening": greet (yesno, w1), name (yesno, w3, critical)
 * Section 1 "Solution": tone (scale, w2), outcome (choice, w4: solved 1, partly 0.5, not 0)
 */
const formBody = (overrides: Record<string, unknown> = {}) => ({
  name: 'Inbound support',
  sections: [
    {
      title: 'Opening',
      questions: [
        { id: 'greet', text: 'Greets the caller', type: 'yesno', weight: 1 },
        { id: 'name', text: 'Gives their name', type: 'yesno', weight: 3, critical: true },
      ],
    },
    {
      title: 'Solution',
      questions: [
        { id: 'tone', text: 'Friendly tone', type: 'scale', weight: 2 },
        {
          id: 'outcome',
          text: 'Outcome',
          type: 'choice',
          weight: 4,
          choices: [
            { value: 'solved', score: 1 },
            { value: 'partly', score: 0.5 },
            { value: 'not', score: 0 },
          ],
        },
      ],
    },
  ],
  ...overrides,
});

/** (1 + 3 + 1 + 2) / 10 = 70; opening 100, solution 3/6 = 50 (hand-computed, see score tests). */
const ANSWERS = { greet: 'yes', name: 'yes', tone: 3, outcome: 'partly' };

interface Json {
  status: number;
  body: Record<string, unknown> & { items?: Array<Record<string, unknown>> };
  headers: Headers;
}

for (const dbBackend of dbBackends) {
  describe(`training evaluations over HTTP (${dbBackend.name})`, function () {
    this.timeout(60_000);
    let tdb: TestDb;
    let tstore: TestStore;
    let app: TestApp;
    let clock: ReturnType<typeof createManualClock>;
    const tokens: Record<'admin' | 'trainer' | 'trainer2' | 'scoped' | 'auditor' | 'privacy', string> = {
      admin: '',
      trainer: '',
      trainer2: '',
      scoped: '',
      auditor: '',
      privacy: '',
    };
    let formId: string;

    const call = async (method: string, path: string, token: string, body?: unknown): Promise<Json> => {
      const res = await fetch(`${app.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as Json['body']) : {}, headers: res.headers };
    };
    const record = async (overrides: StoredRecordingOverrides = {}) =>
      (
        await createStoredRecording({
          db: tdb.db,
          store: tstore.store,
          overrides: { started_at: NOW - DAY, queue: 'support', agent_id: 'agent-7', ...overrides },
        })
      ).row;
    const evaluate = (recordingId: string, token: string, body: Record<string, unknown> = {}) =>
      call('POST', `/v1/recordings/${recordingId}/evaluations`, token, {
        formId,
        answers: ANSWERS,
        status: 'submitted',
        ...body,
      });
    const count = async (table: string) =>
      Number(((await tdb.db.knex(table).count({ n: '*' }).first()) as { n: number | string }).n);

    before(async () => {
      tdb = await dbBackend.create();
      tstore = await storeBackends.find((b) => b.name === 'fs')!.create();
      clock = createManualClock(NOW);
      app = await startTestApp({ db: tdb.db, store: tstore.store, clock: clock as Clock });
      tokens.admin = (await createTestUser(tdb.db, { role: 'admin', username: 'boss' })).token;
      tokens.trainer = (await createTestUser(tdb.db, { role: 'trainer', username: 'tina' })).token;
      tokens.trainer2 = (await createTestUser(tdb.db, { role: 'trainer', username: 'theo' })).token;
      tokens.scoped = (await createTestUser(tdb.db, { role: 'trainer', queues: ['sales'] })).token;
      tokens.auditor = (await createTestUser(tdb.db, { role: 'auditor' })).token;
      tokens.privacy = (await createTestUser(tdb.db, { role: 'privacy' })).token;
      const created = await call('POST', '/v1/evaluation-forms', tokens.admin, formBody());
      expect(created.status, JSON.stringify(created.body)).to.equal(201);
      formId = created.body.id as string;
    });
    after(async () => {
      await app?.close();
      await tstore?.dispose();
      await tdb?.dispose();
    });

    describe('forms', function () {
      it('when an admin creates a form, then version 1 comes back in full, critical defaulted to false', async () => {
        const res = await call('POST', '/v1/evaluation-forms', tokens.admin, formBody({ name: 'Outbound' }));
        expect(res.status).to.equal(201);
        expect(res.headers.get('location')).to.equal(`/v1/evaluation-forms/${res.body.id as string}`);
        expect(res.body).to.deep.include({ version: 1, name: 'Outbound', createdBy: 'boss' });
        expect(res.body.createdAt).to.equal(new Date(NOW).toISOString());
        const sections = res.body.sections as Array<{ questions: Array<Record<string, unknown>> }>;
        expect(sections[0]!.questions[0]).to.deep.equal({
          id: 'greet',
          text: 'Greets the caller',
          type: 'yesno',
          weight: 1,
          critical: false,
        });
      });

      it('when a form gets a new version, then the old one stays as it was and the form lists both', async () => {
        const made = await call('POST', '/v1/evaluation-forms', tokens.admin, formBody({ name: 'Revised' }));
        const id = made.body.id as string;
        const v2 = await call('PUT', `/v1/evaluation-forms/${id}`, tokens.admin, formBody({ name: 'Revised 2' }));
        expect(v2.status).to.equal(201);
        expect(v2.body).to.deep.include({ id, version: 2, name: 'Revised 2' });
        expect(v2.headers.get('location')).to.equal(`/v1/evaluation-forms/${id}/versions/2`);
        const latest = await call('GET', `/v1/evaluation-forms/${id}`, tokens.trainer);
        expect(latest.body).to.deep.include({ version: 2, name: 'Revised 2', versions: [1, 2] });
        const v1 = await call('GET', `/v1/evaluation-forms/${id}/versions/1`, tokens.trainer);
        expect(v1.body).to.deep.include({ version: 1, name: 'Revised' });
        const list = await call('GET', '/v1/evaluation-forms', tokens.trainer);
        expect(list.body.items!.find((f) => f.id === id)).to.deep.include({ name: 'Revised 2', version: 2 });
        expect((await call('GET', `/v1/evaluation-forms/${id}/versions/3`, tokens.trainer)).status).to.equal(404);
      });

      const badForms: Array<[string, Record<string, unknown>, number, string, string]> = [
        [
          'a question id repeats',
          formBody({ sections: [{ title: 'S', questions: [q('a'), q('a')] }] }),
          422,
          'invalid_form',
          'sections.0.questions.1.id',
        ],
        [
          'a choice question has one choice',
          formBody({ sections: [{ title: 'S', questions: [{ ...q('a'), type: 'choice', choices: [choice('x')] }] }] }),
          400,
          'invalid_request',
          'sections.0.questions.0.choices',
        ],
        [
          'a choice value repeats',
          formBody({
            sections: [{ title: 'S', questions: [{ ...q('a'), type: 'choice', choices: [choice('x'), choice('x')] }] }],
          }),
          422,
          'invalid_form',
          'sections.0.questions.0.choices.1.value',
        ],
        [
          'a weight is 0',
          formBody({ sections: [{ title: 'S', questions: [{ ...q('a'), weight: 0 }] }] }),
          400,
          'invalid_request',
          'sections.0.questions.0.weight',
        ],
        [
          'a question text holds a phone number',
          formBody({ sections: [{ title: 'S', questions: [{ ...q('a'), text: 'Call back on 020 123 4567?' }] }] }),
          400,
          'invalid_request',
          'sections.0.questions.0.text',
        ],
      ];
      for (const [when, body, status, code, field] of badForms) {
        it(`when ${when}, then ${status} ${code} names ${field} and no form is stored`, async () => {
          const before = await count('evaluation_form_versions');
          const res = await call('POST', '/v1/evaluation-forms', tokens.admin, body);
          expect(res.status).to.equal(status);
          expect(res.body.code).to.equal(code);
          expect((res.body.fields as Array<{ field: string }>).map((f) => f.field)).to.include(field);
          expect(await count('evaluation_form_versions')).to.equal(before);
        });
      }

      it('when a trainer creates or revises a form, then 403', async () => {
        expect((await call('POST', '/v1/evaluation-forms', tokens.trainer, formBody())).status).to.equal(403);
        expect((await call('PUT', `/v1/evaluation-forms/${formId}`, tokens.trainer, formBody())).status).to.equal(403);
      });
    });

    describe('evaluations', function () {
      it('when a trainer submits an evaluation, then the server computes the score and copies the call', async () => {
        const rec = await record();
        const res = await evaluate(rec.id, tokens.trainer, {
          comments: { tone: 'Warm' },
          timedComments: [{ offsetMs: 1500, text: 'Good question here' }],
        });
        expect(res.status, JSON.stringify(res.body)).to.equal(201);
        expect(res.headers.get('location')).to.equal(`/v1/evaluations/${res.body.id as string}`);
        expect(res.body).to.deep.include({
          recordingId: rec.id,
          formId,
          formVersion: 1,
          evaluator: 'tina',
          agentId: 'agent-7',
          queue: 'support',
          callStartedAt: new Date(NOW - DAY).toISOString(),
          callDurationMs: rec.duration_ms,
          status: 'submitted',
          calibration: false,
          score: 70,
          comments: { tone: 'Warm' },
          agentComment: null,
          submittedAt: new Date(NOW).toISOString(),
          respondedAt: null,
          expiresAt: new Date(NOW + 365 * DAY).toISOString(),
          recording: { exists: true },
        });
        expect(res.body.sectionScores).to.deep.equal([
          { section: '0', title: 'Opening', score: 100 },
          { section: '1', title: 'Solution', score: 50 },
        ]);
        expect((res.body.timedComments as Array<Record<string, unknown>>)[0]).to.deep.include({
          author: 'tina',
          offsetMs: 1500,
          text: 'Good question here',
        });
        const got = await call('GET', `/v1/evaluations/${res.body.id as string}`, tokens.admin);
        expect(got.body).to.deep.equal(res.body);
        for (const field of ['callerNumber', 'calleeNumber', 'audio', 'excerpt'])
          expect(res.body).to.not.have.property(field);
      });

      it('when the critical question fails, then the score is 0 and its section 0', async () => {
        const res = await evaluate((await record()).id, tokens.trainer, { answers: { ...ANSWERS, name: 'no' } });
        expect(res.body.score).to.equal(0);
        expect(res.body.sectionScores).to.deep.equal([
          { section: '0', title: 'Opening', score: 0 },
          { section: '1', title: 'Solution', score: 50 },
        ]);
      });

      const badEvaluations: Array<[string, Record<string, unknown>, number, string, string]> = [
        ['the client sends a score', { score: 100 }, 400, 'invalid_request', ''],
        [
          'a submitted evaluation leaves a question out',
          { answers: { greet: 'yes' } },
          422,
          'answers_mismatch',
          'answers.name',
        ],
        [
          'a yes/no question is answered 3',
          { answers: { ...ANSWERS, greet: 3 } },
          422,
          'answers_mismatch',
          'answers.greet',
        ],
        ['a scale answer is 6', { answers: { ...ANSWERS, tone: 6 } }, 400, 'invalid_request', 'answers.tone'],
        [
          'a choice is not one of the question',
          { answers: { ...ANSWERS, outcome: 'maybe' } },
          422,
          'answers_mismatch',
          'answers.outcome',
        ],
        [
          'an answer names no question',
          { answers: { ...ANSWERS, extra: 'yes' } },
          422,
          'answers_mismatch',
          'answers.extra',
        ],
        ['a comment names no question', { comments: { nope: 'x' } }, 422, 'answers_mismatch', 'comments.nope'],
        [
          'a comment holds a phone number',
          { comments: { greet: 'caller is +31 6 12345678' } },
          400,
          'invalid_request',
          'comments.greet',
        ],
        [
          'a timestamped comment holds a phone number',
          { timedComments: [{ offsetMs: 10, text: 'ring 0612345678 back' }] },
          400,
          'invalid_request',
          'timedComments.0.text',
        ],
        [
          'a timestamped comment lies beyond the call',
          { timedComments: [{ offsetMs: 4001, text: 'late' }] },
          422,
          'answers_mismatch',
          'timedComments.0.offsetMs',
        ],
      ];
      for (const [when, body, status, code, field] of badEvaluations) {
        it(`when ${when}, then ${status} ${code} and no evaluation is stored`, async () => {
          const rec = await record({ duration_ms: 4000 });
          const before = [await count('evaluations'), await count('evaluation_comments')];
          const res = await evaluate(rec.id, tokens.trainer, body);
          expect(res.status, JSON.stringify(res.body)).to.equal(status);
          expect(res.body.code).to.equal(code);
          if (field) expect((res.body.fields as Array<{ field: string }>).map((f) => f.field)).to.include(field);
          expect([await count('evaluations'), await count('evaluation_comments')]).to.deep.equal(before);
          // The phone number is never echoed back or logged.
          expect(JSON.stringify(res.body)).to.not.match(/12345678/);
          expect(app.logs.join('\n')).to.not.match(/12345678/);
        });
      }

      it('when the form does not exist, then 404 and no evaluation is stored', async () => {
        const before = await count('evaluations');
        const res = await evaluate((await record()).id, tokens.trainer, { formId: '01JZZZZZZZZZZZZZZZZZZZZZZZ' });
        expect(res.status).to.equal(404);
        expect(await count('evaluations')).to.equal(before);
      });

      it('when a draft is saved and then submitted by its evaluator, then the score appears only on submission', async () => {
        const rec = await record();
        const draft = await evaluate(rec.id, tokens.trainer, { answers: { greet: 'no' }, status: 'draft' });
        expect(draft.status).to.equal(201);
        expect(draft.body).to.deep.include({ status: 'draft', score: null, submittedAt: null });
        expect((draft.body.sectionScores as Array<{ score: unknown }>).map((s) => s.score)).to.deep.equal([null, null]);
        const path = `/v1/evaluations/${draft.body.id as string}`;
        const update = { answers: ANSWERS, status: 'submitted' };
        expect((await call('PUT', path, tokens.trainer2, update)).status).to.equal(404);
        expect((await call('PUT', path, tokens.admin, update)).status).to.equal(403);
        clock.advance(1000);
        const submitted = await call('PUT', path, tokens.trainer, update);
        expect(submitted.status, JSON.stringify(submitted.body)).to.equal(200);
        expect(submitted.body).to.deep.include({
          status: 'submitted',
          score: 70,
          submittedAt: new Date(NOW + 1000).toISOString(),
        });
        const again = await call('PUT', path, tokens.trainer, update);
        expect(again.status).to.equal(409);
        expect(again.body.code).to.equal('conflict');
      });

      it('when evaluations are listed, then filters and the cursor apply and another trainer sees submitted ones only', async () => {
        const agent = `agent-list-${dbBackend.name}`;
        const made: string[] = [];
        for (let i = 0; i < 3; i++) {
          const rec = await record({ agent_id: agent, started_at: NOW - DAY - i * HOUR });
          made.push((await evaluate(rec.id, tokens.trainer)).body.id as string);
        }
        const draftRec = await record({ agent_id: agent, started_at: NOW - DAY - 5 * HOUR });
        const draft = (await evaluate(draftRec.id, tokens.trainer, { status: 'draft', answers: {} })).body.id as string;
        const seen: string[] = [];
        let cursor: string | null = null;
        do {
          const page: Json = await call(
            'GET',
            `/v1/evaluations?agentId=${agent}&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
            tokens.trainer,
          );
          expect(page.status).to.equal(200);
          seen.push(...page.body.items!.map((e) => e.id as string));
          cursor = page.body.nextCursor as string | null;
        } while (cursor);
        expect(seen).to.deep.equal([...made, draft]);
        const other = await call('GET', `/v1/evaluations?agentId=${agent}`, tokens.trainer2);
        expect(other.body.items!.map((e) => e.id)).to.deep.equal(made);
        const drafts = await call('GET', `/v1/evaluations?agentId=${agent}&status=draft`, tokens.admin);
        expect(drafts.body.items!.map((e) => e.id)).to.deep.equal([draft]);
        const early = await call(
          'GET',
          `/v1/evaluations?agentId=${agent}&from=${new Date(NOW - DAY - HOUR).toISOString()}`,
          tokens.admin,
        );
        expect(early.body.items!.map((e) => e.id)).to.deep.equal(made.slice(0, 2));
        const byRecording = await call('GET', `/v1/recordings/${draftRec.id}/evaluations`, tokens.trainer);
        expect(byRecording.body.items!.map((e) => e.id)).to.deep.equal([draft]);
        expect((await call('GET', '/v1/evaluations?status=nope', tokens.admin)).status).to.equal(400);
      });

      it('when a trainer is limited to other queues, then evaluations of this queue are 404 and not listed', async () => {
        const rec = await record();
        const id = (await evaluate(rec.id, tokens.trainer)).body.id as string;
        expect((await call('GET', `/v1/evaluations/${id}`, tokens.scoped)).status).to.equal(404);
        expect((await call('GET', `/v1/recordings/${rec.id}/evaluations`, tokens.scoped)).status).to.equal(404);
        expect((await evaluate(rec.id, tokens.scoped)).status).to.equal(404);
        const list = await call('GET', '/v1/evaluations', tokens.scoped);
        expect(list.body.items).to.deep.equal([]);
      });

      it('when an auditor or a privacy officer asks for evaluations, then 403', async () => {
        for (const token of [tokens.auditor, tokens.privacy]) {
          expect((await call('GET', '/v1/evaluations', token)).status).to.equal(403);
          expect((await call('GET', '/v1/evaluation-forms', token)).status).to.equal(403);
        }
      });

      it('when a trainer or an admin acknowledges or disputes, then 403 (the agent answers)', async () => {
        const id = (await evaluate((await record()).id, tokens.trainer)).body.id as string;
        for (const token of [tokens.trainer, tokens.admin]) {
          expect((await call('POST', `/v1/evaluations/${id}/acknowledge`, token, {})).status).to.equal(403);
          expect((await call('POST', `/v1/evaluations/${id}/dispute`, token, { comment: 'no' })).status).to.equal(403);
        }
      });
    });

    describe('calibration', function () {
      it('when trainers score a call blind, then none sees another’s until they submitted their own, and the view shows the spread', async () => {
        const rec = await record();
        // tina: greet yes, name yes, tone 5, outcome solved → 100
        const tina = await evaluate(rec.id, tokens.trainer, {
          calibration: true,
          answers: { greet: 'yes', name: 'yes', tone: 5, outcome: 'solved' },
        });
        const theoDraft = await evaluate(rec.id, tokens.trainer2, { calibration: true, status: 'draft', answers: {} });
        const tinaPath = `/v1/evaluations/${tina.body.id as string}`;
        expect((await call('GET', tinaPath, tokens.trainer2)).status).to.equal(404);
        const theoList = await call('GET', `/v1/recordings/${rec.id}/evaluations`, tokens.trainer2);
        expect(theoList.body.items!.map((e) => e.id)).to.deep.equal([theoDraft.body.id]);
        expect((await call('GET', `/v1/recordings/${rec.id}/calibration`, tokens.trainer2)).status).to.equal(403);

        // theo: greet na, name yes, tone 2, outcome partly → (3 + 0.5 + 2) / 9 = 61.11
        const submitted = await call('PUT', `/v1/evaluations/${theoDraft.body.id as string}`, tokens.trainer2, {
          calibration: true,
          answers: { greet: 'na', name: 'yes', tone: 2, outcome: 'partly' },
          status: 'submitted',
        });
        expect(submitted.body.score).to.equal(61.11);
        expect((await call('GET', tinaPath, tokens.trainer2)).status).to.equal(200);
        const view = await call('GET', `/v1/recordings/${rec.id}/calibration`, tokens.trainer2);
        expect(view.status, JSON.stringify(view.body)).to.equal(200);
        expect(view.body).to.deep.include({ recordingId: rec.id, formId, formVersion: 1, evaluators: 2 });
        expect(view.body.scores).to.deep.equal({
          items: [
            { evaluator: 'theo', score: 61.11 },
            { evaluator: 'tina', score: 100 },
          ],
          spread: 38.89,
        });
        const spreads = Object.fromEntries(
          (view.body.questions as Array<{ id: string; spread: number | null }>).map((q) => [q.id, q.spread]),
        );
        // greet: one answer counts (na left out); tone: 1 − 0.25; outcome: 1 − 0.5
        expect(spreads).to.deep.equal({ greet: null, name: 0, tone: 75, outcome: 50 });
        const admin = await call('GET', `/v1/recordings/${rec.id}/calibration`, tokens.admin);
        expect(admin.body.evaluators).to.equal(2);
      });
    });

    describe('a recording deleted while evaluated', function () {
      const deletedEvaluationReadable = async (
        rec: { id: string; original_key: string; playback_key: string },
        evaluationId: string,
      ) => {
        const recordingId = rec.id;
        const seq = Number(
          ((await tdb.db.knex('deletion_log').where({ recording_id: recordingId }).first('seq')) as { seq: unknown })
            .seq,
        );
        const got = await call('GET', `/v1/evaluations/${evaluationId}`, tokens.trainer);
        expect(got.status).to.equal(200);
        expect(got.body).to.deep.include({ score: 70, recording: { exists: false, deletionEntry: seq } });
        expect((await call('GET', `/v1/recordings/${recordingId}/audio`, tokens.trainer)).status).to.equal(404);
        for (const key of [rec.original_key, rec.playback_key]) expect(await tstore.store.exists(key)).to.equal(false);
        const listed = await call('GET', `/v1/recordings/${recordingId}/evaluations`, tokens.trainer);
        expect(listed.body.items!.map((e) => e.id)).to.deep.equal([evaluationId]);
      };

      it('when it is erased on request, then the evaluation stays readable with its deletion-log entry and the audio is gone', async () => {
        const rec = await record({ caller_number: '+31301112233' });
        const id = (await evaluate(rec.id, tokens.trainer)).body.id as string;
        const erased = await call('DELETE', `/v1/recordings/${rec.id}`, tokens.privacy, {
          reason: 'erasure_request',
          reference: 'REQ-20',
        });
        expect(erased.status, JSON.stringify(erased.body)).to.equal(200);
        await deletedEvaluationReadable(rec, id);
      });

      it('when the sweeper deletes it at its deadline, then the evaluation stays readable with its deletion-log entry and the audio is gone', async () => {
        const rec = await record({ expires_at: clock.now() + HOUR });
        const id = (await evaluate(rec.id, tokens.trainer)).body.id as string;
        const result = await sweepOnce(app.deps, { now: clock.now() + 2 * HOUR, batchSize: 50, leaseMs: 60_000 });
        expect(result.deleted.map((d) => d.recordingId)).to.include(rec.id);
        await deletedEvaluationReadable(rec, id);
      });
    });

    describe('retention of evaluations', function () {
      it('when an evaluation reaches its own deadline, then the job deletes it with an access-log entry', async () => {
        const rec = await record();
        const id = (await evaluate(rec.id, tokens.trainer)).body.id as string;
        const expiresAt = Date.parse(
          (await call('GET', `/v1/evaluations/${id}`, tokens.admin)).body.expiresAt as string,
        );
        expect((await expireEvaluations(app.deps, { now: expiresAt - 1 })).deleted).to.not.include(id);
        const result = await expireEvaluations(app.deps, { now: expiresAt });
        expect(result.deleted).to.include(id);
        expect((await call('GET', `/v1/evaluations/${id}`, tokens.admin)).status).to.equal(404);
        const entries = await queryAccess(tdb.db.knex, { action: 'eval_expired', limit: 500 });
        expect(entries.find((e) => e.detail === `evaluation ${id}`)).to.deep.include({
          username: 'sweeper',
          recordingId: rec.id,
          at: new Date(expiresAt).toISOString(),
        });
        expect(await tdb.db.knex('evaluation_section_scores').where({ evaluation_id: id })).to.have.length(0);
      });
    });
  });
}

function q(id: string) {
  return { id, text: `Question ${id}`, type: 'yesno', weight: 1 };
}
function choice(value: string) {
  return { value, score: 1 };
}
