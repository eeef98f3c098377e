/**
 * Actions done under a privacy request (a "case"): the subject routes take an optional
 * `requestId`; the action is then checked against the request and appended to its timeline.
 *
 * Contract:
 * - `openCase`: the request must exist (404 `not_found`) and be open (409 `request_closed`);
 *   an action on a phone number must concern one of the request's numbers (409
 *   `not_in_request`), so that a case's timeline never records another subject's data.
 *   Actions on one recording are not checked against the numbers (the subject may have
 *   called from another line, and a correction changes them).
 * - `recordOnCase` appends one timeline event through `q`: the action's own transaction, so
 *   that the action and its event commit together or not at all (a crash between them can
 *   leave neither half). Erasures write it in the transaction that appends the deletion-log
 *   entry; refusals (nothing done) are recorded after the refusal.
 */
import type { Knex } from 'knex';
import type { Principal } from '../domain/roles.js';
import type { AppDeps } from '../deps.js';
import { appendRequestEvent, findPrivacyRequest, requestNumbers } from '../db/privacy-requests.js';
import { errors } from '../errors.js';

export interface OpenCase {
  id: string;
  reference: string;
}

export async function openCase(
  deps: Pick<AppDeps, 'db'>,
  options: { requestId: string; number?: string },
): Promise<OpenCase> {
  const row = await findPrivacyRequest(deps.db.knex, options.requestId);
  if (!row) throw errors.notFound('Privacy request');
  if (row.status !== 'open') throw errors.requestClosed();
  if (options.number !== undefined && !(await requestNumbers(deps.db.knex, row.id)).includes(options.number))
    throw errors.notInRequest();
  return { id: row.id, reference: row.reference };
}

/** `openCase` when a request id was given, else undefined. */
export async function maybeOpenCase(
  deps: Pick<AppDeps, 'db'>,
  options: { requestId?: string; number?: string },
): Promise<OpenCase | undefined> {
  return options.requestId === undefined
    ? undefined
    : openCase(deps, { requestId: options.requestId, number: options.number });
}

export async function recordOnCase(
  q: Knex | Knex.Transaction,
  kase: OpenCase | undefined,
  event: {
    at: number;
    principal: Principal;
    action: string;
    recordingIds?: readonly string[];
    deletionSeqs?: readonly number[];
    detail?: string;
  },
): Promise<void> {
  if (!kase) return;
  await appendRequestEvent(q, {
    requestId: kase.id,
    at: event.at,
    actor: event.principal,
    action: event.action,
    recordingIds: event.recordingIds,
    deletionSeqs: event.deletionSeqs,
    detail: event.detail,
  });
}
