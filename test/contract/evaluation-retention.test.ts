/**
 * The retention of training evaluations (CALLREC_EVALUATION_RETENTION) on SQLite and PostgreSQL:
 * expired evaluations are deleted with one access-log entry each, also when two runs race, and
 * the background job does it on its own.
 */
import { expect } from 'chai';
import { ulid } from 'ulid';
import { startBackgroundJobs } from '../../src/background.js';
import { createManualClock } from '../../src/clock.js';
import { insertEvaluation, insertForm } from '../../src/db/evaluations.js';
import type { AppDeps } from '../../src/deps.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { expireEvaluations } from '../../src/training/index.js';
import { createLogCapture, testConfig } from '../support/app.js';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { buildEvaluation, buildForm, T0 } from '../support/evaluations.js';

for (const dbBackend of dbBackends) {
  describe(`evaluation retention (${dbBackend.name})`, function () {
    this.timeout(60_000);
    let testDb: TestDb;
    let testStore: TestStore;
    let formId: string;
    const clock = createManualClock(T0);
    const capture = createLogCapture();
    const deps = (): AppDeps => ({
      config: testConfig({ CALLREC_SWEEP_INTERVAL: '1s' }),
      db: testDb.db,
      store: testStore.store,
      logger: createLogger({ level: 'info', destination: capture.stream }),
      clock,
      metrics: createMetrics(),
    });
    const countOf = async (table: string, where: Record<string, unknown>) =>
      Number(((await testDb.db.knex(table).where(where).count({ n: '*' }).first()) as { n: number | string }).n);

    beforeEach(async function () {
      testDb = await dbBackend.create();
      testStore = await storeBackends.find((s) => s.name === 'fs')!.create();
      clock.set(T0);
      capture.lines.length = 0;
      formId = ulid();
      await insertForm(testDb.db.knex, { id: formId, definition: buildForm(), createdBy: 'admin', at: T0 });
    });
    afterEach(async function () {
      await testStore.dispose();
      await testDb.dispose();
    });

    it('when two runs race over the same expired evaluations, then each is deleted and logged once', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        const e = buildEvaluation(formId, { expiresAt: T0 - i });
        ids.push(e.id);
        await insertEvaluation(testDb.db.knex, e);
      }
      const kept = buildEvaluation(formId, { expiresAt: T0 + 1 });
      await insertEvaluation(testDb.db.knex, kept);
      const [a, b] = await Promise.all([
        expireEvaluations(deps(), { now: T0, batchSize: 2 }),
        expireEvaluations(deps(), { now: T0, batchSize: 2 }),
      ]);
      expect([...a.deleted, ...b.deleted].sort()).to.deep.equal([...ids].sort());
      expect(await countOf('access_log', { action: 'eval_expired' })).to.equal(6);
      expect(await countOf('evaluations', {})).to.equal(1);
      const line = capture.lines.find((l) => l.includes('evaluations expired'));
      expect(line, 'one log line with the count').to.not.equal(undefined);
    });

    it('when the background jobs run, then the evaluation retention job deletes an expired evaluation', async () => {
      const expired = buildEvaluation(formId, { expiresAt: T0 - 1 });
      await insertEvaluation(testDb.db.knex, expired);
      const jobs = startBackgroundJobs(deps());
      try {
        const until = Date.now() + 90_000;
        while ((await countOf('evaluations', { id: expired.id })) > 0 && Date.now() < until)
          await new Promise((r) => setTimeout(r, 100));
      } finally {
        await jobs.stop();
      }
      expect(await countOf('evaluations', { id: expired.id })).to.equal(0);
      expect(await countOf('access_log', { action: 'eval_expired', detail: `evaluation ${expired.id}` })).to.equal(1);
    });
  });
}
