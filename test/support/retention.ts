/** Helpers for retention and deletion-log tests. */
import type { Db } from '../../src/db/db.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import type { DeletionDeps } from '../../src/retention/delete-core.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { createLogCapture } from './app.js';

export const DAY = 86_400_000;
export const LEASE = 10 * 60_000;

/** Deps for the deletion core with a silent-but-captured logger and fresh metrics. */
export function deletionDeps(db: Db, store: ObjectStore): DeletionDeps & { logs: string[] } {
  const capture = createLogCapture();
  return { db, store, logger: createLogger({ level: 'debug', destination: capture.stream }), metrics: createMetrics(), logs: capture.lines };
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
