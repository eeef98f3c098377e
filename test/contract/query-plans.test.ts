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
