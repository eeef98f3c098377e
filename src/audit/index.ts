/**
 * What other features use from audit: appending to and reading the deletion log, and the
 * checkpoint due check. Features import audit only through this file (lint: eslint.config.js).
 */
export { appendDeletions, rowToEntry } from './deletion-log.js';
export type { DeletionEntry, NewDeletion } from './deletion-log.js';
export { maybeCheckpoint } from './checkpoints.js';
