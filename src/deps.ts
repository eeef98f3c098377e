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

/**
 * Asked by ingest before anything of a new recording is stored: may a call between these
 * numbers be kept? The subjects feature answers it (an objection that says "do not keep",
 * Art. 21); app.ts composes it, so that ingest knows nothing of privacy. It throws when it
 * cannot tell (the upload then fails like a database failure and the platform retries): a
 * recording is never kept because the question could not be answered.
 */
export interface IngestScreen {
  screen(numbers: { callerNumber: string | null; calleeNumber: string | null }): Promise<IngestVerdict>;
}

/** `keep: false`: not stored; logged with `reason` and the `reference` of the decision (never a number). */
export type IngestVerdict = { keep: true } | { keep: false; reason: 'objection'; reference: string | null };

export interface AppDeps {
  readonly config: Config;
  readonly db: Db;
  readonly store: ObjectStore;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly metrics: Metrics;
  /** Absent where no sweeper runs in the process (CLI, most tests). */
  readonly retentionWakeup?: RetentionWakeup;
  /** Absent where nothing is ingested (CLI, most tests): every recording is kept. app.ts sets it for ingest. */
  readonly ingestScreen?: IngestScreen;
}
