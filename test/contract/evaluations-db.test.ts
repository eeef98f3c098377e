/**
 * The training-review db module (src/db/evaluations.ts) on every `dbBackends` entry (SQLite and
 * a real PostgreSQL): form versions, evaluations with section scores and timestamped comments,
 * draft-only updates, responses, the visibility scope (queues, drafts, blind calibration), search
 * with its cursor, recording states from the deletion log, and the expiry of evaluations.
 */
import { expect } from 'chai';
import { ulid } from 'ulid';
import {
  deleteExpiredEvaluations,
  findEvaluation,
  findFormVersion,
  hasSubmittedCalibration,
  insertEvaluation,
  insertForm,
  insertFormVersion,
  listForms,
  listFormVersions,
  nextEvaluationExpiry,
  recordingStates,
  respondToEvaluation,
  searchEvaluations,
  updateDraft,
} from '../../src/db/evaluations.js';
import type { EvaluationScope, NewEvaluation } from '../../src/db/evaluations.js';
import { insertRecording } from '../../src/db/recordings.js';
import { dbBackends } from '../support/backends.js';
import type { TestDb } from '../support/backends.js';
import { buildEvaluation, buildForm, T0 } from '../support/evaluations.js';
import { buildRecordingRow } from '../support/recordings.js';

const ALL: EvaluationScope = { queues: null, viewer: null };

for (const backend of dbBackends) {
  describe(`evaluations db module (${backend.name})`, function () {
    let t: TestDb;
    let formId: string;

    beforeEach(async () => {
      t = await backend.create();
      formId = ulid();
      await insertForm(t.db.knex, { id: formId, definition: buildForm(), createdBy: 'admin', at: T0 });
    });
    afterEach(async () => t.dispose());

    it('when a form gets new versions, then each keeps its definition and the form its latest name', async () => {
      const v2 = await insertFormVersion(t.db.knex, {
        formId,
        definition: buildForm({ name: 'Support v2' }),
        createdBy: 'admin',
        at: T0 + 1,
      });
      expect(v2?.version).to.equal(2);
      expect((await findFormVersion(t.db.knex, formId, 1))?.definition.name).to.equal('Inbound support');
      expect((await findFormVersion(t.db.knex, formId))?.version).to.equal(2);
      expect(await listFormVersions(t.db.knex, formId)).to.deep.equal([1, 2]);
      expect(await listForms(t.db.knex)).to.deep.equal([{ id: formId, name: 'Support v2', version: 2, createdAt: T0 }]);
      expect(
        await insertFormVersion(t.db.knex, { formId: ulid(), definition: buildForm(), createdBy: 'a', at: 1 }),
      ).to.equal(undefined);
    });

    it('when two versions are written at once, then they get distinct numbers', async () => {
      const write = () => insertFormVersion(t.db.knex, { formId, definition: buildForm(), createdBy: 'a', at: T0 });
      const versions = (await Promise.all([write(), write(), write()])).map((v) => v?.version).sort();
      expect(versions).to.deep.equal([2, 3, 4]);
    });

    it('when an evaluation is stored, then it reads back exactly with its section scores and comments', async () => {
      const e = buildEvaluation(formId, {
        score: 77.78,
        answers: { greet: 'na', tone: 3, outcome: 'partly' },
        comments: { greet: 'Said the name twice' },
        sectionScores: [
          { section: '1', score: 66.67 },
          { section: '0', score: 100 },
        ],
        timedComments: [
          { id: ulid(), author: 'trainer-a', offsetMs: 2500, text: 'late', createdAt: T0 },
          { id: ulid(), author: 'trainer-a', offsetMs: 100, text: 'early', createdAt: T0 },
        ],
      });
      await insertEvaluation(t.db.knex, e);
      const got = await findEvaluation(t.db.knex, e.id);
      expect(got).to.deep.include({
        score: 77.78,
        answers: e.answers,
        comments: e.comments,
        calibration: false,
        agentComment: null,
        respondedAt: null,
        expiresAt: e.expiresAt,
      });
      expect(got?.sectionScores).to.deep.equal([
        { section: '0', score: 100 },
        { section: '1', score: 66.67 },
      ]);
      expect(got?.timedComments.map((c) => c.text)).to.deep.equal(['early', 'late']);
    });

    it('when a draft is updated, then only its evaluator changes it, and only while it is a draft', async () => {
      const e = buildEvaluation(formId, { status: 'draft', score: null, submittedAt: null, sectionScores: [] });
      await insertEvaluation(t.db.knex, e);
      const change = (evaluator: string) =>
        updateDraft(t.db.knex, {
          id: e.id,
          evaluator,
          status: 'submitted',
          calibration: false,
          answers: { greet: 'no' },
          comments: {},
          score: 0,
          sectionScores: [{ section: '0', score: 0 }],
          timedComments: [{ id: ulid(), author: evaluator, offsetMs: 1, text: 'x', createdAt: T0 + 5 }],
          at: T0 + 5,
        });
      expect(await change('trainer-b')).to.equal(false);
      expect(await change('trainer-a')).to.equal(true);
      const got = await findEvaluation(t.db.knex, e.id);
      expect(got).to.deep.include({ status: 'submitted', score: 0, submittedAt: T0 + 5, updatedAt: T0 + 5 });
      expect(got?.timedComments).to.have.length(1);
      expect(await change('trainer-a')).to.equal(false);
    });

    it('when an evaluation is acknowledged, then only a submitted one changes', async () => {
      const e = buildEvaluation(formId);
      await insertEvaluation(t.db.knex, e);
      const respond = () =>
        respondToEvaluation(t.db.knex, { id: e.id, status: 'acknowledged', comment: 'ok', at: T0 + 9 });
      expect(await respond()).to.equal(true);
      expect(await findEvaluation(t.db.knex, e.id)).to.deep.include({
        status: 'acknowledged',
        agentComment: 'ok',
        respondedAt: T0 + 9,
      });
      expect(await respond()).to.equal(false);
    });

    it('when scoped, then queues, others’ drafts and blind calibration are applied', async () => {
      const recordingId = ulid();
      const other = buildEvaluation(formId, { recordingId, evaluator: 'trainer-b', calibration: true });
      const otherDraft = buildEvaluation(formId, { evaluator: 'trainer-b', status: 'draft' });
      const elsewhere = buildEvaluation(formId, { queue: 'sales' });
      for (const e of [other, otherDraft, elsewhere]) await insertEvaluation(t.db.knex, e);
      const trainerA: EvaluationScope = { queues: ['support'], viewer: 'trainer-a' };
      const seen = async (scope: EvaluationScope) =>
        (await searchEvaluations(t.db.knex, { scope, limit: 50 })).map((e) => e.id).sort();

      expect(await seen(ALL)).to.deep.equal([other.id, otherDraft.id, elsewhere.id].sort());
      expect(await seen(trainerA)).to.deep.equal([]);
      expect(await findEvaluation(t.db.knex, other.id, trainerA)).to.equal(undefined);

      const mine = buildEvaluation(formId, { recordingId, calibration: true, status: 'draft' });
      await insertEvaluation(t.db.knex, mine);
      expect(await seen(trainerA)).to.deep.equal([mine.id]);
      expect(await hasSubmittedCalibration(t.db.knex, recordingId, 'trainer-a')).to.equal(false);

      await updateDraft(t.db.knex, { ...mine, status: 'submitted', at: T0 + 1 });
      expect(await hasSubmittedCalibration(t.db.knex, recordingId, 'trainer-a')).to.equal(true);
      expect(await seen(trainerA)).to.deep.equal([other.id, mine.id].sort());
      expect(await seen({ queues: null, viewer: null, calibration: false })).to.deep.equal(
        [otherDraft.id, elsewhere.id].sort(),
      );
      expect(await seen({ queues: null, viewer: null, agentId: 'agent-2' })).to.deep.equal([]);
      expect(await seen({ queues: [], viewer: null })).to.deep.equal([]);
    });

    it('when searched page by page, then every evaluation comes once, newest call first, filters applied', async () => {
      const made: NewEvaluation[] = [];
      for (let i = 0; i < 5; i++) {
        const e = buildEvaluation(formId, { callStartedAt: T0 + (i % 3) * 1000, agentId: i === 4 ? 'agent-2' : 'a' });
        made.push(e);
        await insertEvaluation(t.db.knex, e);
      }
      const ids: string[] = [];
      let after: { callStartedAt: number; id: string } | undefined;
      for (;;) {
        const page = await searchEvaluations(t.db.knex, { scope: ALL, after, limit: 2 });
        if (page.length === 0) break;
        ids.push(...page.map((e) => e.id));
        const last = page[page.length - 1]!;
        after = { callStartedAt: last.callStartedAt, id: last.id };
      }
      const expected = [...made]
        .sort((a, b) => b.callStartedAt - a.callStartedAt || (a.id < b.id ? 1 : -1))
        .map((e) => e.id);
      expect(ids).to.deep.equal(expected);
      const byAgent = await searchEvaluations(t.db.knex, { scope: ALL, agentId: 'agent-2', limit: 10 });
      expect(byAgent.map((e) => e.id)).to.deep.equal([made[4]!.id]);
      const inRange = await searchEvaluations(t.db.knex, { scope: ALL, from: T0 + 1000, to: T0 + 2000, limit: 10 });
      expect(inRange.map((e) => e.callStartedAt)).to.deep.equal([T0 + 1000, T0 + 1000]);
    });

    it('when recordings exist, were redacted or were deleted, then their states come from the recordings and the deletion log', async () => {
      const { row } = buildRecordingRow();
      await insertRecording(t.db.knex, row);
      const deletedId = ulid();
      const entry = (seq: number, recordingId: string, reason: string) => ({
        seq,
        recording_id: recordingId,
        source: 'pbx-test',
        call_id: 'c',
        reason,
        actor: 'privacy',
        started_at: 1,
        expires_at: 2,
        deleted_at: 3,
        objects: '[]',
        verified: true,
        prev_hash: '0'.repeat(64),
        hash: String(seq).repeat(64),
        span: reason === 'redaction' ? '{"endMs":2000,"startMs":1000}' : null,
      });
      // A redaction deletes old objects of a recording that lives on: its entry is not the recording's deletion.
      await t.db.knex('deletion_log').insert(entry(1, deletedId, 'redaction'));
      await t.db.knex('deletion_log').insert(entry(2, deletedId, 'erasure_request'));
      await t.db.knex('deletion_log').insert(entry(3, row.id, 'redaction'));
      const states = await recordingStates(t.db.knex, [row.id, deletedId, ulid()]);
      expect([...states.entries()].sort()).to.deep.equal(
        [
          [row.id, null],
          [deletedId, 2],
        ].sort(),
      );
    });

    it('when evaluations expire, then exactly the expired go with their children, each reported in the transaction', async () => {
      const expired = buildEvaluation(formId, {
        expiresAt: T0,
        timedComments: [{ id: ulid(), author: 'a', offsetMs: 1, text: 'x', createdAt: T0 }],
      });
      const kept = buildEvaluation(formId, { expiresAt: T0 + 1 });
      await insertEvaluation(t.db.knex, expired);
      await insertEvaluation(t.db.knex, kept);
      const reported: string[] = [];
      const deleted = await deleteExpiredEvaluations(t.db.knex, {
        now: T0,
        limit: 10,
        onDeleted: async (_trx, e) => void reported.push(e.id),
      });
      expect(deleted.map((e) => e.id)).to.deep.equal([expired.id]);
      expect(reported).to.deep.equal([expired.id]);
      expect(await findEvaluation(t.db.knex, expired.id)).to.equal(undefined);
      expect(await t.db.knex('evaluation_comments').where({ evaluation_id: expired.id })).to.have.length(0);
      expect(await t.db.knex('evaluation_section_scores').where({ evaluation_id: expired.id })).to.have.length(0);
      expect(await nextEvaluationExpiry(t.db.knex)).to.equal(T0 + 1);
    });

    it('when logging a deletion fails, then the evaluation stays', async () => {
      const expired = buildEvaluation(formId, { expiresAt: T0 });
      await insertEvaluation(t.db.knex, expired);
      const attempt = deleteExpiredEvaluations(t.db.knex, {
        now: T0,
        limit: 10,
        onDeleted: async () => {
          throw new Error('log unavailable');
        },
      });
      await attempt.then(
        () => expect.fail('expected the failure'),
        (error: Error) => expect(error.message).to.equal('log unavailable'),
      );
      expect(await findEvaluation(t.db.knex, expired.id)).to.not.equal(undefined);
    });
  });
}
