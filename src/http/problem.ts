/**
 * The one error middleware: maps any thrown value to an RFC 9457
 * `application/problem+json` response with a stable `code`.
 *
 * AppErrors keep their status and code; a full disk (`isStorageFull`) becomes
 * 507 `insufficient_storage`; anything else becomes 500 `internal`.
 * Only 5xx are logged (with the cause); the client never sees a cause's message.
 */
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { isDbFull } from '../db/db-errors.js';
import { AppError, errors, isAppError } from '../errors.js';
import type { Logger } from '../logger.js';
import { isStoreFull } from '../storage/object-store.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export function problemBody(error: AppError, instance?: string): Record<string, unknown> {
  return {
    type: 'about:blank',
    title: error.title,
    status: error.status,
    code: error.code,
    ...(error.detail ? { detail: error.detail } : {}),
    ...(instance ? { instance } : {}),
    ...error.extra,
  };
}

export function sendProblem(res: Response, error: AppError): void {
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  res
    .status(error.status)
    .type(PROBLEM_CONTENT_TYPE)
    .send(JSON.stringify(problemBody(error)));
}

const NO_SPACE_ERRNO = new Set(['ENOSPC', 'EDQUOT']);

/**
 * True when `error`, or an error in its `cause` chain, says a disk is full: ENOSPC/EDQUOT
 * (temp files; ffmpeg's AudioOutputError carries ENOSPC), a full object store
 * (StoreFullError), SQLite `SQLITE_FULL`, PostgreSQL `disk_full`.
 */
export function isStorageFull(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if ((typeof code === 'string' && NO_SPACE_ERRNO.has(code)) || isStoreFull(current) || isDbFull(current))
      return true;
    current = current.cause;
  }
  return false;
}

/**
 * Maps anything thrown to the AppError a client is told: AppErrors unchanged, a full disk →
 * 507 `insufficient_storage`, body-parser and other Express-level errors (which carry
 * `status`/`type`) to their 4xx, everything else 500 `internal`.
 */
export function toAppError(error: unknown): AppError {
  if (isAppError(error)) return error;
  if (isStorageFull(error)) return errors.insufficientStorage({ cause: error });
  const e = error as { status?: number; type?: string } | undefined;
  if (e?.type === 'entity.too.large') return errors.tooLarge('The request body is too large', { cause: error });
  if (e?.type === 'entity.parse.failed') return errors.invalidRequest('The body is not valid JSON', { cause: error });
  if (e?.status === 400) return errors.invalidRequest('Malformed request', { cause: error });
  return errors.internal({ cause: error });
}

export function createErrorMiddleware(deps: { logger: Logger }): ErrorRequestHandler {
  return (error, req, res, next) => {
    const appError = toAppError(error);
    if (appError.status >= 500) {
      deps.logger.error(
        {
          err: appError.cause ?? appError,
          code: appError.code,
          requestId: req.id,
          method: req.method,
          route: req.route?.path,
        },
        'request failed',
      );
    }
    if (res.headersSent) {
      // Mid-stream failure: the status is gone; cut the connection so the client sees a truncated body.
      res.destroy();
      return;
    }
    if (req.aborted || req.socket.destroyed) return next();
    sendProblem(res, appError);
  };
}

/** 404 for every route nobody answered. */
export const notFoundHandler: RequestHandler = (_req, _res, next) => next(errors.notFound('Route'));
