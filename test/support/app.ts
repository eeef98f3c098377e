/**
 * Starts the real app on 127.0.0.1 with a port of its own, over a given
 * database and store, for HTTP-level tests.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { Express } from 'express';
import { createApp } from '../../src/app.js';
import { ensureScorecardRollup } from '../../src/training/index.js';
import { createManualClock } from '../../src/clock.js';
import type { Clock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import type { Config } from '../../src/config.js';
import type { Db } from '../../src/db/db.js';
import type { AppDeps } from '../../src/deps.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { tempDir } from './backends.js';

/**
 * A config from test defaults plus overrides (CALLREC_* names, as in the environment). No role
 * needs a second factor unless a test asks (CALLREC_MFA_REQUIRED_ROLES, default privacy,admin in
 * production): suites about other features sign privileged users in with a password alone;
 * test/http/mfa.test.ts covers the second factor.
 */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    CALLREC_DATA_DIR: tempDir('callrec-data-'),
    CALLREC_INGEST_SOURCES: 'pbx-test:test-secret-0123456789abcdef',
    CALLREC_LOG_LEVEL: 'info',
    CALLREC_MFA_REQUIRED_ROLES: 'none',
    ...overrides,
  });
}

/** Captures every JSON log line the app writes, for assertions on what is (not) logged. */
export function createLogCapture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  return { lines, stream };
}

export interface TestApp {
  url: string;
  /** The Express app itself (for inspecting what is mounted). */
  app: Express;
  deps: AppDeps;
  logs: string[];
  close(): Promise<void>;
}

export async function startTestApp(options: {
  db: Db;
  store: ObjectStore;
  config?: Config;
  clock?: Clock;
  /**
   * Runs the service's start-up work on the database (src/main.ts: the scorecards' roll-up in the configured
   * zone); default true. False for a database that is down from the start, where the real start would stop.
   */
  startup?: boolean;
}): Promise<TestApp> {
  const capture = createLogCapture();
  const config = options.config ?? testConfig();
  const deps: AppDeps = {
    config,
    db: options.db,
    store: options.store,
    logger: createLogger({ level: config.logLevel, destination: capture.stream }),
    clock: options.clock ?? createManualClock(Date.now()),
    metrics: createMetrics(),
  };
  // As the service does at start-up (src/main.ts): the scorecards' roll-up in the configured zone.
  if (options.startup !== false) await ensureScorecardRollup(deps);
  const app = createApp(deps);
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    app,
    deps,
    logs: capture.lines,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
