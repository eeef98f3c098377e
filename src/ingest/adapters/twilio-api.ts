/**
 * The few Twilio REST calls the import worker makes, with the account's credentials (HTTP basic
 * auth: Account SID and auth token), as Twilio documents them:
 *
 * - media: `GET <RecordingUrl>.wav` (audio/x-wav), `?RequestedChannels=2` for a dual-channel
 *   recording (without it Twilio may mix down to mono);
 * - Call resource: `GET /2010-04-01/Accounts/<AccountSid>/Calls/<CallSid>.json` → `from`, `to`,
 *   `direction` (`inbound`, `outbound-api`, `outbound-dial`, …);
 * - delete: `DELETE /2010-04-01/Accounts/<AccountSid>/Recordings/<RecordingSid>.json` → 204.
 *
 * SSRF guard: every URL is fetched only when its origin equals CALLREC_TWILIO_API_BASE's origin
 * (and redirects are not followed); anything else throws `TwilioUrlRefused` before a connection
 * is made. Credentials therefore never leave for another host.
 *
 * Errors are `TwilioApiError` with a stable `code` (twilio_not_found, twilio_auth_failed,
 * twilio_unavailable, twilio_timeout, twilio_bad_response, too_large) and whether a retry may
 * help; messages never carry a URL, a SID or a number.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AudioFile } from '../call-metadata.js';

export class TwilioUrlRefused extends Error {
  override readonly name = 'TwilioUrlRefused';
  readonly code = 'url_refused';
  constructor(
    /** Only the origin (no path, no query): safe to log. */
    readonly origin: string,
  ) {
    super('a Twilio URL outside the configured API base was refused');
  }
}

export class TwilioApiError extends Error {
  override readonly name = 'TwilioApiError';
  readonly code: string;
  /** Whether a later attempt may succeed. */
  readonly retryable: boolean;
  /** Twilio's HTTP status, when it answered. */
  readonly status: number | undefined;
  constructor(options: { code: string; retryable: boolean; message: string; status?: number; cause?: unknown }) {
    super(options.message, { cause: options.cause });
    this.code = options.code;
    this.retryable = options.retryable;
    this.status = options.status;
  }
}

/** A failure a later attempt may mend (Twilio down, a timeout, …). */
function transient(code: string, message: string, extra: { status?: number; cause?: unknown } = {}): TwilioApiError {
  return new TwilioApiError({ code, retryable: true, message, ...extra });
}

/** A failure no retry mends (the recording is gone, too large). */
function permanent(code: string, message: string, extra: { status?: number; cause?: unknown } = {}): TwilioApiError {
  return new TwilioApiError({ code, retryable: false, message, ...extra });
}

export interface TwilioApiOptions {
  accountSid: string;
  authToken: string;
  /** Origin of CALLREC_TWILIO_API_BASE, e.g. https://api.twilio.com */
  apiOrigin: string;
  /** The longest wait for the answer's headers, and for each next chunk of a body. */
  idleTimeoutMs: number;
}

/** The parts of the Call resource callrec reads. */
export interface TwilioCall {
  from: string | null;
  to: string | null;
  direction: string | null;
}

/** `url` when its origin is the API base's; else TwilioUrlRefused. */
export function guardTwilioUrl(url: string, apiOrigin: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TwilioUrlRefused('(not a URL)');
  }
  if (parsed.origin !== apiOrigin || parsed.username !== '' || parsed.password !== '')
    throw new TwilioUrlRefused(parsed.origin);
  return parsed;
}

/**
 * The media URL of a recording: RecordingUrl + `.wav` (unless it names a format), `RequestedChannels=2` for two
 * channels.
 */
export function twilioMediaUrl(recordingUrl: string, channels: number | null, apiOrigin: string): URL {
  const url = guardTwilioUrl(recordingUrl, apiOrigin);
  if (!/\.(wav|mp3)$/.test(url.pathname)) url.pathname = `${url.pathname}.wav`;
  if (channels === 2) url.searchParams.set('RequestedChannels', '2');
  return url;
}

function statusError(status: number, what: string): TwilioApiError {
  if (status === 404) return permanent('twilio_not_found', `${what}: Twilio answered 404`, { status });
  if (status === 401 || status === 403)
    return transient('twilio_auth_failed', `${what}: Twilio refused the credentials (${status})`, { status });
  if (status === 429 || status >= 500)
    return transient('twilio_unavailable', `${what}: Twilio answered ${status}`, { status });
  return transient('twilio_bad_response', `${what}: Twilio answered ${status}`, { status });
}

export function createTwilioApi(options: TwilioApiOptions) {
  const auth = `Basic ${Buffer.from(`${options.accountSid}:${options.authToken}`).toString('base64')}`;
  const base = `${options.apiOrigin}/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}`;

  /** fetch with basic auth, no redirects, and a deadline for the headers; `signal` aborts it. */
  const request = async (url: URL, method: string, what: string, signal: AbortSignal) => {
    guardTwilioUrl(url.toString(), options.apiOrigin);
    const headersDeadline = new AbortController();
    const timer = setTimeout(() => headersDeadline.abort(), options.idleTimeoutMs);
    try {
      return await fetch(url, {
        method,
        headers: { authorization: auth, accept: method === 'GET' ? '*/*' : 'application/json' },
        redirect: 'manual',
        signal: AbortSignal.any([signal, headersDeadline.signal]),
      });
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (headersDeadline.signal.aborted) throw transient('twilio_timeout', `${what}: no answer from Twilio in time`);
      throw transient('twilio_unavailable', `${what}: Twilio could not be reached`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    /**
     * Streams the recording's WAV into `file` (created; the caller removes it), hashing it on the
     * way, at most `maxBytes`; a body that stalls for `idleTimeoutMs` is abandoned.
     */
    async downloadMedia(input: {
      recordingUrl: string;
      channels: number | null;
      file: string;
      maxBytes: number;
      signal: AbortSignal;
    }): Promise<AudioFile> {
      const url = twilioMediaUrl(input.recordingUrl, input.channels, options.apiOrigin);
      const res = await request(url, 'GET', 'media', input.signal);
      if (res.status !== 200) {
        await res.body?.cancel().catch(() => undefined);
        throw statusError(res.status, 'media');
      }
      if (!res.body) throw transient('twilio_bad_response', 'media: an empty answer');
      const hash = createHash('sha256');
      let sizeBytes = 0;
      let idle: NodeJS.Timeout | undefined;
      const stalled = new AbortController();
      const arm = () => {
        clearTimeout(idle);
        idle = setTimeout(() => stalled.abort(), options.idleTimeoutMs);
      };
      const meter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          sizeBytes += chunk.length;
          if (sizeBytes > input.maxBytes) {
            callback(permanent('too_large', `media: longer than ${input.maxBytes} bytes`));
            return;
          }
          hash.update(chunk);
          arm();
          callback(null, chunk);
        },
      });
      arm();
      try {
        await pipeline(
          Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>),
          meter,
          fs.createWriteStream(input.file, { flags: 'wx' }),
          { signal: AbortSignal.any([input.signal, stalled.signal]) },
        );
      } catch (error) {
        if (input.signal.aborted) throw input.signal.reason;
        if (error instanceof TwilioApiError) throw error;
        if (stalled.signal.aborted) throw transient('twilio_timeout', 'media: the download stalled', { cause: error });
        throw transient('twilio_unavailable', 'media: the download broke off', { cause: error });
      } finally {
        clearTimeout(idle);
      }
      if (sizeBytes === 0) throw transient('twilio_bad_response', 'media: an empty body');
      return { path: input.file, sha256: hash.digest('hex'), sizeBytes };
    },

    /** The Call resource's from, to and direction. */
    async fetchCall(callSid: string, signal: AbortSignal): Promise<TwilioCall> {
      const url = new URL(`${base}/Calls/${encodeURIComponent(callSid)}.json`);
      const res = await request(url, 'GET', 'call', signal);
      if (res.status !== 200) {
        await res.body?.cancel().catch(() => undefined);
        throw statusError(res.status, 'call');
      }
      let body: unknown;
      try {
        body = await res.json();
      } catch (error) {
        throw transient('twilio_bad_response', 'call: not JSON', { cause: error });
      }
      const field = (name: string) => {
        const value = (body as Record<string, unknown> | null)?.[name];
        return typeof value === 'string' ? value : null;
      };
      return { from: field('from'), to: field('to'), direction: field('direction') };
    },

    /** Deletes the recording at Twilio; a recording already gone (404) counts as deleted. */
    async deleteRecording(recordingSid: string, signal: AbortSignal): Promise<void> {
      const url = new URL(`${base}/Recordings/${encodeURIComponent(recordingSid)}.json`);
      const res = await request(url, 'DELETE', 'delete', signal);
      await res.body?.cancel().catch(() => undefined);
      if (res.status === 204 || res.status === 200 || res.status === 404) return;
      throw statusError(res.status, 'delete');
    },
  };
}

export type TwilioApi = ReturnType<typeof createTwilioApi>;
