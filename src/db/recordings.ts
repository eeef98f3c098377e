/**
 * The `recordings` table: row type, mapping to the API shape, and the queries
 * shared by ingest, playback, retention and subjects. Feature-specific queries
 * (claims, search) live here too, so that the table has one module.
 *
 * Inside a transaction, pass the transaction (`trx`) as `q`: on SQLite there is
 * one connection, and a query on the outer handle would wait for it forever.
 */
import type { Knex } from 'knex';
import { whereNotRestricted } from './privacy-requests.js';

export type Direction = 'inbound' | 'outbound';
/** What a number field held (see src/ingest/call-metadata.ts): only `e164` has a number. */
export type NumberKind = 'e164' | 'withheld' | 'internal';
export type AgentChannel = 'left' | 'right';
export type RecordingStatus = 'stored' | 'deleting';

export interface RecordingRow {
  id: string;
  source: string;
  call_id: string;
  started_at: number;
  duration_ms: number;
  agent_id: string | null;
  queue: string | null;
  direction: Direction | null;
  caller_number: string | null;
  callee_number: string | null;
  /** Columns of migration 20261201120000_pipeline-call-metadata (null on older rows). */
  ended_at: number | null;
  caller_number_kind: NumberKind | null;
  callee_number_kind: NumberKind | null;
  agent_channel: AgentChannel | null;
  call_group_id: string | null;
  case_reference: string | null;
  flag_silent: boolean;
  flag_one_way: boolean;
  original_key: string;
  original_sha256: string;
  /**
   * Columns of migration 20261202145800_card-redactions (null or absent on older rows): the digest as received, and the
   * silenced spans (JSON).
   */
  received_sha256?: string | null;
  redactions?: string | null;
  original_size: number;
  original_codec: string;
  original_content_type: string;
  original_sample_rate: number;
  original_channels: number;
  playback_key: string;
  playback_format: string;
  playback_content_type: string;
  playback_size: number;
  playback_sha256: string;
  waveform: string | null;
  expires_at: number;
  legal_hold: boolean;
  hold_reason: string | null;
  hold_by: string | null;
  hold_at: number | null;
  status: RecordingStatus;
  claimed_by: string | null;
  claim_expires_at: number | null;
  delete_attempts: number;
  next_attempt_at: number | null;
  last_error: string | null;
  created_at: number;
}

/** The recording as the API shows it (numbers unmasked: callers mask for their audience). */
export interface Recording {
  id: string;
  source: string;
  callId: string;
  startedAt: string;
  expiresAt: string;
  durationMs: number;
  agentId: string | null;
  queue: string | null;
  direction: Direction | null;
  callerNumber: string | null;
  calleeNumber: string | null;
  endedAt: string | null;
  /** null: the upload did not send the field. */
  callerNumberKind: NumberKind | null;
  calleeNumberKind: NumberKind | null;
  /** Which channel of a stereo recording holds the agent; null for mono. */
  agentChannel: AgentChannel | null;
  callGroupId: string | null;
  caseReference: string | null;
  /** `silent`: no channel carries sound; `one_way`: one channel of a stereo call is silent. */
  qualityFlags: Array<'silent' | 'one_way'>;
  /** Spans silenced in the original and the rendition (card data): telephony pauses, DTMF tones, manual redactions. */
  redactions: RecordingRedaction[];
  original: { sha256: string; sizeBytes: number; codec: string; sampleRate: number; channels: number };
  playback: { format: string; sizeBytes: number; contentType: string };
  legalHold: { reason: string | null; by: string | null; at: string | null } | null;
  createdAt: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

export type RedactionKind = 'pause' | 'dtmf' | 'manual';
export interface RecordingRedaction {
  startMs: number;
  endMs: number;
  kind: RedactionKind;
}

/** The `redactions` column as a list (none for null, absent or unreadable). */
export function redactionsOfRow(row: Pick<RecordingRow, 'redactions'>): RecordingRedaction[] {
  if (!row.redactions) return [];
  try {
    const value = JSON.parse(row.redactions) as unknown;
    return Array.isArray(value) ? (value as RecordingRedaction[]) : [];
  } catch {
    return [];
  }
}

/** SQLite returns booleans as 0/1; PostgreSQL as booleans. */
export function normalizeRow(row: RecordingRow): RecordingRow {
  return {
    ...row,
    legal_hold: Boolean(row.legal_hold),
    flag_silent: Boolean(row.flag_silent),
    flag_one_way: Boolean(row.flag_one_way),
  };
}

export function toRecording(row: RecordingRow): Recording {
  return {
    id: row.id,
    source: row.source,
    callId: row.call_id,
    startedAt: iso(row.started_at),
    expiresAt: iso(row.expires_at),
    durationMs: row.duration_ms,
    agentId: row.agent_id,
    queue: row.queue,
    direction: row.direction,
    callerNumber: row.caller_number,
    calleeNumber: row.callee_number,
    endedAt: row.ended_at === null ? null : iso(row.ended_at),
    // Rows from before the kinds were stored: a number is an E.164 one.
    callerNumberKind: row.caller_number_kind ?? (row.caller_number ? 'e164' : null),
    calleeNumberKind: row.callee_number_kind ?? (row.callee_number ? 'e164' : null),
    agentChannel: row.agent_channel,
    callGroupId: row.call_group_id,
    caseReference: row.case_reference,
    qualityFlags: [
      ...(row.flag_silent ? (['silent'] as const) : []),
      ...(row.flag_one_way ? (['one_way'] as const) : []),
    ],
    redactions: redactionsOfRow(row).map((r) => ({ startMs: r.startMs, endMs: r.endMs, kind: r.kind })),
    original: {
      sha256: row.original_sha256,
      sizeBytes: row.original_size,
      codec: row.original_codec,
      sampleRate: row.original_sample_rate,
      channels: row.original_channels,
    },
    playback: { format: row.playback_format, sizeBytes: row.playback_size, contentType: row.playback_content_type },
    legalHold: row.legal_hold
      ? { reason: row.hold_reason, by: row.hold_by, at: row.hold_at === null ? null : iso(row.hold_at) }
      : null,
    createdAt: iso(row.created_at),
  };
}

/** Every object key a recording owns (deleted together). */
export function objectKeysOf(row: Pick<RecordingRow, 'original_key' | 'playback_key'>): string[] {
  return [row.original_key, row.playback_key];
}

export type NewRecordingRow = Omit<
  RecordingRow,
  | 'status'
  | 'claimed_by'
  | 'claim_expires_at'
  | 'delete_attempts'
  | 'next_attempt_at'
  | 'last_error'
  | 'legal_hold'
  | 'hold_reason'
  | 'hold_by'
  | 'hold_at'
>;

/** Inserts one row; a second row for the same (source, call_id) violates the unique constraint. */
export async function insertRecording(q: Knex | Knex.Transaction, row: NewRecordingRow): Promise<void> {
  await q('recordings').insert({ ...row, status: 'stored', legal_hold: false, delete_attempts: 0 });
}

export async function findRecordingById(q: Knex | Knex.Transaction, id: string): Promise<RecordingRow | undefined> {
  const row = (await q('recordings').where({ id }).first()) as RecordingRow | undefined;
  return row && normalizeRow(row);
}

export async function findRecordingByCall(
  q: Knex | Knex.Transaction,
  source: string,
  callId: string,
): Promise<RecordingRow | undefined> {
  const row = (await q('recordings').where({ source, call_id: callId }).first()) as RecordingRow | undefined;
  return row && normalizeRow(row);
}

/** True when a unique-constraint violation was raised by either database. */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; errno?: number; message?: string } | undefined;
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT' || /UNIQUE constraint failed/.test(e?.message ?? '');
}

// --- subjects (privacy officer): search by number, legal hold -------------------------------

/**
 * Every recording where `number` (E.164) is the caller or the callee, in id order, at most
 * `limit`, after `afterId` (keyset cursor). Each side is an index lookup (caller_number,
 * callee_number); the union keeps both indexes usable on SQLite and PostgreSQL alike.
 */
export function recordingsByNumberQuery(
  q: Knex | Knex.Transaction,
  options: { number: string; afterId?: string; limit: number },
): Knex.QueryBuilder {
  const ids = q
    .select('id')
    .from('recordings')
    .where('caller_number', options.number)
    .union((u) => {
      void u.select('id').from('recordings').where('callee_number', options.number);
    });
  let builder = q('recordings').whereIn('id', ids).orderBy('id', 'asc').limit(options.limit);
  if (options.afterId !== undefined) builder = builder.where('id', '>', options.afterId);
  return builder;
}

/** Runs `recordingsByNumberQuery` (see there). */
export async function findRecordingsByNumber(
  q: Knex | Knex.Transaction,
  options: { number: string; afterId?: string; limit: number },
): Promise<RecordingRow[]> {
  const rows = (await recordingsByNumberQuery(q, options)) as RecordingRow[];
  return rows.map(normalizeRow);
}

/**
 * Places (or renews) a legal hold. Only a `stored` recording can be held: one already claimed
 * for deletion is not touched. Returns the number of rows changed (0 or 1). A held recording is
 * skipped by the sweeper and refused by erasure until the hold is released; holding again
 * replaces reason, holder and time.
 */
export async function setLegalHold(
  q: Knex | Knex.Transaction,
  id: string,
  hold: { reason: string; by: string; at: number },
): Promise<number> {
  return q('recordings')
    .where({ id, status: 'stored' })
    .update({ legal_hold: true, hold_reason: hold.reason, hold_by: hold.by, hold_at: hold.at });
}

/** Releases a legal hold; returns 1 when a hold was lifted, 0 when there was none (idempotent). */
export async function clearLegalHold(q: Knex | Knex.Transaction, id: string): Promise<number> {
  return q('recordings')
    .where({ id, legal_hold: true })
    .update({ legal_hold: false, hold_reason: null, hold_by: null, hold_at: null });
}

/** Call metadata a correction (Art. 16) may change, by column. */
export type CorrectableColumns = Partial<Pick<RecordingRow, 'caller_number' | 'callee_number' | 'agent_id' | 'queue'>>;

/**
 * Corrects call metadata of a `stored` recording (one being deleted is not touched); returns the
 * number of rows changed (0 or 1). A corrected number is a phone number (kind `e164`; none when cleared),
 * whatever the telephony sent before (withheld, internal).
 */
export async function correctRecording(
  q: Knex | Knex.Transaction,
  id: string,
  changes: CorrectableColumns,
): Promise<number> {
  const kindOf = (n: string | null | undefined): NumberKind | null => (n ? 'e164' : null);
  return q('recordings')
    .where({ id, status: 'stored' })
    .update({
      ...changes,
      ...('caller_number' in changes ? { caller_number_kind: kindOf(changes.caller_number) } : {}),
      ...('callee_number' in changes ? { callee_number_kind: kindOf(changes.callee_number) } : {}),
    });
}

// ---------------------------------------------------------------------------
// Playback: search with keyset pagination, waveform cache.

export interface RecordingSearch {
  /** started_at >= from (epoch ms). */
  from?: number;
  /** started_at < to (epoch ms). */
  to?: number;
  agentId?: string;
  queue?: string;
  direction?: Direction;
  callGroupId?: string;
  caseReference?: string;
  qualityFlag?: 'silent' | 'one_way';
  minDurationMs?: number;
  maxDurationMs?: number;
  /** Only these queues (a scoped trainer); null or absent means every queue. */
  queues?: readonly string[] | null;
  /** Hide recordings whose deadline passed at this instant (unless on legal hold). */
  visibleAt: number;
  /** Keyset cursor: rows strictly after (startedAt desc, id desc). */
  after?: { startedAt: number; id: string };
  /** Leave out recordings whose caller or callee number is under restriction (Art. 18/21). */
  hideRestricted?: boolean;
  limit: number;
  /**
   * Also count each row's training notes (`note_count`), in the same query: a correlated count on
   * the notes' (recording_id, offset_ms) index per returned row, no query per row.
   */
  withNoteCount?: boolean;
}

/** A row of `searchRecordings` with `withNoteCount`. */
export type RecordingRowWithNotes = RecordingRow & { note_count?: number };

/**
 * Recordings newest first (started_at desc, id desc), at most `limit`. Only rows with
 * status `stored` whose deadline has not passed (or that are on legal hold) are
 * visible: a recording being deleted or overdue for deletion is never listed.
 */
export async function searchRecordings(
  q: Knex | Knex.Transaction,
  search: RecordingSearch,
): Promise<RecordingRowWithNotes[]> {
  let b = q('recordings')
    .where('status', 'stored')
    .andWhere((w) => void w.where('expires_at', '>', search.visibleAt).orWhere('legal_hold', true))
    .orderBy([
      { column: 'started_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(search.limit);
  if (search.from !== undefined) b = b.where('started_at', '>=', search.from);
  if (search.to !== undefined) b = b.where('started_at', '<', search.to);
  if (search.agentId !== undefined) b = b.where('agent_id', search.agentId);
  if (search.queue !== undefined) b = b.where('queue', search.queue);
  if (search.direction !== undefined) b = b.where('direction', search.direction);
  if (search.callGroupId !== undefined) b = b.where('call_group_id', search.callGroupId);
  if (search.caseReference !== undefined) b = b.where('case_reference', search.caseReference);
  if (search.qualityFlag !== undefined)
    b = b.where(search.qualityFlag === 'silent' ? 'flag_silent' : 'flag_one_way', true);
  if (search.minDurationMs !== undefined) b = b.where('duration_ms', '>=', search.minDurationMs);
  if (search.maxDurationMs !== undefined) b = b.where('duration_ms', '<=', search.maxDurationMs);
  if (search.queues) b = b.whereIn('queue', [...search.queues]);
  if (search.hideRestricted) b = whereNotRestricted(b, q);
  if (search.after) {
    const { startedAt, id } = search.after;
    // The plain `started_at <= startedAt` is implied by the OR after it; it is there for the
    // planners, which seek an index to it instead of walking every newer row (the OR alone
    // gives them no range).
    b = b
      .where('started_at', '<=', startedAt)
      .andWhere(
        (w) =>
          void w
            .where('started_at', '<', startedAt)
            .orWhere((w2) => void w2.where('started_at', startedAt).andWhere('id', '<', id)),
      );
  }
  if (search.withNoteCount) {
    const count = q('notes').count('*').whereRaw('notes.recording_id = recordings.id').as('note_count');
    b = b.select('recordings.*', count);
  }
  const rows = (await b) as RecordingRowWithNotes[];
  return rows.map((row) => {
    const normalized: RecordingRowWithNotes = normalizeRow(row);
    if (search.withNoteCount) normalized.note_count = Number(row.note_count ?? 0);
    return normalized;
  });
}

/** The columns a manual redaction replaces: the new objects, their digests and sizes, the peaks, the spans. */
export type RedactedColumns = Pick<
  RecordingRow,
  | 'original_key'
  | 'original_sha256'
  | 'original_size'
  | 'original_codec'
  | 'original_content_type'
  | 'playback_key'
  | 'playback_format'
  | 'playback_content_type'
  | 'playback_size'
  | 'playback_sha256'
  | 'waveform'
  | 'redactions'
>;

/**
 * Inside a redaction's switching transaction: points the recording at its new objects, only if
 * it is still stored, not held and still points at the objects `from` (false otherwise:
 * claimed for deletion, put on hold, redacted or deleted meanwhile; nothing changed).
 */
export async function switchToRedactedObjects(
  q: Knex | Knex.Transaction,
  options: { id: string; from: { originalKey: string; playbackKey: string }; to: RedactedColumns },
): Promise<boolean> {
  const n = await q('recordings')
    .where({
      id: options.id,
      status: 'stored',
      legal_hold: false,
      original_key: options.from.originalKey,
      playback_key: options.from.playbackKey,
    })
    .update(options.to);
  return n === 1;
}

/** Caches computed waveform peaks (JSON) on a row; a missing row is a no-op. */
export async function setRecordingWaveform(q: Knex | Knex.Transaction, id: string, waveform: string): Promise<void> {
  await q('recordings').where({ id }).update({ waveform });
}

// ---------------------------------------------------------------------------
// Deletion claims (retention sweeper, erasure). A claimed row has
// status = 'deleting', claimed_by = the claim token and claim_expires_at = the
// end of its lease; an expired lease may be taken over by anyone. Every claim
// adds one to delete_attempts, so delete_attempts > 1 marks a resumed deletion
// (after a failure or a crash).

/** A claimed row plus why it is being deleted (columns of migration 20261127010000). */
export interface ClaimedRecording extends RecordingRow {
  delete_reason: 'retention_expired' | 'erasure_request' | 'lifecycle_expired' | null;
  delete_actor: string | null;
  delete_reference: string | null;
}

/**
 * The sweeper's "due" condition at `now`: no legal hold, not backing off, and either
 * stored past its deadline or left claimed by someone whose lease has run out.
 */
function whereDue(builder: Knex.QueryBuilder, now: number): Knex.QueryBuilder {
  return builder
    .where('legal_hold', false)
    .andWhere((b) => b.whereNull('next_attempt_at').orWhere('next_attempt_at', '<=', now))
    .andWhere((b) =>
      b
        .where((s) => s.where('status', 'stored').andWhere('expires_at', '<=', now))
        .orWhere((s) => s.where('status', 'deleting').andWhere('claim_expires_at', '<', now)),
    );
}

/**
 * The first `limit` rows of `whereDue`, oldest deadline first, as `SELECT … UNION ALL SELECT …
 * ORDER BY expires_at LIMIT n`: one half per status, each read in deadline order from the
 * (status, expires_at) index and merged, so a backlog of due rows costs `limit` index steps
 * instead of gathering every due row and sorting them (the single OR did: 283 ms at 3 M rows
 * with 12,000 due on SQLite). Same rows as `whereDue(...).orderBy('expires_at').limit(limit)`.
 */
function dueInDeadlineOrder(knex: Knex, options: { now: number; limit: number; columns: string[] }): Knex.QueryBuilder {
  const { now, limit, columns } = options;
  const notBackingOff = (b: Knex.QueryBuilder) => b.whereNull('next_attempt_at').orWhere('next_attempt_at', '<=', now);
  const pastDeadline = knex('recordings')
    .select(columns)
    .where('status', 'stored')
    .andWhere('expires_at', '<=', now)
    .andWhere('legal_hold', false)
    .andWhere(notBackingOff);
  const leaseRunOut = knex('recordings')
    .select(columns)
    .where('status', 'deleting')
    .andWhere('claim_expires_at', '<', now)
    .andWhere('legal_hold', false)
    .andWhere(notBackingOff);
  return pastDeadline.unionAll(leaseRunOut).orderBy('expires_at', 'asc').limit(limit);
}

/**
 * Claims up to `limit` due recordings for `claimant` (a token unique to this claim) until
 * `now + leaseMs`, oldest deadline first; two claimers never get the same row.
 *
 * PostgreSQL: SELECT … FOR UPDATE SKIP LOCKED and the UPDATE in one transaction; rows
 * locked by another claimer are skipped, and a row updated meanwhile is re-checked.
 * SQLite: knex compiles no FOR UPDATE, so the claim is ONE conditional UPDATE whose
 * WHERE repeats the due condition; SQLite runs a statement as one write transaction
 * under the database write lock, so no other connection or process can claim the same
 * rows in between. The claimed rows are then read back by token.
 */
export async function claimDueRecordings(
  db: { knex: Knex; client: 'sqlite' | 'pg' },
  options: { now: number; limit: number; claimant: string; leaseMs: number },
): Promise<ClaimedRecording[]> {
  const { now, limit, claimant, leaseMs } = options;
  const set = {
    status: 'deleting',
    claimed_by: claimant,
    claim_expires_at: now + leaseMs,
    delete_attempts: db.knex.raw('delete_attempts + 1'),
    delete_reason: db.knex.raw("coalesce(delete_reason, 'retention_expired')"),
    delete_actor: db.knex.raw("coalesce(delete_actor, 'sweeper')"),
  };
  if (db.client === 'pg') {
    return db.knex.transaction(async (trx) => {
      const ids = (
        (await whereDue(trx('recordings').select('id'), now)
          .orderBy('expires_at', 'asc')
          .limit(limit)
          .forUpdate()
          .skipLocked()) as Array<{
          id: string;
        }>
      ).map((r) => r.id);
      if (ids.length === 0) return [];
      const rows = (await trx('recordings').whereIn('id', ids).update(set).returning('*')) as ClaimedRecording[];
      return rows.map((r) => normalizeRow(r) as ClaimedRecording);
    });
  }
  const dueIds = db.knex
    .select('id')
    .from(dueInDeadlineOrder(db.knex, { now, limit, columns: ['id', 'expires_at'] }).as('due'));
  await whereDue(db.knex('recordings').whereIn('id', dueIds), now).update(set);
  const rows = (await db.knex('recordings').where({ claimed_by: claimant, status: 'deleting' })) as ClaimedRecording[];
  return rows.map((r) => normalizeRow(r) as ClaimedRecording);
}

export type ClaimOneResult = { claimed: ClaimedRecording } | { refused: 'not_found' | 'legal_hold' | 'in_progress' };

/**
 * Claims one recording (erasure) regardless of its deadline: one conditional UPDATE
 * (atomic on both databases) that succeeds only without legal hold and when the row is
 * stored, released after a failed attempt, or its previous claim has expired. Records why it is being deleted.
 */
export async function claimRecordingById(
  knex: Knex,
  options: {
    id: string;
    now: number;
    claimant: string;
    leaseMs: number;
    reason: string;
    actor: string;
    reference: string | null;
  },
): Promise<ClaimOneResult> {
  const { id, now, claimant, leaseMs } = options;
  const n = await knex('recordings')
    .where({ id, legal_hold: false })
    .andWhere((b) => b.where('status', 'stored').orWhere('claim_expires_at', '<', now).orWhereNull('claimed_by'))
    .update({
      status: 'deleting',
      claimed_by: claimant,
      claim_expires_at: now + leaseMs,
      delete_reason: options.reason,
      delete_actor: options.actor,
      delete_reference: options.reference,
      delete_attempts: knex.raw('delete_attempts + 1'),
      next_attempt_at: null,
    });
  const row = (await knex('recordings').where({ id }).first()) as ClaimedRecording | undefined;
  if (n === 1 && row && row.claimed_by === claimant) return { claimed: normalizeRow(row) as ClaimedRecording };
  if (!row) return { refused: 'not_found' };
  if (row.legal_hold) return { refused: 'legal_hold' };
  return { refused: 'in_progress' };
}

/**
 * Gives up a claim after a failed attempt: the row stays `deleting` (its objects may be
 * partly gone, so it must not be served again) and becomes claimable at `nextAttemptAt`.
 * `error` is a short code, never a storage message. No-op when the claim was taken over.
 */
export async function releaseClaimForRetry(
  knex: Knex,
  options: { id: string; claimant: string; nextAttemptAt: number; error: string },
): Promise<void> {
  await knex('recordings')
    .where({ id: options.id, claimed_by: options.claimant })
    .update({
      claimed_by: null,
      claim_expires_at: options.nextAttemptAt - 1,
      next_attempt_at: options.nextAttemptAt,
      last_error: options.error.slice(0, 200),
    });
}

/** Backlog figures for the gauges: recordings past their deadline not yet deleted (held ones excluded). */
export async function retentionBacklog(
  knex: Knex,
  now: number,
): Promise<{ count: number; oldestExpiresAt: number | null; held: number }> {
  const due = (await knex('recordings')
    .where('expires_at', '<=', now)
    .andWhere('legal_hold', false)
    .count({ n: '*' })
    .min({ oldest: 'expires_at' })
    .first()) as { n: number | string; oldest: number | string | null } | undefined;
  const held = (await knex('recordings')
    .where('expires_at', '<=', now)
    .andWhere('legal_hold', true)
    .count({ n: '*' })
    .first()) as { n: number | string } | undefined;
  return {
    count: Number(due?.n ?? 0),
    oldestExpiresAt: due?.oldest === null || due?.oldest === undefined ? null : Number(due.oldest),
    held: Number(held?.n ?? 0),
  };
}

/**
 * When the sweeper's due condition (`whereDue`) next becomes true for some row, or null when no
 * row will become due without a change (none left, or only held ones). At or before `now` means
 * rows are due now. A stored row is due at its deadline; a claimed one (in flight elsewhere, or
 * backing off after a failure) when its lease has run out and its backoff has ended.
 *
 * Two indexed reads: the first stored row in (status, expires_at) order that is not on hold
 * (held rows past their deadline are skipped in the index; there are few), and the minimum over
 * the `deleting` rows, which are only those in flight or backing off.
 */
export async function nextDueAt(knex: Knex): Promise<number | null> {
  const stored = (await knex('recordings')
    .select('expires_at')
    .where({ status: 'stored', legal_hold: false })
    .orderBy('expires_at', 'asc')
    .limit(1)
    .first()) as { expires_at: number | string } | undefined;
  const claimed = (await knex('recordings')
    .where({ status: 'deleting', legal_hold: false })
    .select(
      knex.raw(
        'min(case when next_attempt_at is not null and next_attempt_at > claim_expires_at then next_attempt_at else ' +
          'claim_expires_at + 1 end) as due_at',
      ),
    )
    .first()) as { due_at: number | string | null } | undefined;
  const times = [stored?.expires_at, claimed?.due_at]
    .filter((t): t is number | string => t !== null && t !== undefined)
    .map(Number);
  return times.length ? Math.min(...times) : null;
}

/**
 * The ids of the first `limit` due recordings without claiming them (dry run), oldest deadline
 * first. Ids only: the (status, expires_at) index covers the read, no row is visited.
 */
export async function listDueRecordingIds(knex: Knex, options: { now: number; limit: number }): Promise<string[]> {
  const rows = (await dueInDeadlineOrder(knex, { ...options, columns: ['id', 'expires_at'] })) as Array<{ id: string }>;
  return rows.map((r) => r.id);
}

/** Columns of `findPlaybackRowById`: what serving a recording's audio needs (never the waveform or phone numbers). */
export const PLAYBACK_COLUMNS = [
  'id',
  'queue',
  'status',
  'legal_hold',
  'expires_at',
  'playback_key',
  'playback_format',
  'playback_content_type',
  'playback_sha256',
] as const;

/** A playback row and whether the recording is restricted (its caller or callee number under restriction). */
export type PlaybackLookup = Pick<RecordingRow, (typeof PLAYBACK_COLUMNS)[number]> & { restricted: boolean };

/**
 * The playback columns of recording `id` and whether its caller or callee number is under restriction
 * (as `isRecordingRestricted` answers), read in one statement, so both come from one snapshot; undefined
 * when there is no such row.
 */
export async function findPlaybackRowById(q: Knex | Knex.Transaction, id: string): Promise<PlaybackLookup | undefined> {
  const restricted = q.raw(
    '(EXISTS (SELECT 1 FROM subject_restrictions s WHERE s.number = recordings.caller_number) OR ' +
      'EXISTS (SELECT 1 FROM subject_restrictions s WHERE s.number = recordings.callee_number)) AS restricted',
  );
  const row = (await q('recordings')
    .where({ id })
    .first(...PLAYBACK_COLUMNS, restricted)) as
    (Pick<RecordingRow, (typeof PLAYBACK_COLUMNS)[number]> & { restricted: boolean | number }) | undefined;
  return (
    row && {
      ...row,
      legal_hold: Boolean(row.legal_hold),
      expires_at: Number(row.expires_at),
      restricted: Boolean(row.restricted),
    }
  );
}

/** What the recordings list can be filtered by: queues and agents (with a display name where a user has one). */
export interface RecordingFilterValues {
  queues: string[];
  agents: { agentId: string; displayName: string | null }[];
}

/**
 * The distinct queues and agents of the recordings visible at `visibleAt` (stored, before their
 * deadline or held), limited to `queues` when given (a scoped trainer), each sorted
 * case-insensitively. An agent's display name is that of the user bound to it (`users.agent_id`);
 * at most `limit` of each.
 */
export async function recordingFilterValues(
  q: Knex | Knex.Transaction,
  options: { queues?: readonly string[] | null; visibleAt: number; limit: number },
): Promise<RecordingFilterValues> {
  const visible = (b: Knex.QueryBuilder) => {
    let scoped = b
      .where('recordings.status', 'stored')
      .andWhere(
        (w) => void w.where('recordings.expires_at', '>', options.visibleAt).orWhere('recordings.legal_hold', true),
      );
    if (options.queues) scoped = scoped.whereIn('recordings.queue', [...options.queues]);
    return scoped;
  };
  const queueRows = (await visible(q('recordings'))
    .whereNotNull('recordings.queue')
    .select('recordings.queue as queue')
    .groupBy('recordings.queue')
    .orderByRaw('lower(recordings.queue), recordings.queue')
    .limit(options.limit)) as { queue: string }[];
  const agentRows = (await visible(q('recordings'))
    .leftJoin('users', 'users.agent_id', 'recordings.agent_id')
    .whereNotNull('recordings.agent_id')
    .select('recordings.agent_id as agent_id', q.raw('max(users.display_name) as display_name'))
    .groupBy('recordings.agent_id')
    .orderByRaw('lower(recordings.agent_id), recordings.agent_id')
    .limit(options.limit)) as { agent_id: string; display_name: string | null }[];
  return {
    queues: queueRows.map((r) => r.queue),
    agents: agentRows.map((r) => ({ agentId: r.agent_id, displayName: r.display_name ?? null })),
  };
}
