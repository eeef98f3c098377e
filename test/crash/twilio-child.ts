/**
 * A real Twilio import worker process for the crash tests (test-only): what the service does at
 * start (crash recovery of what killed processes left), then worker runs until no job is open.
 * Configured by the CALLREC_* environment like the service (CALLREC_TWILIO_* required), and
 *
 *   CALLREC_TEST_FAILPOINT    `<step>`, one of fetched|stored|sourceDeleted: SIGKILLs this process right after it
 *
 * Prints the summed run results as JSON on stdout when it was not killed.
 */
import { systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { createDb } from '../../src/db/db.js';
import { countTwilioJobs } from '../../src/db/twilio-jobs.js';
import { createTwilioWorker } from '../../src/ingest/adapters/twilio-worker.js';
import type { TwilioRun, TwilioStep } from '../../src/ingest/adapters/twilio-worker.js';
import { createIngestRuntime } from '../../src/ingest/service.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { removeAbandonedUploads } from '../../src/retention/abandoned.js';
import { createObjectStore } from '../../src/storage/create-store.js';

const config = loadConfig(process.env);
const failAt = process.env.CALLREC_TEST_FAILPOINT as TwilioStep | undefined;
const db = createDb(config.db);
await db.migrate();
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
const worker = createTwilioWorker(runtime, {
  backoffBaseMs: 10,
  failpoint: (step) => {
    if (step === failAt) process.kill(process.pid, 'SIGKILL');
  },
});
const total: TwilioRun = {
  stored: 0,
  alreadyStored: 0,
  sourceDeleted: 0,
  expired: 0,
  notKept: 0,
  retrying: 0,
  failed: 0,
};
try {
  for (let i = 0; i < 50; i++) {
    const run = await worker.runOnce();
    for (const key of Object.keys(total) as Array<keyof TwilioRun>) total[key] += run[key];
    const counts = await countTwilioJobs(db.knex);
    if (counts.pending + counts.stored === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  process.stdout.write(`${JSON.stringify(total)}\n`);
} finally {
  await runtime.temp.release();
  await store.close();
  await db.close();
}
