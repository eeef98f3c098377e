/**
 * The verifier's page reads. PostgreSQL: `readLogPage` (raw keyset select). SQLite: the
 * same rows (same `seq > ? order by seq limit ?`), but each row packed by SQLite into ONE
 * text column, because the sqlite3 driver's per-row, per-column conversion to JavaScript
 * objects costs more than the whole rest of verification; the packed text is split here.
 *
 * Exactness contract: a packed page yields exactly the `DeletionLogRow`s (the same JS
 * values `readLogPage` returns, as far as `hashRow` and the checks can tell) or nothing:
 * - every text field is length-prefixed (`<length>:<text>`, reference `-` when NULL) and
 *   every integer field ends with `,`; the encoding is injective;
 * - a row is packed only when each column has its expected storage class (text, integer,
 *   reference text or NULL); otherwise its packed value is NULL;
 * - SQLite's `length()` counts characters up to the first NUL, JavaScript counts UTF-16
 *   units: the two agree for valid UTF-8 without NUL and without astral characters, so a
 *   packed row holding NUL, a surrogate (astral character) or U+FFFD (what invalid UTF-8
 *   decodes to; also a genuine U+FFFD, which merely takes the slow path) is not split;
 * - the split must consume the text exactly.
 * When any row of a page fails any of these, the whole page is read again with
 * `readLogPage`, so an odd (e.g. tampered) row is judged exactly as before.
 */
import type { Db } from '../db/db.js';
import { readLogPage } from '../db/deletion-log.js';
import type { DeletionLogRow, DeletionReason } from '../db/deletion-log.js';

const TEXT = (column: string) => `length(${column}) || ':' || ${column}`;
const PACKED =
  `case when typeof(seq) = 'integer' and typeof(recording_id) = 'text' and typeof(source) = 'text' and ` +
  `typeof(call_id) = 'text'` +
  ` and typeof(reason) = 'text' and typeof(actor) = 'text' and typeof(reference) in ('text', 'null')` +
  ` and typeof(started_at) = 'integer' and typeof(expires_at) = 'integer' and typeof(deleted_at) = 'integer'` +
  ` and typeof(objects) = 'text' and typeof(verified) = 'integer' and typeof(prev_hash) = 'text' and typeof(hash) = ` +
  `'text' then ` +
  [
    `seq || ','`,
    `started_at || ','`,
    `expires_at || ','`,
    `deleted_at || ','`,
    `verified || ','`,
    TEXT('recording_id'),
    TEXT('source'),
    TEXT('call_id'),
    TEXT('reason'),
    TEXT('actor'),
    `case when reference is null then '-' else ${TEXT('reference')} end`,
    TEXT('objects'),
    TEXT('prev_hash'),
    TEXT('hash'),
    // Crypto-shredding (later entries): `-` when absent, else `<0|1>,<length>:<kek id>`; a mixed pair packs as NULL.
    `case when key_shredded is null and kek_id is null then '-' when typeof(key_shredded) = 'integer' and ` +
      `typeof(kek_id) = 'text' then key_shredded || ',' || ${TEXT('kek_id')} end`,
    // A redaction's span (later entries): `-` when absent, else `<length>:<span JSON>`; any other type packs as NULL.
    `case when span is null then '-' when typeof(span) = 'text' then ${TEXT('span')} end`,
  ].join(' || ') +
  ' end';
const PACKED_PAGE_SQL = `select ${PACKED} as p from deletion_log where seq > ? order by seq asc limit ?`;
/** NUL, UTF-16 surrogates (astral characters) and U+FFFD (what invalid UTF-8 decodes to). */
const NOT_ONE_UNIT_PER_CHARACTER = /[\0\ud800-\udfff\ufffd]/;

/**
 * Reads the decimal digits of `packed` from `from` up to the first `stop` character:
 * [value, index after the stop], or [NaN, -1] when there is no such well-formed number.
 * Plain loops, no closures: this runs 14 times per entry, millions of times.
 */
function readNumber(packed: string, from: number, stop: number, signed: boolean): [number, number] {
  let i = from;
  let negative = false;
  if (signed && packed.charCodeAt(i) === 45 /* - */) {
    negative = true;
    i += 1;
  }
  const digitsFrom = i;
  let value = 0;
  for (; i < packed.length; i++) {
    const c = packed.charCodeAt(i);
    if (c === stop) break;
    if (c < 48 || c > 57) return [Number.NaN, -1];
    value = value * 10 + (c - 48);
  }
  if (i === digitsFrom || i >= packed.length) return [Number.NaN, -1];
  // Beyond 2^53 the running sum may round differently from the driver: parse the text.
  if (value > Number.MAX_SAFE_INTEGER) value = Number(packed.slice(digitsFrom, i));
  return [negative ? -value : value, i + 1];
}

const COMMA = 44;
const COLON = 58;

/** Splits one packed row; undefined when it is not exactly one well-formed row. */
export function unpackLogRow(packed: string): DeletionLogRow | undefined {
  const ints: number[] = [];
  let at = 0;
  for (let k = 0; k < 5; k++) {
    const [value, next] = readNumber(packed, at, COMMA, true);
    if (next < 0) return undefined;
    ints.push(value);
    at = next;
  }
  const texts: Array<string | null> = [];
  for (let k = 0; k < 9; k++) {
    if (k === 5 && packed.charCodeAt(at) === 45 /* '-': reference is NULL */) {
      texts.push(null);
      at += 1;
      continue;
    }
    const [length, start] = readNumber(packed, at, COLON, false);
    if (start < 0 || start + length > packed.length) return undefined;
    at = start + length;
    texts.push(packed.slice(start, at));
  }
  // As `readLogPage` returns them: both null when the entry records no shredding.
  let shredded: { key_shredded: boolean | null; kek_id: string | null } = { key_shredded: null, kek_id: null };
  if (packed.charCodeAt(at) === 45 /* '-': no key shredded */) at += 1;
  else {
    const [flag, start] = readNumber(packed, at, COMMA, false);
    if (start < 0) return undefined;
    const [length, textStart] = readNumber(packed, start, COLON, false);
    if (textStart < 0 || textStart + length > packed.length) return undefined;
    at = textStart + length;
    shredded = { key_shredded: flag !== 0, kek_id: packed.slice(textStart, at) };
  }
  let span: string | null = null;
  if (packed.charCodeAt(at) === 45 /* '-': no span */) at += 1;
  else {
    const [length, start] = readNumber(packed, at, COLON, false);
    if (start < 0 || start + length > packed.length) return undefined;
    at = start + length;
    span = packed.slice(start, at);
  }
  if (at !== packed.length) return undefined;
  return {
    ...shredded,
    span,
    seq: ints[0]!,
    started_at: ints[1]!,
    expires_at: ints[2]!,
    deleted_at: ints[3]!,
    // `hashRow` uses the truthiness of the driver's integer.
    verified: ints[4] !== 0,
    recording_id: texts[0]!,
    source: texts[1]!,
    call_id: texts[2]!,
    reason: texts[3]! as DeletionReason,
    actor: texts[4]!,
    reference: texts[5]!,
    objects: texts[6]!,
    prev_hash: texts[7]!,
    hash: texts[8]!,
  };
}

/**
 * SQLite only: the page's rows as packed and split, in seq order; `undefined` for each row
 * that cannot be taken from its packed form (see the module comment).
 */
export async function readPackedPage(
  db: Db,
  afterSeq: number,
  limit: number,
): Promise<Array<DeletionLogRow | undefined>> {
  const packed = (await db.knex.raw(PACKED_PAGE_SQL, [afterSeq, limit])) as Array<{ p: string | null }>;
  return packed.map(({ p }) =>
    typeof p === 'string' && !NOT_ONE_UNIT_PER_CHARACTER.test(p) ? unpackLogRow(p) : undefined,
  );
}

/** Rows with seq > afterSeq in seq order, at most `limit` (see the module comment). */
export async function readVerifyPage(db: Db, afterSeq: number, limit: number): Promise<DeletionLogRow[]> {
  if (db.client !== 'sqlite') return readLogPage(db.knex, afterSeq, limit);
  const rows = await readPackedPage(db, afterSeq, limit);
  return rows.every((row) => row !== undefined) ? (rows as DeletionLogRow[]) : readLogPage(db.knex, afterSeq, limit);
}
