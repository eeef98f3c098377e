/**
 * ISO weeks in a time zone (CALLREC_TIME_ZONE), computed in SQL by arithmetic: a week is 7 wall-clock
 * days, so an instant `t` with the zone's UTC offset `o(t)` lies in week
 * `floor((t + o(t) - MONDAY_WALL_MS) / WEEK_MS)` counted from the Monday 1970-01-05. The offset is
 * piecewise constant (daylight saving time changes it a few times a year): `zoneSegments` finds its
 * pieces over a period, so that the database evaluates one CASE of a few branches per row, and
 * `isoWeekLabel` names a week index ("2026-W48"). Pure functions; no clock, no config.
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
 * wartime history, would be missed), each change bisected to the second. The last piece has `until: null`; instants
 * before `from` are counted with the first piece's offset, so callers bound their query by `from`.
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
      // The change lies in (at, next]: bisect to the first second with the new offset.
      let lo = at;
      let hi = next;
      while (hi - lo > 1000) {
        const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
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
