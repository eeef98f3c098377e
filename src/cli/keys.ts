/**
 * `callrec keys list|rotate|rewrap|remove <id>`: the keyring of key-encryption keys (see
 * README, Encryption at rest). `list` prints one line per key on stdout: id, creation time,
 * recordings it wraps, `current`; never key material. `rotate` adds a key and re-wraps every
 * data key with it in batches (progress on stderr; no object is rewritten); `rewrap` finishes
 * an interrupted rotation; `remove` drops a key that wraps nothing. Exit 1 on a refusal.
 */
import { KeyringError } from '../keys/keyring.js';
import { listKeks, removeKek, rewrapAll, rotateKeyring } from '../keys/rotation.js';
import type { CliCommand } from './context.js';
import { parseCommandArgs } from './context.js';

export const keysCommand: CliCommand = {
  summary:
    'list the keyring keys, rotate (new key, data keys re-wrapped), rewrap, remove <id> (a key that wraps nothing)',
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs(args, { 'batch-size': { type: 'string' } });
    const [action, id] = positionals;
    const file = ctx.config.encryption.keyringFile;
    const batchSize = values['batch-size'] === undefined ? undefined : Number(values['batch-size']);
    if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000)) {
      ctx.err('keys: --batch-size expects 1..10000');
      return 1;
    }
    try {
      switch (action) {
        case 'list':
          for (const k of await listKeks({ db: ctx.db, file }))
            ctx.out(`${k.id}\t${k.createdAt}\t${k.recordings} recordings${k.current ? '\tcurrent' : ''}`);
          return 0;
        case 'rotate': {
          const r = await rotateKeyring({
            db: ctx.db,
            file,
            now: new Date(ctx.clock.now()),
            batchSize,
            progress: ctx.err,
          });
          ctx.err(`keys: rotated to ${r.kekId}; ${r.rewrapped} data keys re-wrapped`);
          return 0;
        }
        case 'rewrap': {
          const r = await rewrapAll({ db: ctx.db, file, batchSize, progress: ctx.err });
          ctx.err(`keys: ${r.rewrapped} data keys re-wrapped with ${r.kekId}`);
          return 0;
        }
        case 'remove':
          if (!id) break;
          await removeKek({ db: ctx.db, file, kekId: id });
          ctx.err(`keys: ${id} removed`);
          return 0;
      }
    } catch (error) {
      if (!(error instanceof KeyringError)) throw error;
      ctx.err(`keys: ${error.message}`);
      return 1;
    }
    ctx.err('usage: callrec keys list | rotate [--batch-size N] | rewrap [--batch-size N] | remove <id>');
    return 1;
  },
};
