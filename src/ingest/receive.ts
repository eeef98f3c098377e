/**
 * Receives the upload hook's multipart body: the raw bytes are hashed (sha256)
 * while they stream, parsed by busboy, and the audio part is written to a file
 * in the request's own temp directory, hashed on the way too. Nothing here
 * trusts the body: the caller verifies the signature against `bodySha256`
 * before it looks at any field.
 *
 * Contract:
 * - Memory stays bounded (busboy streams; the audio never sits in memory).
 * - Crossing `maxUploadBytes` (the audio part, or the raw body plus a small
 *   allowance for the framing) rejects with 413 `too_large` at once, without
 *   reading further.
 * - A body that is not valid multipart does not reject: parsing stops, the rest
 *   is still hashed (bounded by the same limit), and `parseProblem` says what was
 *   wrong, so that an unsigned or altered body is answered 401 before any 400.
 * - With `rateFloor`, a body that arrives slower than its minimum (rate-floor.ts) rejects
 *   with 408 `request_timeout` at once, also while the client sends nothing at all.
 * - The caller owns `dir` and removes it whatever happens.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { Transform, Writable } from 'node:stream';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import type { Clock } from '../clock.js';
import { errors, isAppError } from '../errors.js';
import { meteredBody } from './rate-floor.js';
import type { RateFloorOptions, Scheduler } from './rate-floor.js';

/** Allowance for multipart framing and text fields on top of the audio limit. */
export const FRAMING_ALLOWANCE_BYTES = 256 * 1024;
export const AUDIO_PART = 'audio';

export interface ReceivedAudio {
  path: string;
  sha256: string;
  sizeBytes: number;
  /** The client's declared type (informational only; ffprobe decides). */
  mimeType: string;
}

export interface ReceivedUpload {
  bodySha256: string;
  bodyBytes: number;
  fields: Record<string, string>;
  audio: ReceivedAudio | undefined;
  /** Why the body is malformed (not multipart, too many parts, a field too long), if it is. */
  parseProblem: { field?: string; message: string } | undefined;
}

const LIMITS = { fields: 16, fieldSize: 1024, fieldNameSize: 64, files: 1, parts: 24, headerPairs: 20 };

export async function receiveUpload(
  req: IncomingMessage,
  options: {
    dir: string;
    maxUploadBytes: number;
    signal: AbortSignal;
    rateFloor?: RateFloorOptions & { clock: Clock; schedule?: Scheduler };
  },
): Promise<ReceivedUpload> {
  const bodyHash = createHash('sha256');
  const maxBody = options.maxUploadBytes + FRAMING_ALLOWANCE_BYTES;
  let bodyBytes = 0;
  let fatal: Error | undefined;
  let parseProblem: ReceivedUpload['parseProblem'];
  const fields: Record<string, string> = {};
  let audio: ReceivedAudio | undefined;
  const fileWrites: Promise<void>[] = [];
  // Aborted on the client's disconnect or on any refusal: stops a file write still in progress.
  const stop = new AbortController();
  const signal = AbortSignal.any([options.signal, stop.signal]);

  const problem = (message: string, field?: string) => {
    parseProblem ??= { message, ...(field ? { field } : {}) };
  };
  const tooLarge = () => errors.tooLarge(`The upload exceeds ${options.maxUploadBytes} bytes`);

  let parser: busboy.Busboy | undefined;
  try {
    parser = busboy({ headers: req.headers, limits: { ...LIMITS, fileSize: options.maxUploadBytes } });
  } catch {
    problem('expects a multipart/form-data body');
  }
  let parserFailed = parser === undefined;
  const parserDone = new Promise<void>((resolve) => {
    if (!parser) return resolve();
    parser.on('close', resolve);
    parser.on('error', () => {
      parserFailed = true;
      problem('the multipart body is malformed');
      resolve();
    });
    parser.on('field', (name, value, info) => {
      if (info.nameTruncated || info.valueTruncated) problem(`is longer than ${LIMITS.fieldSize} characters`, name);
      else if (name in fields) problem('is given more than once', name);
      else fields[name] = value;
    });
    parser.on('file', (name, stream: Readable, info) => {
      if (name !== AUDIO_PART || audio) {
        problem(
          name !== AUDIO_PART ? `unexpected file part "${name.slice(0, 32)}"` : 'more than one audio part',
          AUDIO_PART,
        );
        stream.resume();
        return;
      }
      const file = path.join(options.dir, 'original');
      const audioHash = createHash('sha256');
      let size = 0;
      audio = { path: file, sha256: '', sizeBytes: 0, mimeType: info.mimeType };
      const received = audio;
      stream.on('limit', () => {
        fatal ??= tooLarge();
        stream.destroy(fatal);
      });
      const hashing = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          audioHash.update(chunk);
          size += chunk.length;
          callback(null, chunk);
        },
      });
      fileWrites.push(
        pipeline(stream, hashing, fs.createWriteStream(file), { signal }).then(
          () => {
            received.sha256 = audioHash.digest('hex');
            received.sizeBytes = size;
          },
          (error: unknown) => {
            if (isAppError(error) || !stream.errored)
              fatal ??= error instanceof Error ? error : new Error(String(error));
            // The part itself broke off (malformed or truncated multipart): a 400 after the signature check.
            else problem('the multipart body is malformed');
          },
        ),
      );
    });
    parser.on('filesLimit', () => problem('more than one audio part', AUDIO_PART));
    parser.on('fieldsLimit', () => problem(`more than ${LIMITS.fields} fields`));
    parser.on('partsLimit', () => problem(`more than ${LIMITS.parts} parts`));
  });

  const hasher = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bodyBytes += chunk.length;
      if (bodyBytes > maxBody) return callback(tooLarge());
      bodyHash.update(chunk);
      callback(null, chunk);
    },
  });
  const forward = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (fatal) return callback(fatal);
      if (parserFailed || !parser) return callback();
      parser.write(chunk, () => callback(fatal));
    },
    final(callback) {
      if (fatal) return callback(fatal);
      if (!parserFailed && parser) parser.end();
      callback();
    },
  });

  // The request is iterated without destroyOnReturn: on a refusal (413) the socket must
  // stay open long enough to carry the answer; the route closes it after responding.
  const chunks = untilAborted(
    req.iterator({ destroyOnReturn: false }) as AsyncIterableIterator<Buffer>,
    options.signal,
  );
  const floor = options.rateFloor;
  const body = floor
    ? meteredBody(chunks, {
        floor,
        clock: floor.clock,
        ...(floor.schedule ? { schedule: floor.schedule } : {}),
        tooSlow: () => errors.requestTimeout(`The body arrived slower than ${floor.bytesPerSecond} bytes per second`),
      })
    : chunks;
  try {
    await pipeline(body, hasher, forward, { signal: options.signal });
    await parserDone;
  } catch (error) {
    stop.abort(error);
    parser?.destroy();
    await Promise.allSettled(fileWrites);
    throw error;
  }
  await Promise.all(fileWrites);
  if (fatal) throw fatal;
  return { bodySha256: bodyHash.digest('hex'), bodyBytes, fields, audio, parseProblem };
}

/**
 * Passes the chunks of `source` on until `signal` aborts, and then throws its reason at once,
 * also while waiting for a chunk a stalled client never sends (pipeline's own signal does not
 * end such a wait on every Node version: Node 24 waits for the pending read). Like meteredBody,
 * it never calls `source.return()`.
 */
export async function* untilAborted(source: AsyncIterable<Buffer>, signal: AbortSignal): AsyncGenerator<Buffer> {
  const iterator = source[Symbol.asyncIterator]();
  for (;;) {
    signal.throwIfAborted();
    let onAbort: (() => void) | undefined;
    // A fresh promise and listener per wait, removed after it: nothing accumulates on the signal.
    const next = await new Promise<IteratorResult<Buffer>>((resolve, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      iterator.next().then(resolve, reject);
    }).finally(() => signal.removeEventListener('abort', onAbort!));
    if (next.done) return;
    yield next.value;
  }
}
