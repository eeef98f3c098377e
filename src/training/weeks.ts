/**
 * ISO weeks in a time zone (CALLREC_TIME_ZONE), computed in SQL by arithmetic: a week is 7 wall-clock
 * days, so an instant `t` with the zone's UTC offset `o(t)` lies in week
 * `floor((t + o(t) - MONDAY_WALL_MS) / WEEK_MS)` counted from the Monday 1970-01-05. The offset is
 * piecewise constant (daylight saving time changes it a few times a year): `zoneSegments` finds its
 * pieces over a period, so that the database evaluates one CASE of a few branches per row, and
 * `isoWeekLabel` names a week index ("2026-W48"). `wholeWeeks` finds the weeks a period holds whole (those the
 * scorecard roll-up answers). Pure functions; no clock, no config.
 */

export const DAY_MS = 86_400_000;
export const WEEK_MS = 7 * DAY_MS;
/** 1970-01-05T00:00 wall-clock time, a Monday: week index 0 starts there. */
export const MONDAY_WALL_MS = 4 * DAY_MS;

/** The zone's offset from UTC is `offsetMs` for instants before `until` (null: to the end of the period). */
export interface ZoneSegment {
  until: number | null;
  offsetMs: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
/** The tail of a `longOffset` format: `GMT`, `GMT+01:00`, `GMT-03:30`, `GMT+00:19:32`. */
const LONG_OFFSET = /GMT(?:([+-])(\d{2}):(\d{2})(?::(\d{2}))?)?$/;

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The UTC offset of `timeZone` at the instant `ms` (wall clock minus UTC), in ms (about 6 µs a call). */
export function zoneOffsetAt(ms: number, timeZone: string): number {
  const match = LONG_OFFSET.exec(formatterFor(timeZone).format(new Date(ms)));
  if (!match) throw new RangeError(`no UTC offset for time zone ${timeZone}`);
  if (match[1] === undefined) return 0;
  const seconds = Number(match[2]) * 3600 + Number(match[3]) * 60 + Number(match[4] ?? 0);
  return (match[1] === '-' ? -seconds : seconds) * 1000;
}

/**
 * The pieces of constant offset of `timeZone` over `[from, to)`: sampled once a week (a year costs about 0.5 ms a
 * request; two changes of one zone less than a week apart, which the tz database knows only from
 * wartime history, would be missed), each change bisected to the millisecond. The last piece has `until: null`;
 * instants before `from` are counted with the first piece's offset, so callers bound their query by `from`.
 */
export function zoneSegments(timeZone: string, from: number, to: number): ZoneSegment[] {
  const step = WEEK_MS;
  const segments: ZoneSegment[] = [];
  let at = from;
  let offset = zoneOffsetAt(from, timeZone);
  while (at < to) {
    const next = Math.min(at + step, to);
    const nextOffset = zoneOffsetAt(next, timeZone);
    if (nextOffset !== offset) {
      // The change lies in (at, next]: bisect to the first millisecond with the new offset (whatever `from` is,
      // so that every period, and the roll-up's offsets, put an instant in the same week).
      let lo = at;
      let hi = next;
      while (hi - lo > 1) {
        const mid = lo + Math.floor((hi - lo) / 2);
        if (zoneOffsetAt(mid, timeZone) === offset) lo = mid;
        else hi = mid;
      }
      segments.push({ until: hi, offsetMs: offset });
      offset = nextOffset;
    }
    at = next;
  }
  segments.push({ until: null, offsetMs: offset });
  return segments;
}

/** The week index (see the module comment) of the instant `ms` given the zone's offset there. */
export function weekIndexOf(ms: number, offsetMs: number): number {
  return Math.floor((ms + offsetMs - MONDAY_WALL_MS) / WEEK_MS);
}

/** ISO 8601 week label of a week index: "2026-W48" (the ISO year is the year of the week's Thursday). */
export function isoWeekLabel(index: number): string {
  const thursday = new Date(MONDAY_WALL_MS + index * WEEK_MS + 3 * DAY_MS);
  const year = thursday.getUTCFullYear();
  const week = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / WEEK_MS) + 1;
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/** The instant the week `index` starts (Monday 00:00 wall clock in the zone), given the zone's offset then. */
export function weekStartOf(index: number, offsetMs: number): number {
  return MONDAY_WALL_MS + index * WEEK_MS - offsetMs;
}

/** The instant week `index` starts in `timeZone` (Monday 00:00 wall clock), with the offset at that instant. */
export function weekStartIn(index: number, timeZone: string): number {
  const wall = MONDAY_WALL_MS + index * WEEK_MS;
  return wall - zoneOffsetAt(wall - zoneOffsetAt(wall, timeZone), timeZone);
}

/**
 * True when the week `index` starting at `start` has a clean edge there: every instant before `start` lies in an
 * earlier week and every instant from it on in this week or a later one. Wall-clock time only runs backwards at a
 * change of offset, so it suffices to look at the changes within two days of `start` (offsets differ by less).
 * A change at midnight (a Monday 00:00 that never was, or was twice) makes an edge that is not clean.
 */
function cleanEdge(index: number, start: number, timeZone: string): boolean {
  const offset = zoneOffsetAt(start, timeZone);
  if (start + offset !== MONDAY_WALL_MS + index * WEEK_MS) return false;
  let pieceStart = start - 2 * DAY_MS;
  for (const s of zoneSegments(timeZone, pieceStart, start + 2 * DAY_MS)) {
    const pieceEnd = s.until ?? start + 2 * DAY_MS;
    if (pieceEnd <= start && pieceEnd + s.offsetMs > start + offset) return false;
    if (pieceStart >= start && pieceStart + s.offsetMs < start + offset) return false;
    pieceStart = pieceEnd;
  }
  return true;
}

/**
 * The whole weeks inside `[from, to)`: the instants `[start, end)` are exactly those of the weeks
 * `[fromWeek, toWeek)`, with `from <= start <= end <= to`; null when the period holds no whole week (or none
 * with clean edges). The rest of the period, `[from, start)` and `[end, to)`, is less than a week at each end.
 */
export function wholeWeeks(
  timeZone: string,
  from: number,
  to: number,
): { start: number; end: number; fromWeek: number; toWeek: number } | null {
  let fromWeek = weekIndexOf(from, zoneOffsetAt(from, timeZone));
  if (weekStartIn(fromWeek, timeZone) < from) fromWeek += 1;
  let toWeek = weekIndexOf(to, zoneOffsetAt(to, timeZone));
  if (weekStartIn(toWeek, timeZone) > to) toWeek -= 1;
  const clean = (index: number) => cleanEdge(index, weekStartIn(index, timeZone), timeZone);
  for (let tries = 0; tries < 3 && fromWeek < toWeek && !clean(fromWeek); tries++) fromWeek += 1;
  for (let tries = 0; tries < 3 && fromWeek < toWeek && !clean(toWeek); tries++) toWeek -= 1;
  if (fromWeek >= toWeek || !clean(fromWeek) || !clean(toWeek)) return null;
  const start = weekStartIn(fromWeek, timeZone);
  const end = weekStartIn(toWeek, timeZone);
  if (start < from || end > to) return null;
  return { start, end, fromWeek, toWeek };
}

/** The span the roll-up's offsets are computed over: 1970 to 2200 (an instant past it has the last offset). */
export const ROLLUP_OFFSETS_UNTIL = Date.UTC(2200, 0, 1);

/** The offset pieces of `timeZone` from 1970 on, as the roll-up stores them (the first one open towards the past). */
export function rollupOffsetPieces(timeZone: string): Array<{ fromMs: number | null; offsetMs: number }> {
  const segments = zoneSegments(timeZone, 0, ROLLUP_OFFSETS_UNTIL);
  return segments.map((s, i) => ({ fromMs: i === 0 ? null : segments[i - 1]!.until, offsetMs: s.offsetMs }));
}
