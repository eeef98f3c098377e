/**
 * Test builders: evaluation forms and evaluations written directly as rows (columns fixed by the
 * migration 20261203000000_training-evaluations), for the suites that need evaluations to exist
 * without going through the evaluation API: the agent's access to calls, scorecards, the bench.
 *
 *   const form = await createStoredForm(db.knex, { sections: ['Greeting', 'Closing'] });
 *   await createStoredEvaluation(db.knex, { form, overrides: { agent_id: 'agent-7', score: 80 },
 *     sectionScores: { '0': 100, '1': 60 } });
 *
 * Every column can be overridden; section scores are rows of `evaluation_section_scores`.
 */
import type { Knex } from 'knex';
import { ulid } from 'ulid';

const DAY_MS = 86_400_000;

export interface StoredForm {
  id: string;
  version: number;
  name: string;
  sections: string[];
}

/** A form (and its version `version`, default 1) with one yes/no question per section. */
export async function createStoredForm(
  knex: Knex,
  options: { name?: string; sections?: string[]; version?: number; id?: string; createdAt?: number } = {},
): Promise<StoredForm> {
  const id = options.id ?? ulid();
  const name = options.name ?? `Form ${id.slice(-6)}`;
  const sections = options.sections ?? ['Greeting', 'Solution'];
  const version = options.version ?? 1;
  const createdAt = options.createdAt ?? Date.now();
  const definition = {
    name,
    sections: sections.map((title, i) => ({
      title,
      questions: [{ id: `q${i}`, text: `Question ${i}`, type: 'yesno', weight: 1, critical: false }],
    })),
  };
  const existing = (await knex('evaluation_forms').where({ id }).first('id')) as { id: string } | undefined;
  if (existing) await knex('evaluation_forms').where({ id }).update({ name });
  else await knex('evaluation_forms').insert({ id, name, created_by: 'test-admin', created_at: createdAt });
  await knex('evaluation_form_versions').insert({
    form_id: id,
    version,
    definition: JSON.stringify(definition),
    created_by: 'test-admin',
    created_at: createdAt,
  });
  return { id, version, name, sections };
}

export interface EvaluationRow {
  id: string;
  recording_id: string;
  form_id: string;
  form_version: number;
  evaluator: string;
  agent_id: string | null;
  queue: string | null;
  call_started_at: number;
  call_duration_ms: number;
  status: 'draft' | 'submitted' | 'acknowledged' | 'disputed';
  calibration: boolean;
  answers: string;
  comments: string | null;
  score: number | null;
  agent_comment: string | null;
  created_at: number;
  updated_at: number;
  submitted_at: number | null;
  responded_at: number | null;
  expires_at: number;
}

/** An evaluation row (submitted, score 75, agent `agent-1`, queue `support`) with every column overridable. */
export function buildEvaluationRow(form: StoredForm, overrides: Partial<EvaluationRow> = {}): EvaluationRow {
  const callStartedAt = overrides.call_started_at ?? Date.now() - DAY_MS;
  const createdAt = overrides.created_at ?? callStartedAt + 3_600_000;
  const status = overrides.status ?? 'submitted';
  return {
    id: ulid(),
    recording_id: ulid(),
    form_id: form.id,
    form_version: form.version,
    evaluator: 'test-trainer',
    agent_id: 'agent-1',
    queue: 'support',
    call_started_at: callStartedAt,
    call_duration_ms: 4_000,
    status,
    calibration: false,
    answers: JSON.stringify(Object.fromEntries(form.sections.map((_, i) => [`q${i}`, 'yes']))),
    comments: null,
    score: status === 'draft' ? null : 75,
    agent_comment: null,
    created_at: createdAt,
    updated_at: createdAt,
    submitted_at: status === 'draft' ? null : createdAt,
    responded_at: null,
    expires_at: createdAt + 365 * DAY_MS,
    ...overrides,
  };
}

/**
 * Inserts an evaluation and its section scores (`{sectionId: score}`; default: every section of the form at the
 * evaluation's score, none for a draft). Returns the row.
 */
export async function createStoredEvaluation(
  knex: Knex,
  options: { form: StoredForm; overrides?: Partial<EvaluationRow>; sectionScores?: Record<string, number> },
): Promise<EvaluationRow> {
  const row = buildEvaluationRow(options.form, options.overrides);
  const sections =
    options.sectionScores ??
    (row.score === null ? {} : Object.fromEntries(options.form.sections.map((_, i) => [String(i), row.score!])));
  await knex.transaction(async (trx) => {
    await trx('evaluations').insert(row);
    const rows = Object.entries(sections).map(([section_id, score]) => ({ evaluation_id: row.id, section_id, score }));
    if (rows.length > 0) await trx('evaluation_section_scores').insert(rows);
  });
  return row;
}
