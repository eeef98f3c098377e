/**
 * Twilio's request signature (`X-Twilio-Signature`) and the date format of its callbacks, as
 * Twilio documents them (https://www.twilio.com/docs/usage/webhooks/webhooks-security):
 *
 * - the signed string is the full URL Twilio called (scheme, host, port if any, path, query),
 *   followed by every POST parameter sorted by name, each as name + value with no delimiter (a
 *   name sent more than once contributes each value, values sorted);
 * - the signature is base64(HMAC-SHA1(auth token, that string));
 * - it is compared in constant time.
 *
 * Twilio's own helpers also accept the URL with the scheme's default port added or removed
 * (some proxies and Twilio edges differ there): `twilioSignatureUrls` gives both forms.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type TwilioParams = Readonly<Record<string, string | readonly string[]>>;

/** The string Twilio signs: `url` then each parameter, sorted by name, as name + value. */
export function twilioSignedString(url: string, params: TwilioParams): string {
  let text = url;
  for (const name of Object.keys(params).sort()) {
    const value = params[name]!;
    const values = typeof value === 'string' ? [value] : [...value].sort();
    for (const v of values) text += name + v;
  }
  return text;
}

/** base64(HMAC-SHA1(authToken, signed string)): what Twilio sends in X-Twilio-Signature. */
export function twilioSignature(authToken: string, url: string, params: TwilioParams): string {
  return createHmac('sha1', authToken).update(twilioSignedString(url, params), 'utf8').digest('base64');
}

/** `url` as given, and with the scheme's default port added (or removed when it was there). */
export function twilioSignatureUrls(url: string): string[] {
  const parsed = new URL(url);
  const defaultPort = parsed.protocol === 'https:' ? '443' : parsed.protocol === 'http:' ? '80' : undefined;
  // A port other than the default is part of the URL either way.
  if (!defaultPort || parsed.port !== '') return [url];
  // URL drops a default port it is given: rebuild the string by hand for the form with the port.
  const hostStart = url.indexOf('//') + 2;
  const pathStart = url.indexOf('/', hostStart);
  const authority = url.slice(hostStart, pathStart === -1 ? undefined : pathStart);
  const rest = pathStart === -1 ? '' : url.slice(pathStart);
  const head = url.slice(0, hostStart);
  const withPort = authority.endsWith(`:${defaultPort}`) ? authority : `${authority}:${defaultPort}`;
  const withoutPort = authority.endsWith(`:${defaultPort}`) ? authority.slice(0, -defaultPort.length - 1) : authority;
  return [...new Set([url, head + withoutPort + rest, head + withPort + rest])];
}

/** Whether `header` is Twilio's signature of the request: constant-time per candidate URL. */
export function verifyTwilioSignature(options: {
  authToken: string;
  url: string;
  params: TwilioParams;
  header: string | undefined;
}): boolean {
  const { header } = options;
  if (!header) return false;
  const given = Buffer.from(header, 'utf8');
  let ok = false;
  for (const url of twilioSignatureUrls(options.url)) {
    const expected = Buffer.from(twilioSignature(options.authToken, url, options.params), 'utf8');
    // Lengths are public (every SHA-1 base64 is 28 characters); only equal lengths are compared.
    if (expected.length === given.length && timingSafeEqual(expected, given)) ok = true;
  }
  return ok;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const RFC_2822 = new RegExp(
  /^(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),\s+)?(\d{1,2})\s+(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+/.source +
    /(\d{4})\s+(\d{2}):(\d{2})(?::(\d{2}))?\s+([+-]\d{4}|GMT|UT|UTC|Z)$/.source,
);

function daysIn(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * Epoch ms of an RFC 2822 date-time as Twilio writes them (`Tue, 01 Dec 2026 14:03:07 +0000`),
 * or undefined when it is malformed or names no real instant (31 April, 24:00, second 60).
 */
export function parseRfc2822(text: string): number | undefined {
  const m = RFC_2822.exec(text.trim());
  if (!m) return undefined;
  const day = Number(m[1]);
  const month = MONTHS.indexOf(m[2]!) + 1;
  const year = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  if (day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMinutes = 0;
  const zone = m[7]!;
  if (zone.startsWith('+') || zone.startsWith('-')) {
    const hours = Number(zone.slice(1, 3));
    const minutes = Number(zone.slice(3, 5));
    if (hours > 23 || minutes > 59) return undefined;
    offsetMinutes = (hours * 60 + minutes) * (zone.startsWith('-') ? -1 : 1);
  }
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  return date.getTime() - offsetMinutes * 60_000;
}

/** `ms` as Twilio writes dates (RFC 2822 in GMT): `Tue, 01 Dec 2026 14:03:07 +0000`. */
export function formatRfc2822(ms: number): string {
  return new Date(ms).toUTCString().replace(/GMT$/, '+0000');
}
