/**
 * The scorecards' weekly roll-up (migration 20261204235400_rollup-scorecard-weeks): per agent, queue, form and
 * ISO week the counted evaluations, scored evaluations and score sum, and per section the section scores, kept
 * exact by database triggers in the transaction of every write of `evaluations` or `evaluation_section_scores`.
 *
 * Contracts:
 * - The roll-up is of one time zone (`rollupTimeZone`); `rebuildScorecardRollup` makes it that of another zone
 *   in one transaction (new offsets, every roll-up row recomputed from the rows). Until it first ran the
 *   roll-up is empty and its zone null.
 * - `rollupWeeks`/`rollupSections` answer for whole weeks `[fromWeek, toWeek)` exactly what the row queries of
 *   src/db/scorecards.ts answer for the instants of those weeks, when the roll-up's zone is the caller's.
 * - Score sums are in hundredths (whole numbers), as the row queries give them.
 * Inside a transaction pass `trx` as `q`.
 */
import type { Knex } from 'knex';
import type { ScorecardFilter, ScorecardGroup, ScorecardSectionRow, ScorecardWeekRow } from './scorecards.js';

type Q = Knex | Knex.Transaction;

/** The zone's UTC offset is `offsetMs` from `fromMs` on (until the next piece); the first piece has no start. */
export interface OffsetPiece {
  fromMs: number | null;
  offsetMs: number;
}

const KEY_COLUMN: Record<ScorecardGroup, string> = { agent: 'agent_key', queue: 'queue_key', form: 'form_id' };
/** Before any instant a call can have started at: the first offset piece starts here. */
const FIRST_MS = -8_640_000_000_000_000;
const MONDAY_WALL_MS = 4 * 86_400_000;
const WEEK_MS = 7 * 86_400_000;

/** The roll-up's key of an agent id or queue: `''` for none, `=value` otherwise. */
export const rollupKey = (value: string | null): string => (value === null ? '' : `=${value}`);
const fromRollupKey = (key: string): string | null => (key === '' ? null : key.slice(1));

/** The zone the roll-up is of; null before it was first built. */
export async function rollupTimeZone(q: Q): Promise<string | null> {
  const row = (await q('scorecard_rollup_state').where({ id: 1 }).first('time_zone')) as
    { time_zone: string | null } | undefined;
  return row?.time_zone ?? null;
}

/**
 * Rebuilds the roll-up for `timeZone` whose offset pieces (ordered) are `offsets`, in one transaction: writers
 * of evaluations wait for it (PostgreSQL: a share lock on the two tables), so no write falls between the
 * recomputation and the new zone.
 */
export async function rebuildScorecardRollup(
  knex: Knex,
  input: { timeZone: string; offsets: readonly OffsetPiece[] },
): Promise<void> {
  const pg = knex.client.config.client === 'pg';
  const hundredths = (v: string) =>
    pg ? `CAST(ROUND(CAST(${v} AS double precision) * 100) AS bigint)` : `CAST(ROUND(${v} * 100) AS INTEGER)`;
  await knex.transaction(async (trx) => {
    if (pg) await trx.raw('LOCK TABLE evaluations, evaluation_section_scores IN SHARE MODE');
    await trx('scorecard_sections').delete();
    await trx('scorecard_weeks').delete();
    await trx('scorecard_rollup_offsets').delete();
    const rows = input.offsets.map((o, i) => ({ from_ms: i === 0 ? FIRST_MS : o.fromMs, offset_ms: o.offsetMs }));
    for (let i = 0; i < rows.length; i += 200) await trx('scorecard_rollup_offsets').insert(rows.slice(i, i + 200));
    const week =
      `(SELECT (e.call_started_at + o.offset_ms - ${MONDAY_WALL_MS}) / ${WEEK_MS} FROM scorecard_rollup_offsets o ` +
      `WHERE o.from_ms <= e.call_started_at ORDER BY o.from_ms DESC LIMIT 1)`;
    const keys = `COALESCE('=' || e.agent_id, ''), COALESCE('=' || e.queue, ''), e.form_id`;
    const counted = `e.status IN ('submitted', 'acknowledged', 'disputed') AND NOT e.calibration`;
    await trx.raw(
      `INSERT INTO scorecard_weeks (agent_key, queue_key, form_id, week, evaluations, scored, score_sum) ` +
        `SELECT ${keys}, ${week}, COUNT(*), COUNT(e.score), COALESCE(SUM(${hundredths('e.score')}), 0) ` +
        `FROM evaluations e WHERE ${counted} GROUP BY 1, 2, 3, 4`,
    );
    await trx.raw(
      `INSERT INTO scorecard_sections (agent_key, queue_key, form_id, week, section_id, evaluations, score_sum) ` +
        `SELECT ${keys}, ${week}, r.section_id, COUNT(*), SUM(${hundredths('r.score')}) ` +
        `FROM evaluations e JOIN evaluation_section_scores r ON r.evaluation_id = e.id WHERE ${counted} ` +
        `GROUP BY 1, 2, 3, 4, 5`,
    );
    await trx('scorecard_rollup_state').where({ id: 1 }).update({ time_zone: input.timeZone });
  });
}

/**
 * The rows of `table` in the weeks and scope of `f`. On SQLite, every agent's sections are read through the index
 * in their summing order (agent, form, section): SQLite, never analysed, would otherwise choose the week index and
 * sort the whole period (several times slower for a year); PostgreSQL chooses by its statistics.
 */
function filtered(q: Q, table: string, f: ScorecardFilter, weeks: { fromWeek: number; toWeek: number }) {
  const agentOrder =
    table === 'scorecard_sections' && f.groupBy === 'agent' && f.queues === null && q.client.config.client !== 'pg';
  const from = agentOrder ? q.raw('?? INDEXED BY ??', [table, 'scorecard_sections_agent_index']) : table;
  let b = q.from(from).where('week', '>=', weeks.fromWeek).where('week', '<', weeks.toWeek);
  if (f.agentId !== undefined) b = b.where('agent_key', rollupKey(f.agentId));
  if (f.queue !== undefined) b = b.where('queue_key', rollupKey(f.queue));
  if (f.formId !== undefined) b = b.where('form_id', f.formId);
  if (f.queues !== null) b = b.whereIn('queue_key', f.queues.map(rollupKey));
  return b;
}

const keyOf = (group: ScorecardGroup, k: string): string | null => (group === 'form' ? k : fromRollupKey(k));

/**
 * Per key and week of `[fromWeek, toWeek)`: evaluations, scored evaluations, score sum (hundredths). The database
 * sends one row per key with its weeks as a JSON array (a year of every agent is tens of thousands of weeks, and
 * the drivers' cost per row is several times the database's to sum them).
 */
export async function rollupWeeks(
  q: Q,
  f: ScorecardFilter,
  weeks: { fromWeek: number; toWeek: number },
): Promise<ScorecardWeekRow[]> {
  if ((f.queues !== null && f.queues.length === 0) || weeks.fromWeek >= weeks.toWeek) return [];
  const key = KEY_COLUMN[f.groupBy];
  const perWeek = filtered(q, 'scorecard_weeks', f, weeks)
    .select({ k: key, w: 'week' })
    .sum({ n: 'evaluations', scored: 'scored', total: 'score_sum' })
    .groupBy(key, 'week');
  const pg = q.client.config.client === 'pg';
  const list = pg
    ? 'json_agg(json_build_array(w, n, scored, total))'
    : 'json_group_array(json_array(w, n, scored, total))';
  const rows = (await q
    .from(perWeek.as('t'))
    .select('k', q.raw(`${list} as weeks`))
    .groupBy('k')) as Array<{ k: string; weeks: string | Array<[number, number, number, number]> }>;
  const out: ScorecardWeekRow[] = [];
  for (const r of rows) {
    const key = keyOf(f.groupBy, r.k);
    const list =
      typeof r.weeks === 'string' ? (JSON.parse(r.weeks) as Array<[number, number, number, number]>) : r.weeks;
    for (const [week, evaluations, scored, total] of list) {
      out.push({
        key,
        week: Number(week),
        evaluations: Number(evaluations),
        scored: Number(scored),
        scoreHundredths: Number(total),
      });
    }
  }
  return out;
}

/** Per key, form and section over the weeks `[fromWeek, toWeek)`: section scores and their sum (hundredths). */
export async function rollupSections(
  q: Q,
  f: ScorecardFilter,
  weeks: { fromWeek: number; toWeek: number },
): Promise<ScorecardSectionRow[]> {
  if ((f.queues !== null && f.queues.length === 0) || weeks.fromWeek >= weeks.toWeek) return [];
  const key = KEY_COLUMN[f.groupBy];
  const columns = f.groupBy === 'form' ? ['form_id', 'section_id'] : [key, 'form_id', 'section_id'];
  const rows = (await filtered(q, 'scorecard_sections', f, weeks)
    .select({ k: key, formId: 'form_id', section: 'section_id' })
    .sum({ n: 'evaluations', total: 'score_sum' })
    .groupBy(columns)) as Array<{
    k: string;
    formId: string;
    section: string;
    n: number | string;
    total: number | string;
  }>;
  return rows.map((r) => ({
    key: keyOf(f.groupBy, r.k),
    formId: r.formId,
    section: r.section,
    evaluations: Number(r.n),
    scoreHundredths: Number(r.total),
  }));
}
