/**
 * A real drop-bucket importer for the crash tests (test-only): what the service does at start
 * (crash recovery of what killed processes left), then listing passes over one source until a
 * pass imports nothing more. Configured by the CALLREC_* environment like the service, and
 *
 *   CALLREC_TEST_DROP_SOURCE  the source name
 *   CALLREC_TEST_FAILPOINT    `<step>`, one of fetched|stored|sourceDeleted: SIGKILLs this process right after it
 *
 * Prints the summed pass results as JSON on stdout when it was not killed.
 */
import { systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { createDb } from '../../src/db/db.js';
import { createS3Drop } from '../../src/ingest/adapters/s3-drop.js';
import type { DropPass, DropStep } from '../../src/ingest/adapters/s3-drop.js';
import { createIngestRuntime } from '../../src/ingest/service.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { removeAbandonedUploads } from '../../src/retention/abandoned.js';
import { createObjectStore } from '../../src/storage/create-store.js';

const config = loadConfig(process.env);
const failAt = process.env.CALLREC_TEST_FAILPOINT as DropStep | undefined;
const name = process.env.CALLREC_TEST_DROP_SOURCE!;
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
const drop = createS3Drop(runtime, {
  pollIntervalMs: 1_000,
  failpoint: (step) => {
    if (step === failAt) process.kill(process.pid, 'SIGKILL');
  },
});
const total: DropPass = { stored: 0, replayed: 0, failed: 0, retrying: 0, waiting: 0, deleted: 0 };
try {
  for (let i = 0; i < 3; i++) {
    const result = await drop.passSource(name);
    for (const key of Object.keys(total) as Array<keyof DropPass>) total[key] += result[key];
  }
  process.stdout.write(`${JSON.stringify(total)}\n`);
} finally {
  await drop.stop({ drainMs: 0 });
  await runtime.temp.release();
  await store.close();
  await db.close();
}
