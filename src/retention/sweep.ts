/**
 * The retention sweeper's core: one pass over due recordings. Pure in the sense
 * that matters for tests: time comes in as `now`, the store and database as
 * deps, and it returns what it did instead of only logging it.
 *
 * Due = expires_at ≤ now, no legal hold, not backing off after a failure (or a
 * claim whose lease expired: a crashed sweeper's work is taken over).
 */
import { claimDueRecordings, listDueRecordingIds, retentionBacklog } from '../db/recordings.js';
import { finishDeletions, newClaimant } from './delete-core.js';
import type { DeletedRecording, DeletionDeps, DeletionFailure, Failpoint, VerifyMode } from './delete-core.js';

export interface SweepOptions {
  now: number;
  batchSize: number;
  leaseMs: number;
  dryRun?: boolean;
  signal?: AbortSignal;
  /** Test-only hook called after each step (the crash tests SIGKILL the process there). */
  failpoint?: Failpoint;
  /** How absence is verified; default `verifyModeFor(deps.store)`. */
  verify?: VerifyMode;
}

export interface SweepResult {
  /** Recordings claimed in this pass. */
  claimed: number;
  /** Deleted, verified and logged. */
  deleted: DeletedRecording[];
  /** Ids whose deletion resumed an earlier failed or interrupted attempt. */
  resumed: string[];
  /** Resumed ids whose objects were all gone before this attempt (deleted and logged now). */
  alreadyAbsent: string[];
  /** Past their deadline but on legal hold (skipped). */
  held: number;
  /** Not deleted this time; retried with backoff. Nothing was logged for them. */
  failed: DeletionFailure[];
  /** Dry run only: the ids that would have been claimed. */
  wouldDelete: string[];
  dryRun: boolean;
}

/** One pass: claims up to `batchSize` due recordings and deletes them (or, dry run, only lists them). */
export async function sweepOnce(deps: DeletionDeps, options: SweepOptions): Promise<SweepResult> {
  const { now, batchSize, signal } = options;
  const backlog = await retentionBacklog(deps.db.knex, now);
  const empty: SweepResult = {
    claimed: 0,
    deleted: [],
    resumed: [],
    alreadyAbsent: [],
    held: backlog.held,
    failed: [],
    wouldDelete: [],
    dryRun: Boolean(options.dryRun),
  };
  if (options.dryRun) {
    const wouldDelete = await listDueRecordingIds(deps.db.knex, { now, limit: batchSize });
    return { ...empty, wouldDelete };
  }
  signal?.throwIfAborted();
  const claimant = newClaimant('sweeper');
  const claims = await claimDueRecordings(deps.db, { now, limit: batchSize, claimant, leaseMs: options.leaseMs });
  if (claims.length === 0) return empty;
  await options.failpoint?.('claimed');
  const result = await finishDeletions(deps, claims, {
    claimant,
    now,
    signal,
    failpoint: options.failpoint,
    verify: options.verify,
  });
  return {
    ...empty,
    claimed: claims.length,
    deleted: result.deleted,
    failed: result.failed,
    alreadyAbsent: result.alreadyAbsent,
    resumed: claims.filter((c) => Number(c.delete_attempts) > 1).map((c) => c.id),
  };
}

export interface SweepSummary {
  passes: number;
  claimed: number;
  deleted: number;
  held: number;
  failed: DeletionFailure[];
  wouldDelete: number;
  dryRun: boolean;
  aborted: boolean;
}

/**
 * Repeats `sweepOnce` until a pass claims fewer than `batchSize` (the backlog is done or
 * only failing/held recordings remain) or `signal` aborts. `parallel` passes (default 2)
 * run side by side, so that one batch's store round trips overlap another's: they claim
 * disjoint rows exactly as two sweeper instances would. `onPass` sees each pass (progress
 * for a large backlog). A dry run makes one pass. When a pass throws, no further pass starts,
 * and the error is thrown once every pass in progress has returned (a failed sweep never
 * leaves a pass running behind the scheduler's back).
 */
export async function sweepAll(
  deps: DeletionDeps,
  options: SweepOptions & {
    onPass?: (pass: SweepResult, summary: SweepSummary) => void;
    maxPasses?: number;
    parallel?: number;
  },
): Promise<SweepSummary> {
  const summary: SweepSummary = {
    passes: 0,
    claimed: 0,
    deleted: 0,
    held: 0,
    failed: [],
    wouldDelete: 0,
    dryRun: Boolean(options.dryRun),
    aborted: false,
  };
  const maxPasses = options.maxPasses ?? Number.POSITIVE_INFINITY;
  let started = 0;
  let done = false;
  const loop = async () => {
    while (!done && started < maxPasses) {
      if (options.signal?.aborted) {
        summary.aborted = true;
        return;
      }
      started += 1;
      const pass = await sweepOnce(deps, options);
      summary.passes += 1;
      summary.claimed += pass.claimed;
      summary.deleted += pass.deleted.length;
      summary.held = pass.held;
      summary.failed.push(...pass.failed);
      summary.wouldDelete += pass.wouldDelete.length;
      options.onPass?.(pass, summary);
      if (options.dryRun || pass.claimed < options.batchSize || pass.deleted.length === 0) done = true;
    }
  };
  const parallel = options.dryRun ? 1 : Math.max(1, options.parallel ?? 2);
  const outcomes = await Promise.allSettled(
    Array.from({ length: parallel }, () =>
      loop().catch((error: unknown) => {
        done = true;
        throw error;
      }),
    ),
  );
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed) throw failed.reason;
  return summary;
}
