/**
 * The wire form of call metadata shared by the adapters (the text fields of `POST
 * /v1/recordings`, the spool folder's JSON): validated by one zod schema (exported for the
 * OpenAPI document) and turned into typed `CallMetadata` (./call-metadata.ts), which is all
 * the pipeline sees. Phone numbers are normalized to E.164 with the configured default region.
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import type { CountryCode } from 'libphonenumber-js';
import { z } from 'zod';
import type { FieldProblem } from '../errors.js';
import { AGENT_CHANNELS } from './call-metadata.js';
import type { CallMetadata, NumberKind, PauseSpan } from './call-metadata.js';
import { ISO_DATE_TIME_WITH_ZONE } from '../http/request-schemas.js';
import { RAW_FORMAT_NAMES } from '../audio/index.js';
import type { RawFormatName } from '../audio/index.js';

/** The most pause spans one upload may send. */
export const MAX_PAUSES = 1000;

/** Clock skew tolerated for `startedAt` in the future. */
export const STARTED_AT_SKEW_MS = 5 * 60_000;

export const CALL_ID_PATTERN = /^[A-Za-z0-9._:@-]{1,128}$/;
const LABEL = /^[\p{L}\p{N} ._:@/+-]{1,128}$/u;
/** Calendar-checked (no 2026-02-30, no 24:00), so that every match is an instant and the document is exact. */
const ISO_8601 = ISO_DATE_TIME_WITH_ZONE;
const ISO_8601_PARTS =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:Z|([+-])(\d{2}):?(\d{2}))$/;
const PHONE_CHARACTERS = /^[0-9+()\-./\s]{3,40}$/;
/** What PBXes send for a withheld number (compared lower-cased; an empty value counts too). */
export const WITHHELD_NUMBERS = [
  'anonymous',
  'unknown',
  'restricted',
  'private',
  'withheld',
  'unavailable',
  'blocked',
] as const;
/** Twilio's stand-ins for a withheld caller (ANONYMOUS, RESTRICTED, UNAVAILABLE, BLOCKED on a keypad). */
const WITHHELD_STAND_INS = new Set(['+266696687', '+7378742833', '+86282452253', '+2562533']);
/** An internal extension (1 to 6 digits, `*` or `#`), or Asterisk's start extension `s`. */
const INTERNAL_NUMBER = /^(?:[0-9*#]{1,6}|s)$/;
/** The document's pattern of a number field: a number's characters, an extension, or a withheld word (or empty). */
const WITHHELD_ALTERNATIVES = WITHHELD_NUMBERS.map(
  (w) => `${w}|${w[0]!.toUpperCase()}${w.slice(1)}|${w.toUpperCase()}`,
).join('|');
const NUMBER_FIELD_PATTERN = `^(?:[0-9+()\\-./\\s]{3,40}|[0-9*#]{1,6}|s|${WITHHELD_ALTERNATIVES})?$`;

export const METADATA_FIELDS = [
  'callId',
  'startedAt',
  'endedAt',
  'agentId',
  'queue',
  'direction',
  'callerNumber',
  'calleeNumber',
  'agentChannel',
  'callGroupId',
  'caseReference',
  'audioFormat',
  'pauses',
] as const;
/** The number fields, where an empty value means withheld (not absent). */
const NUMBER_FIELDS = ['callerNumber', 'calleeNumber'] as const;

/** The wire shape of the text fields (strings, before normalization): the OpenAPI request schema. */
export const ingestFieldsSchema = z.object({
  callId: z.string().regex(CALL_ID_PATTERN, 'expects 1-128 characters of A-Z a-z 0-9 . _ : @ -'),
  startedAt: z.string().regex(ISO_8601, 'expects an ISO 8601 date-time with a time zone, e.g. 2026-11-27T09:30:00Z'),
  endedAt: z
    .string()
    .regex(ISO_8601, 'expects an ISO 8601 date-time with a time zone, e.g. 2026-11-27T09:34:10Z')
    .optional(),
  agentId: z.string().regex(LABEL, 'expects 1-128 letters, digits, spaces or . _ : @ / + -').optional(),
  queue: z.string().regex(LABEL, 'expects 1-128 letters, digits, spaces or . _ : @ / + -').optional(),
  direction: z.enum(['inbound', 'outbound'], { message: 'expects inbound or outbound' }).optional(),
  // Checked by classifyNumber below; the document shows the characters and names the region rule (format `phone`).
  callerNumber: z.string().meta({ format: 'phone', pattern: NUMBER_FIELD_PATTERN }).optional(),
  calleeNumber: z.string().meta({ format: 'phone', pattern: NUMBER_FIELD_PATTERN }).optional(),
  agentChannel: z.enum(AGENT_CHANNELS, { message: 'expects left or right' }).optional(),
  callGroupId: z.string().regex(CALL_ID_PATTERN, 'expects 1-128 characters of A-Z a-z 0-9 . _ : @ -').optional(),
  caseReference: z.string().regex(LABEL, 'expects 1-128 letters, digits, spaces or . _ : @ / + -').optional(),
  /** Headerless audio only (`.ulaw`, `.sln16`, raw `.gsm`, …): its codec and rate by Asterisk's format name. */
  audioFormat: z
    .enum(RAW_FORMAT_NAMES, { message: `expects a headerless format: ${RAW_FORMAT_NAMES.join(', ')}` })
    .optional(),
  // Checked by parsePauses below.
  pauses: z
    .string()
    .meta({
      description:
        `JSON array of spans to silence before the recording is stored (card data read out): ` +
        `[{"startMs":0,"endMs":1500}], whole ms from the audio's start, end after start, at most ${MAX_PAUSES}; ` +
        `overlapping spans are joined, a span running past the audio's end is cut there, one starting after it is ` +
        `refused`,
    })
    .optional(),
});

export type IngestFields = z.infer<typeof ingestFieldsSchema>;

/**
 * The `pauses` field (JSON text) as spans sorted by start, or the problems (each naming
 * `pauses` or `pauses[i].startMs|endMs`): not JSON, not an array, more than MAX_PAUSES, a span
 * that is not an object of exactly startMs and endMs, a time that is not a whole ms in
 * [0, maxMs], an end not after its start. Overlapping spans are accepted (they are joined). Pure.
 */
export function parsePauses(
  text: string,
  maxMs: number,
): { ok: true; value: PauseSpan[] } | { ok: false; problems: FieldProblem[] } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, problems: [{ field: 'pauses', message: 'is not JSON' }] };
  }
  if (!Array.isArray(value))
    return { ok: false, problems: [{ field: 'pauses', message: 'expects a JSON array of {startMs, endMs}' }] };
  if (value.length > MAX_PAUSES)
    return { ok: false, problems: [{ field: 'pauses', message: `holds more than ${MAX_PAUSES} spans` }] };
  const problems: FieldProblem[] = [];
  const spans: PauseSpan[] = [];
  value.forEach((item: unknown, index) => {
    const at = `pauses[${index}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      problems.push({ field: at, message: 'expects an object {startMs, endMs}' });
      return;
    }
    const extra = Object.keys(item).filter((k) => k !== 'startMs' && k !== 'endMs');
    if (extra.length > 0) problems.push({ field: at, message: 'expects only startMs and endMs' });
    const { startMs, endMs } = item as { startMs?: unknown; endMs?: unknown };
    const time = (name: 'startMs' | 'endMs', v: unknown): v is number => {
      const ok = typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= maxMs;
      if (!ok) problems.push({ field: `${at}.${name}`, message: `expects whole ms from 0 to ${maxMs}` });
      return ok;
    };
    const startOk = time('startMs', startMs);
    const endOk = time('endMs', endMs);
    if (startOk && endOk) {
      if (endMs <= startMs) problems.push({ field: `${at}.endMs`, message: 'is not after startMs' });
      else spans.push({ startMs, endMs, index });
    }
  });
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: spans.sort((a, b) => a.startMs - b.startMs) };
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * Epoch ms of an ISO 8601 date-time with a time zone (`2026-11-27T09:30:00Z`, `…+01:00`,
 * `…+0100`, seconds and a fraction optional; digits past milliseconds are truncated), or
 * undefined when it is malformed or names no real instant of the (proleptic Gregorian)
 * calendar: 30 February, 31 April, 29 February outside leap years, hour 24, minute or
 * second 60 (no leap seconds), an offset beyond ±23:59. Never shifts an impossible date
 * into the next month, as `Date.parse` does.
 */
export function parseIsoDateTime(text: string): number | undefined {
  const m = ISO_8601_PARTS.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const millis = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  const offsetHours = m[9] === undefined ? 0 : Number(m[9]);
  const offsetMinutes = m[10] === undefined ? 0 : Number(m[10]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) return undefined;
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0-99 to 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, millis);
  const offsetMs = (offsetHours * 60 + offsetMinutes) * 60_000 * (m[8] === '-' ? -1 : 1);
  return date.getTime() - offsetMs;
}

function normalizePhone(value: string, region: string): string | undefined {
  if (!PHONE_CHARACTERS.test(value)) return undefined;
  const parsed = parsePhoneNumberFromString(value, region as CountryCode);
  return parsed?.isValid() ? parsed.number : undefined;
}

/**
 * The kind of a number field's (trimmed) value and its E.164 form when it is a number:
 * empty or a withheld word (any case) or one of Twilio's stand-ins → withheld; an extension →
 * internal; a valid number → e164; anything else → undefined (400).
 */
export function classifyNumber(value: string, region: string): { kind: NumberKind; e164: string | null } | undefined {
  if (
    value === '' ||
    (WITHHELD_NUMBERS as readonly string[]).includes(value.toLowerCase()) ||
    WITHHELD_STAND_INS.has(value)
  )
    return { kind: 'withheld', e164: null };
  if (INTERNAL_NUMBER.test(value)) return { kind: 'internal', e164: null };
  const e164 = normalizePhone(value, region);
  if (!e164) return undefined;
  return WITHHELD_STAND_INS.has(e164) ? { kind: 'withheld', e164: null } : { kind: 'e164', e164 };
}

/**
 * Validates and normalizes the fields. Returns every field at fault (never the
 * offending values: they may be phone numbers); a field this version does not know is at
 * fault too, and its message lists the accepted ones (nothing is dropped silently). Empty
 * strings count as absent for optional fields, except the number fields, where an empty
 * value is a withheld number.
 */
export function parseIngestMetadata(
  raw: Record<string, string>,
  context: { nowMs: number; region: string; maxDurationMs?: number },
): { ok: true; value: CallMetadata; audioFormat: RawFormatName | undefined } | { ok: false; problems: FieldProblem[] } {
  const input: Record<string, string> = {};
  for (const name of METADATA_FIELDS) {
    const value = raw[name]?.trim();
    if (value !== undefined && value !== '') input[name] = value;
  }
  const problems: FieldProblem[] = [];
  for (const name of Object.keys(raw)) {
    if (!(METADATA_FIELDS as readonly string[]).includes(name)) {
      problems.push({
        field: name.slice(0, 64),
        message: `is not an accepted field (accepted: ${METADATA_FIELDS.join(', ')})`,
      });
    }
  }
  const parsed = ingestFieldsSchema.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = String(issue.path[0] ?? 'metadata');
      problems.push({
        field,
        message: issue.code === 'invalid_type' && input[field] === undefined ? 'is required' : issue.message,
      });
    }
  }
  let startedAt = Number.NaN;
  let endedAt: number | null = null;
  if (parsed.success) {
    startedAt = parseIsoDateTime(parsed.data.startedAt) ?? Number.NaN;
    if (!Number.isFinite(startedAt))
      problems.push({ field: 'startedAt', message: 'is not a date-time of the calendar (e.g. 30 February or 24:00)' });
    else if (startedAt > context.nowMs + STARTED_AT_SKEW_MS)
      problems.push({ field: 'startedAt', message: 'lies in the future' });
    if (parsed.data.endedAt !== undefined) {
      endedAt = parseIsoDateTime(parsed.data.endedAt) ?? Number.NaN;
      if (!Number.isFinite(endedAt))
        problems.push({ field: 'endedAt', message: 'is not a date-time of the calendar (e.g. 30 February or 24:00)' });
      else if (endedAt > context.nowMs + STARTED_AT_SKEW_MS)
        problems.push({ field: 'endedAt', message: 'lies in the future' });
      else if (endedAt < startedAt) problems.push({ field: 'endedAt', message: 'lies before startedAt' });
    }
  }
  const phones = { callerNumber: null as string | null, calleeNumber: null as string | null };
  const kinds = { callerNumberKind: null as NumberKind | null, calleeNumberKind: null as NumberKind | null };
  for (const field of NUMBER_FIELDS) {
    const value = raw[field]?.trim();
    if (value === undefined) continue;
    const number = classifyNumber(value, context.region);
    if (!number) {
      problems.push({
        field,
        message:
          'expects a valid phone number (E.164, or national in the default region), an extension, or a withheld ' +
          'value (anonymous, unknown, restricted, empty)',
      });
      continue;
    }
    phones[field] = number.e164;
    kinds[`${field}Kind`] = number.kind;
  }
  let pauses: PauseSpan[] = [];
  if (parsed.success && parsed.data.pauses !== undefined) {
    const result = parsePauses(parsed.data.pauses, context.maxDurationMs ?? Number.MAX_SAFE_INTEGER);
    if (result.ok) pauses = result.value;
    else problems.push(...result.problems);
  }
  if (problems.length > 0 || !parsed.success) return { ok: false, problems };
  const d = parsed.data;
  return {
    ok: true,
    value: {
      callId: d.callId,
      startedAt,
      agentId: d.agentId ?? null,
      queue: d.queue ?? null,
      direction: d.direction ?? null,
      endedAt,
      ...phones,
      ...kinds,
      agentChannel: d.agentChannel ?? null,
      callGroupId: d.callGroupId ?? null,
      caseReference: d.caseReference ?? null,
      pauses,
    },
    audioFormat: d.audioFormat,
  };
}
