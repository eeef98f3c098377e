/**
 * Authentication middleware: sets `req.principal` from `Authorization: Bearer
 * <token>` or the session cookie, and never rejects by itself (guards decide,
 * see guard.ts). A malformed Authorization header, an unknown or revoked
 * token, a token or session of a disabled user and an expired session all
 * leave the request anonymous. When an Authorization header is present the
 * cookie is ignored.
 *
 * The one refusal made here is CSRF protection: a state-changing request
 * (POST/PUT/PATCH/DELETE) authenticated by the cookie must carry an Origin
 * (or Referer) of this service, else 403 `origin_mismatch`. Bearer requests
 * are exempt (browsers never attach them on their own).
 */
import type { RequestHandler } from 'express';
import type { AppDeps } from '../deps.js';
import { findActiveToken, touchApiToken } from '../db/api-tokens.js';
import { errors } from '../errors.js';
import { sha256Hex, TOKEN_PREFIX } from './accounts.js';
import { isStateChanging, originMatches } from './origin.js';
import type { Principal } from './principal.js';
import { clearSessionCookie, readSessionId, resolveSession } from './sessions.js';
import { createTokenCache, credentialsEpoch } from './token-cache.js';
import type { TokenCache } from './token-cache.js';

/** last_used_at of a token is written at most once per this interval. */
export const TOKEN_TOUCH_INTERVAL_MS = 60_000;

const BEARER = /^Bearer +([A-Za-z0-9_-]{1,200})$/i;

type AuthDeps = Pick<AppDeps, 'config' | 'db' | 'clock' | 'logger'>;

/**
 * The principal of a bearer token, or undefined when the token authenticates nobody.
 * With a `cache`, a token that authenticated within its TTL is answered from memory
 * (see token-cache.ts); last_used_at is still written at most once per TOKEN_TOUCH_INTERVAL_MS.
 */
export async function principalFromToken(deps: AuthDeps, token: string, cache?: TokenCache): Promise<Principal | undefined> {
  if (!token.startsWith(TOKEN_PREFIX)) return undefined;
  const hash = sha256Hex(token);
  const now = deps.clock.now();
  const cached = cache?.get(hash, now);
  if (cached) {
    if (cached.lastUsedAt === null || now - cached.lastUsedAt >= TOKEN_TOUCH_INTERVAL_MS) {
      cached.lastUsedAt = now;
      await touchApiToken(deps.db.knex, cached.tokenId, now, TOKEN_TOUCH_INTERVAL_MS);
    }
    return cached.principal;
  }
  const epochBefore = credentialsEpoch();
  const found = await findActiveToken(deps.db.knex, hash);
  if (!found) return undefined;
  let lastUsedAt = found.lastUsedAt;
  if (lastUsedAt === null || now - lastUsedAt >= TOKEN_TOUCH_INTERVAL_MS) {
    await touchApiToken(deps.db.knex, found.tokenId, now, TOKEN_TOUCH_INTERVAL_MS);
    lastUsedAt = now;
  }
  // Frozen: one cached principal is shared by the requests of the TTL.
  const principal: Principal = Object.freeze({
    userId: found.user.id,
    username: found.user.username,
    role: found.user.role,
    queues: found.user.queues === null ? null : Object.freeze([...found.user.queues]),
    via: 'token' as const,
  });
  cache?.set(hash, { principal, tokenId: found.tokenId, lastUsedAt }, { now, epochBefore });
  return principal;
}

export function createAuthenticate(deps: AuthDeps, options: { tokenCache?: TokenCache } = {}): RequestHandler {
  const tokenCache = options.tokenCache ?? createTokenCache();
  return async (req, res, next) => {
    try {
      const authorization = req.get('authorization');
      if (authorization !== undefined) {
        const match = BEARER.exec(authorization.trim());
        const principal = match ? await principalFromToken(deps, match[1]!, tokenCache) : undefined;
        if (principal) req.principal = principal;
        else deps.logger.info({ requestId: req.id, method: req.method }, 'bearer credentials not accepted');
        return next();
      }
      const sessionId = readSessionId(req, deps.config);
      if (sessionId === undefined) return next();
      const session = await resolveSession(deps, sessionId);
      if (!session) {
        clearSessionCookie(req, res, deps.config);
        return next();
      }
      if (isStateChanging(req.method) && !originMatches(req, deps.config)) {
        deps.logger.warn(
          { requestId: req.id, user: session.user.username, method: req.method, path: req.path },
          'cross-origin state-changing request refused',
        );
        return next(errors.originMismatch());
      }
      req.sessionIdHash = session.idHash;
      req.principal = {
        userId: session.user.id,
        username: session.user.username,
        role: session.user.role,
        queues: session.user.queues,
        via: 'session',
      };
      next();
    } catch (error) {
      next(error);
    }
  };
}
