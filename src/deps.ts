/**
 * What every feature is built from. `createApp`, the CLI and the tests assemble
 * it; features receive it and never reach for globals or the environment.
 */
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import type { Db } from './db/db.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { ObjectStore } from './storage/object-store.js';

/**
 * Tells the retention sweeper of a deadline it may not know yet (a new recording, a released
 * hold), so that it wakes then instead of at its next interval. Returns at once and never
 * throws; a missed call only costs latency (the interval remains the upper bound).
 */
export interface RetentionWakeup {
  deadlineAdded(expiresAtMs: number): void;
}

export interface AppDeps {
  readonly config: Config;
  readonly db: Db;
  readonly store: ObjectStore;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly metrics: Metrics;
  /** Absent where no sweeper runs in the process (CLI, most tests). */
  readonly retentionWakeup?: RetentionWakeup;
}
