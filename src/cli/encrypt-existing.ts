/**
 * `callrec encrypt-existing [--batch-size N]`: encrypts in place the recordings stored before
 * encryption (see src/keys/encrypt-existing.ts): copies under fresh data keys, verified, the row
 * switched to them with the key in one transaction, then the plaintext deleted and its absence
 * verified. First runs crash recovery (src/retention/abandoned.ts), which finishes what a killed
 * run left: so after a kill, run it again. Progress on stderr (counts, recording ids, codes: no
 * personal data); the JSON summary on stdout. Exit 0 when nothing failed, 1 otherwise (rerun).
 */
import { openKeyring } from '../keys/data-keys.js';
import { encryptExisting } from '../keys/encrypt-existing.js';
import { KeyringError } from '../keys/keyring.js';
import { removeAbandonedUploads } from '../retention/abandoned.js';
import type { CliCommand } from './context.js';
import { parseCommandArgs } from './context.js';

export const encryptExistingCommand: CliCommand = {
  summary: 'encrypt the recordings stored before encryption, in place (resumable: run it again after a crash)',
  async run(args, ctx) {
    const { values } = parseCommandArgs(args, { 'batch-size': { type: 'string' } });
    const batchSize = values['batch-size'] === undefined ? 100 : Number(values['batch-size']);
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
      ctx.err('encrypt-existing: --batch-size expects 1..10000');
      return 2;
    }
    if (!ctx.config.encryption.enabled) {
      ctx.err('encrypt-existing: encryption is off (CALLREC_ENCRYPTION=off): nothing to encrypt with');
      return 1;
    }
    if (!ctx.driver) {
      ctx.err('encrypt-existing: the object store driver is not available');
      return 1;
    }
    let wrapper;
    try {
      wrapper = await openKeyring({ config: ctx.config, db: ctx.db, now: new Date(ctx.clock.now()) });
    } catch (error) {
      if (!(error instanceof KeyringError)) throw error;
      ctx.err(`encrypt-existing: ${error.message}`);
      return 1;
    }
    if (!wrapper) {
      ctx.err('encrypt-existing: no keyring');
      return 1;
    }
    const controller = new AbortController();
    const onSigint = () => {
      ctx.err('encrypt-existing: stopping after the current recording');
      controller.abort();
    };
    process.once('SIGINT', onSigint);
    try {
      const recovered = await removeAbandonedUploads(
        { db: ctx.db, store: ctx.driver, logger: ctx.logger, config: ctx.config },
        { now: ctx.clock.now(), signal: controller.signal },
      );
      ctx.err(
        `encrypt-existing: crash recovery removed ${recovered.uploads.objects} object(s) of ` +
          `${recovered.uploads.found} interrupted step(s)`,
      );
      const result = await encryptExisting(
        { db: ctx.db, store: ctx.driver, wrapper },
        { now: () => ctx.clock.now(), batchSize, progress: ctx.err, signal: controller.signal },
      );
      ctx.out(JSON.stringify(result));
      return result.failed.length || recovered.errors ? 1 : 0;
    } finally {
      process.off('SIGINT', onSigint);
    }
  },
};
