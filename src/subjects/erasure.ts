/**
 * Erasure on request (GDPR art. 17), through the same claim → delete → verify →
 * chained-log path as the retention sweeper (`deleteRecording`).
 *
 * Contract:
 * - One recording: deleted, verified gone, exactly one deletion-log entry with reason
 *   `erasure_request`, actor = the officer's username and the given reference; one `erase`
 *   access-log entry (detail = reference) and, under a request, one `erase` timeline event
 *   (the recording and its seq), both in the transaction that appends the deletion-log entry.
 *   Answers the deletion-log entry.
 * - Idempotent: a recording already erased (or never there) answers 404 `not_found` and nothing
 *   is logged again (the deletion log's unique recording id makes a second entry impossible).
 * - A recording on legal hold answers 409 `legal_hold` and nothing changes: the hold must be
 *   released first (a deliberate, logged step by privacy or admin), because a hold exists
 *   precisely to keep evidence that an erasure request would otherwise destroy.
 * - One in deletion already (sweeper, an earlier failed erasure being retried) → 409 `conflict`.
 * - A store failure → 503; the recording stays claimed for deletion with this erasure's reason,
 *   actor and reference, and the sweeper finishes it.
 * - Whole subject: refused as a whole with 409 `legal_hold` (listing the held ids) when any of
 *   the subject's recordings is held, so that an erasure never half-happens because of a hold.
 *   Otherwise every recording is erased as above, one after the other; recordings that vanished
 *   meanwhile are skipped, recordings already being deleted are reported as `pending`. With no
 *   recordings at all the answer is 404 (a repeated subject erasure is a 404, like a single one).
 *
 * No phone number is ever passed on: the deletion log and access log get ids, the username and
 * the reference (which the routes check for phone numbers).
 */
import type { Principal } from '../domain/roles.js';
import type { DeletionEntry } from '../audit/index.js';
import { appendAccess } from '../db/access-log.js';
import type { AppDeps } from '../deps.js';
import { errors, isAppError } from '../errors.js';
import { deleteRecording } from '../retention/index.js';
import { recordOnCase } from './case.js';
import type { OpenCase } from './case.js';
import { findAllSubjectRecordings } from './search.js';

export interface ErasureOptions {
  principal: Principal;
  reference: string;
  requestId?: string;
  /** The privacy request it is done under: its timeline event commits with the deletion-log entry. */
  kase?: OpenCase;
}

export interface ErasureResult {
  id: string;
  erased: true;
  deletion: DeletionEntry;
}

export async function eraseRecording(deps: AppDeps, options: ErasureOptions & { id: string }): Promise<ErasureResult> {
  const now = deps.clock.now();
  const entry = await deleteRecording({
    deps,
    recordingId: options.id,
    reason: 'erasure_request',
    actor: options.principal.username,
    reference: options.reference,
    now,
    // The access-log entry and the request's timeline event commit with the deletion-log entry.
    onLogged: async (trx, row) => {
      await appendAccess(trx, {
        principal: options.principal,
        recordingId: options.id,
        action: 'erase',
        at: now,
        requestId: options.requestId,
        detail: options.reference,
      });
      await recordOnCase(trx, options.kase, {
        at: now,
        principal: options.principal,
        action: 'erase',
        recordingIds: [options.id],
        deletionSeqs: [Number(row.seq)],
        detail: `reference=${options.reference}`,
      });
    },
  });
  deps.logger.info(
    { requestId: options.requestId, user: options.principal.username, recordingId: options.id, seq: entry.seq },
    'recording erased on request',
  );
  return { id: options.id, erased: true, deletion: entry };
}

export interface SubjectErasureResult {
  erased: Array<{ id: string; seq: number }>;
  /** Already being deleted by another process; finished by the sweeper. */
  pending: string[];
  count: number;
}

export async function eraseSubject(
  deps: AppDeps,
  options: ErasureOptions & { number: string },
): Promise<SubjectErasureResult> {
  const rows = await findAllSubjectRecordings(deps.db.knex, options.number);
  if (rows.length === 0) throw errors.notFound('Recording');
  const held = rows.filter((r) => r.legal_hold).map((r) => r.id);
  if (held.length > 0) {
    throw errors.onLegalHold({
      detail: 'Some recordings of this subject are under legal hold; release them first or erase the others one by one',
      extra: { heldIds: held },
    });
  }
  const erased: SubjectErasureResult['erased'] = [];
  const pending: string[] = [];
  for (const row of rows) {
    try {
      const result = await eraseRecording(deps, { ...options, id: row.id });
      erased.push({ id: row.id, seq: result.deletion.seq });
    } catch (error) {
      if (isAppError(error) && error.code === 'not_found') continue;
      if (isAppError(error) && error.code === 'conflict') {
        pending.push(row.id);
        continue;
      }
      // legal_hold placed meanwhile, store or database failure: stop here; what was erased stays erased.
      throw error;
    }
  }
  return { erased, pending, count: erased.length };
}
