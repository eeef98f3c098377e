/**
 * `POST /v1/recordings`: the signed upload hook telephony programs against
 * (see DESIGN.md, "Upload hook"). Mounted before any body parser: the body is
 * streamed by `receiveUpload`.
 *
 * Order of checks, so that an unauthenticated client learns nothing and costs little:
 * 1. admission (503 `overloaded` + Retry-After beyond concurrency + queue), source,
 *    signature and timestamp headers, Content-Length: all before reading the body;
 * 2. the body streams to `<dataDir>/tmp/ingest-*` while it is hashed;
 * 3. the signature over the body digest (401), then multipart problems (400);
 * 4. `ingestRecording` (metadata, retention, idempotency, audio, objects, row).
 * Whatever the outcome, the temp directory is removed before the answer is sent.
 * A client that disconnects aborts the flow (ffmpeg is killed, puts are aborted).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Router } from 'express';
import type { Request, Response } from 'express';
import type { AppDeps } from '../deps.js';
import { AppError, errors, isAppError } from '../errors.js';
import { toAppError } from '../http/problem.js';
import { ingestRecording } from './ingest.js';
import { createIngestLimiter } from './limiter.js';
import type { IngestLimiter } from './limiter.js';
import { FRAMING_ALLOWANCE_BYTES, receiveUpload } from './receive.js';
import { checkTimestamp, secretOf, verifySignature } from './signature.js';

export { ingestFieldsSchema, parseIngestMetadata } from './metadata.js';
export type { IngestFields, IngestMetadata } from './metadata.js';
export type { IngestResponse } from './ingest.js';

export const INGEST_PATH = '/v1/recordings';
const OVERLOAD_RETRY_AFTER_S = 5;

/** The temp root of ingest; every request gets its own `ingest-*` folder inside. */
export function ingestTempRoot(dataDir: string): string {
  return path.join(dataDir, 'tmp');
}

class ClientGoneError extends Error {
  override readonly name = 'AbortError';
  constructor() {
    super('the client went away');
  }
}

/** A printable, bounded form of a client-supplied source id for logs. */
function safeSourceId(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return value.replace(/[^A-Za-z0-9._-]/g, '?').slice(0, 64);
}

export function createIngestRouter(deps: AppDeps, options: { limiter?: IngestLimiter } = {}): Router {
  const { config, logger, metrics, clock } = deps;
  const limiter =
    options.limiter ?? createIngestLimiter({ concurrency: config.ingest.transcodeConcurrency, queueLimit: config.ingest.queueLimit });
  const tempRoot = ingestTempRoot(config.dataDir);
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
      // An unread body is not drained: the connection closes after the answer.
      if (!bodyFinished) res.setHeader('Connection', 'close');
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
    let dir: string | undefined;
    let outcome: Parameters<typeof answer>[0];
    try {
      await fs.promises.mkdir(tempRoot, { recursive: true });
      dir = await fs.promises.mkdtemp(path.join(tempRoot, 'ingest-'));
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
        signal: controller.signal,
        requestId: req.id,
      });
      outcome = result.created
        ? { status: 201, body: result.recording, headers: { Location: `${INGEST_PATH}/${result.recording.id}` } }
        : { status: 200, body: result.recording, headers: { 'Content-Location': `${INGEST_PATH}/${result.recording.id}` } };
    } catch (error) {
      outcome = isAppError(error) ? error : controller.signal.aborted ? errors.invalidRequest('The client went away', { cause: error }) : toAppError(error);
    } finally {
      ticket.release();
      res.off('close', onClose);
      if (dir) await fs.promises.rm(dir, { recursive: true, force: true }).catch((error: unknown) => logger.error({ err: error }, 'could not remove an ingest temp dir'));
    }
    if (controller.signal.aborted) {
      metrics.ingestTotal.inc({ outcome: 'client_gone' });
      stopTimer({ outcome: 'client_gone' });
      logger.info({ requestId: req.id }, 'upload abandoned by the client; nothing kept');
      return;
    }
    answer(outcome);
  });

  return router;
}
