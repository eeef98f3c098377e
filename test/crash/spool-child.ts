/**
 * A real spool process for the crash tests (test-only): what the service does at start (crash
 * recovery of what killed processes left), then spool passes until the folder holds no pair.
 * Configured by the CALLREC_* environment like the service (CALLREC_SPOOL_DIR required), and
 *
 *   CALLREC_TEST_FAILPOINT    `<step>`, one of claimed|stored|audioRemoved: SIGKILLs this process right after it
 *
 * Prints the summed pass results as JSON on stdout when it was not killed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { createDb } from '../../src/db/db.js';
import { SPOOL_CLAIM_DIR, createSpool } from '../../src/ingest/adapters/spool.js';
import type { SpoolPass, SpoolStep } from '../../src/ingest/adapters/spool.js';
import { createIngestRuntime } from '../../src/ingest/service.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { removeAbandonedUploads } from '../../src/retention/abandoned.js';
import { createObjectStore } from '../../src/storage/create-store.js';

const config = loadConfig(process.env);
const spoolConfig = config.ingest.spool!;
const failAt = process.env.CALLREC_TEST_FAILPOINT as SpoolStep | undefined;
const db = createDb(config.db);
const store = await createObjectStore(config.store);
const deps = {
  config,
  db,
  store,
  logger: createLogger({ level: 'silent' }),
  clock: systemClock,
  metrics: createMetrics(),
};
await removeAbandonedUploads(deps, { now: Date.now() });
const runtime = createIngestRuntime(deps);
const spool = createSpool(runtime, {
  ...spoolConfig,
  failpoint: (step) => {
    if (step === failAt) process.kill(process.pid, 'SIGKILL');
  },
});
const pending = () =>
  [...fs.readdirSync(spoolConfig.dir), ...fs.readdirSync(path.join(spoolConfig.dir, SPOOL_CLAIM_DIR))].some(
    (f) => f.endsWith('.json') && !f.startsWith('.'),
  );
const total: SpoolPass = { stored: 0, replayed: 0, failed: 0, retrying: 0, waiting: 0 };
try {
  for (let i = 0; i < 50; i++) {
    const result = await spool.pass();
    for (const key of Object.keys(total) as Array<keyof SpoolPass>) total[key] += result[key];
    if (!pending()) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  process.stdout.write(`${JSON.stringify(total)}\n`);
} finally {
  await spool.stop({ drainMs: 0 });
  await runtime.temp.release();
  await store.close();
  await db.close();
}
