/**
 * `GET /v1/scorecards` (#20) on SQLite and PostgreSQL, against evaluation rows written directly (the
 * columns are fixed by the migration). Expectations are computed by hand from the table below.
 *
 * | eval | agent   | queue   | form | status       | score | sections        | call start (UTC)     | week (Amsterdam) |
 * | e1   | agent-1 | billing | A    | submitted    | 80    | 0:100 1:60      | 2026-11-23 10:00     | 2026-W48 |
 * | e2   | agent-1 | support | A    | acknowledged | 60    | 0:50  1:70      | 2026-11-24 10:00     | 2026-W48 |
 * | e3   | agent-1 | billing | B    | disputed     | 90    | 0:90            | 2026-11-16 10:00     | 2026-W47 |
 * | e4   | agent-2 | billing | A    | submitted    | 40    | 0:40  1:40      | 2026-11-23 10:00     | 2026-W48 |
 * | e5   | agent-3 | support | A    | submitted    | 70    | 0:70  1:70      | 2026-11-22 23:30 (Mon 00:30 CET)  | 2026-W48 |
 * | e6   | agent-3 | support | A    | submitted    | 50    | 0:50  1:50      | 2026-11-22 22:30 (Sun 23:30 CET)  | 2026-W47 |
 * | e7   | agent-3 | support | A    | submitted    | 30    | 0:30  1:30      | 2026-06-28 22:30 (Mon 00:30 CEST) | 2026-W27 |
 * | —    | agent-1 | billing | A    | draft, calibration, or a call of 2025-06-01 (outside the default year): never counted |
 */
import { expect } from 'chai';
import { createManualClock } from '../../src/clock.js';
import { startTestApp, testConfig } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { createStoredEvaluation, createStoredForm } from '../support/evaluation-rows.js';
import type { EvaluationRow, StoredForm } from '../support/evaluation-rows.js';
import { createTestUser } from '../support/users.js';

const fsBackend = storeBackends.find((b) => b.name === 'fs')!;
const NOW = Date.parse('2026-11-30T12:00:00Z');

interface Item {
  agentId?: string | null;
  queue?: string | null;
  formId?: string;
  displayName?: string;
  evaluations: number;
  averageScore: number | null;
  sections: Array<{ formId: string; section: string; title?: string; evaluations: number; averageScore: number }>;
  weeks: Array<{ week: string; weekStart: string; evaluations: number; averageScore: number }>;
}

for (const dbBackend of dbBackends) {
  describe(`scorecards (${dbBackend.name})`, function () {
    this.timeout(60_000);
    let tdb: TestDb;
    let tstore: TestStore;
    let app: TestApp;
    let formA: StoredForm;
    let formB: StoredForm;
    const tokens = {} as Record<'admin' | 'trainer' | 'agent' | 'auditor' | 'privacy', string>;

    const get = async (path: string, who: keyof typeof tokens = 'admin', accept = 'application/json') =>
      fetch(`${app.url}${path}`, { headers: { authorization: `Bearer ${tokens[who]}`, accept } });
    const items = async (path: string, who: keyof typeof tokens = 'admin') => {
      const res = await get(path, who);
      expect(res.status, await res.clone().text()).to.equal(200);
      return ((await res.json()) as { items: Item[] }).items;
    };
    const totals = (list: Item[], key: 'agentId' | 'queue' | 'formId') =>
      Object.fromEntries(list.map((i) => [String(i[key]), [i.evaluations, i.averageScore]]));

    before(async () => {
      tdb = await dbBackend.create();
      tstore = await fsBackend.create();
      app = await startTestApp({
        db: tdb.db,
        store: tstore.store,
        clock: createManualClock(NOW),
        config: testConfig({ CALLREC_TIME_ZONE: 'Europe/Amsterdam' }),
      });
      tokens.admin = (await createTestUser(tdb.db, { role: 'admin' })).token;
      tokens.trainer = (await createTestUser(tdb.db, { role: 'trainer', queues: ['billing'] })).token;
      const agent = await createTestUser(tdb.db, { role: 'agent', agentId: 'agent-1' });
      await tdb.db.knex('users').where({ id: agent.user.id }).update({ display_name: 'Anna Jansen' });
      tokens.agent = agent.token;
      tokens.auditor = (await createTestUser(tdb.db, { role: 'auditor' })).token;
      tokens.privacy = (await createTestUser(tdb.db, { role: 'privacy' })).token;
      formA = await createStoredForm(tdb.db.knex, { name: 'Inbound', sections: ['Greeting', 'Solution'] });
      formB = await createStoredForm(tdb.db.knex, { name: 'Outbound', sections: ['Opening'] });
      const add = (form: StoredForm, overrides: Partial<EvaluationRow>, sectionScores?: Record<string, number>) =>
        createStoredEvaluation(tdb.db.knex, { form, overrides, sectionScores });
      const at = (iso: string) => Date.parse(iso);
      const a1 = { agent_id: 'agent-1', queue: 'billing' };
      await add(formA, { ...a1, score: 80, call_started_at: at('2026-11-23T10:00:00Z') }, { '0': 100, '1': 60 });
      await add(
        formA,
        { ...a1, queue: 'support', status: 'acknowledged', score: 60, call_started_at: at('2026-11-24T10:00:00Z') },
        { '0': 50, '1': 70 },
      );
      await add(formB, { ...a1, status: 'disputed', score: 90, call_started_at: at('2026-11-16T10:00:00Z') });
      await add(formA, {
        agent_id: 'agent-2',
        queue: 'billing',
        score: 40,
        call_started_at: at('2026-11-23T10:00:00Z'),
      });
      const a3 = { agent_id: 'agent-3', queue: 'support' };
      await add(formA, { ...a3, score: 70, call_started_at: at('2026-11-22T23:30:00Z') });
      await add(formA, { ...a3, score: 50, call_started_at: at('2026-11-22T22:30:00Z') });
      await add(formA, { ...a3, score: 30, call_started_at: at('2026-06-28T22:30:00Z') });
      // Never counted: a draft, a calibration evaluation, a call before the default period.
      await add(formA, { ...a1, status: 'draft', score: null, call_started_at: at('2026-11-23T11:00:00Z') }, {});
      await add(formA, { ...a1, calibration: true, score: 0, call_started_at: at('2026-11-23T12:00:00Z') });
      await add(formA, { ...a1, score: 10, call_started_at: at('2025-06-01T10:00:00Z') });
    });
    after(async () => {
      await app?.close();
      await tstore?.dispose();
      await tdb?.dispose();
    });

    it('when an admin asks per agent, then each agent has the count, average, per-form sections with titles and ISO weeks; drafts, calibration and calls before the period are left out', async () => {
      const list = await items('/v1/scorecards');
      expect(totals(list, 'agentId')).to.deep.equal({
        'agent-1': [3, 76.67],
        'agent-2': [1, 40],
        'agent-3': [3, 50],
      });
      const anna = list.find((i) => i.agentId === 'agent-1')!;
      expect(anna.displayName).to.equal('Anna Jansen');
      expect(anna.sections).to.deep.equal([
        ...[
          { formId: formA.id, section: '0', title: 'Greeting', evaluations: 2, averageScore: 75 },
          { formId: formA.id, section: '1', title: 'Solution', evaluations: 2, averageScore: 65 },
          { formId: formB.id, section: '0', title: 'Opening', evaluations: 1, averageScore: 90 },
        ].sort((a, b) => (a.formId < b.formId ? -1 : a.formId > b.formId ? 1 : 0)),
      ]);
      expect(anna.weeks).to.deep.equal([
        { week: '2026-W47', weekStart: '2026-11-15T23:00:00.000Z', evaluations: 1, averageScore: 90 },
        { week: '2026-W48', weekStart: '2026-11-22T23:00:00.000Z', evaluations: 2, averageScore: 70 },
      ]);
    });

    it('when calls lie around midnight Sunday to Monday in the time zone, then they fall in the week of their local date, summer time included', async () => {
      const list = await items('/v1/scorecards?agentId=agent-3');
      expect(list.map((i) => i.agentId)).to.deep.equal(['agent-3']);
      expect(list[0]!.weeks).to.deep.equal([
        { week: '2026-W27', weekStart: '2026-06-28T22:00:00.000Z', evaluations: 1, averageScore: 30 },
        { week: '2026-W47', weekStart: '2026-11-15T23:00:00.000Z', evaluations: 1, averageScore: 50 },
        { week: '2026-W48', weekStart: '2026-11-22T23:00:00.000Z', evaluations: 1, averageScore: 70 },
      ]);
    });

    it('when grouped by queue or by form, then the items are queues or forms (forms named)', async () => {
      expect(totals(await items('/v1/scorecards?groupBy=queue'), 'queue')).to.deep.equal({
        billing: [3, 70],
        support: [4, 52.5],
      });
      const forms = await items('/v1/scorecards?groupBy=form');
      expect(totals(forms, 'formId')).to.deep.equal({ [formA.id]: [6, 55], [formB.id]: [1, 90] });
      expect(forms.find((f) => f.formId === formB.id)!.displayName).to.equal('Outbound');
    });

    it('when a period and filters are given, then only calls started in [from, to) of that agent, queue and form count', async () => {
      expect(
        totals(await items('/v1/scorecards?agentId=agent-1&from=2026-11-20&to=2026-11-30'), 'agentId'),
      ).to.deep.equal({ 'agent-1': [2, 70] });
      expect(totals(await items(`/v1/scorecards?queue=billing&formId=${formA.id}`), 'agentId')).to.deep.equal({
        'agent-1': [1, 80],
        'agent-2': [1, 40],
      });
      // The 2025 call counts once the period reaches back to it.
      expect(
        totals(await items('/v1/scorecards?agentId=agent-1&from=2025-01-01T00:00:00Z&to=2026-12-01'), 'agentId'),
      ).to.deep.equal({ 'agent-1': [4, 60] });
    });

    it('when a trainer limited to billing asks, then only billing evaluations count, and another queue finds nothing', async () => {
      expect(totals(await items('/v1/scorecards', 'trainer'), 'agentId')).to.deep.equal({
        'agent-1': [2, 85],
        'agent-2': [1, 40],
      });
      expect(await items('/v1/scorecards?queue=support', 'trainer')).to.deep.equal([]);
    });

    it('when an agent asks, then only their own scorecard comes back, whatever the grouping; another agent finds nothing', async () => {
      expect(totals(await items('/v1/scorecards', 'agent'), 'agentId')).to.deep.equal({ 'agent-1': [3, 76.67] });
      expect(totals(await items('/v1/scorecards?groupBy=queue', 'agent'), 'queue')).to.deep.equal({
        billing: [2, 85],
        support: [1, 60],
      });
      expect(await items('/v1/scorecards?agentId=agent-2', 'agent')).to.deep.equal([]);
    });

    it('when CSV is asked for (Accept or format=csv), then one line per total, week and section, the same figures', async () => {
      for (const res of [
        await get('/v1/scorecards?groupBy=queue&format=csv'),
        await get('/v1/scorecards?groupBy=queue', 'admin', 'text/csv'),
      ]) {
        expect(res.status).to.equal(200);
        expect(res.headers.get('content-type')).to.equal('text/csv; charset=utf-8');
        expect(res.headers.get('content-disposition')).to.equal('attachment; filename="scorecards-queue.csv"');
        const lines = (await res.text()).split('\r\n');
        expect(lines[0]).to.equal('queue,displayName,kind,week,formId,section,title,evaluations,averageScore');
        expect(lines).to.include('billing,,total,,,,,3,70');
        expect(lines).to.include('billing,,week,2026-W48,,,,2,60');
        expect(lines).to.include(`billing,,section,,${formA.id},1,Solution,2,50`);
        expect(lines.at(-1)).to.equal('');
      }
    });

    it('when the query is malformed, then 400 invalid_query', async () => {
      for (const query of ['groupBy=team', 'from=yesterday', 'formId=nope', 'x=1']) {
        const res = await get(`/v1/scorecards?${query}`);
        expect(res.status, query).to.equal(400);
        expect(((await res.json()) as { code: string }).code).to.equal('invalid_query');
      }
    });

    it('when valid dates make an empty period or one over 5 years (from year 20, as a fuzzer sent), then 422 invalid_period', async () => {
      for (const query of ['from=2026-11-30&to=2026-11-01', 'from=2026-11-01&to=2026-11-01', 'from=0020-02-29']) {
        const res = await get(`/v1/scorecards?${query}`);
        expect(res.status, query).to.equal(422);
        const body = (await res.json()) as { code: string; fields: Array<{ field: string }> };
        expect(body.code).to.equal('invalid_period');
        expect(body.fields.map((f) => f.field)).to.deep.equal(['from']);
      }
    });

    it('when an auditor or a privacy officer asks, then 403', async () => {
      expect((await get('/v1/scorecards', 'auditor')).status).to.equal(403);
      expect((await get('/v1/scorecards', 'privacy')).status).to.equal(403);
    });
  });
}
