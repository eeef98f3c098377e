/** What a CLI command runs with: the same dependencies as the server, stdout and stderr. */
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;
import { systemClock } from '../clock.js';
import type { Config } from '../config.js';
import { createDb } from '../db/db.js';
import type { AppDeps } from '../deps.js';
import { createLogger } from '../logger.js';
import { createMetrics } from '../metrics.js';
import { createObjectStore } from '../storage/create-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { encryptingStore } from '../keys/data-keys.js';

export interface CliContext extends AppDeps {
  /** For output scripts read (tokens, passwords, JSON). */
  out(line: string): void;
  /** For messages and progress. */
  err(line: string): void;
  /** The object store driver under the encrypting `store` (for `encrypt-existing`, which reads plaintext as stored). */
  driver?: ObjectStore;
  close(): Promise<void>;
}

export interface CliCommand {
  summary: string;
  run(args: string[], ctx: CliContext): Promise<number>;
}

export async function createCliContext(config: Config): Promise<CliContext> {
  const logger = createLogger({
    level: config.logLevel === 'info' ? 'warn' : config.logLevel,
    destination: process.stderr,
  });
  const db = createDb(config.db);
  await db.migrate();
  const driver = await createObjectStore(config.store, { logger });
  const store = await encryptingStore({ config, db, store: driver });
  return {
    config,
    db,
    store,
    driver,
    logger,
    clock: systemClock,
    metrics: createMetrics(),
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    async close() {
      await store.close();
      await db.close();
    },
  };
}

/** parseArgs with the project's conventions: unknown options are errors, positionals allowed. */
export function parseCommandArgs<T extends ParseArgsOptionsConfig>(args: string[], options: T) {
  return parseArgs({ args, options, allowPositionals: true, strict: true });
}
