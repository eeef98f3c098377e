/**
 * The retention of training evaluations (CALLREC_EVALUATION_RETENTION) on SQLite and PostgreSQL:
 * expired evaluations are deleted with one access-log entry each, also when two runs race, and
 * the background job does it on its own, and so does `callrec sweep`.
 */
import fs from 'node:fs';
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
import { dbBackends, storeBackends, tempDir } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { buildEvaluation, buildForm, T0 } from '../support/evaluations.js';
import { runCli } from '../support/process.js';

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

    it('when `callrec sweep` runs, then it deletes and logs the expired evaluations like the background job and prints how many; --dry-run only counts them', async () => {
      const dataDir = tempDir('callrec-cli-eval-');
      const dbUrl = testDb.config.client === 'pg' ? testDb.config.url : `sqlite:${testDb.config.filename}`;
      const cli = (...args: string[]) => runCli({ CALLREC_DB_URL: dbUrl, CALLREC_DATA_DIR: dataDir }, ...args);
      try {
        const expired = [1, 2].map((i) => buildEvaluation(formId, { expiresAt: Date.now() - 60_000 * i }));
        const kept = buildEvaluation(formId, { expiresAt: Date.now() + 86_400_000 });
        for (const e of [...expired, kept]) await insertEvaluation(testDb.db.knex, e);

        const dry = await cli('sweep', '--dry-run');
        expect(dry.code, dry.stderr).to.equal(0);
        expect(JSON.parse(dry.stdout)).to.include({ dryRun: true, evaluationsDue: 2 });
        expect(await countOf('evaluations', {})).to.equal(3);

        const run = await cli('sweep');
        expect(run.code, run.stderr).to.equal(0);
        expect(JSON.parse(run.stdout)).to.include({ dryRun: false, deleted: 0, evaluationsExpired: 2 });
        expect(run.stderr).to.include('2 evaluations expired');
        const left = (await testDb.db.knex('evaluations').select('id')) as Array<{ id: string }>;
        expect(left.map((r) => r.id)).to.deep.equal([kept.id]);
        for (const e of expired)
          expect(await countOf('access_log', { action: 'eval_expired', detail: `evaluation ${e.id}` })).to.equal(1);
      } finally {
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
}
