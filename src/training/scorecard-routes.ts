/**
 * Scorecards (#20): `GET /v1/scorecards?groupBy=agent|queue|form&agentId=&queue=&formId=&from=&to=`
 * (admin; a trainer limited to the queues they are limited to; an agent only themselves) →
 * `{groupBy, from, to, timeZone, items: [{agentId|queue|formId, displayName?, evaluations, averageScore,
 * sections: [{formId, section, title, evaluations, averageScore}], weeks: [{week, evaluations, averageScore}]}]}`;
 * `Accept: text/csv` or `format=csv` → the same as CSV, one line per item total, week and section.
 *
 * - Counts submitted, acknowledged and disputed evaluations; never drafts, never calibration evaluations.
 * - The period `[from, to)` is on the call's start; `to` defaults to now, `from` to 365 days before `to`.
 * - Weeks are ISO weeks in CALLREC_TIME_ZONE ("2026-W48"); only weeks with evaluations are listed.
 * - Sections are per form (a section id is its index in the form, so ids of different forms differ in meaning);
 *   their title is that of the form's latest version.
 * - A filter outside the caller's scope (a trainer's other queue, another agent) finds nothing: 200 with no items,
 *   as the recording list does for a trainer.
 * Always computed at the request from what the database holds then, no cache: the whole weeks of the period from
 * the weekly roll-up (src/db/scorecard-rollup.ts, kept exact by triggers in the transaction of every write of an
 * evaluation), the part-weeks at its two ends from the evaluation rows; an expired or deleted evaluation is gone at
 * once. When the roll-up is not of CALLREC_TIME_ZONE (not yet rebuilt), everything comes from the rows.
 */
import { Router } from 'express';
import type { Request } from 'express';
import { z } from 'zod';
import type { AppDeps } from '../deps.js';
import { createGuards } from '../auth/index.js';
import type { Principal } from '../domain/roles.js';
import {
  agentDisplayNames,
  latestFormDefinitions,
  SCORECARD_GROUPS,
  scorecardSections,
  scorecardWeeks,
} from '../db/scorecards.js';
import type { ScorecardFilter, ScorecardGroup, ScorecardSectionRow, ScorecardWeekRow } from '../db/scorecards.js';
import { rollupSections, rollupTimeZone, rollupWeeks } from '../db/scorecard-rollup.js';
import { errors } from '../errors.js';
import type { FieldProblem } from '../errors.js';
import { csvField } from '../http/csv.js';
import { filterText, isoInstant } from '../http/request-schemas.js';
import { isoWeekLabel, MONDAY_WALL_MS, WEEK_MS, DAY_MS, wholeWeeks, zoneSegments } from './weeks.js';

/** Who may ask for scorecards. */
export const SCORECARD_ROLES = ['admin', 'trainer', 'agent'] as const;
/** The default period: this long before `to`. */
export const DEFAULT_PERIOD_MS = 365 * DAY_MS;
/** The longest period one request may cover (the week arithmetic samples the zone over it). */
export const MAX_PERIOD_MS = 5 * 366 * DAY_MS;

const name = filterText(128);

export const scorecardQuerySchema = z.strictObject({
  groupBy: z
    .enum(SCORECARD_GROUPS, { message: `expects one of ${SCORECARD_GROUPS.join(', ')}` })
    .optional()
    .describe('What each item is: an agent (default), a queue or a form'),
  agentId: name.optional().describe("Only this agent's evaluations"),
  queue: name.optional().describe('Only evaluations of calls of this queue'),
  formId: z
    .string()
    .regex(/^[0-9A-HJKMNP-TV-Z]{26}$/, 'expects a form id')
    .optional()
    .describe('Only evaluations against this form'),
  from: isoInstant.optional().describe('Calls started at or after this (default: 365 days before `to`)'),
  to: isoInstant.optional().describe('Calls started before this (default: now)'),
  format: z
    .enum(['csv'], { message: 'expects csv' })
    .optional()
    .describe('`csv`: answer as CSV, as with `Accept: text/csv` (for download links)'),
});

const score = z.number().nullable().describe('Average score 0–100, two decimals; null when none was scored');
export const scorecardSchema = z.object({
  agentId: z.string().nullable().optional().describe('groupBy=agent: the agent (null: calls without an agent)'),
  queue: z.string().nullable().optional().describe('groupBy=queue: the queue (null: calls without a queue)'),
  formId: z.string().optional().describe('groupBy=form: the form'),
  displayName: z.string().optional().describe("The agent user's display name, or the form's name"),
  evaluations: z.number().int(),
  averageScore: score,
  sections: z.array(
    z.object({
      formId: z.string(),
      section: z.string().describe('The index of the section in its form ("0", "1", …)'),
      title: z.string().optional().describe("The section's title in the form's latest version"),
      evaluations: z.number().int(),
      averageScore: score,
    }),
  ),
  weeks: z.array(
    z.object({
      week: z.string().describe('ISO week in CALLREC_TIME_ZONE, e.g. 2026-W48'),
      weekStart: z.string().describe('RFC 3339: Monday 00:00 of the week in CALLREC_TIME_ZONE'),
      evaluations: z.number().int(),
      averageScore: score,
    }),
  ),
});
export const scorecardListSchema = z.object({
  groupBy: z.enum(SCORECARD_GROUPS),
  from: z.string().describe('RFC 3339'),
  to: z.string().describe('RFC 3339'),
  timeZone: z.string().describe('CALLREC_TIME_ZONE: the zone of the weeks'),
  items: z.array(scorecardSchema),
});
export type Scorecard = z.infer<typeof scorecardSchema>;
export type ScorecardList = z.infer<typeof scorecardListSchema>;

const KEY_FIELD: Record<ScorecardGroup, 'agentId' | 'queue' | 'formId'> = {
  agent: 'agentId',
  queue: 'queue',
  form: 'formId',
};

function fieldProblems(error: z.ZodError): FieldProblem[] {
  return error.issues.map((i) => ({
    field: i.path.length ? i.path.join('.') : ((i as { keys?: string[] }).keys?.join(',') ?? ''),
    message: i.message,
  }));
}

/** The average of `n` scores whose sum is `hundredths` (hundredths of a point), to two decimals. */
const average = (hundredths: number, n: number) => (n === 0 ? null : Math.round(hundredths / n) / 100);

/** Section titles of a form version's definition (`{sections: [{title}]}`), by section id; empty when unreadable. */
export function sectionTitles(definition: string): Map<string, string> {
  const titles = new Map<string, string>();
  try {
    const parsed = JSON.parse(definition) as { sections?: Array<{ title?: unknown }> };
    parsed.sections?.forEach((s, i) => {
      if (typeof s.title === 'string') titles.set(String(i), s.title);
    });
  } catch {
    // no titles then
  }
  return titles;
}

/**
 * Builds the items from the grouped rows: totals from the weeks, sections per form, labels and names. Pure.
 * Items are ordered by key (null last), weeks by time, sections by form and section index.
 */
export function assembleScorecards(input: {
  groupBy: ScorecardGroup;
  weeks: readonly ScorecardWeekRow[];
  sections: readonly ScorecardSectionRow[];
  forms: ReadonlyMap<string, { name: string; definition: string }>;
  agentNames: ReadonlyMap<string, string>;
  /** The zone's offset at an instant (for each week's start). */
  offsetAt: (ms: number) => number;
}): Scorecard[] {
  const byKey = new Map<string | null, { weeks: ScorecardWeekRow[]; sections: ScorecardSectionRow[] }>();
  const entry = (key: string | null) => {
    let e = byKey.get(key);
    if (!e) byKey.set(key, (e = { weeks: [], sections: [] }));
    return e;
  };
  for (const w of input.weeks) entry(w.key).weeks.push(w);
  for (const s of input.sections) entry(s.key).sections.push(s);
  const titles = new Map([...input.forms].map(([id, f]) => [id, sectionTitles(f.definition)]));
  // A year of every agent names the same 53 weeks thousands of times: each week's label and start once.
  const weekNames = new Map<number, { week: string; weekStart: string }>();
  const weekName = (index: number) => {
    let named = weekNames.get(index);
    if (!named) {
      // The instant of the week's Monday 00:00 wall clock: the offset near it, then the offset at that instant.
      const wall = MONDAY_WALL_MS + index * WEEK_MS;
      const start = wall - input.offsetAt(wall);
      named = { week: isoWeekLabel(index), weekStart: new Date(wall - input.offsetAt(start)).toISOString() };
      weekNames.set(index, named);
    }
    return named;
  };
  const keys = [...byKey.keys()].sort((a, b) => (a === null ? 1 : b === null ? -1 : a < b ? -1 : a > b ? 1 : 0));
  return keys.map((key) => {
    const { weeks, sections } = byKey.get(key)!;
    weeks.sort((a, b) => a.week - b.week);
    sections.sort((a, b) =>
      a.formId !== b.formId ? (a.formId < b.formId ? -1 : 1) : Number(a.section) - Number(b.section),
    );
    const evaluations = weeks.reduce((n, w) => n + w.evaluations, 0);
    const scored = weeks.reduce((n, w) => n + w.scored, 0);
    const sum = weeks.reduce((n, w) => n + w.scoreHundredths, 0);
    const displayName =
      key === null
        ? undefined
        : input.groupBy === 'agent'
          ? input.agentNames.get(key)
          : input.groupBy === 'form'
            ? input.forms.get(key)?.name
            : undefined;
    return {
      [KEY_FIELD[input.groupBy]]: key,
      ...(displayName === undefined ? {} : { displayName }),
      evaluations,
      averageScore: average(sum, scored),
      sections: sections.map((s) => {
        const title = titles.get(s.formId)?.get(s.section);
        return {
          formId: s.formId,
          section: s.section,
          ...(title === undefined ? {} : { title }),
          evaluations: s.evaluations,
          averageScore: average(s.scoreHundredths, s.evaluations),
        };
      }),
      weeks: weeks.map((w) => {
        const { week, weekStart } = weekName(w.week);
        return {
          week,
          weekStart,
          evaluations: w.evaluations,
          averageScore: average(w.scoreHundredths, w.scored),
        };
      }),
    } as Scorecard;
  });
}

export const SCORECARD_CSV_COLUMNS = [
  'kind',
  'week',
  'formId',
  'section',
  'title',
  'evaluations',
  'averageScore',
] as const;

/** CSV: a header, then per item its total, its weeks and its sections (`kind` says which), CRLF lines. */
export function scorecardCsv(groupBy: ScorecardGroup, items: readonly Scorecard[]): string {
  const keyField = KEY_FIELD[groupBy];
  const line = (fields: unknown[]) => `${fields.map(csvField).join(',')}\r\n`;
  let text = line([keyField, 'displayName', ...SCORECARD_CSV_COLUMNS]);
  for (const item of items) {
    const head = [item[keyField] ?? '', item.displayName ?? ''];
    text += line([...head, 'total', '', '', '', '', item.evaluations, item.averageScore]);
    for (const w of item.weeks) text += line([...head, 'week', w.week, '', '', '', w.evaluations, w.averageScore]);
    for (const s of item.sections) {
      text += line([...head, 'section', '', s.formId, s.section, s.title ?? '', s.evaluations, s.averageScore]);
    }
  }
  return text;
}

/** Sums rows of the same key and week (the parts of a period never share a week, but sections span them). */
export function mergeWeekRows(rows: readonly ScorecardWeekRow[]): ScorecardWeekRow[] {
  const out = new Map<string | null, Map<number, ScorecardWeekRow>>();
  const result: ScorecardWeekRow[] = [];
  for (const r of rows) {
    let byWeek = out.get(r.key);
    if (!byWeek) out.set(r.key, (byWeek = new Map()));
    const e = byWeek.get(r.week);
    if (!e) {
      const copy = { ...r };
      byWeek.set(r.week, copy);
      result.push(copy);
    } else {
      e.evaluations += r.evaluations;
      e.scored += r.scored;
      e.scoreHundredths += r.scoreHundredths;
    }
  }
  return result;
}

/** Sums rows of the same key, form and section. */
export function mergeSectionRows(rows: readonly ScorecardSectionRow[]): ScorecardSectionRow[] {
  const out = new Map<string, ScorecardSectionRow>();
  for (const r of rows) {
    // The form id (26 characters) and section id hold no NUL, so the key is unambiguous.
    const id = `${r.key === null ? '' : `=${r.key}`}\u0000${r.formId}\u0000${r.section}`;
    const e = out.get(id);
    if (!e) out.set(id, { ...r });
    else {
      e.evaluations += r.evaluations;
      e.scoreHundredths += r.scoreHundredths;
    }
  }
  return [...out.values()];
}

/**
 * The grouped rows of a scorecard request: the whole weeks of the period from the roll-up when it is of the
 * configured zone, the rest (less than a week at each end) from the evaluation rows; all of it from the rows
 * otherwise. Either way the same numbers.
 */
export async function scorecardRows(
  deps: Pick<AppDeps, 'db' | 'config'>,
  filter: ScorecardFilter,
): Promise<{ weeks: ScorecardWeekRow[]; sections: ScorecardSectionRow[] }> {
  const knex = deps.db.knex;
  const timeZone = deps.config.timeZone;
  const whole = (await rollupTimeZone(knex)) === timeZone ? wholeWeeks(timeZone, filter.from, filter.to) : null;
  const parts = (
    whole ? [[filter.from, whole.start] as const, [whole.end, filter.to] as const] : [[filter.from, filter.to] as const]
  )
    .filter(([from, to]) => from < to)
    .map(([from, to]) => ({
      ...filter,
      from,
      to,
      weeks: { segments: zoneSegments(timeZone, from, to), mondayMs: MONDAY_WALL_MS, weekMs: WEEK_MS },
    }));
  const weeks: ScorecardWeekRow[] = whole ? await rollupWeeks(knex, filter, whole) : [];
  for (const part of parts) weeks.push(...(await scorecardWeeks(knex, part)));
  if (weeks.length === 0) return { weeks, sections: [] };
  const sections: ScorecardSectionRow[] = whole ? await rollupSections(knex, filter, whole) : [];
  for (const part of parts) sections.push(...(await scorecardSections(knex, part)));
  return { weeks: mergeWeekRows(weeks), sections: mergeSectionRows(sections) };
}

function principalOf(req: Request): Principal {
  if (!req.principal) throw errors.unauthenticated();
  return req.principal;
}

export function createScorecardRouter(deps: AppDeps): Router {
  const router = Router();
  const guard = createGuards(deps).requireRole(...SCORECARD_ROLES);

  router.get('/v1/scorecards', guard, async (req, res) => {
    const principal = principalOf(req);
    const parsed = scorecardQuerySchema.safeParse(req.query);
    if (!parsed.success) throw errors.invalidQuery(fieldProblems(parsed.error));
    const q = parsed.data;
    const to = q.to ?? deps.clock.now();
    const from = q.from ?? to - DEFAULT_PERIOD_MS;
    // Each date is valid on its own; together they must make a period (a rule of the pair: 422, not 400).
    if (from >= to || to - from > MAX_PERIOD_MS) {
      throw errors.invalidPeriod([{ field: 'from', message: 'expects from before to, at most 5 years apart' }]);
    }
    const groupBy = q.groupBy ?? 'agent';
    const timeZone = deps.config.timeZone;
    // The caller's scope: an agent sees only themselves (another agentId finds nothing), a trainer their queues.
    const agentOnly = principal.role === 'agent';
    const agentId = agentOnly ? (principal.agentId ?? '') : q.agentId;
    const excluded = agentOnly && q.agentId !== undefined && q.agentId !== principal.agentId;
    const filter = {
      groupBy,
      from,
      to,
      agentId,
      queue: q.queue,
      formId: q.formId,
      queues: excluded ? [] : principal.role === 'trainer' ? principal.queues : null,
      weeks: { segments: zoneSegments(timeZone, from, to), mondayMs: MONDAY_WALL_MS, weekMs: WEEK_MS },
    };
    const { weeks, sections } = await scorecardRows(deps, filter);
    const formIds = [
      ...new Set([...sections.map((s) => s.formId), ...(groupBy === 'form' ? weeks.map((w) => w.key!) : [])]),
    ];
    const forms = await latestFormDefinitions(deps.db.knex, formIds);
    const agentNames =
      groupBy === 'agent'
        ? await agentDisplayNames(deps.db.knex, [
            ...new Set(weeks.map((w) => w.key).filter((k): k is string => k !== null)),
          ])
        : new Map<string, string>();
    const segments = filter.weeks.segments;
    const offsetAt = (ms: number) => (segments.find((s) => s.until === null || ms < s.until) ?? segments[0]!).offsetMs;
    const items = assembleScorecards({ groupBy, weeks, sections, forms, agentNames, offsetAt });
    res.setHeader('Cache-Control', 'private, no-store');
    if (q.format === 'csv' || req.accepts(['application/json', 'text/csv']) === 'text/csv') {
      res
        .status(200)
        .type('text/csv; charset=utf-8')
        .setHeader('Content-Disposition', `attachment; filename="scorecards-${groupBy}.csv"`)
        .send(scorecardCsv(groupBy, items));
      return;
    }
    const body: ScorecardList = {
      groupBy,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      timeZone,
      items,
    };
    res.json(body);
  });

  return router;
}
