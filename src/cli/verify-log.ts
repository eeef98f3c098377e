/**
 * `callrec verify-log`: verifies the deletion log's chain, seq, time order and signed
 * checkpoints, both those in the database and those published in the object store (the
 * copies the database cannot change). The result as JSON on stdout, what was checked and
 * the verdict on stderr; exit 0 when valid, 1 when not, 2 when the object store cannot be read.
 */
import { loadCheckpointKey } from '../audit/checkpoint-key.js';
import { verifyDeletionLog } from '../audit/verify.js';
import { storeErrorCode } from '../storage/store-errors.js';
import type { CliCommand } from './context.js';
import { parseCommandArgs } from './context.js';

export const verifyLogCommand: CliCommand = {
  summary:
    'verify the deletion log (hash chain, seq, checkpoints in the database and the object store); exit 1 when invalid',
  async run(args, ctx) {
    parseCommandArgs(args, {});
    const key = loadCheckpointKey(ctx.config.audit.checkpointKeyFile);
    let result;
    try {
      result = await verifyDeletionLog(ctx.db, { publicKey: key.publicKey, dbConfig: ctx.config.db, store: ctx.store });
    } catch (error) {
      if (storeErrorCode(error) === undefined) throw error;
      ctx.err(
        `verify-log: the object store could not be read (${(error as Error).message}): the log was not checked ` +
          `against its published checkpoints`,
      );
      return 2;
    }
    ctx.out(JSON.stringify(result));
    const external = result.external!;
    ctx.err(
      `verify-log: checked ${result.count} entries, ${result.checkpoints.count} checkpoints in the database ` +
        `(${result.checkpoints.verified} signed by key ${key.keyId.slice(0, 16)}), ` +
        `${external.count} published in the object store (${external.matched} match the ` +
        `log${external.largestSize === null ? '' : `, largest size ${external.largestSize}`})`,
    );
    if (!result.ok) ctx.err(`verify-log: INVALID from seq ${result.firstInvalidSeq} (${result.problem})`);
    else ctx.err('verify-log: valid');
    return result.ok ? 0 : 1;
  },
};
