/**
 * A recording not kept at ingest (a "do not keep" objection, see `IngestScreen` in deps.ts):
 * nothing of it is stored, and one deletion-log entry records that it arrived and was not kept.
 *
 * Contract:
 * - Called before any object, marker or row of the recording exists. The entry: a fresh id as
 *   `recordingId`, the call's source and callId, the verdict's reason (`objection`), actor
 *   `ingest`, the verdict's reference (the objection's request, never a number), `startedAt`
 *   the call's start, `expiresAt` the deadline it would have had, no objects, verified.
 * - Idempotent per call: under the deletion log's lock, an entry of the same reason for the
 *   same (source, callId) is answered again (`replayed: true`) instead of a second entry, also
 *   when two identical uploads race.
 */
import { ulid } from 'ulid';
import { appendDeletions } from '../audit/index.js';
import { findEntryOfCall, lockDeletionLog } from '../db/deletion-log.js';
import type { AppDeps, IngestVerdict } from '../deps.js';

export interface DiscardedUpload {
  /** The id the deletion-log entry names (no recording with it exists). */
  id: string;
  reason: 'objection';
  deletionSeq: number;
  /** True when this call had been discarded before (a retried upload). */
  replayed: boolean;
}

export async function discardAtIngest(
  deps: Pick<AppDeps, 'db' | 'logger'>,
  options: {
    source: string;
    callId: string;
    startedAt: number;
    expiresAt: number;
    now: number;
    verdict: Extract<IngestVerdict, { keep: false }>;
    requestId?: string;
  },
): Promise<DiscardedUpload> {
  const { verdict } = options;
  const result = await deps.db.knex.transaction(async (trx) => {
    await lockDeletionLog(trx, deps.db.client);
    const before = await findEntryOfCall(trx, {
      source: options.source,
      callId: options.callId,
      reason: verdict.reason,
    });
    if (before)
      return { id: before.recording_id, reason: verdict.reason, deletionSeq: Number(before.seq), replayed: true };
    const id = ulid(options.now);
    const [entry] = await appendDeletions(trx, deps.db, [
      {
        recordingId: id,
        source: options.source,
        callId: options.callId,
        reason: verdict.reason,
        actor: 'ingest',
        reference: verdict.reference,
        startedAt: options.startedAt,
        expiresAt: options.expiresAt,
        deletedAt: options.now,
        objects: [],
        verified: true,
      },
    ]);
    return { id, reason: verdict.reason, deletionSeq: Number(entry!.seq), replayed: false };
  });
  deps.logger.info(
    { requestId: options.requestId, seq: result.deletionSeq, reason: result.reason, replayed: result.replayed },
    'recording not kept at ingest',
  );
  return result;
}
