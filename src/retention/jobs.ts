/**
 * One run of each background job, as the scheduler and the CLI call them.
 */
import type { AppDeps } from '../deps.js';
import { countLog } from '../db/deletion-log.js';
import { retentionBacklog } from '../db/recordings.js';
import { maybeCheckpoint } from '../audit/checkpoints.js';
import { verifyModeFor } from './delete-core.js';
import { sweepAll } from './sweep.js';
import type { SweepSummary } from './sweep.js';

/** Refreshes the backlog, oldest-overdue and log-length gauges. */
export async function updateRetentionGauges(deps: Pick<AppDeps, 'db' | 'metrics'>, now: number): Promise<void> {
  const backlog = await retentionBacklog(deps.db.knex, now);
  deps.metrics.sweeperBacklog.set(backlog.count);
  deps.metrics.sweeperOldestOverdue.set(backlog.oldestExpiresAt === null ? 0 : Math.max(0, (now - backlog.oldestExpiresAt) / 1000));
  deps.metrics.deletionLogLength.set(await countLog(deps.db.knex));
}

/** A full sweep of the backlog, then a checkpoint when due, then the gauges. */
export async function runSweepJob(deps: AppDeps, signal: AbortSignal): Promise<SweepSummary> {
  const now = deps.clock.now();
  const summary = await sweepAll(deps, {
    now,
    batchSize: deps.config.sweep.batchSize,
    leaseMs: deps.config.sweep.leaseMs,
    signal,
    verify: verifyModeFor(deps.store),
  });
  if (summary.deleted || summary.failed.length) {
    deps.logger.info({ deleted: summary.deleted, failed: summary.failed.length, held: summary.held, passes: summary.passes }, 'retention sweep');
  }
  await maybeCheckpoint(deps, { now: deps.clock.now() });
  await updateRetentionGauges(deps, deps.clock.now());
  return summary;
}
