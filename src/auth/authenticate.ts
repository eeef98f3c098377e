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
import type { SessionWithUser } from '../db/sessions.js';
import type { Principal } from './principal.js';
import { oidcServiceFor } from './oidc.js';
import { clearSessionCookie, endSession, readSessionId, resolveSession } from './sessions.js';

/** last_used_at of a token is written at most once per this interval. */
export const TOKEN_TOUCH_INTERVAL_MS = 60_000;

declare module 'express-serve-static-core' {
  interface Request {
    /** Set instead of `principal` for a session that has not finished signing in (see SessionStage). */
    signInStep?: { stage: 'code' | 'enrol'; user: SessionWithUser['user'] };
  }
}

const BEARER = /^Bearer +([A-Za-z0-9_-]{1,200})$/i;

type AuthDeps = Pick<AppDeps, 'config' | 'db' | 'clock' | 'logger'>;
// A session signed in through the identity provider is re-checked there (src/auth/oidc.ts) once
// its last check is CALLREC_SESSION_IDLE old; a failed check ends it before the request is judged.

/**
 * The principal of a bearer token, or undefined when the token authenticates nobody.
 * Looked up in the database on every request (never cached), so a revocation or a
 * disabled user takes effect at the next request, whichever process made the change;
 * last_used_at is written at most once per TOKEN_TOUCH_INTERVAL_MS.
 */
export async function principalFromToken(deps: AuthDeps, token: string): Promise<Principal | undefined> {
  if (!token.startsWith(TOKEN_PREFIX)) return undefined;
  const found = await findActiveToken(deps.db.knex, sha256Hex(token));
  if (!found) return undefined;
  const now = deps.clock.now();
  if (found.lastUsedAt === null || now - found.lastUsedAt >= TOKEN_TOUCH_INTERVAL_MS) {
    await touchApiToken(deps.db.knex, found.tokenId, now, TOKEN_TOUCH_INTERVAL_MS);
  }
  return {
    userId: found.user.id,
    username: found.user.username,
    role: found.user.role,
    queues: found.user.queues,
    agentId: found.user.role === 'agent' ? found.user.agentId : null,
    via: 'token',
  };
}

export function createAuthenticate(deps: AuthDeps): RequestHandler {
  return async (req, res, next) => {
    try {
      const authorization = req.get('authorization');
      if (authorization !== undefined) {
        const match = BEARER.exec(authorization.trim());
        const principal = match ? await principalFromToken(deps, match[1]!) : undefined;
        if (principal) req.principal = principal;
        else deps.logger.info({ requestId: req.id, method: req.method }, 'bearer credentials not accepted');
        return next();
      }
      const sessionId = readSessionId(req, deps.config);
      if (sessionId === undefined) return next();
      let session = await resolveSession(deps, sessionId);
      if (session && session.stage === 'full' && session.oidcCheckedAt !== null) {
        // Signed in through the identity provider: confirm the user there again once the last check is idle-old.
        if (deps.clock.now() - session.oidcCheckedAt >= deps.config.session.idleMs) {
          const service = oidcServiceFor(deps);
          const ok = service
            ? await service.recheck({ idHash: session.idHash, userId: session.user.id, requestId: req.id })
            : false;
          if (!ok) await endSession(deps, session.idHash);
          session = ok ? await resolveSession(deps, sessionId) : undefined;
        }
      }
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
      if (session.stage !== 'full') {
        // Password passed, second factor not yet: no principal, so every guarded route refuses.
        req.signInStep = { stage: session.stage, user: session.user };
        return next();
      }
      req.principal = {
        userId: session.user.id,
        username: session.user.username,
        role: session.user.role,
        queues: session.user.queues,
        agentId: session.user.role === 'agent' ? session.user.agentId : null,
        via: 'session',
      };
      next();
    } catch (error) {
      next(error);
    }
  };
}
