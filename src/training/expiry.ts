/**
 * The retention of evaluations (CALLREC_EVALUATION_RETENTION, default 365 days after creation):
 * a background job deletes expired evaluations with their section scores and timestamped
 * comments. Each deletion writes an access-log entry (action `eval_expired`, user `sweeper`, the
 * recording id, detail `evaluation <id>`) in the same transaction: none goes unlogged. The
 * deletion log is left to recordings' objects (its verifier checks their absence).
 * One application log line per run that deleted something (count and ids; nothing else).
 */
import type { AppDeps } from '../deps.js';
import { countExpiredEvaluations, deleteExpiredEvaluations, logEvaluationExpired } from '../db/evaluations.js';

const BATCH = 200;

export interface EvaluationExpiryResult {
  deleted: string[];
}

/**
 * Deletes every evaluation expired at `now`, in batches, until none is left or `signal` aborts (then it
 * returns, after the batch in flight, what it deleted so far: every deletion is committed with its entry).
 * Used by the background job and by `callrec sweep`.
 */
export async function expireEvaluations(
  deps: Pick<AppDeps, 'db' | 'logger'>,
  options: { now: number; signal?: AbortSignal; batchSize?: number },
): Promise<EvaluationExpiryResult> {
  const deleted: string[] = [];
  for (;;) {
    if (options.signal?.aborted) break;
    const batch = await deleteExpiredEvaluations(deps.db.knex, {
      now: options.now,
      limit: options.batchSize ?? BATCH,
      onDeleted: (trx, e) => logEvaluationExpired(trx, e, options.now),
    });
    deleted.push(...batch.map((e) => e.id));
    if (batch.length < (options.batchSize ?? BATCH)) break;
  }
  if (deleted.length > 0) deps.logger.info({ count: deleted.length, evaluations: deleted }, 'evaluations expired');
  return { deleted };
}

/** How many evaluations a run at `now` would delete (`callrec sweep --dry-run`); deletes nothing. */
export async function countExpiredEvaluationsAt(deps: Pick<AppDeps, 'db'>, options: { now: number }): Promise<number> {
  return countExpiredEvaluations(deps.db.knex, options.now);
}
