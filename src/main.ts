/**
 * Process entry: loadConfig → open db and store → crash recovery (what killed processes left:
 * temp files, partial objects, abandoned uploads) → createApp → listen → start the background
 * jobs → graceful shutdown on SIGTERM/SIGINT (stop accepting; uploads in flight get
 * UPLOAD_DRAIN_MS, then are aborted and cleaned up; stop the jobs; close store and db), all
 * within SHUTDOWN_GRACE_MS.
 */
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createAppService } from './app.js';
import { systemClock } from './clock.js';
import { ConfigError, loadConfigFromEnvironment } from './config.js';
import type { Config } from './config.js';
import { createDb } from './db/db.js';
import type { AppDeps } from './deps.js';
import { createLogger } from './logger.js';
import { createMetrics } from './metrics.js';
import { createObjectStore } from './storage/create-store.js';
import { encryptingStore } from './keys/data-keys.js';
import { createWakeupRelay, startBackgroundJobs } from './background.js';
import { ensureBootstrapAdmin } from './auth/bootstrap.js';
import { removeAbandonedUploads } from './retention/abandoned.js';
import { ensureScorecardRollup } from './training/index.js';

const SHUTDOWN_GRACE_MS = 15_000;
/** How long uploads in flight may still finish after SIGTERM; the rest of the grace is for their cleanup. */
const UPLOAD_DRAIN_MS = 10_000;

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfigFromEnvironment();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`callrec: invalid configuration: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger({ level: config.logLevel });
  fs.mkdirSync(config.dataDir, { recursive: true });

  const db = createDb(config.db);
  await db.migrate();
  // Scorecards' weekly roll-up: rebuilt here when CALLREC_TIME_ZONE is not the zone it was built in.
  await ensureScorecardRollup({ db, config, logger });
  const driver = await createObjectStore(config.store, { logger });
  // Refuse to serve on a store that says it is not fit (S3: a missing bucket, or a versioned one
  // under CALLREC_S3_VERSIONED=refuse, where a delete would only add a delete marker and erase nothing).
  await driver.upkeep?.checkBeforeServing?.();
  // Encryption at rest: the driver behind the encrypting decorator; a missing or wrong keyring stops the start here.
  const store = await encryptingStore({ config, db, store: driver, logger });
  const retentionWakeup = createWakeupRelay();
  const deps: AppDeps = {
    config,
    db,
    store,
    logger,
    clock: systemClock,
    metrics: createMetrics({ defaultMetrics: true }),
    retentionWakeup,
  };

  await ensureBootstrapAdmin(deps, (line) => process.stdout.write(`${line}\n`));

  // Before serving: what killed processes left (their temp files, partial objects, uploads without a row).
  const recovered = await removeAbandonedUploads(deps, { now: deps.clock.now() });
  logger.info({ ...recovered }, 'crash recovery at start finished');

  const { app, stop: stopApp, ingest } = createAppService(deps, { importPolling: true });
  const server = app.listen(config.port, config.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const url = config.publicUrl ?? `http://${shownHost}:${port}`;
  // The signal handlers come before the announcement: a SIGTERM sent as soon as the URL is
  // printed must shut down cleanly, not kill the process by the signal's default action.
  const background: { jobs?: ReturnType<typeof startBackgroundJobs> } = {};
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error('shutdown grace period exceeded; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await Promise.all([stopApp({ drainMs: UPLOAD_DRAIN_MS }), background.jobs?.stop()]);
    await closed;
    await store.close();
    await db.close();
    clearTimeout(force);
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  logger.info({ port, db: config.db.client, store: config.store.kind }, 'listening');
  process.stdout.write(
    `callrec is listening on ${url}/ (database: ${config.db.client}, object store: ${config.store.kind})\n`,
  );
  background.jobs = startBackgroundJobs(deps, { ingest });
  retentionWakeup.connect(background.jobs);
}

main().catch((error: unknown) => {
  process.stderr.write(`callrec: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
