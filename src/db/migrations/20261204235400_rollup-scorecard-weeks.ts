/**
 * Scorecards (#20): exact weekly roll-ups of the evaluations a scorecard counts (submitted, acknowledged,
 * disputed; never drafts, never calibration), kept by triggers in the transaction of every write of
 * `evaluations` or `evaluation_section_scores`, whatever code path writes them (no cache, no refresh: an
 * expired evaluation leaves the roll-up in the statement that deletes it).
 *
 * - `scorecard_weeks (agent_key, queue_key, form_id, week)`: `evaluations`, `scored` (with a score) and
 *   `score_sum` (the scores in hundredths, an exact integer).
 * - `scorecard_sections (agent_key, queue_key, form_id, week, section_id)`: `evaluations` and `score_sum`
 *   (hundredths) of the section-score rows.
 * - `agent_key`/`queue_key`: `''` for null, `'=' || value` otherwise (unique keys never hold a null, so
 *   the upsert finds the row of calls without an agent or queue too).
 * - `week`: the ISO week index of the call's start in the roll-up's zone, `floor((t + offset(t) - Monday
 *   1970-01-05) / 7 days)` as src/training/weeks.ts computes it; `offset(t)` is the `offset_ms` of the
 *   last `scorecard_rollup_offsets` row with `from_ms <= t`.
 * - `scorecard_rollup_state` (one row): `time_zone`, the zone those offsets are of; null until the service
 *   first builds the roll-up (src/db/scorecard-rollup.ts, at start-up with CALLREC_TIME_ZONE, and again in
 *   one transaction whenever that setting changes). While no offsets exist the triggers write nothing and
 *   scorecards are computed from the rows alone.
 * A row whose `evaluations` reaches 0 is deleted. Increments are `INSERT … ON CONFLICT … DO UPDATE SET n =
 * n + excluded.n`, so concurrent PostgreSQL transactions add up exactly.
 */
import type { Knex } from 'knex';

const MONDAY_WALL_MS = 4 * 86_400_000;
const WEEK_MS = 7 * 86_400_000;
const STATUSES = "('submitted', 'acknowledged', 'disputed')";

/** The week of row `x` (an evaluation), or null while the roll-up has no zone. */
const week = (x: string) =>
  `(SELECT (${x}.call_started_at + o.offset_ms - ${MONDAY_WALL_MS}) / ${WEEK_MS} FROM scorecard_rollup_offsets o ` +
  `WHERE o.from_ms <= ${x}.call_started_at ORDER BY o.from_ms DESC LIMIT 1)`;
const counted = (x: string) => `${x}.status IN ${STATUSES} AND NOT ${x}.calibration`;
const keys = (x: string) => `COALESCE('=' || ${x}.agent_id, ''), COALESCE('=' || ${x}.queue, ''), ${x}.form_id`;

function hundredths(pg: boolean, value: string): string {
  return pg
    ? `CAST(ROUND(CAST(${value} AS double precision) * 100) AS bigint)`
    : `CAST(ROUND(${value} * 100) AS INTEGER)`;
}

const weeksUpsert =
  ' ON CONFLICT (agent_key, queue_key, form_id, week) DO UPDATE SET ' +
  'evaluations = scorecard_weeks.evaluations + excluded.evaluations, ' +
  'scored = scorecard_weeks.scored + excluded.scored, score_sum = scorecard_weeks.score_sum + excluded.score_sum';
const sectionsUpsert =
  ' ON CONFLICT (agent_key, queue_key, form_id, week, section_id) DO UPDATE SET ' +
  'evaluations = scorecard_sections.evaluations + excluded.evaluations, ' +
  'score_sum = scorecard_sections.score_sum + excluded.score_sum';

/** Adds (sign 1) or takes away (sign -1) evaluation `x`'s own counts. */
function evaluationDelta(pg: boolean, x: string, sign: 1 | -1): string {
  const score = hundredths(pg, `${x}.score`);
  return (
    `INSERT INTO scorecard_weeks (agent_key, queue_key, form_id, week, evaluations, scored, score_sum) ` +
    `SELECT ${keys(x)}, w.week, ${sign}, CASE WHEN ${x}.score IS NULL THEN 0 ELSE ${sign} END, ` +
    `${sign} * COALESCE(${score}, 0) FROM (SELECT ${week(x)} AS week) w ` +
    `WHERE w.week IS NOT NULL AND ${counted(x)}${weeksUpsert};`
  );
}

/** Adds or takes away the section scores of evaluation `x` (as the table holds them now). */
function sectionsOfEvaluationDelta(pg: boolean, x: string, sign: 1 | -1): string {
  return (
    `INSERT INTO scorecard_sections (agent_key, queue_key, form_id, week, section_id, evaluations, score_sum) ` +
    `SELECT ${keys(x)}, w.week, r.section_id, ${sign}, ${sign} * ${hundredths(pg, 'r.score')} ` +
    `FROM (SELECT ${week(x)} AS week) w CROSS JOIN evaluation_section_scores r ` +
    `WHERE r.evaluation_id = ${x}.id AND w.week IS NOT NULL AND ${counted(x)}${sectionsUpsert};`
  );
}

/** Adds or takes away the section-score row `r`, when its evaluation (still present) counts. */
function sectionDelta(pg: boolean, r: string, sign: 1 | -1): string {
  return (
    `INSERT INTO scorecard_sections (agent_key, queue_key, form_id, week, section_id, evaluations, score_sum) ` +
    `SELECT ${keys('e')}, ${week('e')}, ${r}.section_id, ${sign}, ${sign} * ${hundredths(pg, `${r}.score`)} ` +
    `FROM evaluations e WHERE e.id = ${r}.evaluation_id AND ${counted('e')} AND ${week('e')} IS NOT NULL` +
    `${sectionsUpsert};`
  );
}

/** Deletes the emptied rows of evaluation `x`'s key and week. */
function cleanupOfEvaluation(x: string): string {
  const where =
    `agent_key = COALESCE('=' || ${x}.agent_id, '') AND queue_key = COALESCE('=' || ${x}.queue, '') ` +
    `AND form_id = ${x}.form_id AND evaluations = 0`;
  return `DELETE FROM scorecard_weeks WHERE ${where}; DELETE FROM scorecard_sections WHERE ${where};`;
}

function cleanupOfSection(r: string): string {
  return (
    `DELETE FROM scorecard_sections WHERE evaluations = 0 AND EXISTS (SELECT 1 FROM evaluations e ` +
    `WHERE e.id = ${r}.evaluation_id AND scorecard_sections.agent_key = COALESCE('=' || e.agent_id, '') ` +
    `AND scorecard_sections.queue_key = COALESCE('=' || e.queue, '') AND scorecard_sections.form_id = e.form_id);`
  );
}

const evaluationAdd = (pg: boolean, x: string) => evaluationDelta(pg, x, 1) + sectionsOfEvaluationDelta(pg, x, 1);
const evaluationRemove = (pg: boolean, x: string) =>
  evaluationDelta(pg, x, -1) + sectionsOfEvaluationDelta(pg, x, -1) + cleanupOfEvaluation(x);

/** An update that cannot change what the roll-up holds of the row is left alone. */
const RELEVANT = ['id', 'status', 'calibration', 'agent_id', 'queue', 'form_id', 'call_started_at', 'score'];
const SECTION_RELEVANT = ['evaluation_id', 'section_id', 'score'];

async function sqliteTriggers(knex: Knex): Promise<void> {
  const changed = (cols: string[]) => cols.map((c) => `OLD.${c} IS NOT NEW.${c}`).join(' OR ');
  const statements = [
    `CREATE TRIGGER scorecard_rollup_eval_insert AFTER INSERT ON evaluations BEGIN ${evaluationAdd(false, 'NEW')} END`,
    `CREATE TRIGGER scorecard_rollup_eval_update AFTER UPDATE ON evaluations WHEN ${changed(RELEVANT)} BEGIN ` +
      `${evaluationRemove(false, 'OLD')} ${evaluationAdd(false, 'NEW')} END`,
    // Before the delete: the section scores (deleted by cascade after it) are still there to take away.
    `CREATE TRIGGER scorecard_rollup_eval_delete BEFORE DELETE ON evaluations BEGIN ` +
      `${evaluationRemove(false, 'OLD')} END`,
    `CREATE TRIGGER scorecard_rollup_section_insert AFTER INSERT ON evaluation_section_scores BEGIN ` +
      `${sectionDelta(false, 'NEW', 1)} END`,
    `CREATE TRIGGER scorecard_rollup_section_update AFTER UPDATE ON evaluation_section_scores ` +
      `WHEN ${changed(SECTION_RELEVANT)} BEGIN ${sectionDelta(false, 'OLD', -1)} ${cleanupOfSection('OLD')} ` +
      `${sectionDelta(false, 'NEW', 1)} END`,
    // A cascade from a deleted evaluation finds no evaluation here: its sections were taken away before.
    `CREATE TRIGGER scorecard_rollup_section_delete AFTER DELETE ON evaluation_section_scores BEGIN ` +
      `${sectionDelta(false, 'OLD', -1)} ${cleanupOfSection('OLD')} END`,
  ];
  for (const s of statements) await knex.raw(s);
}

async function pgTriggers(knex: Knex): Promise<void> {
  const changed = (cols: string[]) => cols.map((c) => `OLD.${c} IS DISTINCT FROM NEW.${c}`).join(' OR ');
  await knex.raw(`CREATE FUNCTION scorecard_rollup_evaluations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    ${evaluationAdd(true, 'NEW')}
    RETURN NULL;
  ELSIF TG_OP = 'UPDATE' THEN
    IF ${changed(RELEVANT)} THEN
      ${evaluationRemove(true, 'OLD')}
      ${evaluationAdd(true, 'NEW')}
    END IF;
    RETURN NULL;
  ELSE
    ${evaluationRemove(true, 'OLD')}
    RETURN OLD;
  END IF;
END $$`);
  await knex.raw(`CREATE FUNCTION scorecard_rollup_sections() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    ${sectionDelta(true, 'NEW', 1)}
  ELSIF TG_OP = 'UPDATE' THEN
    IF ${changed(SECTION_RELEVANT)} THEN
      ${sectionDelta(true, 'OLD', -1)} ${cleanupOfSection('OLD')}
      ${sectionDelta(true, 'NEW', 1)}
    END IF;
  ELSE
    ${sectionDelta(true, 'OLD', -1)} ${cleanupOfSection('OLD')}
  END IF;
  RETURN NULL;
END $$`);
  await knex.raw(
    'CREATE TRIGGER scorecard_rollup_eval_write AFTER INSERT OR UPDATE ON evaluations ' +
      'FOR EACH ROW EXECUTE FUNCTION scorecard_rollup_evaluations()',
  );
  // Before the delete: the section scores (deleted by cascade after it) are still there to take away.
  await knex.raw(
    'CREATE TRIGGER scorecard_rollup_eval_delete BEFORE DELETE ON evaluations ' +
      'FOR EACH ROW EXECUTE FUNCTION scorecard_rollup_evaluations()',
  );
  await knex.raw(
    'CREATE TRIGGER scorecard_rollup_section_write AFTER INSERT OR UPDATE OR DELETE ON evaluation_section_scores ' +
      'FOR EACH ROW EXECUTE FUNCTION scorecard_rollup_sections()',
  );
}

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('scorecard_rollup_state', (t) => {
    t.integer('id').primary();
    t.string('time_zone', 128).nullable();
  });
  await knex('scorecard_rollup_state').insert({ id: 1, time_zone: null });
  await knex.schema.createTable('scorecard_rollup_offsets', (t) => {
    t.bigInteger('from_ms').primary();
    t.bigInteger('offset_ms').notNullable();
  });
  await knex.schema.createTable('scorecard_weeks', (t) => {
    t.string('agent_key', 129).notNullable();
    t.string('queue_key', 129).notNullable();
    t.string('form_id', 26).notNullable();
    t.bigInteger('week').notNullable();
    t.bigInteger('evaluations').notNullable();
    t.bigInteger('scored').notNullable();
    t.bigInteger('score_sum').notNullable();
    t.primary(['agent_key', 'queue_key', 'form_id', 'week']);
    // Covering (every column a scorecard reads), so a query reads the index alone: a year of every agent is the
    // whole table, and reading the rows behind an index entry by entry costs several times a scan of the index.
    t.index(
      ['queue_key', 'week', 'agent_key', 'form_id', 'evaluations', 'scored', 'score_sum'],
      'scorecard_weeks_queue_index',
    );
    t.index(
      ['week', 'agent_key', 'queue_key', 'form_id', 'evaluations', 'scored', 'score_sum'],
      'scorecard_weeks_week_index',
    );
  });
  await knex.schema.createTable('scorecard_sections', (t) => {
    t.string('agent_key', 129).notNullable();
    t.string('queue_key', 129).notNullable();
    t.string('form_id', 26).notNullable();
    t.bigInteger('week').notNullable();
    t.string('section_id', 64).notNullable();
    t.bigInteger('evaluations').notNullable();
    t.bigInteger('score_sum').notNullable();
    t.primary(['agent_key', 'queue_key', 'form_id', 'week', 'section_id']);
    // Covering as scorecard_weeks' indexes; the agent index is in the order of the per-agent sums (agent, form,
    // section), so every agent's sections of a period are summed in one pass over it with no sort.
    const sums = ['evaluations', 'score_sum'];
    t.index(['queue_key', 'week', 'agent_key', 'form_id', 'section_id', ...sums], 'scorecard_sections_queue_index');
    t.index(['week', 'agent_key', 'queue_key', 'form_id', 'section_id', ...sums], 'scorecard_sections_week_index');
    t.index(['agent_key', 'form_id', 'section_id', 'week', 'queue_key', ...sums], 'scorecard_sections_agent_index');
  });
  if (knex.client.config.client === 'pg') await pgTriggers(knex);
  else await sqliteTriggers(knex);
}

export async function down(knex: Knex): Promise<void> {
  if (knex.client.config.client === 'pg') {
    await knex.raw('DROP TRIGGER scorecard_rollup_section_write ON evaluation_section_scores');
    await knex.raw('DROP TRIGGER scorecard_rollup_eval_delete ON evaluations');
    await knex.raw('DROP TRIGGER scorecard_rollup_eval_write ON evaluations');
    await knex.raw('DROP FUNCTION scorecard_rollup_sections()');
    await knex.raw('DROP FUNCTION scorecard_rollup_evaluations()');
  } else {
    for (const t of ['eval_insert', 'eval_update', 'eval_delete', 'section_insert', 'section_update', 'section_delete'])
      await knex.raw(`DROP TRIGGER scorecard_rollup_${t}`);
  }
  await knex.schema.dropTable('scorecard_sections');
  await knex.schema.dropTable('scorecard_weeks');
  await knex.schema.dropTable('scorecard_rollup_offsets');
  await knex.schema.dropTable('scorecard_rollup_state');
}
