/**
 * Per-request access logging: one JSON line when the response finishes (or the
 * client goes away) with method, route pattern, status, duration and request
 * id. Deliberately never the URL, path or query string: a query may carry a
 * phone number (`/v1/subjects/recordings?phone=`) and a path an id nobody needs
 * in a log; the route pattern (`/v1/recordings/:id`) says enough.
 * Probes (`/healthz`, `/readyz`, `/metrics`) log at debug so they do not drown the log.
 */
import type { Request, RequestHandler } from 'express';
import type { Logger } from '../logger.js';

const QUIET = new Set(['/healthz', '/readyz', '/metrics']);

/** The matched route pattern, e.g. `/v1/recordings/:id`, or `unmatched`. */
export function routePattern(req: Request): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? `${req.baseUrl}${path}` : 'unmatched';
}

export function createRequestLog(deps: { logger: Logger }): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    let done = false;
    const log = (aborted: boolean) => {
      if (done) return;
      done = true;
      const route = routePattern(req);
      const entry = {
        requestId: req.id,
        method: req.method,
        route,
        status: res.statusCode,
        durationMs: Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100,
        ...(req.principal ? { user: req.principal.username, role: req.principal.role } : {}),
        ...(aborted ? { aborted: true } : {}),
      };
      if (QUIET.has(route)) deps.logger.debug(entry, 'request');
      else if (res.statusCode >= 500) deps.logger.warn(entry, 'request');
      else deps.logger.info(entry, 'request');
    };
    res.on('finish', () => log(false));
    res.on('close', () => log(!res.writableFinished));
    next();
  };
}
