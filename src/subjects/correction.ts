/**
 * Correction of call metadata (GDPR Art. 16) under a privacy request.
 *
 * Contract:
 * - Changes the given fields (caller and callee number, agent, queue; null clears one) of a
 *   stored recording; a recording being deleted answers 409 `conflict`, a missing one 404.
 * - Only fields whose value actually changes count. When some do, one `correct` access-log
 *   entry names them (never their values) with the request's reference, and one `correct`
 *   timeline event of the request, in the same transaction as the change; when none do,
 *   nothing is written.
 * - Subject search reads the numbers from the row, so it finds the recording under the
 *   corrected number only, and restriction follows the corrected number too.
 */
import type { Principal } from '../domain/roles.js';
import type { AppDeps } from '../deps.js';
import { appendAccess } from '../db/access-log.js';
import { correctRecording, findRecordingById } from '../db/recordings.js';
import type { CorrectableColumns, RecordingRow } from '../db/recordings.js';
import { errors } from '../errors.js';
import { recordOnCase } from './case.js';
import type { OpenCase } from './case.js';

export interface Correction {
  callerNumber?: string | null;
  calleeNumber?: string | null;
  agentId?: string | null;
  queue?: string | null;
}

const COLUMNS = {
  callerNumber: 'caller_number',
  calleeNumber: 'callee_number',
  agentId: 'agent_id',
  queue: 'queue',
} as const satisfies Record<keyof Correction, keyof CorrectableColumns>;

export async function correctRecordingMetadata(
  deps: Pick<AppDeps, 'db' | 'clock'>,
  options: { id: string; correction: Correction; kase: OpenCase; principal: Principal; httpRequestId?: string },
): Promise<{ row: RecordingRow; fields: Array<keyof Correction> }> {
  const at = deps.clock.now();
  return deps.db.knex.transaction(async (trx) => {
    const before = await findRecordingById(trx, options.id);
    if (!before) throw errors.notFound('Recording');
    const changes: CorrectableColumns = {};
    const fields: Array<keyof Correction> = [];
    for (const field of Object.keys(COLUMNS) as Array<keyof Correction>) {
      const value = options.correction[field];
      const column = COLUMNS[field];
      if (value === undefined || value === before[column]) continue;
      changes[column] = value;
      fields.push(field);
    }
    if (fields.length === 0) return { row: before, fields };
    if ((await correctRecording(trx, options.id, changes)) === 0)
      throw errors.conflict('The recording is being deleted');
    await appendAccess(trx, {
      principal: options.principal,
      recordingId: options.id,
      action: 'correct',
      at,
      requestId: options.httpRequestId,
      detail: `fields=${fields.join(',')} request=${options.kase.reference}`,
    });
    await recordOnCase(trx, options.kase, {
      at,
      principal: options.principal,
      action: 'correct',
      recordingIds: [options.id],
      detail: `fields=${fields.join(',')}`,
    });
    return { row: (await findRecordingById(trx, options.id))!, fields };
  });
}
