/**
 * The last part of a manual redaction, shared by the request that redacts and by crash recovery
 * (src/retention/abandoned.ts): once the recording points at its new objects, the old ones are
 * deleted, their absence is verified (`exists`: no object, no version, no delete marker), and ONE
 * transaction removes the redaction's marker (only while it is still `owner`'s) and appends the
 * deletion-log entry of reason `redaction` with the span and the old objects' digests.
 *
 * Exactly once: the entry is written in the transaction that removes the marker, so a redaction
 * whose marker is gone has its entry, and one whose marker remains gets it from whoever finishes
 * it (a crash before the commit leaves the marker; deleting an object already gone succeeds).
 */
import type { Knex } from 'knex';
import { appendDeletions } from '../audit/index.js';
import type { Db } from '../db/db.js';
import type { DeletionLogRow } from '../db/deletion-log.js';
import { takeInflight } from '../db/ingest-inflight.js';
import type { ObjectStore } from '../storage/object-store.js';

/**
 * What a redaction's second marker carries (`ingest_inflight.redaction`, JSON): the deletion-log
 * entry still to be written once the old objects are gone. Ids, keys, digests and times only.
 */
export interface PendingRedaction {
  recordingId: string;
  source: string;
  callId: string;
  /** Who redacted (a username). */
  actor: string;
  startedAt: number;
  expiresAt: number;
  span: { startMs: number; endMs: number };
  /** The old original and rendition. */
  objects: Array<{ key: string; sha256: string; sizeBytes: number }>;
}

/** Parses a marker's `redaction` column (throws on anything but a pending redaction). */
export function parsePendingRedaction(text: string): PendingRedaction {
  const value = JSON.parse(text) as PendingRedaction;
  if (
    typeof value?.recordingId !== 'string' ||
    !Array.isArray(value.objects) ||
    !value.objects.every((o) => typeof o?.key === 'string') ||
    !Number.isInteger(value.span?.startMs) ||
    !Number.isInteger(value.span?.endMs)
  )
    throw new Error('an in-flight marker holds a malformed pending redaction');
  return value;
}

/** The steps after which a test failpoint may fire here. */
export type FinishStep = 'deleted' | 'logged';

/** A short-code failure of the finishing step (the marker stays: crash recovery retries it). */
export class RedactionFinishError extends Error {
  override readonly name = 'RedactionFinishError';
  constructor(
    readonly code: 'delete_failed' | 'still_present' | 'taken_over',
    options: { cause?: unknown } = {},
  ) {
    super(`the old objects of a redaction could not be finished (${code})`, options);
  }
}

/**
 * Deletes the old objects of `pending`, verifies their absence, then appends its deletion-log
 * entry and removes `owner`'s marker in one transaction; returns the entry's row. Throws
 * RedactionFinishError (or the store's or database's error) otherwise, leaving the marker.
 */
export async function finishRedaction(
  deps: { db: Db; store: ObjectStore },
  options: {
    pending: PendingRedaction;
    owner: string;
    now: number;
    signal?: AbortSignal;
    failpoint?: (step: FinishStep) => void | Promise<void>;
  },
): Promise<DeletionLogRow> {
  const { pending, signal } = options;
  const keys = pending.objects.map((o) => o.key);
  const result = await deps.store.deleteMany(keys, { signal });
  if (result.failed.length) throw new RedactionFinishError('delete_failed', { cause: result.failed[0]!.error });
  for (const key of keys) {
    if (await deps.store.exists(key, { signal })) throw new RedactionFinishError('still_present');
  }
  await options.failpoint?.('deleted');
  const [row] = await deps.db.knex.transaction(async (trx: Knex.Transaction) => {
    // A write first (SQLite: takes the write lock before the log's head is read).
    if (!(await takeInflight(trx, { recordingId: pending.recordingId, owner: options.owner })))
      throw new RedactionFinishError('taken_over');
    return appendDeletions(trx, deps.db, [
      {
        recordingId: pending.recordingId,
        source: pending.source,
        callId: pending.callId,
        reason: 'redaction',
        actor: pending.actor.slice(0, 64),
        reference: null,
        startedAt: pending.startedAt,
        expiresAt: pending.expiresAt,
        deletedAt: options.now,
        objects: pending.objects,
        verified: true,
        span: pending.span,
      },
    ]);
  });
  await options.failpoint?.('logged');
  return row!;
}
