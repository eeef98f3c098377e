/**
 * Sign-in through the identity provider (mounted by the session router; see oidc.ts):
 *
 * - `GET /v1/session/providers` (public): `{localLogin, oidc: {name, loginUrl} | null}`, what
 *   the login page offers.
 * - `GET /v1/session/oidc/login?next=/path`: starts a flow and redirects (302) to the provider;
 *   sets the flow cookie (HttpOnly, SameSite=Lax so that it comes back with the provider's
 *   redirect, 10 minutes). 404 when OIDC is not configured.
 * - `GET /v1/session/oidc/callback`: the provider's redirect. Success → a full session cookie
 *   and 302 to `/signin-done?next=…` (a same-site page that moves on, so that the SameSite=Strict
 *   session cookie is sent); failure → 302 to `/login?error=sso`, nothing else told (the reason
 *   is logged).
 */
import { Router } from 'express';
import type { Request, Response } from 'express';
import type { AppDeps } from '../deps.js';
import { errors } from '../errors.js';
import { OidcSignInError, oidcServiceFor } from './oidc.js';
import {
  clearSessionCookie,
  createSession,
  endSession,
  isSecureRequest,
  parseCookies,
  readSessionId,
  setSessionCookie,
} from './sessions.js';
import { setOidcSessionState } from '../db/oidc.js';
import { sha256Hex } from './accounts.js';

const FLOW_COOKIE = 'callrec_oidc';
const SECURE_FLOW_COOKIE = '__Host-callrec-oidc';
const FLOW_ID = /^[A-Za-z0-9_-]{43}$/;

/** A same-site path to go on to after sign-in; anything else becomes /recordings. */
export function safeNextPath(value: unknown): string {
  return typeof value === 'string' &&
    /^\/(?!\/)[^\\]*$/.test(value) &&
    value.length <= 1024 &&
    !value.startsWith('/login')
    ? value
    : '/recordings';
}

export function createOidcRouter(deps: AppDeps): Router {
  const router = Router();

  const origin = (req: Request) =>
    deps.config.publicUrl ? new URL(deps.config.publicUrl).origin : `${req.protocol}://${req.get('host')}`;
  const redirectUri = (req: Request) => `${origin(req)}/v1/session/oidc/callback`;
  const flowCookieName = (req: Request) => (isSecureRequest(req, deps.config) ? SECURE_FLOW_COOKIE : FLOW_COOKIE);
  const flowCookie = (req: Request, value: string, maxAge: number) =>
    [
      `${flowCookieName(req)}=${value}`,
      'Path=/',
      `Max-Age=${maxAge}`,
      'HttpOnly',
      'SameSite=Lax',
      ...(isSecureRequest(req, deps.config) ? ['Secure'] : []),
    ].join('; ');
  const ip = (req: Request) => req.ip ?? req.socket.remoteAddress ?? 'unknown';

  router.get('/v1/session/providers', (_req, res) => {
    const service = oidcServiceFor(deps);
    res.setHeader('Cache-Control', 'no-store');
    res.json({
      localLogin: deps.config.localLogin,
      oidc: service ? { name: service.name, loginUrl: '/v1/session/oidc/login' } : null,
    });
  });

  router.get('/v1/session/oidc/login', async (req, res) => {
    const service = oidcServiceFor(deps);
    if (!service) throw errors.notFound('Identity provider');
    const { url, flowId } = await service.begin({
      redirectUri: redirectUri(req),
      nextPath: safeNextPath(req.query.next),
    });
    res.append('Set-Cookie', flowCookie(req, flowId, 600));
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(302, url);
  });

  router.get('/v1/session/oidc/callback', async (req, res: Response) => {
    const service = oidcServiceFor(deps);
    if (!service) throw errors.notFound('Identity provider');
    const flowId = parseCookies(req.get('cookie')).get(flowCookieName(req));
    res.append('Set-Cookie', flowCookie(req, '', 0));
    res.setHeader('Cache-Control', 'no-store');
    const callbackUrl = new URL(redirectUri(req));
    callbackUrl.search = new URL(req.originalUrl, 'http://callback.invalid').search;
    try {
      const { user, nextPath, sealedTokens } = await service.finish({
        flowId: flowId !== undefined && FLOW_ID.test(flowId) ? flowId : undefined,
        callbackUrl,
        requestId: req.id,
        ip: ip(req),
      });
      const previous = readSessionId(req, deps.config);
      if (previous !== undefined) await endSession(deps, sha256Hex(previous));
      const sessionId = await createSession(deps, user.id, 'full');
      await setOidcSessionState(deps.db.knex, sha256Hex(sessionId), { sealedTokens, checkedAt: deps.clock.now() });
      setSessionCookie(req, res, deps.config, sessionId);
      deps.metrics.logins.inc({ outcome: 'success' });
      deps.logger.info(
        { requestId: req.id, username: user.username, role: user.role, ip: ip(req), method: 'oidc' },
        'login succeeded',
      );
      res.redirect(302, `/signin-done?${new URLSearchParams({ next: nextPath })}`);
    } catch (error) {
      if (!(error instanceof OidcSignInError)) throw error;
      deps.metrics.logins.inc({ outcome: 'invalid_credentials' });
      const cause = error.cause as { name?: string; code?: string; message?: string } | undefined;
      deps.logger.warn(
        {
          requestId: req.id,
          ip: ip(req),
          reason: error.reason,
          err: cause ? { name: cause.name, code: cause.code, message: cause.message?.slice(0, 200) } : undefined,
        },
        'login through the identity provider failed',
      );
      clearSessionCookie(req, res, deps.config);
      res.redirect(302, `/login?${new URLSearchParams({ error: error.reason === 'no_role' ? 'sso-no-role' : 'sso' })}`);
    }
  });

  return router;
}
