/**
 * The table of CLI commands. Each feature adds its commands here, one line
 * each, implemented in its own module.
 */
import type { CliCommand } from './context.js';
import { importsCommand } from './imports.js';
import { encryptExistingCommand } from './encrypt-existing.js';
import { importCommand } from './import-sources.js';
import { keysCommand } from './keys.js';
import { reconcileCommand } from './reconcile.js';
import { setupBucketCommand } from './setup-bucket.js';
import { sweepCommand } from './sweep.js';
import { tokenCommand } from './tokens.js';
import { userCommand } from './users.js';
import { verifyLogCommand } from './verify-log.js';

export const commands: Record<string, CliCommand> = {
  'setup-bucket': setupBucketCommand,
  user: userCommand,
  token: tokenCommand,
  sweep: sweepCommand,
  'verify-log': verifyLogCommand,
  reconcile: reconcileCommand,
  keys: keysCommand,
  imports: importsCommand,
  'encrypt-existing': encryptExistingCommand,
  import: importCommand,
};
