/**
 * `callrec reconcile [--dry-run]`: removes what crashed processes left (temp folders,
 * partial objects, uploads without a row), deletes orphan objects, logs and removes rows
 * whose objects the storage lifecycle removed, re-tags untagged objects, aborts multipart
 * uploads of no upload in flight (see src/retention/reconcile.ts). Progress on stderr, JSON
 * summary on stdout; exit 1 when some repair failed.
 */
import { reconcile } from '../retention/reconcile.js';
import type { CliCommand } from './context.js';
import { parseCommandArgs } from './context.js';

export const reconcileCommand: CliCommand = {
  summary:
    'remove crash leftovers, repair orphans, lifecycle-expired rows, missing tags and stale uploads (--dry-run: ' +
    'report only)',
  async run(args, ctx) {
    const { values } = parseCommandArgs(args, { 'dry-run': { type: 'boolean' } });
    const result = await reconcile(ctx, {
      now: ctx.clock.now(),
      dryRun: Boolean(values['dry-run']),
      progress: (line) => ctx.err(`reconcile: ${line}`),
    });
    ctx.out(JSON.stringify(result));
    return result.errors ? 1 : 0;
  },
};
