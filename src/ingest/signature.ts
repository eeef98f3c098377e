/**
 * The upload hook's signature, pure: HMAC-SHA256(secret, `<timestamp>.<sha256 hex of
 * the raw body>`), sent as `X-Callrec-Signature: v1=<hex>`, with the unix-seconds
 * timestamp in `X-Callrec-Timestamp`. Verification is constant-time and never
 * says which part was wrong beyond the outcome.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_VERSION = 'v1';
/** How far the signer's timestamp may be from the server clock, either way. */
export const TIMESTAMP_WINDOW_MS = 300_000;

export function computeSignature(secret: string, timestamp: string, bodySha256Hex: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${bodySha256Hex}`).digest('hex');
}

/** The header value a signer sends: `v1=<hex>`. */
export function signatureHeader(secret: string, timestamp: string, bodySha256Hex: string): string {
  return `${SIGNATURE_VERSION}=${computeSignature(secret, timestamp, bodySha256Hex)}`;
}

/**
 * True when `header` holds a `v1=<64 hex>` signature of (timestamp, body digest)
 * under `secret`. Several comma-separated signatures may be sent (secret rotation):
 * any valid one is enough. Compared with timingSafeEqual.
 */
export function verifySignature(options: { secret: string; timestamp: string; bodySha256Hex: string; header: string }): boolean {
  const expected = Buffer.from(computeSignature(options.secret, options.timestamp, options.bodySha256Hex), 'hex');
  let ok = false;
  for (const part of options.header.split(',')) {
    const match = /^\s*v1=([0-9a-fA-F]{64})\s*$/.exec(part);
    if (!match) continue;
    const given = Buffer.from(match[1]!, 'hex');
    if (given.length === expected.length && timingSafeEqual(given, expected)) ok = true;
  }
  return ok;
}

export type TimestampCheck = 'ok' | 'malformed' | 'stale' | 'future';

/** Whether a unix-seconds timestamp header is within the window of `nowMs`. */
export function checkTimestamp(header: string, nowMs: number, windowMs = TIMESTAMP_WINDOW_MS): TimestampCheck {
  if (!/^\d{1,12}$/.test(header)) return 'malformed';
  const ms = Number(header) * 1000;
  if (ms < nowMs - windowMs) return 'stale';
  if (ms > nowMs + windowMs) return 'future';
  return 'ok';
}

/** Looks a source's secret up without leaking timing about which ids exist beyond the map lookup. */
export function secretOf(sources: Readonly<Record<string, string>>, source: string): string | undefined {
  return Object.prototype.hasOwnProperty.call(sources, source) ? sources[source] : undefined;
}
