/**
 * Building blocks of request validation whose OpenAPI form is exact: each
 * returns the zod schema a handler parses with, and the JSON Schema that
 * `openapi.ts` derives from it accepts exactly the values the handler accepts
 * (`test/unit/request-schemas.test.ts` checks both on the edge cases). The
 * document can then be fuzzed both ways: schema-valid input is accepted,
 * schema-invalid input refused.
 *
 * - `wholeNumber`: a query value of decimal digits, documented by its value
 *   (`type: integer` with `minimum`/`maximum`), as OpenAPI deserializes it.
 * - `isoInstant`: an RFC 3339 full-date (UTC midnight) or date-time with `Z` or
 *   an offset, calendar-checked (no 2026-02-30), documented as `anyOf` of the
 *   `date` and `date-time` formats with the very patterns it is checked with.
 * - `trimmedText`: free text that is trimmed (as `String.prototype.trim` does)
 *   before its length (in characters, i.e. code points, as JSON Schema counts)
 *   and its control characters are checked; documented with a pattern spelling
 *   out that rule.
 * - `filterText`: a free-form filter value without control characters.
 * No control character but tab and line breaks reaches the database: PostgreSQL
 * refuses NUL in text (a 500 otherwise).
 */
import { z } from 'zod';

/** Schemas documented by their parsed value (io `output`) instead of their wire form; read by `jsonSchemaOf`. */
export const documentedByValue = z.registry<Record<string, never>>();

/**
 * A whole number in canonical decimal form (no sign, exponent or leading zero; at most 15 digits) within [min, max].
 */
export function wholeNumber(min: number, max: number, message = `expects a whole number from ${min} to ${max}`) {
  const schema = z
    .string({ error: message })
    .regex(/^(?:0|[1-9][0-9]{0,14})$/, message)
    .transform(Number)
    .pipe(z.number().int().min(min, message).max(max, message));
  documentedByValue.add(schema, {});
  return schema;
}

/** An RFC 3339 date or date-time with offset, as epoch milliseconds (a date is UTC midnight). */
export const isoInstant = z
  .union([z.iso.date(), z.iso.datetime({ offset: true })], {
    error: 'expects an ISO 8601 date (2026-11-27) or date-time with Z or an offset (2026-11-27T09:30:00Z)',
  })
  .transform((s) => Date.parse(s))
  .describe(
    'An RFC 3339 date (UTC midnight), e.g. 2026-11-27, or date-time with Z or an offset, e.g. ' +
      '2026-11-27T09:30:00+01:00',
  );

/** zod's calendar date `YYYY-MM-DD` (month lengths and leap years checked), unanchored. */
const CALENDAR_DATE = z.core.regexes.date.source.replace(/^\^/, '').replace(/\$$/, '');

/**
 * A date-time with a zone as telephony platforms send it: a calendar date, `T`, hours and minutes,
 * optional seconds with up to 9 fraction digits, then `Z` or an offset (colon optional). Every match
 * is a real instant (`Date.parse` is finite), so a document showing this pattern is exact.
 */
export const ISO_DATE_TIME_WITH_ZONE = new RegExp(
  `^${CALENDAR_DATE}T(?:[01]\\d|2[0-3]):[0-5]\\d(?::[0-5]\\d(?:\\.\\d{1,9})?)?(?:Z|[+-](?:[01]\\d|2[0-3]):?[0-5]\\d)$`,
);

/** Text without control characters (category Cc): what a filter value may hold (PostgreSQL refuses NUL in text). */
// eslint-disable-next-line no-control-regex -- the point of the pattern; it is also the document's
export const NO_CONTROL_CHARACTERS = /^[^\u0000-\u001f\u007f-\u009f]*$/;

/** A free-form filter value (an agent, a queue): 1 to `max` characters, no control character. */
export function filterText(max: number) {
  return z.string().min(1).max(max).regex(NO_CONTROL_CHARACTERS, 'must not contain control characters');
}

/** What `String.prototype.trim` removes (ECMAScript WhiteSpace and LineTerminator), as a class body. */
export const TRIMMED_WHITESPACE =
  '\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';
/** Unicode control characters (category Cc), as a class body. */
const CONTROL = '\\u0000-\\u001f\\u007f-\\u009f';
/** The control characters but tab, line feed and carriage return, as a class body. */
const CONTROL_BUT_LINE_BREAKS = '\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f';

/**
 * Which control characters free text may hold inside (surrounding ones are trimmed away if they are
 * whitespace): `refused` none (text for the logs), `line-breaks` tab, LF and CR only (a note).
 */
export type TextControls = 'refused' | 'line-breaks';
const REFUSED_CONTROLS: Record<TextControls, string> = { refused: CONTROL, 'line-breaks': CONTROL_BUT_LINE_BREAKS };

/**
 * The pattern of text that, after trimming, holds 1 to `max` characters (code points) and none of
 * the control characters `controls` refuses.
 */
export function trimmedTextPattern(max: number, controls: TextControls): string {
  const refused = REFUSED_CONTROLS[controls];
  const ws = `[${TRIMMED_WHITESPACE}]`;
  const edge = `[^${TRIMMED_WHITESPACE}${refused}]`;
  const inner = `[^${refused}]`;
  const core = max === 1 ? edge : `${edge}(?:${inner}{0,${max - 2}}${edge})?`;
  return `^${ws}*${core}${ws}*$`;
}

/**
 * Free text: trimmed, then 1 to `max` characters (code points), with none of the control characters
 * `controls` refuses. Parses to the trimmed text; one message per broken rule.
 */
export function trimmedText(
  max: number,
  options: { controls: TextControls; messages?: { empty?: string; long?: string } },
) {
  const empty = options.messages?.empty ?? 'is required';
  const long = options.messages?.long ?? `at most ${max} characters`;
  const refused = new RegExp(`[${REFUSED_CONTROLS[options.controls]}]`);
  const controls =
    options.controls === 'refused'
      ? 'must not contain control characters'
      : 'must not contain control characters other than tabs and line breaks';
  return z
    .string()
    .transform((s) => s.trim())
    .pipe(
      z
        .string()
        .min(1, empty)
        .refine((s) => [...s].length <= max, long)
        .refine((s) => !refused.test(s), controls),
    )
    .meta({ pattern: trimmedTextPattern(max, options.controls) });
}
