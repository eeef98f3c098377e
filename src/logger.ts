/**
 * Structured JSON logging (pino). Secrets, tokens, cookies, passwords, phone
 * numbers and signed URLs are redacted by key wherever they appear up to two
 * levels deep; code must still never put them into a message string.
 */
import type { DestinationStream, Logger } from 'pino';
import { pino } from 'pino';

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
];

export const REDACT_PATHS = [
  ...SENSITIVE_KEYS.map((k) => `["${k}"]`),
  ...SENSITIVE_KEYS.map((k) => `*["${k}"]`),
  ...SENSITIVE_KEYS.map((k) => `*.*["${k}"]`),
  'req.headers.authorization',
  'req.headers.cookie',
  'req.query.phone',
];

/** Creates the process logger; `destination` lets tests capture the JSON lines. */
export function createLogger(options: { level: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'callrec' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  );
}
