/**
 * `callrec sweep [--dry-run] [--batch N]`: runs the retention sweeper once over the
 * whole backlog, the same core as the scheduler, then the evaluations' retention
 * (CALLREC_EVALUATION_RETENTION), the same function as the background job. Progress per
 * pass on stderr; the JSON summary on stdout (`evaluationsExpired`; with --dry-run
 * `evaluationsDue`, nothing deleted). Exit 0 when nothing failed, 1 when some deletion
 * failed (it will be retried). Ctrl-C stops after the current pass or batch.
 */
import { maybeCheckpoint } from '../audit/checkpoints.js';
import { verifyModeFor } from '../retention/delete-core.js';
import { updateRetentionGauges } from '../retention/jobs.js';
import { sweepAll } from '../retention/sweep.js';
import { countExpiredEvaluationsAt, expireEvaluations } from '../training/index.js';
import type { CliCommand } from './context.js';
import { parseCommandArgs } from './context.js';

export const sweepCommand: CliCommand = {
  summary: 'delete every recording and evaluation past its deadline (--dry-run: only list them)',
  async run(args, ctx) {
    const { values } = parseCommandArgs(args, { 'dry-run': { type: 'boolean' }, batch: { type: 'string' } });
    const batchSize = values.batch === undefined ? ctx.config.sweep.batchSize : Number(values.batch);
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
      ctx.err('sweep: --batch expects a whole number from 1 to 10000');
      return 2;
    }
    const controller = new AbortController();
    const onSigint = () => {
      ctx.err('sweep: stopping after the current pass');
      controller.abort();
    };
    process.once('SIGINT', onSigint);
    try {
      const now = ctx.clock.now();
      const started = Date.now();
      const summary = await sweepAll(ctx, {
        now,
        batchSize,
        leaseMs: ctx.config.sweep.leaseMs,
        dryRun: Boolean(values['dry-run']),
        signal: controller.signal,
        verify: verifyModeFor(ctx.store),
        onPass: (_pass, s) => {
          const seconds = (Date.now() - started) / 1000;
          ctx.err(
            s.dryRun
              ? `sweep (dry run): ${s.wouldDelete} due now (first ${batchSize} listed), ${s.held} on legal hold`
              : `sweep: pass ${s.passes}: ${s.deleted} deleted, ${s.failed.length} failed, ${s.held} on hold ` +
                  `(${(s.deleted / Math.max(seconds, 0.001)).toFixed(0)}/s)`,
          );
        },
      });
      if (!summary.dryRun) {
        await maybeCheckpoint(ctx, { now: ctx.clock.now() });
        await updateRetentionGauges(ctx, ctx.clock.now());
      }
      const evaluations = summary.dryRun
        ? { evaluationsDue: await countExpiredEvaluationsAt(ctx, { now }) }
        : { evaluationsExpired: (await expireEvaluations(ctx, { now, signal: controller.signal })).deleted.length };
      ctx.err(
        'evaluationsDue' in evaluations
          ? `sweep (dry run): ${evaluations.evaluationsDue} evaluations past CALLREC_EVALUATION_RETENTION`
          : `sweep: ${evaluations.evaluationsExpired} evaluations expired (CALLREC_EVALUATION_RETENTION)`,
      );
      const failures: Record<string, number> = {};
      for (const f of summary.failed) failures[f.reason] = (failures[f.reason] ?? 0) + 1;
      ctx.out(JSON.stringify({ ...summary, failed: summary.failed.length, failures, ...evaluations }));
      return summary.failed.length ? 1 : 0;
    } finally {
      process.off('SIGINT', onSigint);
    }
  },
};
