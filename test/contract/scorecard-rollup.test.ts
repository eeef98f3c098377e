/**
 * The scorecards' weekly roll-up (migration 20261204235400, src/db/scorecard-rollup.ts) on SQLite and
 * PostgreSQL. A seeded random history of evaluations written through the db module (inserts of drafts,
 * submitted and calibration evaluations, draft submissions, acknowledgements, disputes, expiries) and a few
 * writes no code path makes today (a moved call start, agent or queue; a section score changed or removed):
 * afterwards the roll-up equals the aggregate of the rows, and scorecards for random periods equal an oracle
 * computed here in plain JS from the rows (weeks from Intl's local date, not from src/training/weeks.ts).
 * Also: a change of CALLREC_TIME_ZONE rebuilds the roll-up at start-up in the new zone.
 */
import { expect } from 'chai';
import type { Knex } from 'knex';
import { ulid } from 'ulid';
import {
  deleteExpiredEvaluations,
  insertEvaluation,
  insertForm,
  respondToEvaluation,
  updateDraft,
} from '../../src/db/evaluations.js';
import { rollupTimeZone } from '../../src/db/scorecard-rollup.js';
import type { ScorecardFilter, ScorecardGroup } from '../../src/db/scorecards.js';
import type { AppDeps } from '../../src/deps.js';
import { ensureScorecardRollup } from '../../src/training/index.js';
import { scorecardRows } from '../../src/training/scorecard-routes.js';
import { wholeWeeks } from '../../src/training/weeks.js';
import { dbBackends } from '../support/backends.js';
import type { TestDb } from '../support/backends.js';
import { buildEvaluation, buildForm } from '../support/evaluations.js';
import { seededRandom } from '../support/random.js';
import type { SeededRandom } from '../support/random.js';

const DAY = 86_400_000;
const COUNTED = new Set(['submitted', 'acknowledged', 'disputed']);
const AGENTS = ['agent-1', 'agent-2', 'agent-3', null];
const QUEUES = ['billing', 'support', null];
/** Instants around which calls cluster: Amsterdam's summer-time changes and Monday midnights around them. */
const HOT = [
  '2026-03-29T01:00:00Z',
  '2026-03-29T22:00:00Z',
  '2026-03-22T23:00:00Z',
  '2026-10-25T01:00:00Z',
  '2026-10-25T23:00:00Z',
  '2026-10-18T22:00:00Z',
  '2026-11-08T05:00:00Z',
].map(Date.parse);
const YEAR_FROM = Date.parse('2026-01-01T00:00:00Z');
const YEAR_TO = Date.parse('2027-01-01T00:00:00Z');

const noLogger = { info() {}, warn() {}, error() {}, debug() {} } as unknown as AppDeps['logger'];
const depsOf = (t: TestDb, timeZone: string) =>
  ({ db: t.db, config: { timeZone }, logger: noLogger }) as unknown as Pick<AppDeps, 'db' | 'config' | 'logger'>;

/** The oracle's week: days from Monday 1970-01-05 to the call's local date in `timeZone`, over 7. */
function oracleWeek(ms: number, timeZone: string): number {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  ) as Record<string, string>;
  const day = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day)) / DAY;
  return Math.floor((day - 4) / 7);
}

interface Row {
  id: string;
  agent_id: string | null;
  queue: string | null;
  form_id: string;
  call_started_at: number;
  status: string;
  calibration: boolean;
  score: number | null;
  sections: Array<{ section: string; score: number }>;
}

async function readRows(knex: Knex): Promise<Row[]> {
  const evals = (await knex('evaluations').select(
    'id',
    'agent_id',
    'queue',
    'form_id',
    'call_started_at',
    'status',
    'calibration',
    'score',
  )) as Array<Omit<Row, 'sections'> & { call_started_at: number | string; calibration: boolean | number }>;
  const sections = (await knex('evaluation_section_scores').select('evaluation_id', 'section_id', 'score')) as Array<{
    evaluation_id: string;
    section_id: string;
    score: number | string;
  }>;
  return evals.map((e) => ({
    ...e,
    call_started_at: Number(e.call_started_at),
    calibration: Boolean(e.calibration),
    score: e.score === null ? null : Number(e.score),
    sections: sections
      .filter((s) => s.evaluation_id === e.id)
      .map((s) => ({ section: s.section_id, score: Number(s.score) })),
  }));
}

const cents = (score: number) => Math.round(score * 100);

/** The roll-up tables as they should be: from the rows, in plain JS. */
function oracleRollup(rows: Row[], timeZone: string) {
  const weeks = new Map<string, [number, number, number]>();
  const sections = new Map<string, [number, number]>();
  for (const r of rows) {
    if (!COUNTED.has(r.status) || r.calibration) continue;
    const base = [r.agent_id === null ? '' : `=${r.agent_id}`, r.queue === null ? '' : `=${r.queue}`, r.form_id];
    const week = oracleWeek(r.call_started_at, timeZone);
    const k = JSON.stringify([...base, week]);
    const w = weeks.get(k) ?? [0, 0, 0];
    weeks.set(k, [w[0] + 1, w[1] + (r.score === null ? 0 : 1), w[2] + (r.score === null ? 0 : cents(r.score))]);
    for (const s of r.sections) {
      const sk = JSON.stringify([...base, week, s.section]);
      const v = sections.get(sk) ?? [0, 0];
      sections.set(sk, [v[0] + 1, v[1] + cents(s.score)]);
    }
  }
  return { weeks, sections };
}

async function storedRollup(knex: Knex) {
  const weeks = new Map<string, [number, number, number]>();
  const sections = new Map<string, [number, number]>();
  for (const r of (await knex('scorecard_weeks').select('*')) as Array<Record<string, string | number>>) {
    const k = JSON.stringify([r.agent_key, r.queue_key, r.form_id, Number(r.week)]);
    weeks.set(k, [Number(r.evaluations), Number(r.scored), Number(r.score_sum)]);
  }
  for (const r of (await knex('scorecard_sections').select('*')) as Array<Record<string, string | number>>) {
    const k = JSON.stringify([r.agent_key, r.queue_key, r.form_id, Number(r.week), r.section_id]);
    sections.set(k, [Number(r.evaluations), Number(r.score_sum)]);
  }
  return { weeks, sections };
}

const sorted = <T>(m: Map<string, T>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

interface Query {
  groupBy: ScorecardGroup;
  from: number;
  to: number;
  agentId?: string;
  queue?: string;
  queues: string[] | null;
}

/** A scorecard's grouped rows from the rows in plain JS: per key and week, per key, form and section. */
function oracleScorecard(rows: Row[], q: Query, timeZone: string) {
  const weeks = new Map<string, [number, number, number]>();
  const sections = new Map<string, [number, number]>();
  for (const r of rows) {
    if (!COUNTED.has(r.status) || r.calibration) continue;
    if (r.call_started_at < q.from || r.call_started_at >= q.to) continue;
    if (q.agentId !== undefined && r.agent_id !== q.agentId) continue;
    if (q.queue !== undefined && r.queue !== q.queue) continue;
    if (q.queues !== null && (r.queue === null || !q.queues.includes(r.queue))) continue;
    const key = q.groupBy === 'agent' ? r.agent_id : q.groupBy === 'queue' ? r.queue : r.form_id;
    const wk = JSON.stringify([key, oracleWeek(r.call_started_at, timeZone)]);
    const w = weeks.get(wk) ?? [0, 0, 0];
    weeks.set(wk, [w[0] + 1, w[1] + (r.score === null ? 0 : 1), w[2] + (r.score === null ? 0 : cents(r.score))]);
    for (const s of r.sections) {
      const sk = JSON.stringify([key, r.form_id, s.section]);
      const v = sections.get(sk) ?? [0, 0];
      sections.set(sk, [v[0] + 1, v[1] + cents(s.score)]);
    }
  }
  return { weeks: sorted(weeks), sections: sorted(sections) };
}

async function answered(t: TestDb, q: Query, timeZone: string) {
  const filter: ScorecardFilter = {
    ...q,
    weeks: { segments: [{ until: null, offsetMs: 0 }], mondayMs: 0, weekMs: 1 },
  };
  const { weeks, sections } = await scorecardRows(depsOf(t, timeZone), filter);
  return {
    weeks: sorted(
      new Map(
        weeks.map((w) => [JSON.stringify([w.key, w.week]), [w.evaluations, w.scored, w.scoreHundredths]] as const),
      ),
    ),
    sections: sorted(
      new Map(
        sections.map(
          (s) => [JSON.stringify([s.key, s.formId, s.section]), [s.evaluations, s.scoreHundredths]] as const,
        ),
      ),
    ),
  };
}

function randomInstant(random: SeededRandom): number {
  if (random.next() < 0.5) {
    const hot = HOT[random.int(0, HOT.length)]!;
    const spread = [1, 1000, 3_600_000, 2 * DAY][random.int(0, 4)]!;
    return hot + random.int(-spread, spread + 1);
  }
  return random.int(YEAR_FROM, YEAR_TO);
}

function randomQuery(random: SeededRandom): Query {
  const a = randomInstant(random);
  const b = random.next() < 0.3 ? randomInstant(random) : a + random.int(1, 120 * DAY);
  const q: Query = {
    groupBy: (['agent', 'queue', 'form'] as const)[random.int(0, 3)]!,
    from: Math.min(a, b),
    to: Math.max(a, b) + 1,
    queues: null,
  };
  const roll = random.next();
  if (roll < 0.15) q.agentId = AGENTS[random.int(0, 3)]!;
  else if (roll < 0.25) q.queue = QUEUES[random.int(0, 2)]!;
  else if (roll < 0.35) q.queues = random.next() < 0.5 ? ['billing'] : ['billing', 'support'];
  return q;
}

/** Random scores with two decimals. */
const randomScore = (random: SeededRandom) => random.int(0, 10_001) / 100;

/** A seeded history through the db module; returns how many writes of each kind it made. */
async function history(t: TestDb, random: SeededRandom, formIds: string[], steps: number) {
  const knex = t.db.knex;
  const made = { inserted: 0, submitted: 0, responded: 0, expired: 0, moved: 0, sectionsChanged: 0 };
  for (let i = 0; i < steps; i++) {
    const roll = random.next();
    const ids = async (where: Record<string, unknown>) =>
      ((await knex('evaluations').where(where).select('id')) as Array<{ id: string }>).map((r) => r.id);
    if (roll < 0.5) {
      const kind = random.next();
      const status = kind < 0.3 ? 'draft' : 'submitted';
      const score = status === 'draft' || random.next() < 0.1 ? null : randomScore(random);
      const created = random.int(YEAR_FROM, YEAR_TO);
      await insertEvaluation(
        knex,
        buildEvaluation(formIds[random.int(0, formIds.length)]!, {
          id: ulid(),
          evaluator: `trainer-${random.int(0, 3)}`,
          agentId: AGENTS[random.int(0, AGENTS.length)]!,
          queue: QUEUES[random.int(0, QUEUES.length)]!,
          callStartedAt: randomInstant(random),
          status,
          calibration: kind > 0.85,
          score,
          submittedAt: status === 'draft' ? null : created,
          createdAt: created,
          updatedAt: created,
          expiresAt: created + random.int(1, 200) * DAY,
          sectionScores:
            score === null
              ? []
              : Array.from({ length: random.int(1, 4) }, (_, s) => ({
                  section: String(s),
                  score: randomScore(random),
                })),
          timedComments: [],
        }),
      );
      made.inserted += 1;
    } else if (roll < 0.65) {
      const drafts = (await knex('evaluations').where({ status: 'draft' }).select('id', 'evaluator')) as Array<{
        id: string;
        evaluator: string;
      }>;
      const d = drafts[random.int(0, drafts.length)];
      if (!d) continue;
      const score = randomScore(random);
      const ok = await updateDraft(knex, {
        id: d.id,
        evaluator: d.evaluator,
        status: random.next() < 0.8 ? 'submitted' : 'draft',
        calibration: random.next() < 0.1,
        answers: {},
        comments: {},
        score,
        sectionScores: [
          { section: '0', score: randomScore(random) },
          { section: '2', score: randomScore(random) },
        ],
        timedComments: [],
        at: YEAR_FROM,
      });
      if (ok) made.submitted += 1;
    } else if (roll < 0.78) {
      const submitted = await ids({ status: 'submitted' });
      const id = submitted[random.int(0, submitted.length)];
      if (!id) continue;
      const status = random.next() < 0.6 ? 'acknowledged' : 'disputed';
      if (await respondToEvaluation(knex, { id, status, comment: null, at: YEAR_FROM })) made.responded += 1;
    } else if (roll < 0.88) {
      const now = random.int(YEAR_FROM, YEAR_TO + 100 * DAY);
      const deleted = await deleteExpiredEvaluations(knex, { now, limit: random.int(1, 5), onDeleted: async () => {} });
      made.expired += deleted.length;
    } else if (roll < 0.95) {
      // Writes no code path makes today: the roll-up follows whatever changes a counted row.
      const all = await ids({});
      const id = all[random.int(0, all.length)];
      if (!id) continue;
      const change = random.int(0, 4);
      const update =
        change === 0
          ? { call_started_at: randomInstant(random) }
          : change === 1
            ? { agent_id: AGENTS[random.int(0, AGENTS.length)]! }
            : change === 2
              ? { queue: QUEUES[random.int(0, QUEUES.length)]! }
              : { score: random.next() < 0.2 ? null : randomScore(random) };
      await knex('evaluations').where({ id }).update(update);
      made.moved += 1;
    } else {
      const rows = (await knex('evaluation_section_scores').select('evaluation_id', 'section_id')) as Array<{
        evaluation_id: string;
        section_id: string;
      }>;
      const r = rows[random.int(0, rows.length)];
      if (!r) continue;
      const where = { evaluation_id: r.evaluation_id, section_id: r.section_id };
      if (random.next() < 0.5) await knex('evaluation_section_scores').where(where).delete();
      else
        await knex('evaluation_section_scores')
          .where(where)
          .update({ score: randomScore(random) });
      made.sectionsChanged += 1;
    }
  }
  return made;
}

for (const backend of dbBackends) {
  describe(`scorecard roll-up (${backend.name})`, function () {
    this.timeout(120_000);
    let t: TestDb;
    let formIds: string[];

    beforeEach(async () => {
      t = await backend.create();
      formIds = [];
      for (const name of ['Inbound', 'Outbound']) {
        const id = ulid();
        await insertForm(t.db.knex, { id, definition: buildForm({ name }), createdBy: 'admin', at: YEAR_FROM });
        formIds.push(id);
      }
    });
    afterEach(async () => {
      await t.dispose();
    });

    it('when a seeded history of submits, responses, drafts, calibrations, expiries and corrections ran, then the roll-up equals the rows and every scorecard the plain-JS oracle', async () => {
      const zone = 'Europe/Amsterdam';
      expect(await ensureScorecardRollup(depsOf(t, zone))).to.equal(true);
      const random = seededRandom(`scorecard roll-up history ${backend.name}`);
      const made = await history(t, random, formIds, 400);
      for (const n of Object.values(made)) expect(n).to.be.greaterThan(3);
      const rows = await readRows(t.db.knex);
      expect(rows.filter((r) => COUNTED.has(r.status) && !r.calibration).length).to.be.greaterThan(50);
      const expected = oracleRollup(rows, zone);
      const stored = await storedRollup(t.db.knex);
      expect(sorted(stored.weeks)).to.deep.equal(sorted(expected.weeks));
      expect(sorted(stored.sections)).to.deep.equal(sorted(expected.sections));
      let usedRollup = 0;
      for (let i = 0; i < 60; i++) {
        const q = randomQuery(random);
        const got = await answered(t, q, zone);
        expect(got, JSON.stringify(q)).to.deep.equal(oracleScorecard(rows, q, zone));
        if (wholeWeeks(zone, q.from, q.to) !== null) usedRollup += 1;
      }
      expect(usedRollup).to.be.greaterThan(10);
    });

    it('when CALLREC_TIME_ZONE changes between starts, then the roll-up is rebuilt in the new zone, and a start with the same zone leaves it', async () => {
      const random = seededRandom(`scorecard roll-up zone ${backend.name}`);
      expect(await rollupTimeZone(t.db.knex)).to.equal(null);
      await history(t, random, formIds, 80);
      // Before the first start nothing is rolled up; scorecards still come from the rows.
      const [{ n }] = (await t.db.knex('scorecard_weeks').count({ n: '*' })) as [{ n: number | string }];
      expect(Number(n)).to.equal(0);
      expect(await ensureScorecardRollup(depsOf(t, 'Europe/Amsterdam'))).to.equal(true);
      expect(await ensureScorecardRollup(depsOf(t, 'Europe/Amsterdam'))).to.equal(false);
      await history(t, random, formIds, 80);
      expect(await ensureScorecardRollup(depsOf(t, 'Pacific/Auckland'))).to.equal(true);
      expect(await rollupTimeZone(t.db.knex)).to.equal('Pacific/Auckland');
      await history(t, random, formIds, 80);
      const rows = await readRows(t.db.knex);
      const stored = await storedRollup(t.db.knex);
      const expected = oracleRollup(rows, 'Pacific/Auckland');
      expect(sorted(stored.weeks)).to.deep.equal(sorted(expected.weeks));
      expect(sorted(stored.sections)).to.deep.equal(sorted(expected.sections));
      expect(sorted(stored.weeks)).to.not.deep.equal(sorted(oracleRollup(rows, 'Europe/Amsterdam').weeks));
      const q: Query = { groupBy: 'agent', from: YEAR_FROM, to: YEAR_TO, queues: null };
      expect(await answered(t, q, 'Pacific/Auckland')).to.deep.equal(oracleScorecard(rows, q, 'Pacific/Auckland'));
      // A process still configured with the old zone is answered from the rows, right in its zone.
      expect(await answered(t, q, 'Europe/Amsterdam')).to.deep.equal(oracleScorecard(rows, q, 'Europe/Amsterdam'));
    });
    it('when many transactions write evaluations of one agent, queue, form and week at once, then the roll-up counts each exactly once', async () => {
      await ensureScorecardRollup(depsOf(t, 'Europe/Amsterdam'));
      const at = Date.parse('2026-06-10T10:00:00Z');
      const one = (i: number, expiresAt: number) =>
        insertEvaluation(
          t.db.knex,
          buildEvaluation(formIds[0]!, {
            id: ulid(),
            callStartedAt: at + i,
            score: 50,
            expiresAt,
            sectionScores: [{ section: '0', score: 40 }],
          }),
        );
      await Promise.all(Array.from({ length: 12 }, (_, i) => one(i, at)));
      await Promise.all([
        ...Array.from({ length: 12 }, (_, i) => one(100 + i, at + 1000 * DAY)),
        ...Array.from({ length: 4 }, () =>
          deleteExpiredEvaluations(t.db.knex, { now: at, limit: 3, onDeleted: async () => {} }).catch(() => []),
        ),
      ]);
      await deleteExpiredEvaluations(t.db.knex, { now: at, limit: 100, onDeleted: async () => {} });
      const stored = await storedRollup(t.db.knex);
      expect([...stored.weeks.values()]).to.deep.equal([[12, 12, 12 * 5000]]);
      expect([...stored.sections.values()]).to.deep.equal([[12, 12 * 4000]]);
    });
  });
}
