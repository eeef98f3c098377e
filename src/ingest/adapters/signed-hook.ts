/**
 * Adapter: `POST /v1/recordings`, the signed multipart upload hook telephony programs against
 * (see DESIGN.md, "Upload hook"). Mounted before any body parser: the body is
 * streamed by `receiveUpload`. Its text fields become typed call metadata (../metadata.ts),
 * its audio part the audio file of the pipeline (`ingestRecording`).
 *
 * Order of checks, so that a client without the secret learns nothing, costs little
 * and can never take a place a genuine upload needs:
 * 1. source, signature and timestamp headers, Content-Length (413): before the body;
 * 2. by signature version, still before the body:
 *    - `v2` (signed over timestamp, source, Content-Length and Content-Digest): 411
 *      without Content-Length, 401 unless the signature verifies; then admission to a
 *      transcode slot or queue place (503 `overloaded` + Retry-After when full);
 *    - `v1` (signed over the body itself): 503 `overloaded` when no place is free now
 *      (nothing is taken), then a place among the bodies received unverified, bounded
 *      per source and per client address (503 `too_many_unverified` + Retry-After);
 * 3. the body streams to `<dataDir>/tmp/<process>/ingest-*` (./temp.ts) while it is hashed, held to the minimum
 *    rate (408 `request_timeout`) and to CALLREC_MAX_UPLOAD_BYTES (413);
 * 4. the body digest: `v2` against Content-Digest, `v1` against the signature (401); a
 *    `v1` upload gives its unverified place back and is admitted only now (503);
 * 5. multipart problems, then the metadata fields and the audio part's presence (400), then
 *    `ingestRecording` (retention, idempotency, audio, objects, row).
 * Whatever the outcome, the temp directory is removed and every place given back
 * before the answer is sent. A client that disconnects aborts the flow (ffmpeg is
 * killed, puts are aborted).
 *
 * Shutdown (`stop`): uploads in flight get `drainMs` to finish; then the rest are aborted
 * like a disconnect (temp files, objects and in-flight markers removed) and answered 503
 * `shutting_down`; new uploads meanwhile are answered 503 at once. `stop` resolves when every
 * upload has cleaned up (the ingest service then removes the process's temp folder).
 */
import fs from 'node:fs';
import { Router } from 'express';
import type { Request, Response } from 'express';
import { AppError, errors, isAppError } from '../../errors.js';
import { toAppError } from '../../http/problem.js';
import { ingestRecording } from '../ingest.js';
import type { Ticket } from '../limiter.js';
import { parseIngestMetadata } from '../metadata.js';
import type { Scheduler } from '../rate-floor.js';
import { FRAMING_ALLOWANCE_BYTES, receiveUpload } from '../receive.js';
import type { ReceivedUpload } from '../receive.js';
import type { IngestAdapter, IngestRuntime } from '../service.js';
import {
  checkTimestamp,
  parseContentDigest,
  secretOf,
  signatureVersionOf,
  verifyHeaderSignature,
  verifySignature,
} from '../signature.js';
import { addressKey, createUnverifiedGate } from '../unverified.js';
import type { UnverifiedGate, UnverifiedPass } from '../unverified.js';
import type { AudioFile, CallMetadata } from '../call-metadata.js';

export const INGEST_PATH = '/v1/recordings';
const OVERLOAD_RETRY_AFTER_S = 5;
/** A refused unverified body: soon, a place among them is likely free again. */
const UNVERIFIED_RETRY_AFTER_S = 5;

const SHUTDOWN_RETRY_AFTER_S = 5;

class ClientGoneError extends Error {
  override readonly name = 'AbortError';
  constructor() {
    super('the client went away');
  }
}

class ShutdownAbort extends Error {
  override readonly name = 'AbortError';
  constructor() {
    super('the service is shutting down');
  }
}

/** A printable, bounded form of a client-supplied source id for logs. */
function safeSourceId(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return value.replace(/[^A-Za-z0-9._-]/g, '?').slice(0, 64);
}

export interface SignedHookOptions {
  unverified?: UnverifiedGate;
  schedule?: Scheduler;
}

/**
 * The typed metadata of a received multipart body, or 400 `invalid_metadata` listing every
 * field at fault (a missing audio part among them).
 */
export function hookMetadataOf(
  received: Pick<ReceivedUpload, 'fields' | 'audio'>,
  context: { nowMs: number; region: string; maxDurationMs?: number },
): CallMetadata {
  return hookUploadOf(received, context).meta;
}

/**
 * The typed metadata and the audio file (with its declared format, if any) of a received body; 400 as `hookMetadataOf`.
 */
export function hookUploadOf(
  received: Pick<ReceivedUpload, 'fields' | 'audio'>,
  context: { nowMs: number; region: string; maxDurationMs?: number },
): { meta: CallMetadata; audio: AudioFile } {
  const parsed = parseIngestMetadata(received.fields, context);
  const problems = parsed.ok ? [] : [...parsed.problems];
  if (!received.audio) problems.push({ field: 'audio', message: 'is required (a file part named "audio")' });
  if (!parsed.ok || problems.length > 0 || !received.audio) throw errors.invalidMetadata(problems);
  const { path, sha256, sizeBytes } = received.audio;
  const audio: AudioFile = {
    path,
    sha256,
    sizeBytes,
    ...(parsed.audioFormat ? { declaredFormat: parsed.audioFormat } : {}),
  };
  return { meta: parsed.value, audio };
}

/** The signed upload hook (see the module comment) on the shared ingest runtime. */
export function createSignedHook(
  runtime: IngestRuntime,
  options: SignedHookOptions = {},
): IngestAdapter & { router: Router } {
  const { deps, limiter, temp, inflight } = runtime;
  const { config, logger, metrics, clock } = deps;
  const unverified =
    options.unverified ??
    createUnverifiedGate({
      perSource: config.ingest.unverifiedPerSource,
      perAddress: config.ingest.unverifiedPerAddress,
    });
  const rateFloor = {
    bytesPerSecond: config.ingest.minBytesPerSecond,
    graceMs: config.ingest.rateGraceMs,
    clock,
    ...(options.schedule ? { schedule: options.schedule } : {}),
  };
  /** Uploads past admission, each with its abort for shutdown and a promise settled once it cleaned up. */
  const running = new Set<{ abort(): void; done: Promise<void> }>();
  let stopping = false;
  const router = Router();
  const publishInFlight = () => {
    metrics.ingestInFlight.set({ stage: 'unverified' }, unverified.inFlight);
    metrics.ingestInFlight.set({ stage: 'admitted' }, limiter.admitted);
  };
  publishInFlight();

  const securityEvent = (req: Request, reason: string, source: string | undefined) => {
    logger.warn(
      { event: 'ingest_auth_failed', reason, source: safeSourceId(source), requestId: req.id, ip: req.ip },
      'upload refused',
    );
  };

  router.post(INGEST_PATH, async (req: Request, res: Response) => {
    const stopTimer = metrics.ingestDuration.startTimer();
    let bodyFinished = false;
    const answer = (
      outcome: { status: number; body: unknown; headers?: Record<string, string>; code?: string } | AppError,
    ) => {
      const code = isAppError(outcome)
        ? outcome.code
        : (outcome.code ?? (outcome.status === 201 ? 'created' : 'replayed'));
      metrics.ingestTotal.inc({ outcome: code });
      stopTimer({ outcome: code });
      if (res.headersSent || res.destroyed) return;
      // An unread body is not drained: the connection closes after the answer (and during shutdown).
      if (!bodyFinished || stopping) res.setHeader('Connection', 'close');
      if (isAppError(outcome)) {
        // A refused unverified body was logged as a warning already (an attack would flood the error log).
        if (outcome.status >= 500 && outcome.code !== 'too_many_unverified')
          logger.error({ err: outcome.cause ?? outcome, code: outcome.code, requestId: req.id }, 'upload failed');
        else if (outcome.code === 'unsupported_audio') {
          // The cause (ffmpeg's message) helps tell hostile input from a broken toolchain; it holds no personal data.
          const cause = outcome.cause as { message?: string; cause?: { message?: string } } | undefined;
          logger.warn(
            { code: outcome.code, requestId: req.id, reason: cause?.cause?.message ?? cause?.message },
            'upload refused: audio',
          );
        }
        for (const [name, value] of Object.entries(outcome.headers)) res.setHeader(name, value);
        const body = {
          type: 'about:blank',
          title: outcome.title,
          status: outcome.status,
          code: outcome.code,
          ...(outcome.detail ? { detail: outcome.detail } : {}),
          ...outcome.extra,
        };
        res.status(outcome.status).type('application/problem+json').send(JSON.stringify(body));
        return;
      }
      for (const [name, value] of Object.entries(outcome.headers ?? {})) res.setHeader(name, value);
      res.status(outcome.status).json(outcome.body);
    };

    if (stopping) return answer(errors.shuttingDown(SHUTDOWN_RETRY_AFTER_S));

    const sourceHeader = req.get('x-callrec-source');
    const timestamp = req.get('x-callrec-timestamp');
    const signature = req.get('x-callrec-signature');
    const secret = sourceHeader ? secretOf(config.ingest.sources, sourceHeader) : undefined;
    let early: AppError | undefined;
    if (!sourceHeader || !secret) {
      securityEvent(req, sourceHeader ? 'unknown_source' : 'missing_source', sourceHeader);
      early = errors.unknownSource();
    } else if (!timestamp || !signature) {
      securityEvent(req, 'missing_signature_headers', sourceHeader);
      early = errors.invalidSignature({ detail: 'X-Callrec-Timestamp and X-Callrec-Signature are required' });
    } else {
      const check = checkTimestamp(timestamp, clock.now());
      if (check === 'malformed') {
        securityEvent(req, 'malformed_timestamp', sourceHeader);
        early = errors.invalidSignature({ detail: 'X-Callrec-Timestamp expects unix seconds' });
      } else if (check !== 'ok') {
        securityEvent(req, `${check}_timestamp`, sourceHeader);
        early = errors.staleTimestamp({ detail: 'The timestamp is more than 300 s from the server clock' });
      }
    }
    const contentLength = req.get('content-length');
    const declared = Number(contentLength);
    if (!early && Number.isFinite(declared) && declared > config.ingest.maxUploadBytes + FRAMING_ALLOWANCE_BYTES) {
      early = errors.tooLarge(`The upload exceeds ${config.ingest.maxUploadBytes} bytes`);
    }
    if (early) return answer(early);

    // Past this point: a known source, a timestamp in the window, a signature header.
    const version = signatureVersionOf(signature!);
    let declaredDigest: string | undefined;
    let ticket: Ticket | undefined;
    let pass: UnverifiedPass | undefined;
    if (version === 'v2') {
      if (contentLength === undefined)
        return answer(
          errors.lengthRequired('A v2 signature covers Content-Length: send the body with one, not chunked'),
        );
      declaredDigest = parseContentDigest(req.get('content-digest'));
      if (!declaredDigest) {
        securityEvent(req, 'missing_content_digest', sourceHeader);
        return answer(errors.invalidSignature({ detail: 'A v2 signature needs Content-Digest: sha-256=:<base64>:' }));
      }
      const signed = { timestamp: timestamp!, source: sourceHeader!, contentLength, bodySha256Hex: declaredDigest };
      if (!verifyHeaderSignature({ secret: secret!, header: signature!, ...signed })) {
        securityEvent(req, 'signature_mismatch', sourceHeader);
        return answer(errors.invalidSignature());
      }
      ticket = limiter.admit();
      if (!ticket) return answer(errors.overloaded(OVERLOAD_RETRY_AFTER_S));
    } else {
      // The body would be refused once received: say so now, while it costs nothing (nothing is taken).
      if (!limiter.hasRoom) return answer(errors.overloaded(OVERLOAD_RETRY_AFTER_S));
      const entry = unverified.enter({ source: sourceHeader!, address: addressKey(req.ip) });
      if ('refused' in entry) {
        logger.warn(
          {
            event: 'ingest_unverified_limit',
            bound: entry.refused,
            source: safeSourceId(sourceHeader),
            requestId: req.id,
            ip: req.ip,
          },
          'upload refused: too many unverified bodies in flight',
        );
        return answer(errors.tooManyUnverified(UNVERIFIED_RETRY_AFTER_S));
      }
      pass = entry.pass;
    }
    publishInFlight();

    const controller = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) controller.abort(new ClientGoneError());
    };
    res.on('close', onClose);
    let finished!: () => void;
    const upload = {
      abort: () => controller.abort(new ShutdownAbort()),
      done: new Promise<void>((resolve) => (finished = resolve)),
    };
    running.add(upload);
    let dir: string | undefined;
    let outcome: Parameters<typeof answer>[0];
    try {
      dir = await temp.requestDir();
      const received = await receiveUpload(req, {
        dir,
        maxUploadBytes: config.ingest.maxUploadBytes,
        signal: controller.signal,
        rateFloor,
      });
      bodyFinished = true;
      pass?.release();
      if (
        declaredDigest !== undefined
          ? received.bodySha256 !== declaredDigest
          : !verifySignature({
              secret: secret!,
              timestamp: timestamp!,
              bodySha256Hex: received.bodySha256,
              header: signature!,
            })
      ) {
        securityEvent(
          req,
          declaredDigest !== undefined ? 'content_digest_mismatch' : 'signature_mismatch',
          sourceHeader,
        );
        throw errors.invalidSignature();
      }
      ticket ??= limiter.admit();
      publishInFlight();
      if (!ticket) throw errors.overloaded(OVERLOAD_RETRY_AFTER_S);
      if (received.parseProblem) {
        const { field, message } = received.parseProblem;
        throw field ? errors.invalidMetadata([{ field, message }]) : errors.invalidRequest(message);
      }
      const { meta, audio } = hookUploadOf(received, {
        nowMs: clock.now(),
        region: config.phoneRegion,
        maxDurationMs: config.ingest.maxDurationMs,
      });
      const result = await ingestRecording(deps, {
        source: sourceHeader!,
        meta,
        // The body's temp file: deleted as soon as a silenced copy replaces it (pauses, DTMF).
        audio: { ...audio, disposable: true },
        dir,
        ticket,
        inflight,
        signal: controller.signal,
        requestId: req.id,
      });
      outcome = result.discarded
        ? {
            // Not kept (a "do not keep" objection): 200, so that the platform does not retry.
            status: 200,
            code: 'not_kept',
            body: {
              id: result.discarded.id,
              kept: false,
              reason: result.discarded.reason,
              deletionSeq: result.discarded.deletionSeq,
            },
          }
        : result.created
          ? { status: 201, body: result.recording, headers: { Location: `${INGEST_PATH}/${result.recording.id}` } }
          : {
              status: 200,
              body: result.recording,
              headers: { 'Content-Location': `${INGEST_PATH}/${result.recording.id}` },
            };
    } catch (error) {
      outcome = isAppError(error)
        ? error
        : controller.signal.aborted
          ? errors.invalidRequest('The client went away', { cause: error })
          : toAppError(error);
    } finally {
      ticket?.release();
      pass?.release();
      publishInFlight();
      res.off('close', onClose);
      if (dir)
        await fs.promises
          .rm(dir, { recursive: true, force: true })
          .catch((error: unknown) => logger.error({ err: error }, 'could not remove an ingest temp dir'));
      running.delete(upload);
      finished();
    }
    const stored = !isAppError(outcome);
    if (controller.signal.reason instanceof ClientGoneError) {
      metrics.ingestTotal.inc({ outcome: 'client_gone' });
      stopTimer({ outcome: 'client_gone' });
      logger.info(
        { requestId: req.id },
        stored ? 'the client went away after its upload was stored' : 'upload abandoned by the client; nothing kept',
      );
      return;
    }
    // Stopped by a shutdown: a recording already stored is still answered as such.
    if (controller.signal.reason instanceof ShutdownAbort && !stored) {
      logger.info({ requestId: req.id }, 'upload aborted by the shutdown; nothing kept');
      outcome = errors.shuttingDown(SHUTDOWN_RETRY_AFTER_S);
    }
    answer(outcome);
  });

  const settled = () => Promise.all([...running].map((upload) => upload.done));
  return {
    router,
    async stop({ drainMs }) {
      stopping = true;
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs)));
      await Promise.race([settled(), deadline]);
      clearTimeout(timer);
      for (const upload of running) upload.abort();
      await settled();
    },
  };
}
