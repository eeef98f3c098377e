/** Helpers for retention and deletion-log tests. */
import { ulid } from 'ulid';
import { appendDeletions } from '../../src/audit/deletion-log.js';
import type { NewDeletion } from '../../src/audit/deletion-log.js';
import type { CheckpointDeps } from '../../src/audit/checkpoints.js';
import type { Db } from '../../src/db/db.js';
import type { DeletionLogRow } from '../../src/db/deletion-log.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import type { DeletionDeps } from '../../src/retention/delete-core.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { createLogCapture, testConfig } from './app.js';

export const DAY = 86_400_000;
export const LEASE = 10 * 60_000;

/** Deps for the deletion core with a silent-but-captured logger and fresh metrics. */
export function deletionDeps(db: Db, store: ObjectStore): DeletionDeps & { logs: string[] } {
  const capture = createLogCapture();
  return {
    db,
    store,
    logger: createLogger({ level: 'debug', destination: capture.stream }),
    metrics: createMetrics(),
    logs: capture.lines,
  };
}

/**
 * Deps for `maybeCheckpoint` with a captured logger (`logs`): the test configuration plus
 * CALLREC_* overrides (checkpoints every 5 entries or hourly unless overridden, locked in
 * GOVERNANCE mode so that test buckets can be removed).
 */
export function checkpointDeps(
  db: Db,
  store: ObjectStore,
  overrides: Record<string, string> = {},
): CheckpointDeps & { logs: string[] } {
  const capture = createLogCapture();
  const config = testConfig({
    CALLREC_CHECKPOINT_EVERY: '5',
    CALLREC_CHECKPOINT_INTERVAL: '1h',
    CALLREC_CHECKPOINT_LOCK_MODE: 'governance',
    CALLREC_CHECKPOINT_RETAIN: '1d',
    ...overrides,
  });
  return {
    db,
    store,
    config,
    logger: createLogger({ level: 'info', destination: capture.stream }),
    logs: capture.lines,
  };
}

export async function logRows(db: Db, recordingId?: string): Promise<Array<Record<string, unknown>>> {
  const q = db.knex('deletion_log').orderBy('seq', 'asc');
  if (recordingId) q.where({ recording_id: recordingId });
  return (await q) as Array<Record<string, unknown>>;
}

export async function rowExists(db: Db, id: string): Promise<boolean> {
  return (await db.knex('recordings').where({ id }).first()) !== undefined;
}

export async function counterValue(metric: { get(): Promise<{ values: Array<{ value: number }> }> }): Promise<number> {
  return (await metric.get()).values.reduce((sum, v) => sum + v.value, 0);
}

/** 2026-02-01T00:00:00Z: the time deletion-log fixtures are built around. */
export const LOG_T0 = Date.UTC(2026, 1, 1);

/** A deletion as the sweeper reports it (fresh recording id), with overrides. */
export function buildDeletion(overrides: Partial<NewDeletion> = {}): NewDeletion {
  const id = ulid();
  return {
    recordingId: id,
    source: 'pbx-test',
    callId: `call-${id}`,
    reason: 'retention_expired',
    actor: 'sweeper',
    reference: null,
    startedAt: LOG_T0 - 30 * DAY,
    expiresAt: LOG_T0,
    deletedAt: LOG_T0 + 1000,
    objects: [{ key: `recordings/2026/01/02/${id}/original.wav`, sha256: 'cd'.repeat(32), sizeBytes: 100 }],
    verified: true,
    ...overrides,
  };
}

/** Appends `count` built deletions to the log in one transaction. */
export async function appendEntries(
  db: Db,
  count: number,
  overrides: Partial<NewDeletion> = {},
): Promise<DeletionLogRow[]> {
  return db.knex.transaction((trx) =>
    appendDeletions(
      trx,
      db,
      Array.from({ length: count }, () => buildDeletion(overrides)),
    ),
  );
}
