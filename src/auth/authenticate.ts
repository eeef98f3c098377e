/**
 * Authentication middleware: sets `req.principal` from a Bearer token or a
 * session cookie and never rejects by itself; guards decide. (Placeholder until
 * the auth work lands.)
 */
import type { RequestHandler } from 'express';
import type { AppDeps } from '../deps.js';

export function createAuthenticate(_deps: AppDeps): RequestHandler {
  return (_req, _res, next) => next();
}
