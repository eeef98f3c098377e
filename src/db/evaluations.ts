/**
 * The training-review tables (migration 20261203000000_training-evaluations): versioned evaluation
 * forms, evaluations with their section scores and timestamped comments.
 *
 * Contracts:
 * - A form version is written once and never changes: `insertFormVersion` adds the next version
 *   (the form's current name follows it). `definition` holds the whole version, name included.
 * - An evaluation's rows (evaluation, section scores, timestamped comments) are written in one
 *   transaction; section scores and comments are replaced wholesale with the evaluation.
 * - `updateDraft` changes only a draft of its evaluator, `respondToEvaluation` only a submitted
 *   evaluation: both answer false otherwise (the caller decides between 404 and 409).
 * - Visibility is an `EvaluationScope` (built by src/training/access.ts) applied in SQL, the same
 *   for one evaluation and for lists.
 * - No phone number, audio or excerpt is ever stored here (the training feature refuses such text).
 * Times are epoch milliseconds.
 */
import type { Knex } from 'knex';
import type { Answer, EvaluationStatus, FormDefinition } from '../domain/evaluation-forms.js';
import { isUniqueViolation } from './recordings.js';

type Q = Knex | Knex.Transaction;

// --- forms ----------------------------------------------------------------------------------

export interface FormVersionRecord {
  formId: string;
  version: number;
  definition: FormDefinition;
  createdBy: string;
  createdAt: number;
}

export interface FormSummary {
  id: string;
  name: string;
  /** The latest version. */
  version: number;
  createdAt: number;
}

interface FormVersionRow {
  form_id: string;
  version: number | string;
  definition: string;
  created_by: string;
  created_at: number | string;
}

function toFormVersion(row: FormVersionRow): FormVersionRecord {
  return {
    formId: row.form_id,
    version: Number(row.version),
    definition: JSON.parse(row.definition) as FormDefinition,
    createdBy: row.created_by,
    createdAt: Number(row.created_at),
  };
}

/** Creates a form with its version 1 (one transaction). */
export async function insertForm(
  knex: Knex,
  input: { id: string; definition: FormDefinition; createdBy: string; at: number },
): Promise<FormVersionRecord> {
  await knex.transaction(async (trx) => {
    await trx('evaluation_forms').insert({
      id: input.id,
      name: input.definition.name,
      created_by: input.createdBy,
      created_at: input.at,
    });
    await trx('evaluation_form_versions').insert({
      form_id: input.id,
      version: 1,
      definition: JSON.stringify(input.definition),
      created_by: input.createdBy,
      created_at: input.at,
    });
  });
  return {
    formId: input.id,
    version: 1,
    definition: input.definition,
    createdBy: input.createdBy,
    createdAt: input.at,
  };
}

/**
 * Writes the next version of form `formId` (latest + 1) and makes its name the form's name;
 * undefined when no such form. Two concurrent writers cannot take the same number (primary key):
 * the loser retries with the next one.
 */
export async function insertFormVersion(
  knex: Knex,
  input: { formId: string; definition: FormDefinition; createdBy: string; at: number },
): Promise<FormVersionRecord | undefined> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await knex.transaction(async (trx) => {
        const form = (await trx('evaluation_forms').where({ id: input.formId }).first('id')) as
          { id: string } | undefined;
        if (!form) return undefined;
        const latest = (await trx('evaluation_form_versions')
          .where({ form_id: input.formId })
          .max({ v: 'version' })
          .first()) as { v: number | string | null } | undefined;
        const version = Number(latest?.v ?? 0) + 1;
        await trx('evaluation_form_versions').insert({
          form_id: input.formId,
          version,
          definition: JSON.stringify(input.definition),
          created_by: input.createdBy,
          created_at: input.at,
        });
        await trx('evaluation_forms').where({ id: input.formId }).update({ name: input.definition.name });
        return {
          formId: input.formId,
          version,
          definition: input.definition,
          createdBy: input.createdBy,
          createdAt: input.at,
        };
      });
    } catch (error) {
      if (attempt < 5 && isUniqueViolation(error)) continue;
      throw error;
    }
  }
}

/** Version `version` of the form (the latest when absent), or undefined. */
export async function findFormVersion(q: Q, formId: string, version?: number): Promise<FormVersionRecord | undefined> {
  let b = q('evaluation_form_versions').where({ form_id: formId });
  b = version === undefined ? b.orderBy('version', 'desc') : b.where({ version });
  const row = (await b.first()) as FormVersionRow | undefined;
  return row && toFormVersion(row);
}

/** The version numbers of a form, ascending (empty for an unknown form). */
export async function listFormVersions(q: Q, formId: string): Promise<number[]> {
  const rows = (await q('evaluation_form_versions')
    .where({ form_id: formId })
    .orderBy('version', 'asc')
    .select('version')) as Array<{ version: number | string }>;
  return rows.map((r) => Number(r.version));
}

/** Every form with its latest version number, by name then id. */
export async function listForms(q: Q): Promise<FormSummary[]> {
  const rows = (await q('evaluation_forms as f')
    .join('evaluation_form_versions as v', 'v.form_id', 'f.id')
    .groupBy('f.id', 'f.name', 'f.created_at')
    .orderBy([
      { column: 'f.name', order: 'asc' },
      { column: 'f.id', order: 'asc' },
    ])
    .select('f.id', 'f.name', 'f.created_at')
    .max({ version: 'v.version' })) as Array<{
    id: string;
    name: string;
    created_at: number | string;
    version: number | string;
  }>;
  return rows.map((r) => ({ id: r.id, name: r.name, version: Number(r.version), createdAt: Number(r.created_at) }));
}

// --- evaluations ----------------------------------------------------------------------------

export interface TimedComment {
  id: string;
  author: string;
  offsetMs: number;
  text: string;
  createdAt: number;
}

export interface StoredSectionScore {
  /** The section's index as a string. */
  section: string;
  score: number;
}

export interface EvaluationRecord {
  id: string;
  recordingId: string;
  formId: string;
  formVersion: number;
  evaluator: string;
  agentId: string | null;
  queue: string | null;
  callStartedAt: number;
  callDurationMs: number;
  status: EvaluationStatus;
  calibration: boolean;
  answers: Record<string, Answer>;
  comments: Record<string, string>;
  score: number | null;
  agentComment: string | null;
  createdAt: number;
  updatedAt: number;
  submittedAt: number | null;
  respondedAt: number | null;
  expiresAt: number;
  /** Submitted evaluations only (a draft has none); sections with nothing to count have none either. */
  sectionScores: StoredSectionScore[];
  /** In timeline order (offset, then id). */
  timedComments: TimedComment[];
}

interface EvaluationRow {
  id: string;
  recording_id: string;
  form_id: string;
  form_version: number | string;
  evaluator: string;
  agent_id: string | null;
  queue: string | null;
  call_started_at: number | string;
  call_duration_ms: number | string;
  status: EvaluationStatus;
  calibration: boolean | number;
  answers: string;
  comments: string | null;
  score: number | string | null;
  agent_comment: string | null;
  created_at: number | string;
  updated_at: number | string;
  submitted_at: number | string | null;
  responded_at: number | string | null;
  expires_at: number | string;
}

const nullableNumber = (v: number | string | null): number | null => (v === null ? null : Number(v));
/** Scores have two decimals; PostgreSQL keeps them as `real` (float4), read back rounded to those decimals. */
const scoreOf = (v: number | string): number => Math.round(Number(v) * 100) / 100;

function toEvaluation(row: EvaluationRow, sections: StoredSectionScore[], comments: TimedComment[]): EvaluationRecord {
  return {
    id: row.id,
    recordingId: row.recording_id,
    formId: row.form_id,
    formVersion: Number(row.form_version),
    evaluator: row.evaluator,
    agentId: row.agent_id,
    queue: row.queue,
    callStartedAt: Number(row.call_started_at),
    callDurationMs: Number(row.call_duration_ms),
    status: row.status,
    calibration: Boolean(row.calibration),
    answers: JSON.parse(row.answers) as Record<string, Answer>,
    comments: row.comments === null ? {} : (JSON.parse(row.comments) as Record<string, string>),
    score: row.score === null ? null : scoreOf(row.score),
    agentComment: row.agent_comment,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    submittedAt: nullableNumber(row.submitted_at),
    respondedAt: nullableNumber(row.responded_at),
    expiresAt: Number(row.expires_at),
    sectionScores: sections,
    timedComments: comments,
  };
}

/** What a new evaluation is made of; its section scores and timestamped comments come with it. */
export interface NewEvaluation extends Omit<EvaluationRecord, 'timedComments' | 'agentComment' | 'respondedAt'> {
  timedComments: TimedComment[];
}

async function writeChildren(
  trx: Knex.Transaction,
  id: string,
  sections: StoredSectionScore[],
  comments: TimedComment[],
): Promise<void> {
  await trx('evaluation_section_scores').where({ evaluation_id: id }).delete();
  await trx('evaluation_comments').where({ evaluation_id: id }).delete();
  if (sections.length > 0)
    await trx('evaluation_section_scores').insert(
      sections.map((s) => ({ evaluation_id: id, section_id: s.section, score: s.score })),
    );
  if (comments.length > 0)
    await trx('evaluation_comments').insert(
      comments.map((c) => ({
        id: c.id,
        evaluation_id: id,
        author: c.author,
        offset_ms: c.offsetMs,
        text: c.text,
        created_at: c.createdAt,
      })),
    );
}

const commentsJson = (comments: Record<string, string>): string | null =>
  Object.keys(comments).length === 0 ? null : JSON.stringify(comments);

/** Inserts an evaluation with its section scores and comments (one transaction). */
export async function insertEvaluation(knex: Knex, e: NewEvaluation): Promise<void> {
  await knex.transaction(async (trx) => {
    await trx('evaluations').insert({
      id: e.id,
      recording_id: e.recordingId,
      form_id: e.formId,
      form_version: e.formVersion,
      evaluator: e.evaluator,
      agent_id: e.agentId,
      queue: e.queue,
      call_started_at: e.callStartedAt,
      call_duration_ms: e.callDurationMs,
      status: e.status,
      calibration: e.calibration,
      answers: JSON.stringify(e.answers),
      comments: commentsJson(e.comments),
      score: e.score,
      agent_comment: null,
      created_at: e.createdAt,
      updated_at: e.updatedAt,
      submitted_at: e.submittedAt,
      responded_at: null,
      expires_at: e.expiresAt,
    });
    await writeChildren(trx, e.id, e.sectionScores, e.timedComments);
  });
}

/**
 * Replaces a draft's content (one transaction): only when it is still a draft of `evaluator`.
 * False otherwise (nothing changed).
 */
export async function updateDraft(
  knex: Knex,
  input: {
    id: string;
    evaluator: string;
    status: 'draft' | 'submitted';
    calibration: boolean;
    answers: Record<string, Answer>;
    comments: Record<string, string>;
    score: number | null;
    sectionScores: StoredSectionScore[];
    timedComments: TimedComment[];
    at: number;
  },
): Promise<boolean> {
  return knex.transaction(async (trx) => {
    const changed = await trx('evaluations')
      .where({ id: input.id, evaluator: input.evaluator, status: 'draft' })
      .update({
        status: input.status,
        calibration: input.calibration,
        answers: JSON.stringify(input.answers),
        comments: commentsJson(input.comments),
        score: input.score,
        updated_at: input.at,
        submitted_at: input.status === 'submitted' ? input.at : null,
      });
    if (Number(changed) === 0) return false;
    await writeChildren(trx, input.id, input.sectionScores, input.timedComments);
    return true;
  });
}

/** Acknowledges or disputes a submitted evaluation with the agent's comment; false unless it was submitted. */
export async function respondToEvaluation(
  q: Q,
  input: { id: string; status: 'acknowledged' | 'disputed'; comment: string | null; at: number },
): Promise<boolean> {
  const changed = await q('evaluations')
    .where({ id: input.id, status: 'submitted' })
    .update({ status: input.status, agent_comment: input.comment, responded_at: input.at, updated_at: input.at });
  return Number(changed) > 0;
}

/**
 * Who sees which evaluations, applied in SQL (src/training/access.ts builds it from the principal).
 * - `queues`: only evaluations of these queues (null: every queue; empty: none).
 * - `viewer`: a trainer's username: others' drafts are hidden, and others' calibration
 *   evaluations of a call stay hidden until the viewer submitted their own calibration
 *   evaluation of that call (blind). null: no such rule (admins).
 * - `agentId`: only evaluations of this agent's calls. `statuses`: only these statuses.
 *   `calibration: false`: no calibration evaluations.
 */
export interface EvaluationScope {
  queues: readonly string[] | null;
  viewer: string | null;
  agentId?: string;
  statuses?: readonly EvaluationStatus[];
  calibration?: false;
}

function applyScope(b: Knex.QueryBuilder, q: Q, scope: EvaluationScope, alias = 'e'): Knex.QueryBuilder {
  const col = (c: string) => `${alias}.${c}`;
  if (scope.queues) b = b.whereIn(col('queue'), [...scope.queues]);
  if (scope.agentId !== undefined) b = b.where(col('agent_id'), scope.agentId);
  if (scope.statuses) b = b.whereIn(col('status'), [...scope.statuses]);
  if (scope.calibration === false) b = b.where(col('calibration'), false);
  const viewer = scope.viewer;
  if (viewer !== null) {
    b = b.andWhere(
      (w) => void w.where(col('evaluator'), viewer).orWhere((w2) => void w2.whereNot(col('status'), 'draft')),
    );
    b = b.andWhere(
      (w) =>
        void w
          .where(col('calibration'), false)
          .orWhere(col('evaluator'), viewer)
          .orWhereExists(
            q('evaluations as mine')
              .select(q.raw('1'))
              .whereRaw('mine.recording_id = ??', [col('recording_id')])
              .where('mine.evaluator', viewer)
              .where('mine.calibration', true)
              .whereNot('mine.status', 'draft'),
          ),
    );
  }
  return b;
}

async function hydrate(q: Q, rows: EvaluationRow[]): Promise<EvaluationRecord[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const sections = (await q('evaluation_section_scores')
    .whereIn('evaluation_id', ids)
    .orderBy('section_id', 'asc')) as Array<{ evaluation_id: string; section_id: string; score: number | string }>;
  const comments = (await q('evaluation_comments')
    .whereIn('evaluation_id', ids)
    .orderBy([
      { column: 'offset_ms', order: 'asc' },
      { column: 'id', order: 'asc' },
    ])) as Array<{
    id: string;
    evaluation_id: string;
    author: string;
    offset_ms: number | string;
    text: string;
    created_at: number | string;
  }>;
  return rows.map((row) =>
    toEvaluation(
      row,
      sections
        .filter((s) => s.evaluation_id === row.id)
        .map((s) => ({ section: s.section_id, score: scoreOf(s.score) }))
        .sort((a, b) => Number(a.section) - Number(b.section)),
      comments
        .filter((c) => c.evaluation_id === row.id)
        .map((c) => ({
          id: c.id,
          author: c.author,
          offsetMs: Number(c.offset_ms),
          text: c.text,
          createdAt: Number(c.created_at),
        })),
    ),
  );
}

/** The evaluation `id` if `scope` sees it (all of them without a scope), or undefined. */
export async function findEvaluation(q: Q, id: string, scope?: EvaluationScope): Promise<EvaluationRecord | undefined> {
  let b = q('evaluations as e').where('e.id', id).select('e.*');
  if (scope) b = applyScope(b, q, scope);
  const rows = (await b) as EvaluationRow[];
  return (await hydrate(q, rows))[0];
}

export interface EvaluationSearch {
  scope: EvaluationScope;
  recordingId?: string;
  agentId?: string;
  queue?: string;
  formId?: string;
  status?: EvaluationStatus;
  calibration?: boolean;
  /** call_started_at >= from. */
  from?: number;
  /** call_started_at < to. */
  to?: number;
  /** Keyset cursor: rows strictly after (callStartedAt desc, id desc). */
  after?: { callStartedAt: number; id: string };
  limit: number;
}

/** Evaluations `scope` sees, newest call first (call_started_at desc, id desc), at most `limit`. */
export async function searchEvaluations(q: Q, search: EvaluationSearch): Promise<EvaluationRecord[]> {
  let b = q('evaluations as e')
    .select('e.*')
    .orderBy([
      { column: 'e.call_started_at', order: 'desc' },
      { column: 'e.id', order: 'desc' },
    ])
    .limit(search.limit);
  b = applyScope(b, q, search.scope);
  if (search.recordingId !== undefined) b = b.where('e.recording_id', search.recordingId);
  if (search.agentId !== undefined) b = b.where('e.agent_id', search.agentId);
  if (search.queue !== undefined) b = b.where('e.queue', search.queue);
  if (search.formId !== undefined) b = b.where('e.form_id', search.formId);
  if (search.status !== undefined) b = b.where('e.status', search.status);
  if (search.calibration !== undefined) b = b.where('e.calibration', search.calibration);
  if (search.from !== undefined) b = b.where('e.call_started_at', '>=', search.from);
  if (search.to !== undefined) b = b.where('e.call_started_at', '<', search.to);
  if (search.after) {
    const { callStartedAt, id } = search.after;
    b = b
      .where('e.call_started_at', '<=', callStartedAt)
      .andWhere(
        (w) =>
          void w
            .where('e.call_started_at', '<', callStartedAt)
            .orWhere((w2) => void w2.where('e.call_started_at', callStartedAt).andWhere('e.id', '<', id)),
      );
  }
  return hydrate(q, (await b) as EvaluationRow[]);
}

/**
 * Where the recordings of evaluations stand: a recording id with a deletion-log entry maps to its
 * `seq`; one with a recordings row (and no entry) to null; an id with neither is absent. A
 * `redaction` entry is not a deletion of the recording (only old objects of a recording that lives
 * on), so it never counts here.
 */
export async function recordingStates(q: Q, recordingIds: readonly string[]): Promise<Map<string, number | null>> {
  const ids = [...new Set(recordingIds)];
  const out = new Map<string, number | null>();
  if (ids.length === 0) return out;
  const existing = (await q('recordings').whereIn('id', ids).select('id')) as Array<{ id: string }>;
  for (const r of existing) out.set(r.id, null);
  const entries = (await q('deletion_log')
    .whereIn('recording_id', ids)
    .whereNot('reason', 'redaction')
    .select('recording_id', 'seq')) as Array<{
    recording_id: string;
    seq: number | string;
  }>;
  for (const e of entries) out.set(e.recording_id, Number(e.seq));
  return out;
}

/** True when `evaluator` has a submitted (not draft) calibration evaluation of the recording. */
export async function hasSubmittedCalibration(q: Q, recordingId: string, evaluator: string): Promise<boolean> {
  const row = (await q('evaluations')
    .where({ recording_id: recordingId, evaluator, calibration: true })
    .whereNot('status', 'draft')
    .first('id')) as { id: string } | undefined;
  return row !== undefined;
}

/** How many evaluations have `expires_at` ≤ `now` (what a retention run at `now` would delete). */
export async function countExpiredEvaluations(q: Q, now: number): Promise<number> {
  const row = (await q('evaluations').where('expires_at', '<=', now).count({ n: '*' }).first()) as
    { n: number | string } | undefined;
  return Number(row?.n ?? 0);
}

export interface ExpiredEvaluation {
  id: string;
  recordingId: string;
  expiresAt: number;
}

/**
 * Deletes up to `limit` evaluations whose `expires_at` ≤ `now` (with their section scores and
 * comments, by cascade), calling `onDeleted` for each inside the same transaction (the caller logs
 * it there: no deletion without its entry). Returns what was deleted.
 */
export async function deleteExpiredEvaluations(
  knex: Knex,
  options: { now: number; limit: number; onDeleted: (trx: Knex.Transaction, e: ExpiredEvaluation) => Promise<void> },
): Promise<ExpiredEvaluation[]> {
  return knex.transaction(async (trx) => {
    const rows = (await trx('evaluations')
      .where('expires_at', '<=', options.now)
      .orderBy('expires_at', 'asc')
      .limit(options.limit)
      .select('id', 'recording_id', 'expires_at')) as Array<{
      id: string;
      recording_id: string;
      expires_at: number | string;
    }>;
    const deleted: ExpiredEvaluation[] = [];
    for (const row of rows) {
      const n = await trx('evaluations').where('id', row.id).where('expires_at', '<=', options.now).delete();
      if (Number(n) === 0) continue;
      const e = { id: row.id, recordingId: row.recording_id, expiresAt: Number(row.expires_at) };
      await options.onDeleted(trx, e);
      deleted.push(e);
    }
    return deleted;
  });
}

/**
 * The access-log entry of an expired evaluation's deletion (in the deleting transaction): user
 * `sweeper`, action `eval_expired`, the recording id, detail `evaluation <id>`.
 */
export async function logEvaluationExpired(trx: Knex.Transaction, e: ExpiredEvaluation, at: number): Promise<void> {
  await trx('access_log').insert({
    user_id: null,
    username: 'sweeper',
    role: 'sweeper',
    recording_id: e.recordingId,
    action: 'eval_expired',
    at,
    request_id: null,
    detail: `evaluation ${e.id}`,
  });
}

/** The earliest `expires_at` of any evaluation, or null when there is none (the sweeper's next due time). */
export async function nextEvaluationExpiry(q: Q): Promise<number | null> {
  const row = (await q('evaluations').min({ at: 'expires_at' }).first()) as { at: number | string | null } | undefined;
  return row?.at === null || row?.at === undefined ? null : Number(row.at);
}
