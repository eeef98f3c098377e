/**
 * The upload hook's signatures, pure. Two versions, told apart by the prefix in
 * `X-Callrec-Signature`; the unix-seconds timestamp is in `X-Callrec-Timestamp`.
 *
 * - `v1=<hex>`: HMAC-SHA256(secret, `<timestamp>.<sha256 hex of the raw body>`). It can
 *   only be checked once the whole body has arrived.
 * - `v2=<hex>`: HMAC-SHA256(secret, `v2.<timestamp>.<source>.<content-length>.<sha256 hex
 *   of the raw body>`), with that digest also sent as `Content-Digest: sha-256=:<base64>:`
 *   (RFC 9530). Everything it signs is in the headers, so it is checked before the body is
 *   read; the body is then held to the digest (and to Content-Length) as it streams.
 *   The string is unambiguous: the timestamp is digits from the left, the length digits
 *   and the digest 64 hex from the right, and the source is what lies between.
 *
 * Verification is constant-time and never says which part was wrong beyond the outcome.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_VERSION = 'v1';
export const HEADER_SIGNATURE_VERSION = 'v2';
/** How far the signer's timestamp may be from the server clock, either way. */
export const TIMESTAMP_WINDOW_MS = 300_000;

export function computeSignature(secret: string, timestamp: string, bodySha256Hex: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${bodySha256Hex}`).digest('hex');
}

/** The header value a v1 signer sends: `v1=<hex>`. */
export function signatureHeader(secret: string, timestamp: string, bodySha256Hex: string): string {
  return `${SIGNATURE_VERSION}=${computeSignature(secret, timestamp, bodySha256Hex)}`;
}

/** What a v2 signature covers: all of it is in the request's headers. */
export interface SignedHeaders {
  timestamp: string;
  source: string;
  /** The Content-Length header as sent (decimal digits). */
  contentLength: string;
  /** The sha256 of the raw body in hex (lowercase), as declared in Content-Digest. */
  bodySha256Hex: string;
}

/** The v2 string to sign: `v2.<timestamp>.<source>.<content-length>.<sha256 hex>`. */
export function headerSigningString(signed: SignedHeaders): string {
  return (
    `${HEADER_SIGNATURE_VERSION}.${signed.timestamp}.${signed.source}.` +
    `${signed.contentLength}.${signed.bodySha256Hex.toLowerCase()}`
  );
}

export function computeHeaderSignature(secret: string, signed: SignedHeaders): string {
  return createHmac('sha256', secret).update(headerSigningString(signed)).digest('hex');
}

/** The header value a v2 signer sends: `v2=<hex>`. */
export function headerSignatureHeader(secret: string, signed: SignedHeaders): string {
  return `${HEADER_SIGNATURE_VERSION}=${computeHeaderSignature(secret, signed)}`;
}

/** True when one of the comma-separated `<version>=<64 hex>` entries of `header` equals `expectedHex`. */
function anyEntryMatches(header: string, version: string, expectedHex: string): boolean {
  const expected = Buffer.from(expectedHex, 'hex');
  const entry = new RegExp(`^\\s*${version}=([0-9a-fA-F]{64})\\s*$`);
  let ok = false;
  for (const part of header.split(',')) {
    const match = entry.exec(part);
    if (!match) continue;
    const given = Buffer.from(match[1]!, 'hex');
    if (given.length === expected.length && timingSafeEqual(given, expected)) ok = true;
  }
  return ok;
}

/**
 * True when `header` holds a `v1=<64 hex>` signature of (timestamp, body digest)
 * under `secret`. Several comma-separated signatures may be sent (secret rotation):
 * any valid one is enough. Compared with timingSafeEqual.
 */
export function verifySignature(options: {
  secret: string;
  timestamp: string;
  bodySha256Hex: string;
  header: string;
}): boolean {
  return anyEntryMatches(
    options.header,
    SIGNATURE_VERSION,
    computeSignature(options.secret, options.timestamp, options.bodySha256Hex),
  );
}

/** True when `header` holds a `v2=<64 hex>` signature of `signed` under `secret` (any of several entries). */
export function verifyHeaderSignature(options: SignedHeaders & { secret: string; header: string }): boolean {
  return anyEntryMatches(options.header, HEADER_SIGNATURE_VERSION, computeHeaderSignature(options.secret, options));
}

/**
 * Which version a signature header asks for: `v2` when any entry is a v2 signature (then
 * only v2 entries count, so that a signer may send `v1=…, v2=…` to old and new servers
 * alike), else `v1`.
 */
export function signatureVersionOf(header: string): 'v1' | 'v2' {
  return header.split(',').some((part) => /^\s*v2=/.test(part)) ? 'v2' : 'v1';
}

/**
 * The sha256 (hex) from an RFC 9530 `Content-Digest` header (`sha-256=:<base64>:`), or
 * undefined when it holds none in that form. Other algorithms are ignored; of repeated
 * sha-256 members the last counts (a structured-field dictionary).
 */
export function parseContentDigest(header: string | undefined): string | undefined {
  let found: string | undefined;
  for (const member of (header ?? '').split(',')) {
    const match = /^\s*sha-256=:([A-Za-z0-9+/]{43}=):\s*$/.exec(member);
    if (match) found = Buffer.from(match[1]!, 'base64').toString('hex');
  }
  return found;
}

/** The RFC 9530 `Content-Digest` value of a sha256 given in hex: `sha-256=:<base64>:`. */
export function contentDigestHeader(sha256Hex: string): string {
  return `sha-256=:${Buffer.from(sha256Hex, 'hex').toString('base64')}:`;
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
