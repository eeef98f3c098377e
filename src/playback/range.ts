/**
 * RFC 9110 §14 `Range` header parsing for a single byte range.
 *
 * Contract: returns a `RangeRequest` (the ObjectStore's parsed range) for one
 * well-formed byte range, `undefined` when there is no header, and `'ignore'`
 * when the header is malformed, names another unit, or asks for several ranges:
 * the server then answers with the whole representation (200), as RFC 9110
 * allows. Satisfiability (start past the end, `-0`) is NOT decided here: the
 * store's `resolveRange` decides it against the object's size (→ 416).
 */
import type { RangeRequest } from '../storage/object-store.js';

const SINGLE = /^bytes[ \t]*=[ \t]*(\d*)[ \t]*-[ \t]*(\d*)[ \t]*$/i;
/** Longest digit string accepted: beyond this, numbers lose precision (2^53). */
const MAX_DIGITS = 15;

export function parseRangeHeader(header: string | undefined): RangeRequest | 'ignore' | undefined {
  if (header === undefined) return undefined;
  const match = SINGLE.exec(header.trim());
  if (!match) return 'ignore';
  const [, first, last] = match as unknown as [string, string, string];
  if (first.length > MAX_DIGITS || last.length > MAX_DIGITS) return 'ignore';
  if (first === '' && last === '') return 'ignore';
  if (first === '') return { suffix: Number(last) };
  const start = Number(first);
  if (last === '') return { start };
  const end = Number(last);
  // `10-5` is syntactically invalid per RFC 9110 (last-pos < first-pos): ignore the header.
  if (end < start) return 'ignore';
  return { start, end };
}

/**
 * Whether an `If-Range` validator still matches the current representation.
 * Only strong entity tags are compared (we send strong ETags); dates are not
 * trusted (no Last-Modified is sent), so a date never matches.
 */
export function ifRangeMatches(ifRange: string | undefined, etag: string): boolean {
  if (ifRange === undefined) return true;
  const value = ifRange.trim();
  if (value.startsWith('W/')) return false;
  return value === etag;
}
