/**
 * The privacy-request register: a request of a data subject as a case with a deadline, a
 * timeline and a reasoned close.
 *
 * Contract:
 * - `createRequest`: `dueAt` = end of the Amsterdam day one calendar month after `receivedAt`
 *   (deadline.ts); a `receivedAt` later than the clock plus one minute is refused (422
 *   `received_in_future`: a request cannot be answered before it arrives, and a typo would
 *   give it a deadline too late). The reference is `PR-<year of receipt>-<seq, 4+ digits>`
 *   with seq a register-wide sequence (never reused, never reset). The timeline opens with a
 *   `created` event.
 * - `extendRequest`: by 1 or 2 months, in all at most 2 (Art. 12(3)), only while the request
 *   is open and not yet overdue (the subject must be told within the first period); the new
 *   deadline counts from receipt. Otherwise 409 `extension_not_allowed` (or `request_closed`).
 * - `closeRequest`: once; `reason` is required unless the outcome is `fulfilled` (checked by
 *   the route schema). A second close is 409 `request_closed`.
 * - Every change appends one timeline event in the same transaction. No phone number is ever
 *   logged (application logs get the request id and reference only).
 */
import { ulid } from 'ulid';
import type { Principal } from '../domain/roles.js';
import type { AppDeps } from '../deps.js';
import {
  appendRequestEvent,
  closeRequest as closeRow,
  findPrivacyRequest,
  insertPrivacyRequest,
  requestEvents,
  requestNumbers,
  setExtension,
} from '../db/privacy-requests.js';
import type {
  PrivacyRequestRow,
  RequestChannel,
  RequestEventRow,
  RequestKind,
  RequestOutcome,
} from '../db/privacy-requests.js';
import { errors } from '../errors.js';
import { daysLeft, dueAtFor, DUE_SOON_DAYS, localDateOf, MAX_EXTENSION_MONTHS, requestState } from './deadline.js';
import type { RequestState } from './deadline.js';

type RegisterDeps = Pick<AppDeps, 'db' | 'clock' | 'logger'>;

/** How far ahead of the clock `receivedAt` may lie (clock skew of the officer's machine). */
export const RECEIVED_AT_SKEW_MS = 60_000;
export const DUE_SOON_MS = DUE_SOON_DAYS * 86_400_000;

/** The request as the API shows it (list items leave `phones` out; see the routes). */
export interface PrivacyRequest {
  id: string;
  reference: string;
  kind: RequestKind;
  channel: RequestChannel;
  identityVerified: boolean;
  caseReference: string | null;
  receivedAt: string;
  dueAt: string;
  extensionMonths: number;
  /** Derived from the clock: open, due_soon (≤ 7 days), overdue, closed. */
  status: RequestState;
  /** Amsterdam calendar days from today to the due date (negative when overdue); null once closed. */
  daysLeft: number | null;
  outcome: RequestOutcome | null;
  closeReason: string | null;
  closedAt: string | null;
  closedBy: string | null;
  createdBy: string;
  createdAt: string;
}

export interface TimelineEvent {
  at: string;
  actor: string;
  role: string;
  action: string;
  recordingIds: string[];
  deletionSeqs: number[];
  detail: string | null;
}

export interface PrivacyRequestDetail extends PrivacyRequest {
  phones: string[];
  timeline: TimelineEvent[];
}

const iso = (ms: number) => new Date(ms).toISOString();

export function referenceFor(seq: number, receivedAt: number): string {
  return `PR-${localDateOf(receivedAt).year}-${String(seq).padStart(4, '0')}`;
}

export function toPrivacyRequest(row: PrivacyRequestRow, now: number): PrivacyRequest {
  const status = requestState({ dueAt: row.due_at, closedAt: row.closed_at, now });
  return {
    id: row.id,
    reference: row.reference,
    kind: row.kind,
    channel: row.channel,
    identityVerified: row.identity_verified,
    caseReference: row.case_reference,
    receivedAt: iso(row.received_at),
    dueAt: iso(row.due_at),
    extensionMonths: row.extension_months,
    status,
    daysLeft: status === 'closed' ? null : daysLeft({ dueAt: row.due_at, now }),
    outcome: row.outcome,
    closeReason: row.close_reason,
    closedAt: row.closed_at === null ? null : iso(row.closed_at),
    closedBy: row.closed_by,
    createdBy: row.created_by,
    createdAt: iso(row.created_at),
  };
}

function toEvent(row: RequestEventRow): TimelineEvent {
  return {
    at: iso(row.at),
    actor: row.actor,
    role: row.role,
    action: row.action,
    recordingIds: row.recording_ids ? (JSON.parse(row.recording_ids) as string[]) : [],
    deletionSeqs: row.deletion_seqs ? (JSON.parse(row.deletion_seqs) as number[]) : [],
    detail: row.detail,
  };
}

export interface NewRequestInput {
  kind: RequestKind;
  /** E.164 numbers, at least one. */
  numbers: string[];
  receivedAt: number;
  channel: RequestChannel;
  identityVerified: boolean;
  caseReference?: string;
}

export async function createRequest(
  deps: RegisterDeps,
  options: { principal: Principal; input: NewRequestInput },
): Promise<PrivacyRequestDetail> {
  const now = deps.clock.now();
  const { input, principal } = options;
  if (input.receivedAt > now + RECEIVED_AT_SKEW_MS) throw errors.receivedInFuture();
  const id = ulid(now);
  const row = await insertPrivacyRequest(deps.db.knex, {
    row: {
      id,
      kind: input.kind,
      channel: input.channel,
      identity_verified: input.identityVerified,
      case_reference: input.caseReference ?? null,
      received_at: input.receivedAt,
      due_at: dueAtFor({ receivedAt: input.receivedAt }),
      created_by: principal.username,
      created_at: now,
    },
    numbers: input.numbers,
    referenceOf: (seq) => referenceFor(seq, input.receivedAt),
  });
  await appendRequestEvent(deps.db.knex, {
    requestId: id,
    at: now,
    actor: principal,
    action: 'created',
    detail: `kind=${input.kind} channel=${input.channel} identityVerified=${input.identityVerified}`,
  });
  deps.logger.info(
    { user: principal.username, privacyRequest: row.reference, kind: row.kind },
    'privacy request registered',
  );
  return getRequest(deps, id);
}

/** The request with its numbers and timeline; 404 when there is none. */
export async function getRequest(deps: RegisterDeps, id: string): Promise<PrivacyRequestDetail> {
  const row = await findPrivacyRequest(deps.db.knex, id);
  if (!row) throw errors.notFound('Privacy request');
  const [phones, events] = [await requestNumbers(deps.db.knex, id), await requestEvents(deps.db.knex, id)];
  return { ...toPrivacyRequest(row, deps.clock.now()), phones, timeline: events.map(toEvent) };
}

export async function extendRequest(
  deps: RegisterDeps,
  options: { id: string; principal: Principal; months: number; reason: string },
): Promise<PrivacyRequestDetail> {
  const now = deps.clock.now();
  await deps.db.knex.transaction(async (trx) => {
    const row = await findPrivacyRequest(trx, options.id);
    if (!row) throw errors.notFound('Privacy request');
    if (row.status === 'closed') throw errors.requestClosed();
    if (now > row.due_at)
      throw errors.extensionNotAllowed('The request is overdue: an extension must be decided within the first period');
    const total = row.extension_months + options.months;
    if (total > MAX_EXTENSION_MONTHS) {
      throw errors.extensionNotAllowed(
        `At most ${MAX_EXTENSION_MONTHS} months in all (already extended by ${row.extension_months})`,
      );
    }
    const dueAt = dueAtFor({ receivedAt: row.received_at, extensionMonths: total });
    if ((await setExtension(trx, options.id, { extensionMonths: total, dueAt })) === 0) throw errors.requestClosed();
    await appendRequestEvent(trx, {
      requestId: options.id,
      at: now,
      actor: options.principal,
      action: 'extended',
      detail: `months=${options.months} dueAt=${iso(dueAt)} reason=${options.reason}`,
    });
  });
  return getRequest(deps, options.id);
}

export async function closeRequest(
  deps: RegisterDeps,
  options: { id: string; principal: Principal; outcome: RequestOutcome; reason?: string },
): Promise<PrivacyRequestDetail> {
  const now = deps.clock.now();
  await deps.db.knex.transaction(async (trx) => {
    const row = await findPrivacyRequest(trx, options.id);
    if (!row) throw errors.notFound('Privacy request');
    const changed = await closeRow(trx, options.id, {
      outcome: options.outcome,
      reason: options.reason ?? null,
      at: now,
      by: options.principal.username,
    });
    if (changed === 0) throw errors.requestClosed();
    await appendRequestEvent(trx, {
      requestId: options.id,
      at: now,
      actor: options.principal,
      action: 'closed',
      detail: `outcome=${options.outcome}${options.reason ? ` reason=${options.reason}` : ''}`,
    });
  });
  const detail = await getRequest(deps, options.id);
  deps.logger.info(
    { user: options.principal.username, privacyRequest: detail.reference, outcome: options.outcome },
    'privacy request closed',
  );
  return detail;
}
