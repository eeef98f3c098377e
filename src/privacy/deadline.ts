/**
 * The answer deadline of a privacy request (GDPR Art. 12(3)): one calendar month after receipt,
 * extendable by at most two further months. Pure functions of their arguments: the clock is
 * passed in by the caller, never read here.
 *
 * Contract:
 * - Months are counted on the calendar of `timeZone` (Europe/Amsterdam by default): the request
 *   received on local date D is due at the end of local date D + n months, i.e. the last
 *   millisecond before the following local midnight (23:59:59.999 local time).
 * - A day that does not exist in the target month is clamped to that month's last day
 *   (31 January + 1 month → 28 February, or 29 in a leap year; 31 March + 1 → 30 April), as
 *   Regulation (EEC, Euratom) No 1182/71 art. 3(2)(c) reads a period expressed in months.
 * - Daylight-saving changes move the UTC instant, never the local date: the deadline is always
 *   local 23:59:59.999 (21:59:59.999Z in summer, 22:59:59.999Z in winter for Amsterdam).
 * - Weekends and public holidays do not move the deadline (stricter than 1182/71 art. 3(4)):
 *   the earlier date is always lawful.
 * - An extension counts from receipt (receivedAt + 1 + extension months, clamped), not from the
 *   previous deadline, so that 31 January + 1 + 1 is 31 March, not 28 March.
 */

export const DEFAULT_TIME_ZONE = 'Europe/Amsterdam';
/** Art. 12(3): "extended by two further months where necessary". */
export const MAX_EXTENSION_MONTHS = 2;
/** A request due within this many days is `due_soon`. */
export const DUE_SOON_DAYS = 7;

const DAY_MS = 86_400_000;

export interface CalendarDate {
  year: number;
  /** 1..12 */
  month: number;
  /** 1..31 */
  day: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

function localParts(
  ms: number,
  timeZone: string,
): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  const parts: Record<string, number> = {};
  for (const p of formatterFor(timeZone).formatToParts(new Date(ms))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return {
    year: parts.year!,
    month: parts.month!,
    day: parts.day!,
    hour: parts.hour!,
    minute: parts.minute!,
    second: parts.second!,
  };
}

/** The local calendar date of the instant `ms` in `timeZone`. */
export function localDateOf(ms: number, timeZone = DEFAULT_TIME_ZONE): CalendarDate {
  const { year, month, day } = localParts(ms, timeZone);
  return { year, month, day };
}

/** Offset of `timeZone` from UTC at instant `ms`, in milliseconds (local − UTC). */
function offsetAt(ms: number, timeZone: string): number {
  const p = localParts(ms, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/** The instant of local midnight starting `date` in `timeZone` (midnight exists in every zone this service uses). */
export function startOfLocalDay(date: CalendarDate, timeZone = DEFAULT_TIME_ZONE): number {
  const wall = Date.UTC(date.year, date.month - 1, date.day);
  // Two rounds settle the offset unless midnight itself falls in a transition.
  let guess = wall - offsetAt(wall, timeZone);
  guess = wall - offsetAt(guess, timeZone);
  return guess;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** `date` plus `months` calendar months, the day clamped to the target month's last day. */
export function addCalendarMonths(date: CalendarDate, months: number): CalendarDate {
  const index = date.year * 12 + (date.month - 1) + months;
  const year = Math.floor(index / 12);
  const month = (index % 12) + 1;
  return { year, month, day: Math.min(date.day, daysInMonth(year, month)) };
}

/** The calendar date after `date`. */
export function nextDay(date: CalendarDate): CalendarDate {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day + 1));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** The last millisecond of local `date` in `timeZone`. */
export function endOfLocalDay(date: CalendarDate, timeZone = DEFAULT_TIME_ZONE): number {
  return startOfLocalDay(nextDay(date), timeZone) - 1;
}

/**
 * When a request received at `receivedAt` is due, with `extensionMonths` (0..2) of extension:
 * the end of the local day `1 + extensionMonths` calendar months after the local day of receipt.
 */
export function dueAtFor(options: { receivedAt: number; extensionMonths?: number; timeZone?: string }): number {
  const timeZone = options.timeZone ?? DEFAULT_TIME_ZONE;
  const extension = options.extensionMonths ?? 0;
  if (!Number.isInteger(extension) || extension < 0 || extension > MAX_EXTENSION_MONTHS) {
    throw new RangeError(`extensionMonths must be a whole number from 0 to ${MAX_EXTENSION_MONTHS}`);
  }
  const received = localDateOf(options.receivedAt, timeZone);
  return endOfLocalDay(addCalendarMonths(received, 1 + extension), timeZone);
}

export type RequestState = 'open' | 'due_soon' | 'overdue' | 'closed';

/**
 * The state of a request at `now`: `closed` once closed; otherwise `overdue` past `dueAt`,
 * `due_soon` when due within DUE_SOON_DAYS (7 × 24 h), else `open`.
 */
export function requestState(options: { dueAt: number; closedAt: number | null; now: number }): RequestState {
  if (options.closedAt !== null) return 'closed';
  if (options.now > options.dueAt) return 'overdue';
  if (options.dueAt - options.now <= DUE_SOON_DAYS * DAY_MS) return 'due_soon';
  return 'open';
}

/**
 * Whole local calendar days from the local date of `now` to the local date of `dueAt`: 0 on the
 * day it is due, negative once overdue (−1 the day after). What a register page shows as "days left".
 */
export function daysLeft(options: { dueAt: number; now: number; timeZone?: string }): number {
  const timeZone = options.timeZone ?? DEFAULT_TIME_ZONE;
  const a = localDateOf(options.now, timeZone);
  const b = localDateOf(options.dueAt, timeZone);
  return Math.round((Date.UTC(b.year, b.month - 1, b.day) - Date.UTC(a.year, a.month - 1, a.day)) / DAY_MS);
}
