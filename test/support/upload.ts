/**
 * A signing client for the upload hook (`POST /v1/recordings`), for tests.
 *
 *   const res = await signedUpload({ url: app.url, fields: { callId: 'c1', startedAt }, audio: bytes });
 *   const res = await signedUpload({ url, fields, audio, overrides: { secret: 'wrong-secret-0123456789' } });
 *
 * Defaults match `testConfig()` (source `pbx-test` with its secret) and sign `v1`
 * (`version: 'v2'` signs over the headers, with Content-Digest). It speaks
 * node:http directly so that an early answer (413 while the body is still
 * being sent) is still seen: once a response has arrived, later write errors
 * (EPIPE, ECONNRESET) are ignored.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export const TEST_SOURCE = 'pbx-test';
export const TEST_SECRET = 'test-secret-0123456789abcdef';

export interface UploadResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The parsed JSON body, or undefined when it was not JSON. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export interface UploadOverrides {
  /** Signs with this secret instead of `secret`. */
  secret?: string;
  /** X-Callrec-Timestamp value (unix seconds, or any string). */
  timestamp?: number | string;
  /** The whole X-Callrec-Signature header value, or a function of the one computed. */
  signature?: string | ((computed: string) => string);
  /** Headers to leave out. */
  omit?: Array<'source' | 'timestamp' | 'signature' | 'content-length' | 'content-digest'>;
  /** Extra or replaced request headers. */
  headers?: Record<string, string>;
  /** Replaces the body BEFORE it is signed (a validly signed malformed body). */
  signedBody?: (body: Buffer) => Buffer;
  /** Changes the body AFTER it was signed (an altered body). */
  alterBody?: (body: Buffer) => Buffer;
  /** The Content-Digest header value (v2), instead of the body's own. */
  contentDigest?: string;
  /** The Content-Length a v2 signature covers, instead of the body's own. */
  signedLength?: number;
  /** Multipart boundary. */
  boundary?: string;
  /** Put the audio part before the text fields. */
  audioFirst?: boolean;
  /** Name of the file part (default `audio`). */
  partName?: string;
}

export interface SignedUploadOptions {
  url: string;
  source?: string;
  secret?: string;
  /** Text fields; undefined values are left out. */
  fields?: Record<string, string | undefined>;
  /** Audio bytes, or a path to read them from; omit for no file part. */
  audio?: Buffer | string;
  audioFilename?: string;
  audioContentType?: string;
  /** The signer's clock (ms), default Date.now(). */
  nowMs?: number;
  /** Signature version: `v1` (over the body; default) or `v2` (over the headers). */
  version?: SignatureVersion;
  /** The client's own address (any 127.0.0.x is loopback on Linux): to be another client. */
  localAddress?: string;
  signal?: AbortSignal;
  overrides?: UploadOverrides;
}

export type SignatureVersion = 'v1' | 'v2';

export function signBody(options: { secret: string; timestamp: number | string; bodySha256: string }): string {
  const mac = createHmac('sha256', options.secret).update(`${options.timestamp}.${options.bodySha256}`).digest('hex');
  return `v1=${mac}`;
}

/** `v2=<hex>`: HMAC-SHA256(secret, `v2.<timestamp>.<source>.<content-length>.<body sha256 hex>`). */
export function signHeaders(options: {
  secret: string;
  timestamp: number | string;
  source: string;
  contentLength: number | string;
  bodySha256: string;
}): string {
  const text = `v2.${options.timestamp}.${options.source}.${options.contentLength}.${options.bodySha256}`;
  return `v2=${createHmac('sha256', options.secret).update(text).digest('hex')}`;
}

/** The RFC 9530 Content-Digest value of a sha256 in hex. */
export function contentDigestOf(bodySha256: string): string {
  return `sha-256=:${Buffer.from(bodySha256, 'hex').toString('base64')}:`;
}

/** The signature headers of `version` for a body of `contentLength` bytes with digest `bodySha256`. */
function signatureHeaders(options: {
  version: SignatureVersion;
  secret: string;
  source: string;
  timestamp: number | string;
  contentLength: number;
  bodySha256: string;
}): Record<string, string> {
  if (options.version === 'v1') return { 'x-callrec-signature': signBody(options) };
  return { 'x-callrec-signature': signHeaders(options), 'content-digest': contentDigestOf(options.bodySha256) };
}

export interface MultipartParts {
  boundary: string;
  contentType: string;
  /** Everything before the audio bytes (text fields and the file part's headers). */
  head: Buffer;
  /** Everything after the audio bytes. */
  tail: Buffer;
}

const CRLF = '\r\n';

/** The multipart framing around an audio body (text fields first, as the design asks). */
export function multipartParts(options: {
  fields?: Record<string, string | undefined>;
  withAudio?: boolean;
  audioFilename?: string;
  audioContentType?: string;
  boundary?: string;
  partName?: string;
}): MultipartParts {
  const boundary = options.boundary ?? `----callrec${randomBytes(8).toString('hex')}`;
  let head = '';
  for (const [name, value] of Object.entries(options.fields ?? {})) {
    if (value === undefined) continue;
    head += `--${boundary}${CRLF}Content-Disposition: form-data; name="${name}"${CRLF}${CRLF}${value}${CRLF}`;
  }
  let tail = '';
  if (options.withAudio !== false) {
    head += `--${boundary}${CRLF}Content-Disposition: form-data; name="${options.partName ?? 'audio'}"; filename="${options.audioFilename ?? 'call.wav'}"${CRLF}`;
    head += `Content-Type: ${options.audioContentType ?? 'application/octet-stream'}${CRLF}${CRLF}`;
    tail = CRLF;
  }
  tail += `--${boundary}--${CRLF}`;
  return {
    boundary,
    contentType: `multipart/form-data; boundary=${boundary}`,
    head: Buffer.from(head),
    tail: Buffer.from(tail),
  };
}

/** Builds the whole multipart body in memory (small uploads). */
export function multipartBody(
  options: Parameters<typeof multipartParts>[0] & { audio?: Buffer; audioFirst?: boolean },
): {
  body: Buffer;
  contentType: string;
} {
  if (options.audioFirst && options.audio) {
    const audioOnly = multipartParts({ ...options, fields: {} });
    const rest = multipartParts({ ...options, boundary: audioOnly.boundary, withAudio: false });
    const closing = Buffer.from(`--${audioOnly.boundary}--${CRLF}`);
    const audioPart = Buffer.concat([audioOnly.head, options.audio, Buffer.from(CRLF)]);
    const body = Buffer.concat([audioPart, rest.head, closing]);
    return { body, contentType: audioOnly.contentType };
  }
  const parts = multipartParts({ ...options, withAudio: options.audio !== undefined });
  return {
    body: Buffer.concat([parts.head, options.audio ?? Buffer.alloc(0), parts.tail]),
    contentType: parts.contentType,
  };
}

function send(options: {
  url: string;
  headers: Record<string, string>;
  body: Buffer | (() => Readable);
  localAddress?: string;
  signal?: AbortSignal;
}): Promise<UploadResponse> {
  return new Promise((resolve, reject) => {
    const target = new URL('/v1/recordings', options.url);
    let answered = false;
    const request = {
      method: 'POST',
      headers: options.headers,
      signal: options.signal,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    };
    const req = http.request(target, request, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
      });
    });
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    if (Buffer.isBuffer(options.body)) req.end(options.body);
    else {
      pipeline(options.body(), req).catch((error: unknown) => {
        if (!answered) reject(error as Error);
      });
    }
  });
}

/** Signs and posts one upload; see UploadOverrides for the ways to get it wrong on purpose. */
export async function signedUpload(options: SignedUploadOptions): Promise<UploadResponse> {
  const o = options.overrides ?? {};
  const audio = typeof options.audio === 'string' ? await fs.promises.readFile(options.audio) : options.audio;
  const built = multipartBody({
    fields: options.fields,
    audio,
    audioFilename: options.audioFilename,
    audioContentType: options.audioContentType,
    boundary: o.boundary,
    audioFirst: o.audioFirst,
    partName: o.partName,
  });
  const contentType = built.contentType;
  const body = o.signedBody ? o.signedBody(built.body) : built.body;
  const timestamp = o.timestamp ?? Math.floor((options.nowMs ?? Date.now()) / 1000);
  const source = options.source ?? TEST_SOURCE;
  const signed = signatureHeaders({
    version: options.version ?? 'v1',
    secret: o.secret ?? options.secret ?? TEST_SECRET,
    source,
    timestamp,
    contentLength: o.signedLength ?? body.length,
    bodySha256: createHash('sha256').update(body).digest('hex'),
  });
  if (o.signature !== undefined)
    signed['x-callrec-signature'] =
      typeof o.signature === 'string' ? o.signature : o.signature(signed['x-callrec-signature']!);
  if (o.contentDigest !== undefined) signed['content-digest'] = o.contentDigest;
  const sent = o.alterBody ? o.alterBody(body) : body;
  const headers: Record<string, string> = {
    'content-type': contentType,
    'content-length': String(sent.length),
    'x-callrec-source': source,
    'x-callrec-timestamp': String(timestamp),
    ...signed,
  };
  for (const name of o.omit ?? [])
    delete headers[name === 'content-length' || name === 'content-digest' ? name : `x-callrec-${name}`];
  Object.assign(headers, o.headers ?? {});
  return send({ url: options.url, headers, body: sent, signal: options.signal, localAddress: options.localAddress });
}

/**
 * Signs and posts an upload whose audio is a stream too large to hold in memory:
 * `audio()` must return the same bytes every call (it is read twice: once to
 * sign, once to send). `chunked` leaves out Content-Length.
 */
export async function signedStreamUpload(options: {
  url: string;
  source?: string;
  secret?: string;
  fields?: Record<string, string | undefined>;
  audio: () => Readable;
  audioBytes?: number;
  chunked?: boolean;
  nowMs?: number;
  version?: SignatureVersion;
  signal?: AbortSignal;
  /** Skip the signing pass (sends a wrong signature): for uploads refused before the signature matters. */
  unsigned?: boolean;
}): Promise<UploadResponse> {
  const parts = multipartParts({ fields: options.fields });
  const whole = () =>
    Readable.from(
      (async function* () {
        yield parts.head;
        for await (const chunk of options.audio()) yield chunk as Buffer;
        yield parts.tail;
      })(),
    );
  const timestamp = Math.floor((options.nowMs ?? Date.now()) / 1000);
  let bodySha256 = '0'.repeat(64);
  if (!options.unsigned) {
    const hash = createHash('sha256');
    for await (const chunk of whole()) hash.update(chunk as Buffer);
    bodySha256 = hash.digest('hex');
  }
  const source = options.source ?? TEST_SOURCE;
  const contentLength = parts.head.length + (options.audioBytes ?? 0) + parts.tail.length;
  const headers: Record<string, string> = {
    'content-type': parts.contentType,
    'x-callrec-source': source,
    'x-callrec-timestamp': String(timestamp),
    ...signatureHeaders({
      version: options.version ?? 'v1',
      secret: options.secret ?? TEST_SECRET,
      source,
      timestamp,
      contentLength,
      bodySha256,
    }),
  };
  if (!options.chunked && options.audioBytes !== undefined) headers['content-length'] = String(contentLength);
  return send({ url: options.url, headers, body: whole, signal: options.signal });
}

/** An upload that sent part of its body and waits (see `stalledUpload`). */
export interface StalledUpload {
  /** Resolves once the part was handed to the socket. */
  sent: Promise<void>;
  /** The server's answer, or undefined when the connection ended without one. */
  answer: Promise<UploadResponse | undefined>;
  /** Whether an answer has arrived. */
  readonly answered: boolean;
  /** Drops the connection (a client that gives up). */
  close(): void;
}

/**
 * A slow-loris client: sends the headers of an upload declaring `declaredBytes` of
 * audio (Content-Length set) and only the first `sendBytes` of the body, then waits.
 * It is signed for the body it would have sent (so it fails on its slowness, not its
 * signature) with `secret`: pass a wrong one to forge it. From `localAddress` when given.
 */
export function stalledUpload(options: {
  url: string;
  source?: string;
  secret?: string;
  version?: SignatureVersion;
  fields?: Record<string, string | undefined>;
  declaredBytes?: number;
  sendBytes?: number;
  localAddress?: string;
  nowMs?: number;
}): StalledUpload {
  const declared = options.declaredBytes ?? 256 * 1024;
  const parts = multipartParts({
    fields: options.fields ?? {
      callId: `stalled-${randomBytes(6).toString('hex')}`,
      startedAt: new Date(Date.now() - 60_000).toISOString(),
    },
  });
  const body = Buffer.concat([parts.head, Buffer.alloc(declared, 0xff), parts.tail]);
  const timestamp = Math.floor((options.nowMs ?? Date.now()) / 1000);
  const source = options.source ?? TEST_SOURCE;
  const headers: Record<string, string> = {
    'content-type': parts.contentType,
    'content-length': String(body.length),
    'x-callrec-source': source,
    'x-callrec-timestamp': String(timestamp),
    ...signatureHeaders({
      version: options.version ?? 'v1',
      secret: options.secret ?? TEST_SECRET,
      source,
      timestamp,
      contentLength: body.length,
      bodySha256: createHash('sha256').update(body).digest('hex'),
    }),
  };
  let answered = false;
  let responded = false;
  let req: http.ClientRequest | undefined;
  const answer = new Promise<UploadResponse | undefined>((resolve) => {
    req = http.request(
      new URL('/v1/recordings', options.url),
      { method: 'POST', headers, ...(options.localAddress ? { localAddress: options.localAddress } : {}) },
      (res) => {
        responded = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('close', () => resolve(undefined)); // after 'end' (then a no-op), or cut off
        res.on('end', () => {
          answered = true;
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parsed });
        });
      },
    );
    req.on('error', () => undefined); // a cut connection shows as 'close'
    req.on('close', () => {
      if (!responded) resolve(undefined);
    });
  });
  const part = body.subarray(0, parts.head.length + Math.min(options.sendBytes ?? 8 * 1024, declared));
  const sent = new Promise<void>((resolve) => req!.write(part, () => resolve()));
  return {
    sent,
    answer,
    get answered() {
      return answered;
    },
    close: () => req!.destroy(),
  };
}
