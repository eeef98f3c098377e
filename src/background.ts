/**
 * The in-process background jobs: the retention sweeper (every
 * CALLREC_SWEEP_INTERVAL ± 10 % at the latest, and shortly after each
 * recording's deadline), deletion-log checkpoints (checked every fifth of
 * CALLREC_CHECKPOINT_INTERVAL: signed once the newest is that old and the log grew; also
 * after every sweep), crash recovery of uploads (every OWNER_LEASE_MS: what processes on
 * other hosts or in other containers left once their leases ran out), the privacy register's
 * retention (hourly: closed requests past CALLREC_PRIVACY_REQUEST_RETENTION), the retention of
 * training evaluations (every CALLREC_SWEEP_INTERVAL: past CALLREC_EVALUATION_RETENTION), the reconciler
 * (daily), and the Twilio import worker (every TWILIO_POLL_MS, when an account is configured and
 * the app's ingest runtime is given: it shares the app's transcode limiter, with a temp folder of
 * its own, released once it stopped). Each job never overlaps itself; several instances may run
 * side by side (claims
 * and the log lock keep them apart). `stop()` aborts the running jobs and resolves when
 * every current run has returned.
 */
import { maybeCheckpoint } from './audit/checkpoints.js';
import type { AppDeps, RetentionWakeup } from './deps.js';
import { OWNER_LEASE_MS } from './process-owner.js';
import { removeAbandonedUploads } from './retention/abandoned.js';
import { runSweepJob } from './retention/jobs.js';
import { reconcile } from './retention/reconcile.js';
import { startPeriodicJob } from './retention/scheduler.js';
import { purgeClosedRequests } from './privacy/register-retention.js';
import { expireEvaluations } from './training/index.js';
import { createTwilioWorker } from './ingest/adapters/twilio-worker.js';
import type { IngestRuntime } from './ingest/service.js';
import { createIngestTemp } from './ingest/temp.js';

export interface BackgroundJobs extends RetentionWakeup {
  stop(): Promise<void>;
}

const HOUR_MS = 3_600_000;
/** How often the Twilio import worker looks for due jobs. */
export const TWILIO_POLL_MS = 2_000;
const DAY_MS = 24 * HOUR_MS;

export function startBackgroundJobs(deps: AppDeps, options: { ingest?: IngestRuntime } = {}): BackgroundJobs {
  const sweep = startPeriodicJob({
    name: 'sweep',
    intervalMs: deps.config.sweep.intervalMs,
    initialDelayMs: Math.min(5_000, deps.config.sweep.intervalMs),
    logger: deps.logger,
    clock: deps.clock,
    run: async (signal) => {
      const result = await runSweepJob(deps, signal);
      return { nextDueAt: result.nextDueAt };
    },
  });
  const jobs = [
    sweep,
    startPeriodicJob({
      name: 'checkpoint',
      intervalMs: Math.ceil(deps.config.audit.checkpointIntervalMs / 5),
      logger: deps.logger,
      run: async (signal) => {
        await maybeCheckpoint(deps, { now: deps.clock.now(), signal });
      },
    }),
    startPeriodicJob({
      name: 'crash-recovery',
      intervalMs: OWNER_LEASE_MS,
      logger: deps.logger,
      run: async (signal) => {
        await removeAbandonedUploads(deps, { now: deps.clock.now(), signal });
      },
    }),
    startPeriodicJob({
      name: 'privacy-register-retention',
      intervalMs: HOUR_MS,
      initialDelayMs: 5_000,
      logger: deps.logger,
      run: async (signal) => {
        await purgeClosedRequests(deps, { now: deps.clock.now(), signal });
      },
    }),
    startPeriodicJob({
      name: 'evaluation-retention',
      intervalMs: deps.config.sweep.intervalMs,
      initialDelayMs: Math.min(5_000, deps.config.sweep.intervalMs),
      logger: deps.logger,
      run: async (signal) => {
        await expireEvaluations(deps, { now: deps.clock.now(), signal });
      },
    }),
    startPeriodicJob({
      name: 'reconcile',
      intervalMs: DAY_MS,
      initialDelayMs: 10 * 60_000,
      logger: deps.logger,
      run: async (signal) => {
        const result = await reconcile(deps, { now: deps.clock.now(), signal });
        deps.logger.info({ ...result, lifecycleExpired: result.lifecycleExpired.found }, 'reconcile finished');
      },
    }),
  ];
  const releases: Array<() => Promise<void>> = [];
  if (deps.config.ingest.twilio && options.ingest) {
    const temp = createIngestTemp({ dataDir: deps.config.dataDir, clock: deps.clock });
    const worker = createTwilioWorker({ ...options.ingest, temp });
    jobs.push(
      startPeriodicJob({
        name: 'twilio-import',
        intervalMs: TWILIO_POLL_MS,
        initialDelayMs: 1_000,
        logger: deps.logger,
        run: async (signal) => {
          await worker.runOnce(signal);
        },
      }),
    );
    releases.push(() => temp.release());
  }
  return {
    deadlineAdded(expiresAtMs) {
      sweep.wakeAt(expiresAtMs);
    },
    async stop() {
      await Promise.all(jobs.map((job) => job.stop()));
      for (const release of releases) await release();
    },
  };
}

/**
 * A `RetentionWakeup` to put in the deps before the jobs exist: it forwards to whatever
 * `connect` was given (the started jobs), and drops calls until then (the first sweep reads
 * every deadline from the database anyway).
 */
export function createWakeupRelay(): RetentionWakeup & { connect(target: RetentionWakeup | undefined): void } {
  let target: RetentionWakeup | undefined;
  return {
    deadlineAdded(expiresAtMs) {
      target?.deadlineAdded(expiresAtMs);
    },
    connect(next) {
      target = next;
    },
  };
}
