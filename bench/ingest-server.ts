/**
 * A callrec server in a process of its own, for the benchmarks that measure the
 * service from outside (ingest, playback; started by bench/server-process.ts).
 * Configured by CALLREC_* variables only; prints `port=<n>` on stdout when listening.
 */
import { createApp } from '../src/app.js';
import { systemClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import { createDb } from '../src/db/db.js';
import { createLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import { createObjectStore } from '../src/storage/create-store.js';

const config = loadConfig(process.env);
const db = createDb(config.db);
await db.migrate();
const store = await createObjectStore(config.store);
const app = createApp({ config, db, store, logger: createLogger({ level: 'warn' }), clock: systemClock, metrics: createMetrics() });
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`port=${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => void db.close().then(() => process.exit(0)));
});
