/**
 * Restriction of processing (GDPR Art. 18) and objection (Art. 21) by phone number.
 *
 * Contract:
 * - A number under restriction makes every recording where it is the caller or the callee
 *   `restricted`, including recordings stored later (the check is made when a recording is
 *   read, against `subject_restrictions`): trainers and admins get 404 on it and do not see it
 *   in lists; privacy officers still do. The sweeper still deletes it at its deadline, and
 *   erasure, export and legal hold work as before.
 * - An objection may say "do not keep" (`doNotKeep`): new recordings from or to the number are
 *   then not stored at all; ingest asks `createObjectionScreen` (./objection.ts) and logs each
 *   one as a deletion-log entry of reason `objection`. Recordings stored before stay (restricted)
 *   until erased or deleted at their deadline.
 * - `restrictNumber` places or replaces (mode, doNotKeep, request) the restriction; `liftRestriction`
 *   removes it (a no-op answering `lifted: false` when there was none). Each writes one access-log
 *   entry (`restrict` / `unrestrict`, no recording id; detail = mode, request reference and the
 *   number of recordings concerned), never the number, and one timeline event of the request,
 *   in the transaction of the change.
 */
import type { Principal } from '../domain/roles.js';
import type { AppDeps } from '../deps.js';
import { appendAccess } from '../db/access-log.js';
import { deleteRestriction, findRestriction, upsertRestriction } from '../db/privacy-requests.js';
import type { RestrictionMode } from '../db/privacy-requests.js';
import { recordOnCase } from './case.js';
import type { OpenCase } from './case.js';
import { findAllSubjectRecordings } from './search.js';

export interface RestrictionStatus {
  restricted: boolean;
  mode: RestrictionMode | null;
  /** An objection that says "do not keep": new recordings of the number are not stored at ingest. */
  doNotKeep: boolean;
  requestId: string | null;
  since: string | null;
  /** Recordings (stored now) where the number is the caller or the callee. */
  recordingIds: string[];
}

type RestrictionDeps = Pick<AppDeps, 'db' | 'clock'>;

async function recordingIdsOf(deps: RestrictionDeps, number: string): Promise<string[]> {
  return (await findAllSubjectRecordings(deps.db.knex, number)).map((r) => r.id);
}

export async function restrictionStatus(deps: RestrictionDeps, number: string): Promise<RestrictionStatus> {
  const row = await findRestriction(deps.db.knex, number);
  return {
    restricted: row !== undefined,
    mode: row?.mode ?? null,
    doNotKeep: row?.do_not_keep ?? false,
    requestId: row?.request_id ?? null,
    since: row ? new Date(row.created_at).toISOString() : null,
    recordingIds: await recordingIdsOf(deps, number),
  };
}

export async function restrictNumber(
  deps: RestrictionDeps,
  options: {
    number: string;
    mode: RestrictionMode;
    /** Only with mode `object` (the route checks it). */
    doNotKeep?: boolean;
    kase: OpenCase;
    principal: Principal;
    httpRequestId?: string;
  },
): Promise<RestrictionStatus> {
  const at = deps.clock.now();
  const ids = await recordingIdsOf(deps, options.number);
  await deps.db.knex.transaction(async (trx) => {
    await upsertRestriction(trx, {
      number: options.number,
      mode: options.mode,
      request_id: options.kase.id,
      created_by: options.principal.username,
      created_at: at,
      do_not_keep: options.doNotKeep ?? false,
    });
    await appendAccess(trx, {
      principal: options.principal,
      recordingId: null,
      action: 'restrict',
      at,
      requestId: options.httpRequestId,
      detail:
        `mode=${options.mode}${options.doNotKeep ? ' doNotKeep=true' : ''} request=${options.kase.reference} ` +
        `count=${ids.length}`,
    });
    await recordOnCase(trx, options.kase, {
      at,
      principal: options.principal,
      action: 'restrict',
      recordingIds: ids,
      detail: `mode=${options.mode}${options.doNotKeep ? ' doNotKeep=true' : ''}`,
    });
  });
  return restrictionStatus(deps, options.number);
}

export async function liftRestriction(
  deps: RestrictionDeps,
  options: { number: string; kase: OpenCase; principal: Principal; reason?: string; httpRequestId?: string },
): Promise<RestrictionStatus & { lifted: boolean }> {
  const at = deps.clock.now();
  const ids = await recordingIdsOf(deps, options.number);
  const lifted = await deps.db.knex.transaction(async (trx) => {
    const before = await findRestriction(trx, options.number);
    if (!before || (await deleteRestriction(trx, options.number)) === 0) return false;
    await appendAccess(trx, {
      principal: options.principal,
      recordingId: null,
      action: 'unrestrict',
      at,
      requestId: options.httpRequestId,
      detail:
        `mode=${before.mode} request=${options.kase.reference} ` +
        `count=${ids.length}${options.reason ? ` reason=${options.reason}` : ''}`,
    });
    await recordOnCase(trx, options.kase, {
      at,
      principal: options.principal,
      action: 'unrestrict',
      recordingIds: ids,
      detail: options.reason,
    });
    return true;
  });
  return { ...(await restrictionStatus(deps, options.number)), lifted };
}
