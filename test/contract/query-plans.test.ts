/**
 * Query plans of the queries that must stay fast at millions of recordings (the ones
 * `npm run bench scale` times, listed in test/support/scale-seed.ts): each, through the db
 * function the service calls, reaches `recordings` only through index searches, never a full
 * scan, on SQLite and PostgreSQL. On SQLite, which plans from the fixed statistics the
 * migrations write (its plan here is its plan at 3 M rows), a page of the list must also come
 * in the index's order instead of sorting every match. No timing: the plans are the assertion.
 *
 * The table holds 20,000 generated rows; PostgreSQL is ANALYZEd, as autovacuum would.
 */
import { expect } from 'chai';
import { claimDueRecordings, listDueRecordingIds } from '../../src/db/recordings.js';
import { rollupSections, rollupWeeks } from '../../src/db/scorecard-rollup.js';
import { scorecardSections, scorecardWeeks } from '../../src/db/scorecards.js';
import type { ScorecardFilter } from '../../src/db/scorecards.js';
import { MONDAY_WALL_MS, WEEK_MS } from '../../src/training/weeks.js';
import { dbBackends } from '../support/backends.js';
import type { TestDb } from '../support/backends.js';
import {
  captureQueries,
  explain,
  fullScans,
  fullSorts,
  indexesUsed,
  scaleQueries,
  seedRecordings,
  seededCustomerNumber,
} from '../support/scale-seed.js';

const ROWS = 20_000;

for (const backend of dbBackends) {
  describe(`query plans at scale (${backend.name})`, function () {
    this.timeout(120_000);
    let testDb: TestDb;
    const now = Date.parse('2026-11-30T12:00:00Z');
    before(async () => {
      testDb = await backend.create();
      await seedRecordings(testDb.db, { rows: ROWS, now });
      if (testDb.db.client === 'pg') await testDb.db.knex.raw('ANALYZE recordings');
    });
    after(async () => {
      await testDb?.dispose();
    });

    for (const query of scaleQueries({ now, subject: seededCustomerNumber(ROWS / 2) })) {
      it(`when the service runs "${query.name}", then every read of recordings is an index search${query.ordered && backend.name === 'sqlite' ? ' in the list order' : ''}`, async () => {
        const { db } = testDb;
        const statements = await captureQueries(db.knex, () => query.run(db));
        expect(statements.length, 'statements sent').to.be.greaterThan(0);
        for (const statement of statements) {
          const plan = await explain(db, statement);
          const shown = `${statement.sql}\n  ${plan.join('\n  ')}`;
          expect(fullScans(db.client, plan), `full scan in:\n${shown}`).to.deep.equal([]);
          if (/\brecordings\b/.test(statement.sql))
            expect(indexesUsed(plan).length, `no index in:\n${shown}`).to.be.greaterThan(0);
          if (query.ordered && db.client === 'sqlite')
            expect(fullSorts(plan), `every match sorted in:\n${shown}`).to.deep.equal([]);
        }
      });
    }

    it('when the sweeper claims with a backlog due, then the claim reads the due rows in deadline order from the index (no sort of every due row) and claims the oldest', async () => {
      const { db } = testDb;
      const expected = await listDueRecordingIds(db.knex, { now, limit: 50 });
      expect(expected.length, 'rows due in the seed').to.equal(50);
      const statements = await captureQueries(db.knex, () =>
        claimDueRecordings(db, { now, limit: 50, claimant: 'plan-probe', leaseMs: 600_000 }),
      );
      for (const statement of statements) {
        const plan = await explain(db, statement);
        const shown = `${statement.sql}\n  ${plan.join('\n  ')}`;
        expect(fullScans(db.client, plan), `full scan in:\n${shown}`).to.deep.equal([]);
        if (db.client === 'sqlite') expect(fullSorts(plan), `every due row sorted in:\n${shown}`).to.deep.equal([]);
      }
      const claimed = (await db.knex('recordings').where({ claimed_by: 'plan-probe' }).select('id')).map((r) => r.id);
      expect(claimed.sort()).to.deep.equal([...expected].sort());
    });
  });
}

describe('scorecard query plans (sqlite)', function () {
  this.timeout(60_000);
  let testDb: TestDb;
  const to = Date.parse('2026-11-30T12:00:00Z');
  const year = { from: to - 365 * 86_400_000, to };
  const filterOf = (period: { from: number; to: number }): ScorecardFilter => ({
    groupBy: 'agent',
    ...period,
    queues: null,
    weeks: { segments: [{ until: null, offsetMs: 0 }], mondayMs: MONDAY_WALL_MS, weekMs: WEEK_MS },
  });
  before(async () => {
    testDb = await dbBackends.find((b) => b.name === 'sqlite')!.create();
  });
  after(async () => {
    await testDb?.dispose();
  });
  const plansOf = async (work: () => Promise<unknown>) => {
    const statements = await captureQueries(testDb.db.knex, work);
    expect(statements.length, 'statements sent').to.be.greaterThan(0);
    return Promise.all(statements.map(async (s) => ({ sql: s.sql, plan: await explain(testDb.db, s) })));
  };

  it("when every agent's year is read from the roll-up, then the sections are summed in the agent index's order with no sort, and every read is of a covering index", async () => {
    const { knex } = testDb.db;
    const weeks = { fromWeek: 2900, toWeek: 2952 };
    const plans = [
      ...(await plansOf(() => rollupWeeks(knex, filterOf(year), weeks))),
      ...(await plansOf(() => rollupSections(knex, filterOf(year), weeks))),
    ];
    for (const { sql, plan } of plans) {
      const shown = `${sql}\n  ${plan.join('\n  ')}`;
      const reads = plan.filter((line) => /\b(SCAN|SEARCH) scorecard_(weeks|sections)\b/.test(line));
      expect(reads.length, `no read of the roll-up in:\n${shown}`).to.be.greaterThan(0);
      for (const line of reads) expect(line, `not index-only in:\n${shown}`).to.match(/USING COVERING INDEX/);
      if (/scorecard_sections/.test(sql)) {
        expect(reads.join('\n'), shown).to.match(/scorecard_sections_agent_index/);
        expect(
          plan.filter((line) => /USE TEMP B-TREE/.test(line)),
          `sorted in:\n${shown}`,
        ).to.deep.equal([]);
      }
    }
  });

  it('when the part-week at an end of the period is read from the rows, then the evaluations are read through the period index, not every agent', async () => {
    const { knex } = testDb.db;
    const part = { from: to - 3 * 86_400_000, to };
    const plans = [
      ...(await plansOf(() => scorecardWeeks(knex, filterOf(part)))),
      ...(await plansOf(() => scorecardSections(knex, filterOf(part)))),
    ];
    for (const { sql, plan } of plans) {
      const read = plan.find((line) => /\b(SCAN|SEARCH) e\b/.test(line));
      expect(read, `${sql}\n  ${plan.join('\n  ')}`).to.match(
        /SEARCH e USING COVERING INDEX evaluations_scorecard_period_index \(call_started_at>\? AND call_started_at<\?\)/,
      );
    }
  });
});
