/**
 * The periodic job runner and the assembled background jobs: never overlapping,
 * stopping cleanly, sweeping on schedule.
 */
import { expect } from 'chai';
import { startBackgroundJobs } from '../../src/background.js';
import { createManualClock } from '../../src/clock.js';
import type { AppDeps } from '../../src/deps.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { registerRetentionGauges } from '../../src/retention/jobs.js';
import { startPeriodicJob } from '../../src/retention/scheduler.js';
import { dbBackends, storeBackends } from '../support/backends.js';
import { createLogCapture, testConfig } from '../support/app.js';
import { createStoredRecording } from '../support/recordings.js';
import { createManualTimers } from '../support/timers.js';

const silent = createLogger({ level: 'silent' });

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('periodic job', () => {
  it('when a run lasts longer than the interval, then runs never overlap and the schedule continues after each', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const job = startPeriodicJob({
      name: 'test',
      intervalMs: 1,
      initialDelayMs: 0,
      logger: silent,
      run: async () => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        await new Promise((r) => setTimeout(r, 15));
        runs += 1;
        active -= 1;
      },
    });
    await until(() => runs >= 4, 'four runs');
    await job.stop();
    expect(maxActive).to.equal(1);
  });

  it('when stopped during a run, then its signal aborts, stop waits for it to return, and no run starts afterwards', async () => {
    // Manual timers: "afterwards" is every timer the job could still have armed, not a real-time sleep.
    const timers = createManualTimers(Date.UTC(2026, 10, 30));
    let started = 0;
    let finished = false;
    let sawAbort = false;
    let release!: () => void;
    const job = startPeriodicJob({
      name: 'test',
      intervalMs: 1000,
      initialDelayMs: 0,
      logger: silent,
      clock: timers.clock,
      timers,
      run: async (signal) => {
        started += 1;
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        sawAbort = signal.aborted;
        await new Promise<void>((resolve) => (release = resolve));
        finished = true;
      },
    });
    await timers.advance(0);
    expect(started).to.equal(1);
    let stopped = false;
    const stopping = job.stop().then(() => (stopped = true));
    await timers.settle();
    expect(sawAbort).to.equal(true);
    expect(stopped, 'stop resolved before the run returned').to.equal(false);
    release();
    await stopping;
    expect(finished).to.equal(true);
    expect(timers.pending(), 'timers still armed after stop').to.deep.equal([]);
    await timers.advance(10 * 1000);
    expect(started).to.equal(1);
  });

  it('when a run throws, then the error is logged without its message and the next run still happens', async () => {
    const capture = createLogCapture();
    let runs = 0;
    const job = startPeriodicJob({
      name: 'flaky',
      intervalMs: 1,
      initialDelayMs: 0,
      logger: createLogger({ level: 'info', destination: capture.stream }),
      run: async () => {
        runs += 1;
        if (runs === 1) throw Object.assign(new Error('secret detail +31201234567'), { code: 'boom' });
      },
    });
    await until(() => runs >= 2, 'a second run');
    await job.stop();
    expect(capture.lines.join('\n')).to.include('background job failed').and.not.include('+31201234567');
  });
});

for (const dbBackend of dbBackends) {
  describe(`background jobs (${dbBackend.name}, fs)`, () => {
    it('when started, then the sweeper deletes a due recording on schedule, updates the gauges, and stop resolves', async () => {
      const tdb = await dbBackend.create();
      const tstore = await storeBackends.find((s) => s.name === 'fs')!.create();
      const now = Date.UTC(2026, 5, 1);
      const deps: AppDeps = {
        config: testConfig({ CALLREC_SWEEP_INTERVAL: '50ms', CALLREC_CHECKPOINT_EVERY: '1' }),
        db: tdb.db,
        store: tstore.store,
        logger: silent,
        clock: createManualClock(now),
        metrics: createMetrics(),
      };
      registerRetentionGauges(deps);
      try {
        const due = await createStoredRecording({
          db: tdb.db,
          store: tstore.store,
          overrides: { expires_at: now - 1 },
        });
        const later = await createStoredRecording({
          db: tdb.db,
          store: tstore.store,
          overrides: { expires_at: now + 1 },
        });
        const jobs = startBackgroundJobs(deps);
        try {
          await until(
            async () => (await tdb.db.knex('deletion_log').where({ recording_id: due.row.id })).length === 1,
            'the sweep',
          );
          await until(async () => (await deps.metrics.deletionLogLength.get()).values[0]?.value === 1, 'the gauges');
        } finally {
          await jobs.stop();
        }
        expect(await tdb.db.knex('recordings').where({ id: later.row.id }).first()).to.not.equal(undefined);
        expect((await deps.metrics.sweeperBacklog.get()).values[0]?.value).to.equal(0);
        expect(await tdb.db.knex('deletion_checkpoints')).to.have.length(1);
      } finally {
        await tstore.dispose();
        await tdb.dispose();
      }
    });
  });
}
