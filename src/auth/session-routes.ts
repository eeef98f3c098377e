/**
 * Sign in and out: `POST /v1/session`, `GET /v1/session`, `DELETE /v1/session`.
 *
 * Wrong username, wrong password and disabled user give the same 401
 * `invalid_credentials` after the same scrypt work. Failed logins are limited in
 * memory of this process (see rate-limit.ts), never per username alone, so that
 * nobody can lock another user (the admin included) out from elsewhere:
 * - per username + client address (LOGIN_LIMITS.perUserAddress): an exponential
 *   backoff after a few free failures, capped;
 * - per client address across usernames (LOGIN_LIMITS.perAddress), a sliding window.
 * Waiting → 429 `rate_limited` with Retry-After, before any password is checked.
 * The client address is `req.ip`: the peer, or the `X-Forwarded-For` address
 * behind the proxies of CALLREC_TRUSTED_PROXIES (Express `trust proxy`, set in
 * app.ts); a forwarded header from any other peer is ignored. Each
 * attempt is counted as a failure before its password is checked (and taken
 * back when it succeeds), so parallel guesses cannot overrun the limit. Every login
 * attempt is logged with username, IP and request id, never the password.
 */
import { Router } from 'express';
import type { Request } from 'express';
import { z } from 'zod';
import type { AppDeps } from '../deps.js';
import { findUserCredentials } from '../db/users.js';
import { errors } from '../errors.js';
import { sha256Hex, USERNAME_PATTERN } from './accounts.js';
import { originMatches } from './origin.js';
import { dummyVerify, prepareDummyHash, verifyPassword } from './passwords.js';
import { stageAfterPassword } from './mfa.js';
import { createSecondFactorRouter } from './mfa-routes.js';
import { oidcServiceFor } from './oidc.js';
import { createOidcRouter } from './oidc-routes.js';
import { localLoginAllowed } from './local-login.js';
import { logSecurityEvent } from './security-log.js';
import { createBackoffLimiter, createFailureLimiter } from './rate-limit.js';
import { clearSessionCookie, createSession, endSession, readSessionId, setSessionCookie } from './sessions.js';

export const LOGIN_LIMITS = {
  /**
   * One username from one address: 5 failures are free, then each further one doubles the
   * wait (1 s, 2 s, 4 s, … at most 15 min); forgotten after an hour without failure.
   */
  perUserAddress: { freeFailures: 5, baseDelayMs: 1_000, maxDelayMs: 15 * 60_000, forgetAfterMs: 60 * 60_000 },
  /** Failures per client address, any usernames, within the window before 429 (offices share one address). */
  perAddress: 20,
  windowMs: 15 * 60_000,
} as const;

export const loginBody = z.object({
  username: z.string().min(1).max(256),
  password: z.string().min(1).max(1024),
});

export function clientIp(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

export function createSessionRouter(deps: AppDeps): Router {
  const router = Router();
  prepareDummyHash();
  const perUserAddress = createBackoffLimiter({ clock: deps.clock, ...LOGIN_LIMITS.perUserAddress });
  const perAddress = createFailureLimiter({
    clock: deps.clock,
    maxFailures: LOGIN_LIMITS.perAddress,
    windowMs: LOGIN_LIMITS.windowMs,
  });

  router.post('/v1/session', async (req, res) => {
    const parsed = loginBody.safeParse(req.body);
    if (!parsed.success) throw errors.invalidRequest('Send {"username": "...", "password": "..."} as JSON');
    const { username, password } = parsed.data;
    // A login form posted from another site (login CSRF) names a foreign origin; clients without one (curl) pass.
    if (req.get('origin') !== undefined && !originMatches(req, deps.config)) throw errors.originMismatch();

    const ip = clientIp(req);
    const userKey = `${username.toLowerCase().slice(0, 64)}\u0000${ip}`;
    const log = { requestId: req.id, username: username.slice(0, 64), ip };
    const waitMs = Math.max(perUserAddress.retryAfterMs(userKey), perAddress.retryAfterMs(ip));
    if (waitMs > 0) {
      deps.metrics.logins.inc({ outcome: 'rate_limited' });
      deps.logger.warn(log, 'login rate limited');
      throw errors.rateLimited(Math.ceil(waitMs / 1000));
    }

    // Counted before any await: concurrent attempts see each other.
    perUserAddress.fail(userKey);
    perAddress.fail(ip);
    const credentials = USERNAME_PATTERN.test(username) ? await findUserCredentials(deps.db.knex, username) : undefined;
    const ok = credentials ? await verifyPassword(password, credentials.passwordHash) : await dummyVerify(password);
    if (!credentials || !ok || credentials.user.disabled) {
      const reason = !credentials ? 'unknown_user' : !ok ? 'wrong_password' : 'disabled';
      deps.metrics.logins.inc({ outcome: 'invalid_credentials' });
      deps.logger.warn({ ...log, reason }, 'login failed');
      if (credentials) {
        await logSecurityEvent(deps, {
          action: 'sign_in_failed',
          user: credentials.user,
          requestId: req.id,
          detail: { method: 'password', reason, ip },
        });
      }
      throw errors.invalidCredentials();
    }
    const { user } = credentials;
    if (!localLoginAllowed(deps.config, user.role)) {
      // CALLREC_LOCAL_LOGIN: people sign in through the identity provider; the password is not even judged aloud.
      deps.metrics.logins.inc({ outcome: 'invalid_credentials' });
      deps.logger.warn({ ...log, reason: 'local_login_off' }, 'login failed');
      throw errors.invalidCredentials();
    }

    perUserAddress.reset(userKey);
    perAddress.forgive(ip);
    const previous = readSessionId(req, deps.config);
    if (previous !== undefined) await endSession(deps, sha256Hex(previous));
    const stage = await stageAfterPassword(deps, user);
    const sessionId = await createSession(deps, user.id, stage);
    setSessionCookie(req, res, deps.config, sessionId);
    if (stage !== 'full') {
      deps.logger.info({ ...log, role: user.role, next: stage }, 'password accepted, second factor awaited');
      res.status(200).json({ next: stage, user: { username: user.username } });
      return;
    }
    deps.metrics.logins.inc({ outcome: 'success' });
    deps.logger.info({ ...log, role: user.role }, 'login succeeded');
    await logSecurityEvent(deps, { action: 'sign_in', user, requestId: req.id, detail: { method: 'password', ip } });
    res.status(200).json({ user: { username: user.username, role: user.role, queues: user.queues } });
  });

  router.use(createSecondFactorRouter(deps));
  router.use(createOidcRouter(deps));

  router.get('/v1/session', (req, res) => {
    const principal = req.principal;
    if (!principal && req.signInStep) throw errors.secondFactorRequired(req.signInStep.stage);
    if (!principal) throw errors.unauthenticated();
    res.setHeader('Cache-Control', 'no-store');
    res.json({
      user: {
        username: principal.username,
        role: principal.role,
        queues: principal.queues,
        // Agents only: the agent whose evaluations they read (the web pages filter by it).
        ...(principal.role === 'agent' ? { agentId: principal.agentId } : {}),
      },
      via: principal.via,
    });
  });

  router.delete('/v1/session', async (req, res) => {
    let logoutUrl: string | undefined;
    if (req.sessionIdHash !== undefined) {
      // Signed in through the identity provider: the browser goes on to its end-session URL (RP-initiated logout).
      const service = oidcServiceFor(deps);
      if (service && req.principal) {
        const origin = deps.config.publicUrl
          ? new URL(deps.config.publicUrl).origin
          : `${req.protocol}://${req.get('host')}`;
        logoutUrl = await service.logoutUrl({
          idHash: req.sessionIdHash,
          userId: req.principal.userId,
          postLogoutRedirectUri: `${origin}/login`,
        });
      }
      await endSession(deps, req.sessionIdHash);
      deps.logger.info({ requestId: req.id, username: req.principal?.username, ip: clientIp(req) }, 'logout');
    }
    clearSessionCookie(req, res, deps.config);
    if (logoutUrl !== undefined) {
      res.status(200).json({ logoutUrl });
      return;
    }
    res.status(204).end();
  });

  return router;
}
