/**
 * One run of each background job, as the scheduler and the CLI call them, and
 * the retention gauges read when /metrics is scraped.
 */
import type { AppDeps } from '../deps.js';
import { readLogHead } from '../db/deletion-log.js';
import { nextDueAt, retentionBacklog } from '../db/recordings.js';
import { maybeCheckpoint } from '../audit/index.js';
import { verifyModeFor } from './delete-core.js';
import { sweepAll } from './sweep.js';
import type { SweepSummary } from './sweep.js';

/**
 * Reads the backlog, oldest-overdue and log-length gauges from the database. Throws when it
 * cannot be read (the gauges are then left as they were). The log's length is its head's seq:
 * seq runs from 1 without gaps (verify checks it), and one index lookup beats counting rows.
 */
export async function updateRetentionGauges(deps: Pick<AppDeps, 'db' | 'metrics'>, now: number): Promise<void> {
  const backlog = await retentionBacklog(deps.db.knex, now);
  const head = await readLogHead(deps.db.knex);
  deps.metrics.sweeperBacklog.set(backlog.count);
  deps.metrics.sweeperOldestOverdue.set(
    backlog.oldestExpiresAt === null ? 0 : Math.max(0, (now - backlog.oldestExpiresAt) / 1000),
  );
  deps.metrics.deletionLogLength.set(head ? Number(head.seq) : 0);
}

/**
 * Makes the retention gauges read from the database at every scrape, so that they show the
 * backlog whether or not sweeps succeed. When the database cannot be read, the gauges keep the
 * last values read (never a made-up 0) and a warning is logged (error name and code only);
 * `callrec_sweeper_last_success_timestamp_seconds` and its alert say how stale things are.
 */
export function registerRetentionGauges(deps: Pick<AppDeps, 'db' | 'metrics' | 'clock' | 'logger'>): void {
  deps.metrics.setScrapeRefresh(async () => {
    try {
      await updateRetentionGauges(deps, deps.clock.now());
    } catch (error) {
      deps.logger.warn(
        { err: { name: (error as Error)?.name, code: (error as { code?: unknown })?.code } },
        'retention gauges could not be read; the previous values are served',
      );
    }
  });
}

export interface SweepJobResult extends SweepSummary {
  /** When the next recording becomes due (see `nextDueAt`), read after the sweep; null when none will. */
  nextDueAt: number | null;
}

/**
 * A full sweep of the backlog, then a checkpoint when due, then when the next recording falls
 * due (the scheduler wakes then). A run that throws (the claim query failing, the database
 * unreachable) counts once in `callrec_sweeper_failures_total{kind="run"}` unless it was
 * stopped; a sweep that finished sets `callrec_sweeper_last_success_timestamp_seconds`, even
 * when some deletions in it failed (those count as kind="deletion").
 */
export async function runSweepJob(deps: AppDeps, signal: AbortSignal): Promise<SweepJobResult> {
  try {
    const now = deps.clock.now();
    const summary = await sweepAll(deps, {
      now,
      batchSize: deps.config.sweep.batchSize,
      leaseMs: deps.config.sweep.leaseMs,
      signal,
      verify: verifyModeFor(deps.store),
    });
    if (!summary.aborted) deps.metrics.sweeperLastSuccess.set(deps.clock.now() / 1000);
    if (summary.deleted || summary.failed.length) {
      deps.logger.info(
        { deleted: summary.deleted, failed: summary.failed.length, held: summary.held, passes: summary.passes },
        'retention sweep',
      );
    }
    await maybeCheckpoint(deps, { now: deps.clock.now() });
    return { ...summary, nextDueAt: await nextDueAt(deps.db.knex) };
  } catch (error) {
    if (!signal.aborted) deps.metrics.sweeperFailures.inc({ kind: 'run', reason: 'run' });
    throw error;
  }
}
