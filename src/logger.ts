/**
 * Structured JSON logging (pino).
 *
 * Contract: nothing a log line carries may reveal a secret, token, cookie,
 * password, phone number or signed URL.
 * - Sensitive keys (authorization, cookie, password, token, secret, signature,
 *   phone, callerNumber, calleeNumber, signedUrl, url, …) are replaced by
 *   `[redacted]` at ANY depth of a logged object (case-insensitive), and also
 *   in child-logger bindings through pino's path redaction (three levels).
 * - Every string that is logged (the message and string values, error
 *   messages and stacks included) is scrubbed: phone-number-like digit runs
 *   become `[phone]`, the query string of any URL becomes `?[redacted]`
 *   (signed URLs carry their signature there), and `Bearer <token>` loses its
 *   token.
 * - A database error (SQLite, PostgreSQL, a knex pool timeout), at any depth
 *   (also as the `cause` of an AppError), is logged as its `dbErrorSummary`:
 *   the error code, table, constraint and operation, and the stack frames;
 *   never the statement, a bound value, or PostgreSQL's `detail`/`where`.
 *   Keys named `sql` and `bindings` are redacted wherever they appear.
 * Code must still never put such values into a log on purpose; this is the
 * safety net, not the policy.
 */
import type { DestinationStream, Logger } from 'pino';
import { pino } from 'pino';
import { dbErrorSummary } from './db/db-errors.js';
import type { DbErrorSummary } from './db/db-errors.js';

export type { Logger } from 'pino';

const SENSITIVE_KEYS = [
  'authorization',
  'cookie',
  'set-cookie',
  'password',
  'token',
  'secret',
  'signature',
  'x-callrec-signature',
  'phone',
  'callerNumber',
  'calleeNumber',
  'caller_number',
  'callee_number',
  'signedUrl',
  'url',
  'sql',
  'bindings',
];

const SENSITIVE = new Set(SENSITIVE_KEYS.map((k) => k.toLowerCase()));
/** Keys redacted whatever their case or decoration (e.g. `apiToken`, `sessionSecret`, `x-amz-signature`). */
const SENSITIVE_PARTS = new RegExp(
  '(' +
    /authorization|cookie|password|passwd|token|secret|signature|phone|/.source +
    /callernumber|calleenumber|caller_number|callee_number|signedurl|credential/.source +
    ')',
  'i',
);

export const REDACT_PATHS = [
  ...SENSITIVE_KEYS.map((k) => `["${k}"]`),
  ...SENSITIVE_KEYS.map((k) => `*["${k}"]`),
  ...SENSITIVE_KEYS.map((k) => `*.*["${k}"]`),
  'req.headers.authorization',
  'req.headers.cookie',
  'req.query.phone',
];

const CENSOR = '[redacted]';
const MAX_DEPTH = 8;

/**
 * Phone-number-like text: `+` and 6–15 digits (optionally spaced/dashed), `%2B` encoded, or a bare run of 9–15 digits.
 */
const PHONE_PATTERNS: RegExp[] = [
  /(?:\+|%2[Bb])\d(?:[ ().-]?\d){5,16}/g,
  /(?<![A-Za-z0-9_.-])\d{9,15}(?![A-Za-z0-9_])/g,
];
const URL_QUERY = /\b(https?:\/\/[^\s?#"'<>]+)\?[^\s#"'<>]*/gi;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;

function isSensitiveKey(key: string): boolean {
  return SENSITIVE.has(key.toLowerCase()) || SENSITIVE_PARTS.test(key);
}

/** Removes phone numbers, URL query strings and bearer tokens from free text. */
export function scrubText(text: string): string {
  let out = text.replace(URL_QUERY, '$1?[redacted]').replace(BEARER, '$1 [redacted]');
  for (const pattern of PHONE_PATTERNS) out = out.replace(pattern, '[phone]');
  return out;
}

/** A database error reduced to its summary: the same class, code/table/constraint/operation, stack frames only. */
function summarizedDbError(error: Error, summary: DbErrorSummary, depth: number, seen: WeakSet<object>): Error {
  const out = Object.create(Object.getPrototypeOf(error) as object) as Record<string, unknown>;
  const hidden = (key: string, inner: unknown) =>
    Object.defineProperty(out, key, { value: inner, enumerable: false, writable: true, configurable: true });
  const frames = (error.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
  hidden('message', summary.message);
  hidden('stack', [`${error.name}: ${summary.message}`, ...frames].map(scrubText).join('\n'));
  if (error.cause !== undefined) hidden('cause', scrubValue(error.cause, depth + 1, seen));
  const { message: _message, ...members } = summary;
  Object.assign(out, members);
  return out as unknown as Error;
}

/**
 * A deep copy of `value` with sensitive keys censored and strings scrubbed.
 * Errors are copied as errors of the same class with scrubbed message, stack and
 * cause; the caller's objects are never mutated.
 */
export function scrubValue(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[truncated]';
  seen.add(value);
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  if (Array.isArray(value)) return value.map((item) => scrubValue(item, depth + 1, seen));
  if (value instanceof Date) return value;
  const db = value instanceof Error ? dbErrorSummary(value) : undefined;
  if (db) return summarizedDbError(value as Error, db, depth, seen);
  // An Error stays an Error of its own class (so pino's serializer names its type), with scrubbed texts. A
  // DOMException (an AbortError) cannot: its getters refuse any object but a real one, so it becomes an Error
  // that keeps its name.
  const domException = value instanceof DOMException;
  const prototype = domException ? Error.prototype : (Object.getPrototypeOf(value) as object);
  const out = (value instanceof Error ? Object.create(prototype) : {}) as Record<string, unknown>;
  if (value instanceof Error) {
    const hidden = (key: string, inner: unknown) =>
      Object.defineProperty(out, key, { value: inner, enumerable: false, writable: true, configurable: true });
    if (domException) hidden('name', value.name);
    hidden('message', scrubText(value.message));
    if (value.stack) hidden('stack', scrubText(value.stack));
    if (value.cause !== undefined) hidden('cause', scrubValue(value.cause, depth + 1, seen));
  }
  for (const [key, inner] of Object.entries(value)) {
    out[key] = isSensitiveKey(key) ? CENSOR : scrubValue(inner, depth + 1, seen);
  }
  return out;
}

/** Creates the process logger; `destination` lets tests capture the JSON lines. */
export function createLogger(options: { level: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'callrec' },
      redact: { paths: REDACT_PATHS, censor: CENSOR },
      timestamp: pino.stdTimeFunctions.isoTime,
      hooks: {
        logMethod(args, method) {
          const scrubbed = (args as unknown[]).map((arg, i) =>
            i === 0 && arg instanceof Error ? { err: scrubValue(arg) } : scrubValue(arg),
          );
          return method.apply(this, scrubbed as Parameters<typeof method>);
        },
      },
    },
    options.destination,
  );
}
