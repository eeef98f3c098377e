/**
 * `POST /v1/recordings`: the signed upload hook telephony programs against
 * (see DESIGN.md, "Upload hook"). Mounted before any body parser: the body is
 * streamed by `receiveUpload`.
 *
 * Order of checks, so that an unauthenticated client learns nothing and costs little:
 * 1. admission (503 `overloaded` + Retry-After beyond concurrency + queue), source,
 *    signature and timestamp headers, Content-Length: all before reading the body;
 * 2. the body streams to `<dataDir>/tmp/<process>/ingest-*` while it is hashed (./temp.ts);
 * 3. the signature over the body digest (401), then multipart problems (400);
 * 4. `ingestRecording` (metadata, retention, idempotency, audio, objects, row).
 * Whatever the outcome, the temp directory is removed before the answer is sent.
 * A client that disconnects aborts the flow (ffmpeg is killed, puts are aborted).
 *
 * Shutdown (`stop`): uploads in flight get `drainMs` to finish; then the rest are aborted
 * like a disconnect (temp files, objects and in-flight markers removed) and answered 503
 * `shutting_down`; new uploads meanwhile are answered 503 at once. `stop` resolves when every
 * upload has cleaned up, and removes the process's temp folder.
 */
import fs from 'node:fs';
import { Router } from 'express';
import type { Request, Response } from 'express';
import type { AppDeps } from '../deps.js';
import { AppError, errors, isAppError } from '../errors.js';
import { ingestRecording } from './ingest.js';
import { createInflightTracker } from './inflight.js';
import { createIngestLimiter } from './limiter.js';
import type { IngestLimiter } from './limiter.js';
import { FRAMING_ALLOWANCE_BYTES, receiveUpload } from './receive.js';
import { checkTimestamp, secretOf, verifySignature } from './signature.js';
import { createIngestTemp } from './temp.js';

export { ingestFieldsSchema, parseIngestMetadata } from './metadata.js';
export type { IngestFields, IngestMetadata } from './metadata.js';
export type { IngestResponse } from './ingest.js';

export { ingestTempRoot } from './temp.js';

export const INGEST_PATH = '/v1/recordings';
const OVERLOAD_RETRY_AFTER_S = 5;
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

export interface IngestService {
  router: Router;
  /** Drains, then aborts, the uploads in flight (see the module comment); resolves once they cleaned up. */
  stop(options: { drainMs: number }): Promise<void>;
}

/** A printable, bounded form of a client-supplied source id for logs. */
function safeSourceId(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return value.replace(/[^A-Za-z0-9._-]/g, '?').slice(0, 64);
}

export function createIngestRouter(deps: AppDeps, options: { limiter?: IngestLimiter } = {}): Router {
  return createIngestService(deps, options).router;
}

export function createIngestService(deps: AppDeps, options: { limiter?: IngestLimiter } = {}): IngestService {
  const { config, logger, metrics, clock } = deps;
  const limiter =
    options.limiter ?? createIngestLimiter({ concurrency: config.ingest.transcodeConcurrency, queueLimit: config.ingest.queueLimit });
  const temp = createIngestTemp({ dataDir: config.dataDir, clock });
  const inflight = createInflightTracker(deps);
  /** Uploads past admission, each with its abort for shutdown and a promise settled once it cleaned up. */
  const running = new Set<{ abort(): void; done: Promise<void> }>();
  let stopping = false;
  const router = Router();

  const securityEvent = (req: Request, reason: string, source: string | undefined) => {
    logger.warn({ event: 'ingest_auth_failed', reason, source: safeSourceId(source), requestId: req.id, ip: req.socket.remoteAddress }, 'upload refused');
  };

  router.post(INGEST_PATH, async (req: Request, res: Response) => {
    const stopTimer = metrics.ingestDuration.startTimer();
    let bodyFinished = false;
    const answer = (outcome: { status: number; body: unknown; headers?: Record<string, string> } | AppError) => {
      const code = isAppError(outcome) ? outcome.code : outcome.status === 201 ? 'created' : 'replayed';
      metrics.ingestTotal.inc({ outcome: code });
      stopTimer({ outcome: code });
      if (res.headersSent || res.destroyed) return;
      // An unread body is not drained: the connection closes after the answer (and during shutdown).
      if (!bodyFinished || stopping) res.setHeader('Connection', 'close');
      if (isAppError(outcome)) {
        if (outcome.status >= 500) logger.error({ err: outcome.cause ?? outcome, code: outcome.code, requestId: req.id }, 'upload failed');
        else if (outcome.code === 'unsupported_audio') {
          // The cause (ffmpeg's message) helps tell hostile input from a broken toolchain; it holds no personal data.
          const cause = outcome.cause as { message?: string; cause?: { message?: string } } | undefined;
          logger.warn({ code: outcome.code, requestId: req.id, reason: cause?.cause?.message ?? cause?.message }, 'upload refused: audio');
        }
        for (const [name, value] of Object.entries(outcome.headers)) res.setHeader(name, value);
        const body = { type: 'about:blank', title: outcome.title, status: outcome.status, code: outcome.code, ...(outcome.detail ? { detail: outcome.detail } : {}), ...outcome.extra };
        res.status(outcome.status).type('application/problem+json').send(JSON.stringify(body));
        return;
      }
      for (const [name, value] of Object.entries(outcome.headers ?? {})) res.setHeader(name, value);
      res.status(outcome.status).json(outcome.body);
    };

    if (stopping) return answer(errors.shuttingDown(SHUTDOWN_RETRY_AFTER_S));
    const ticket = limiter.admit();
    if (!ticket) return answer(errors.overloaded(OVERLOAD_RETRY_AFTER_S));

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
    const declared = Number(req.get('content-length'));
    if (!early && Number.isFinite(declared) && declared > config.ingest.maxUploadBytes + FRAMING_ALLOWANCE_BYTES) {
      early = errors.tooLarge(`The upload exceeds ${config.ingest.maxUploadBytes} bytes`);
    }
    if (early) {
      ticket.release();
      return answer(early);
    }

    const controller = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) controller.abort(new ClientGoneError());
    };
    res.on('close', onClose);
    let finished!: () => void;
    const upload = { abort: () => controller.abort(new ShutdownAbort()), done: new Promise<void>((resolve) => (finished = resolve)) };
    running.add(upload);
    let dir: string | undefined;
    let outcome: Parameters<typeof answer>[0];
    try {
      dir = await temp.requestDir();
      const received = await receiveUpload(req, { dir, maxUploadBytes: config.ingest.maxUploadBytes, signal: controller.signal });
      bodyFinished = true;
      if (!verifySignature({ secret: secret!, timestamp: timestamp!, bodySha256Hex: received.bodySha256, header: signature! })) {
        securityEvent(req, 'signature_mismatch', sourceHeader);
        throw errors.invalidSignature();
      }
      if (received.parseProblem) {
        const { field, message } = received.parseProblem;
        throw field ? errors.invalidMetadata([{ field, message }]) : errors.invalidRequest(message);
      }
      const result = await ingestRecording(deps, {
        source: sourceHeader!,
        fields: received.fields,
        audio: received.audio,
        dir,
        ticket,
        inflight,
        signal: controller.signal,
        requestId: req.id,
      });
      outcome = result.created
        ? { status: 201, body: result.recording, headers: { Location: `${INGEST_PATH}/${result.recording.id}` } }
        : { status: 200, body: result.recording, headers: { 'Content-Location': `${INGEST_PATH}/${result.recording.id}` } };
    } catch (error) {
      outcome = isAppError(error) ? error : controller.signal.aborted ? errors.invalidRequest('The client went away', { cause: error }) : errors.internal({ cause: error });
    } finally {
      ticket.release();
      res.off('close', onClose);
      if (dir) await fs.promises.rm(dir, { recursive: true, force: true }).catch((error: unknown) => logger.error({ err: error }, 'could not remove an ingest temp dir'));
      running.delete(upload);
      finished();
    }
    const stored = !isAppError(outcome);
    if (controller.signal.reason instanceof ClientGoneError) {
      metrics.ingestTotal.inc({ outcome: 'client_gone' });
      stopTimer({ outcome: 'client_gone' });
      logger.info({ requestId: req.id }, stored ? 'the client went away after its upload was stored' : 'upload abandoned by the client; nothing kept');
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
      await temp.release();
    },
  };
}
