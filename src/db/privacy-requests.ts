/**
 * The privacy-request register's tables (migration 20261201120000): requests, their numbers,
 * their timeline, and the numbers under restriction. Queries only: the rules (deadlines,
 * states, who may do what) live in src/privacy/ and src/subjects/.
 *
 * Inside a transaction, pass the transaction as `q` (SQLite has one connection).
 */
import type { Knex } from 'knex';

export const REQUEST_KINDS = ['access', 'copy', 'erasure', 'objection', 'restriction', 'correction'] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];
export const REQUEST_CHANNELS = ['email', 'letter', 'phone', 'web'] as const;
export type RequestChannel = (typeof REQUEST_CHANNELS)[number];
export const REQUEST_OUTCOMES = ['fulfilled', 'partially_fulfilled', 'refused', 'withdrawn'] as const;
export type RequestOutcome = (typeof REQUEST_OUTCOMES)[number];
export const RESTRICTION_MODES = ['restrict', 'object'] as const;
export type RestrictionMode = (typeof RESTRICTION_MODES)[number];

export interface PrivacyRequestRow {
  seq: number;
  id: string;
  reference: string;
  kind: RequestKind;
  channel: RequestChannel;
  identity_verified: boolean;
  case_reference: string | null;
  received_at: number;
  due_at: number;
  extension_months: number;
  status: 'open' | 'closed';
  outcome: RequestOutcome | null;
  close_reason: string | null;
  closed_at: number | null;
  closed_by: string | null;
  created_by: string;
  created_at: number;
}

export interface RequestEventRow {
  id: number;
  request_id: string;
  at: number;
  actor: string;
  role: string;
  action: string;
  recording_ids: string | null;
  deletion_seqs: string | null;
  detail: string | null;
}

export interface NewRequestEvent {
  requestId: string;
  at: number;
  actor: { username: string; role: string };
  action: string;
  recordingIds?: readonly string[];
  deletionSeqs?: readonly number[];
  detail?: string;
}

function normalize(row: PrivacyRequestRow): PrivacyRequestRow {
  return {
    ...row,
    seq: Number(row.seq),
    identity_verified: Boolean(row.identity_verified),
    received_at: Number(row.received_at),
    due_at: Number(row.due_at),
    extension_months: Number(row.extension_months),
    closed_at: row.closed_at === null ? null : Number(row.closed_at),
    created_at: Number(row.created_at),
  };
}

export type NewPrivacyRequest = Omit<
  PrivacyRequestRow,
  'seq' | 'reference' | 'status' | 'outcome' | 'close_reason' | 'closed_at' | 'closed_by' | 'extension_months'
>;

/**
 * Inserts a request with its numbers in one transaction; `referenceOf(seq)` names it from the
 * sequence number the database assigned. Returns the stored row.
 */
export async function insertPrivacyRequest(
  knex: Knex,
  options: { row: NewPrivacyRequest; numbers: readonly string[]; referenceOf: (seq: number) => string },
): Promise<PrivacyRequestRow> {
  return knex.transaction(async (trx) => {
    // A unique placeholder until the sequence number is known (same transaction).
    await trx('privacy_requests').insert({
      ...options.row,
      reference: `~${options.row.id}`,
      status: 'open',
      extension_months: 0,
    });
    const inserted = (await trx('privacy_requests').where({ id: options.row.id }).first('seq')) as {
      seq: number | string;
    };
    const seq = Number(inserted.seq);
    await trx('privacy_requests')
      .where({ id: options.row.id })
      .update({ reference: options.referenceOf(seq) });
    for (const number of new Set(options.numbers))
      await trx('privacy_request_numbers').insert({ request_id: options.row.id, number });
    return (await findPrivacyRequest(trx, options.row.id))!;
  });
}

export async function findPrivacyRequest(
  q: Knex | Knex.Transaction,
  id: string,
): Promise<PrivacyRequestRow | undefined> {
  const row = (await q('privacy_requests').where({ id }).first()) as PrivacyRequestRow | undefined;
  return row && normalize(row);
}

/** The E.164 numbers of a request, sorted. */
export async function requestNumbers(q: Knex | Knex.Transaction, id: string): Promise<string[]> {
  const rows = (await q('privacy_request_numbers')
    .where({ request_id: id })
    .orderBy('number', 'asc')
    .select('number')) as Array<{ number: string }>;
  return rows.map((r) => r.number);
}

export type RegisterOrder = 'newest' | 'due';

export interface RegisterQuery {
  /** open: every request not closed; due_soon / overdue: open ones by their due date at `now`; closed. */
  status?: 'open' | 'due_soon' | 'overdue' | 'closed';
  kind?: RequestKind;
  /** received_at >= from */
  from?: number;
  /** received_at < to */
  to?: number;
  /** Requests concerning this E.164 number. */
  number?: string;
  now: number;
  dueSoonMs: number;
  order: RegisterOrder;
  /** Keyset position of the previous page's last row: (received_at, seq) for newest, (due_at, seq) for due. */
  after?: { time: number; seq: number };
  limit: number;
}

/**
 * One page of the register. `newest`: received_at desc, seq desc. `due`: due_at asc, seq asc.
 * Both are keyset-paginated on (time, seq).
 */
export async function queryRegister(q: Knex | Knex.Transaction, query: RegisterQuery): Promise<PrivacyRequestRow[]> {
  const column = query.order === 'newest' ? 'received_at' : 'due_at';
  const dir = query.order === 'newest' ? 'desc' : 'asc';
  let b = q('privacy_requests').orderBy([
    { column, order: dir },
    { column: 'seq', order: dir },
  ]);
  if (query.status === 'closed') b = b.where('status', 'closed');
  else if (query.status !== undefined) b = b.where('status', 'open');
  if (query.status === 'overdue') b = b.where('due_at', '<', query.now);
  if (query.status === 'due_soon')
    b = b.where('due_at', '>=', query.now).andWhere('due_at', '<=', query.now + query.dueSoonMs);
  if (query.kind) b = b.where('kind', query.kind);
  if (query.from !== undefined) b = b.where('received_at', '>=', query.from);
  if (query.to !== undefined) b = b.where('received_at', '<', query.to);
  if (query.number !== undefined) {
    const ids = q('privacy_request_numbers').select('request_id').where('number', query.number);
    b = b.whereIn('id', ids);
  }
  if (query.after) {
    const { time, seq } = query.after;
    const cmp = dir === 'desc' ? '<' : '>';
    b = b.andWhere(
      (w) => void w.where(column, cmp, time).orWhere((w2) => void w2.where(column, time).andWhere('seq', cmp, seq)),
    );
  }
  const rows = (await b.limit(query.limit)) as PrivacyRequestRow[];
  return rows.map(normalize);
}

/** Sets the extension and the new due date of an open request; returns the rows changed (0 when closed meanwhile). */
export async function setExtension(
  q: Knex | Knex.Transaction,
  id: string,
  options: { extensionMonths: number; dueAt: number },
): Promise<number> {
  return q('privacy_requests')
    .where({ id, status: 'open' })
    .update({ extension_months: options.extensionMonths, due_at: options.dueAt });
}

/** Closes an open request; returns the rows changed (0 when it was closed already). */
export async function closeRequest(
  q: Knex | Knex.Transaction,
  id: string,
  options: { outcome: RequestOutcome; reason: string | null; at: number; by: string },
): Promise<number> {
  return q('privacy_requests').where({ id, status: 'open' }).update({
    status: 'closed',
    outcome: options.outcome,
    close_reason: options.reason,
    closed_at: options.at,
    closed_by: options.by,
  });
}

export async function appendRequestEvent(q: Knex | Knex.Transaction, event: NewRequestEvent): Promise<void> {
  await q('privacy_request_events').insert({
    request_id: event.requestId,
    at: event.at,
    actor: event.actor.username,
    role: event.actor.role,
    action: event.action,
    recording_ids: event.recordingIds ? JSON.stringify(event.recordingIds) : null,
    deletion_seqs: event.deletionSeqs ? JSON.stringify(event.deletionSeqs) : null,
    detail: event.detail ?? null,
  });
}

/** The whole timeline of a request, oldest first. */
export async function requestEvents(q: Knex | Knex.Transaction, id: string): Promise<RequestEventRow[]> {
  const rows = (await q('privacy_request_events').where({ request_id: id }).orderBy('id', 'asc')) as RequestEventRow[];
  return rows.map((r) => ({ ...r, id: Number(r.id), at: Number(r.at) }));
}

/** Counts of open requests for the gauges: all open, due within `dueSoonMs`, overdue at `now`. */
export async function registerCounts(
  knex: Knex,
  options: { now: number; dueSoonMs: number },
): Promise<{ open: number; dueSoon: number; overdue: number }> {
  const count = async (b: Knex.QueryBuilder) =>
    Number(((await b.count({ n: '*' }).first()) as { n: number | string } | undefined)?.n ?? 0);
  const open = await count(knex('privacy_requests').where('status', 'open'));
  const overdue = await count(knex('privacy_requests').where('status', 'open').andWhere('due_at', '<', options.now));
  const dueSoon = await count(
    knex('privacy_requests')
      .where('status', 'open')
      .andWhere('due_at', '>=', options.now)
      .andWhere('due_at', '<=', options.now + options.dueSoonMs),
  );
  return { open, dueSoon, overdue };
}

/** Closed requests whose `closed_at` lies before `cutoff`, oldest closed first, at most `limit`. */
export async function closedRequestsBefore(
  q: Knex | Knex.Transaction,
  options: { cutoff: number; limit: number },
): Promise<PrivacyRequestRow[]> {
  const rows = (await q('privacy_requests')
    .where('status', 'closed')
    .andWhere('closed_at', '<', options.cutoff)
    .orderBy([
      { column: 'closed_at', order: 'asc' },
      { column: 'seq', order: 'asc' },
    ])
    .limit(options.limit)) as PrivacyRequestRow[];
  return rows.map(normalize);
}

/**
 * Deletes a closed request closed before `cutoff` with its timeline and numbers; returns 1 when
 * it was deleted, 0 when it is gone already, open again or closed later. Run it in the
 * transaction that logs the deletion.
 */
export async function deleteClosedRequest(
  trx: Knex.Transaction,
  options: { id: string; cutoff: number },
): Promise<number> {
  const due = await trx('privacy_requests')
    .where({ id: options.id, status: 'closed' })
    .andWhere('closed_at', '<', options.cutoff)
    .first('id');
  if (!due) return 0;
  await trx('privacy_request_events').where({ request_id: options.id }).delete();
  await trx('privacy_request_numbers').where({ request_id: options.id }).delete();
  return trx('privacy_requests').where({ id: options.id }).delete();
}

// --- restriction and objection ------------------------------------------------------------

export interface RestrictionRow {
  number: string;
  mode: RestrictionMode;
  request_id: string | null;
  created_by: string;
  created_at: number;
  /** An objection that says "do not keep": new recordings of the number are not stored at ingest. */
  do_not_keep: boolean;
}

export async function findRestriction(q: Knex | Knex.Transaction, number: string): Promise<RestrictionRow | undefined> {
  const row = (await q('subject_restrictions').where({ number }).first()) as RestrictionRow | undefined;
  return row && { ...row, created_at: Number(row.created_at), do_not_keep: Boolean(row.do_not_keep) };
}

/** Places or replaces the restriction of `number`. */
export async function upsertRestriction(q: Knex | Knex.Transaction, row: RestrictionRow): Promise<void> {
  const changed = await q('subject_restrictions').where({ number: row.number }).update({
    mode: row.mode,
    request_id: row.request_id,
    created_by: row.created_by,
    created_at: row.created_at,
    do_not_keep: row.do_not_keep,
  });
  if (changed === 0) await q('subject_restrictions').insert(row);
}

/**
 * The "do not keep" objection covering any of `numbers` (E.164; primary-key lookups), with the
 * reference of the request it was placed under (null when there was none or it was deleted).
 */
export async function findDoNotKeepObjection(
  q: Knex | Knex.Transaction,
  numbers: readonly string[],
): Promise<{ requestReference: string | null } | undefined> {
  if (numbers.length === 0) return undefined;
  const row = (await q('subject_restrictions')
    .leftJoin('privacy_requests', 'privacy_requests.id', 'subject_restrictions.request_id')
    .whereIn('subject_restrictions.number', [...numbers])
    .andWhere('subject_restrictions.do_not_keep', true)
    .first('privacy_requests.reference as reference')) as { reference: string | null } | undefined;
  return row && { requestReference: row.reference ?? null };
}

/** Lifts the restriction of `number`; returns 1 when one was lifted, 0 when there was none. */
export async function deleteRestriction(q: Knex | Knex.Transaction, number: string): Promise<number> {
  return q('subject_restrictions').where({ number }).delete();
}

/**
 * A `whereNotExists` condition for queries on `recordings`: the row's caller and callee numbers
 * are under no restriction. Each side is a primary-key lookup in subject_restrictions.
 */
export function whereNotRestricted(builder: Knex.QueryBuilder, knex: Knex | Knex.Transaction): Knex.QueryBuilder {
  return builder
    .whereNotExists(
      knex('subject_restrictions')
        .select(knex.raw('1'))
        .whereRaw('subject_restrictions.number = recordings.caller_number'),
    )
    .whereNotExists(
      knex('subject_restrictions')
        .select(knex.raw('1'))
        .whereRaw('subject_restrictions.number = recordings.callee_number'),
    );
}

/** True when recording `id` exists and its caller or callee number is under restriction. */
export async function isRecordingRestricted(q: Knex | Knex.Transaction, id: string): Promise<boolean> {
  const row = (await q('recordings')
    .where('recordings.id', id)
    .andWhere(
      (w) =>
        void w
          .whereExists(
            q('subject_restrictions')
              .select(q.raw('1'))
              .whereRaw('subject_restrictions.number = recordings.caller_number'),
          )
          .orWhereExists(
            q('subject_restrictions')
              .select(q.raw('1'))
              .whereRaw('subject_restrictions.number = recordings.callee_number'),
          ),
    )
    .first('recordings.id')) as { id: string } | undefined;
  return row !== undefined;
}
