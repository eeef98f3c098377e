/**
 * The register's own retention (issue #17, item 7): a closed request is kept for
 * CALLREC_PRIVACY_REQUEST_RETENTION (accountability, Art. 5(2); default two calendar years) and
 * then deleted by a background job, logged like a recording deletion.
 *
 * Contract:
 * - A request closed at `closedAt` may be deleted once the clock is past `purgeAfter`: for a
 *   period in years, the end of the Amsterdam day `years` calendar years after the local day it
 *   was closed (29 February + 1 year → end of 28 February); for an exact duration, `closedAt + ms`.
 *   `purgeCutoff(now)` is the matching bound on `closed_at` (a request is due iff
 *   `closed_at < cutoff`), so that the database selects due requests by an index.
 * - Open requests are never deleted, however old.
 * - Each deletion is one transaction: a deletion-log entry of reason `privacy_request`
 *   (recordingId = the request's id, source `privacy-register`, callId = its reference, actor
 *   `privacy-register`, startedAt = receipt, expiresAt = `purgeAfter`, no objects, verified),
 *   then the request, its numbers and its timeline are deleted. What remains is that entry: no
 *   phone number, no case reference, no reason text. Two instances racing on one request: the
 *   deletion log's unique recording id lets one entry through; the other run skips it.
 * - One application log line per run that deleted something (count and deletion-log seqs; no
 *   number, no reference).
 */
import type { AppDeps } from '../deps.js';
import type { RetentionPeriod } from '../config.js';
import { appendDeletions } from '../audit/index.js';
import { closedRequestsBefore, deleteClosedRequest } from '../db/privacy-requests.js';
import type { PrivacyRequestRow } from '../db/privacy-requests.js';
import { isUniqueViolation } from '../db/recordings.js';
import { addCalendarMonths, DEFAULT_TIME_ZONE, endOfLocalDay, localDateOf, startOfLocalDay } from './deadline.js';

export const REGISTER_SOURCE = 'privacy-register';
const BATCH = 200;

/** When a request closed at `closedAt` may be deleted (it is due once the clock is past this instant). */
export function purgeAfter(period: RetentionPeriod, closedAt: number, timeZone = DEFAULT_TIME_ZONE): number {
  if ('ms' in period) return closedAt + period.ms;
  return endOfLocalDay(addCalendarMonths(localDateOf(closedAt, timeZone), 12 * period.years), timeZone);
}

/** The bound on `closed_at` at `now`: a closed request is due iff its `closed_at < purgeCutoff(now)`. */
export function purgeCutoff(period: RetentionPeriod, now: number, timeZone = DEFAULT_TIME_ZONE): number {
  if ('ms' in period) return now - period.ms;
  // Due iff local(closed) + n years < local(now), i.e. local(closed) < local(now) − n years (the
  // clamped 29 February included: it is before 1 March of its year).
  return startOfLocalDay(addCalendarMonths(localDateOf(now, timeZone), -12 * period.years), timeZone);
}

export interface RegisterPurgeResult {
  deleted: Array<{ id: string; seq: number }>;
}

async function purgeOne(
  deps: Pick<AppDeps, 'db' | 'config'>,
  options: { row: PrivacyRequestRow; cutoff: number; now: number },
): Promise<number | undefined> {
  const { row } = options;
  try {
    return await deps.db.knex.transaction(async (trx) => {
      const [entry] = await appendDeletions(trx, deps.db, [
        {
          recordingId: row.id,
          source: REGISTER_SOURCE,
          callId: row.reference,
          reason: 'privacy_request',
          actor: REGISTER_SOURCE,
          reference: null,
          startedAt: row.received_at,
          expiresAt: purgeAfter(deps.config.privacy.requestRetention, row.closed_at!),
          deletedAt: options.now,
          objects: [],
          verified: true,
        },
      ]);
      if ((await deleteClosedRequest(trx, { id: row.id, cutoff: options.cutoff })) === 0) throw new GoneMeanwhile();
      return Number(entry!.seq);
    });
  } catch (error) {
    if (error instanceof GoneMeanwhile || isUniqueViolation(error)) return undefined;
    throw error;
  }
}

class GoneMeanwhile extends Error {
  override readonly name = 'GoneMeanwhile';
}

/**
 * Deletes every closed request past its retention at `now` (see the module comment), in
 * batches, until none is left or `signal` aborts.
 */
export async function purgeClosedRequests(
  deps: Pick<AppDeps, 'db' | 'config' | 'logger'>,
  options: { now: number; signal?: AbortSignal },
): Promise<RegisterPurgeResult> {
  const cutoff = purgeCutoff(deps.config.privacy.requestRetention, options.now);
  const deleted: RegisterPurgeResult['deleted'] = [];
  for (;;) {
    options.signal?.throwIfAborted();
    const rows = await closedRequestsBefore(deps.db.knex, { cutoff, limit: BATCH });
    let progressed = false;
    for (const row of rows) {
      options.signal?.throwIfAborted();
      const seq = await purgeOne(deps, { row, cutoff, now: options.now });
      if (seq !== undefined) {
        deleted.push({ id: row.id, seq });
        progressed = true;
      }
    }
    if (rows.length < BATCH || !progressed) break;
  }
  if (deleted.length > 0) {
    deps.logger.info(
      { count: deleted.length, seqs: deleted.map((d) => d.seq) },
      'closed privacy requests deleted after their retention',
    );
  }
  return { deleted };
}
