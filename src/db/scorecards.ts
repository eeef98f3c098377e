/**
 * Scorecards (#20): evaluation scores aggregated in SQL per agent, queue or form, per week and per
 * section. Counts only evaluations that reached the agent (submitted, acknowledged, disputed), never
 * drafts and never calibration evaluations. Periods are on the call's start (`call_started_at`,
 * `[from, to)`), like the evaluation search.
 *
 * The week of a row is computed by the database from the caller's `weeks` (the zone's offset pieces,
 * see src/training/weeks.ts, passed down as plain numbers): two grouped queries, one over
 * `evaluations` (counts and sums per key and week), one joining `evaluation_section_scores` (per key,
 * form and section). Indexes: migration 20261203185000_scorecard-indexes.
 *
 * Score sums are in hundredths of a point (each score rounded to its two decimals, then summed as whole numbers):
 * exact on both databases, and the same as the weekly roll-up's (src/db/scorecard-rollup.ts), which answers the
 * whole weeks of a period while these queries answer its part-weeks (or all of it before the roll-up is built).
 *
 * Inside a transaction pass `trx` as `q` (SQLite has one connection).
 */
import type { Knex } from 'knex';

type Q = Knex | Knex.Transaction;

export const SCORECARD_GROUPS = ['agent', 'queue', 'form'] as const;
export type ScorecardGroup = (typeof SCORECARD_GROUPS)[number];

/** Statuses a scorecard counts: the trainer submitted them (the agent may have answered). */
export const SCORECARD_STATUSES = ['submitted', 'acknowledged', 'disputed'] as const;

const GROUP_COLUMN: Record<ScorecardGroup, string> = { agent: 'agent_id', queue: 'queue', form: 'form_id' };

export interface ScorecardFilter {
  groupBy: ScorecardGroup;
  /** `[from, to)` on the call's start, ms. */
  from: number;
  to: number;
  agentId?: string;
  queue?: string;
  formId?: string;
  /** Only these queues (a trainer's scope); null: every queue; empty: nothing. */
  queues: readonly string[] | null;
  /**
   * The week arithmetic: the zone's UTC offset is `offsetMs` before `until` (null: onwards), ordered; the week
   * index of an instant t is `floor((t + offset - mondayMs) / weekMs)`.
   */
  weeks: { segments: ReadonlyArray<{ until: number | null; offsetMs: number }>; mondayMs: number; weekMs: number };
}

export interface ScorecardWeekRow {
  key: string | null;
  week: number;
  evaluations: number;
  scored: number;
  /** The sum of the scores in hundredths (each score rounded to its two decimals): a whole number, exact. */
  scoreHundredths: number;
}

export interface ScorecardSectionRow {
  key: string | null;
  formId: string;
  section: string;
  evaluations: number;
  /** In hundredths, as ScorecardWeekRow's. */
  scoreHundredths: number;
}

function integer(n: number): string {
  if (!Number.isSafeInteger(n)) throw new RangeError('scorecard week arithmetic expects whole numbers');
  return String(n);
}

/**
 * The SQL of the week index of `e.call_started_at`: only whole numbers from the caller's arithmetic, written into
 * the text (never a value of a request), so both databases do integer arithmetic on bigint.
 */
function weekSql(weeks: ScorecardFilter['weeks']): string {
  const segments = weeks.segments;
  const last = segments[segments.length - 1];
  if (!last || last.until !== null) throw new RangeError('the last offset piece must be open-ended');
  const offset =
    segments.length === 1
      ? integer(last.offsetMs)
      : `CASE ${segments
          .slice(0, -1)
          .map((s) => `WHEN e.call_started_at < ${integer(s.until!)} THEN ${integer(s.offsetMs)}`)
          .join(' ')} ELSE ${integer(last.offsetMs)} END`;
  // Non-negative for any instant after 1970-01-05, so integer division is the floor on both databases.
  return `((e.call_started_at + ${offset} - ${integer(weeks.mondayMs)}) / ${integer(weeks.weekMs)})`;
}

/** A score column in hundredths, a whole number on both databases (PostgreSQL keeps scores as float4). */
function hundredths(q: Q, column: string): Knex.Raw {
  return q.client.config.client === 'pg'
    ? q.raw('CAST(ROUND(CAST(?? AS double precision) * 100) AS bigint)', [column])
    : q.raw('CAST(ROUND(?? * 100) AS INTEGER)', [column]);
}

/** Periods up to this long are read through the period index on SQLite (see `filtered`). */
const SHORT_PERIOD_MS = 8 * 86_400_000;

/**
 * The counted evaluations of `f`. SQLite, never analysed, reads a short period (the part-weeks at the ends of a
 * scorecard's period) through the agent index to save a sort, which reads every evaluation: a short period is read
 * through the period index instead (tens of times faster at a year of history). PostgreSQL chooses by statistics.
 */
function filtered(q: Q, f: ScorecardFilter): Knex.QueryBuilder {
  const short = f.to - f.from <= SHORT_PERIOD_MS && q.client.config.client !== 'pg';
  let b = q
    .from(
      short
        ? q.raw('?? as e INDEXED BY ??', ['evaluations', 'evaluations_scorecard_period_index'])
        : 'evaluations as e',
    )
    .whereIn('e.status', [...SCORECARD_STATUSES])
    .where('e.calibration', false)
    .where('e.call_started_at', '>=', f.from)
    .where('e.call_started_at', '<', f.to);
  if (f.agentId !== undefined) b = b.where('e.agent_id', f.agentId);
  if (f.queue !== undefined) b = b.where('e.queue', f.queue);
  if (f.formId !== undefined) b = b.where('e.form_id', f.formId);
  if (f.queues !== null) b = b.whereIn('e.queue', [...f.queues]);
  return b;
}

/** Evaluations, scored evaluations and the sum of their scores per key and week. */
export async function scorecardWeeks(q: Q, f: ScorecardFilter): Promise<ScorecardWeekRow[]> {
  if (f.queues !== null && f.queues.length === 0) return [];
  const key = `e.${GROUP_COLUMN[f.groupBy]}`;
  const week = weekSql(f.weeks);
  const rows = (await filtered(q, f)
    .select(q.raw(`?? as k`, [key]), q.raw(`${week} as w`))
    .count({ n: '*' })
    .count({ scored: 'e.score' })
    .select(q.raw('SUM(?) as total', [hundredths(q, 'e.score')]))
    .groupByRaw(`??, ${week}`, [key])) as Array<{
    k: string | null;
    w: number | string;
    n: number | string;
    scored: number | string;
    total: number | string | null;
  }>;
  return rows.map((r) => ({
    key: r.k,
    week: Number(r.w),
    evaluations: Number(r.n),
    scored: Number(r.scored),
    scoreHundredths: Number(r.total ?? 0),
  }));
}

/** Section scores: how many and their sum per key, form and section. */
export async function scorecardSections(q: Q, f: ScorecardFilter): Promise<ScorecardSectionRow[]> {
  if (f.queues !== null && f.queues.length === 0) return [];
  const key = `e.${GROUP_COLUMN[f.groupBy]}`;
  // A cross join with the join condition in WHERE: the same rows on both databases, but SQLite then keeps the
  // written order (evaluations first, through the period or agent index, then the section index per evaluation)
  // instead of scanning an index that reads every evaluation row.
  const rows = (await filtered(q, f)
    .joinRaw('cross join evaluation_section_scores as s')
    .whereRaw('s.evaluation_id = e.id')
    .select({ k: key, formId: 'e.form_id', section: 's.section_id' })
    .count({ n: '*' })
    .select(q.raw('SUM(?) as total', [hundredths(q, 's.score')]))
    .groupBy(key, 'e.form_id', 's.section_id')) as Array<{
    k: string | null;
    formId: string;
    section: string;
    n: number | string;
    total: number | string | null;
  }>;
  return rows.map((r) => ({
    key: r.k,
    formId: r.formId,
    section: r.section,
    evaluations: Number(r.n),
    scoreHundredths: Number(r.total ?? 0),
  }));
}

/** The name and the latest version's definition (JSON text) of each of these forms. */
export async function latestFormDefinitions(
  q: Q,
  formIds: readonly string[],
): Promise<Map<string, { name: string; definition: string }>> {
  const out = new Map<string, { name: string; definition: string }>();
  if (formIds.length === 0) return out;
  const rows = (await q('evaluation_forms as f')
    .join('evaluation_form_versions as v', 'v.form_id', 'f.id')
    .whereIn('f.id', [...formIds])
    .whereRaw('v.version = (select max(v2.version) from evaluation_form_versions v2 where v2.form_id = f.id)')
    .select('f.id', 'f.name', 'v.definition')) as Array<{ id: string; name: string; definition: string }>;
  for (const r of rows) out.set(r.id, { name: r.name, definition: r.definition });
  return out;
}

/** Display names of the agents' users (role agent) by agent id; agents without a named user are absent. */
export async function agentDisplayNames(q: Q, agentIds: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < agentIds.length; i += 500) {
    const rows = (await q('users')
      .where('role', 'agent')
      .whereIn('agent_id', agentIds.slice(i, i + 500))
      .whereNotNull('display_name')
      .orderBy('username')
      .select('agent_id', 'display_name')) as Array<{ agent_id: string; display_name: string }>;
    for (const r of rows) if (!out.has(r.agent_id)) out.set(r.agent_id, r.display_name);
  }
  return out;
}
