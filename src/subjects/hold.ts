/**
 * Legal hold: a recording on hold is kept past its retention deadline (the sweeper selects only
 * `legal_hold = false`) and cannot be erased until the hold is released.
 *
 * Contract:
 * - `placeHold` sets `legal_hold`, `hold_reason`, `hold_by`, `hold_at` and writes one `hold`
 *   access-log entry (detail = reason) and, under a request, its timeline event in the same
 *   transaction (so does `releaseHold` with `release`). Holding a held recording again
 *   replaces reason, holder and time and is logged again. There is no limit on the number of
 *   held recordings. A recording already claimed for deletion (status `deleting`) cannot be
 *   held: 409 `conflict`. A missing recording: 404.
 * - `releaseHold` clears the hold and writes one `release` entry (detail = the given reason, or
 *   the reason of the hold released). Releasing a recording that is not held changes nothing,
 *   logs nothing and answers the recording (idempotent). A released recording whose deadline
 *   has passed is deleted by the next sweep, which the release wakes (`retentionWakeup`) once
 *   its transaction has committed.
 */
import { appendAccess } from '../db/access-log.js';
import { clearLegalHold, findRecordingById, setLegalHold } from '../db/recordings.js';
import type { RecordingRow } from '../db/recordings.js';
import type { Principal } from '../domain/roles.js';
import type { AppDeps } from '../deps.js';
import { errors } from '../errors.js';
import { recordOnCase } from './case.js';
import type { OpenCase } from './case.js';

type HoldDeps = Pick<AppDeps, 'db' | 'clock' | 'retentionWakeup'>;

export async function placeHold(
  deps: HoldDeps,
  options: { id: string; principal: Principal; reason: string; requestId?: string; kase?: OpenCase },
): Promise<RecordingRow> {
  const at = deps.clock.now();
  return deps.db.knex.transaction(async (trx) => {
    const changed = await setLegalHold(trx, options.id, { reason: options.reason, by: options.principal.username, at });
    const row = await findRecordingById(trx, options.id);
    if (!row) throw errors.notFound('Recording');
    if (changed === 0) throw errors.conflict('The recording is being deleted');
    await appendAccess(trx, {
      principal: options.principal,
      recordingId: options.id,
      action: 'hold',
      at,
      requestId: options.requestId,
      detail: options.reason,
    });
    await recordOnCase(trx, options.kase, {
      at,
      principal: options.principal,
      action: 'hold',
      recordingIds: [options.id],
      detail: options.reason,
    });
    return row;
  });
}

export async function releaseHold(
  deps: HoldDeps,
  options: { id: string; principal: Principal; reason?: string; requestId?: string; kase?: OpenCase },
): Promise<RecordingRow> {
  const at = deps.clock.now();
  let released = false;
  const row = await deps.db.knex.transaction(async (trx) => {
    const before = await findRecordingById(trx, options.id);
    if (!before) throw errors.notFound('Recording');
    if (!before.legal_hold) return before;
    const changed = await clearLegalHold(trx, options.id);
    if (changed > 0) {
      released = true;
      await appendAccess(trx, {
        principal: options.principal,
        recordingId: options.id,
        action: 'release',
        at,
        requestId: options.requestId,
        detail: options.reason ?? before.hold_reason ?? undefined,
      });
      await recordOnCase(trx, options.kase, {
        at,
        principal: options.principal,
        action: 'release',
        recordingIds: [options.id],
        detail: options.reason,
      });
    }
    return (await findRecordingById(trx, options.id))!;
  });
  if (released) deps.retentionWakeup?.deadlineAdded(Number(row.expires_at));
  return row;
}
