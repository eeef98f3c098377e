/**
 * `callrec verify-log`: verifies the deletion log's chain, seq, time order and signed
 * checkpoints. The result as JSON on stdout; exit 0 when valid, 1 when not.
 */
import { loadCheckpointKey } from '../audit/checkpoint-key.js';
import { verifyDeletionLog } from '../audit/verify.js';
import type { CliCommand } from './context.js';
import { parseCommandArgs } from './context.js';

export const verifyLogCommand: CliCommand = {
  summary: 'verify the deletion log (hash chain, seq, checkpoints); exit 1 when invalid',
  async run(args, ctx) {
    parseCommandArgs(args, {});
    const key = loadCheckpointKey(ctx.config.audit.checkpointKeyFile);
    const result = await verifyDeletionLog(ctx.db, { publicKey: key.publicKey, dbConfig: ctx.config.db });
    ctx.out(JSON.stringify(result));
    if (!result.ok) ctx.err(`verify-log: INVALID from seq ${result.firstInvalidSeq} (${result.problem})`);
    return result.ok ? 0 : 1;
  },
};
