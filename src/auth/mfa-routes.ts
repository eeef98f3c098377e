/**
 * The second-factor steps of a local sign-in (mounted by the session router):
 *
 * - `POST /v1/session/code {code}`: a session at the code step (password passed) sends a TOTP
 *   code or a recovery code; right → the step session ends and a full session (new id, new
 *   cookie) begins: `{user}`; wrong → 401 `invalid_code`.
 * - `POST /v1/session/enrolment`: a session at the enrolment step, or any signed-in session
 *   without a factor, gets a new TOTP secret once: `{secret, otpauthUri, qrDataUrl}`.
 * - `POST /v1/session/enrolment/confirm {code}`: the first code confirms it → `{recoveryCodes,
 *   user}` (ten single-use codes, shown once); an enrolment-step session becomes a full one.
 *
 * Codes are rate-limited per user (CODE_LIMITS, in memory of this process like the login
 * limits): only someone who knows the password reaches these steps, so the limit cannot be
 * used to lock out a user from elsewhere. An attempt counts as a failure before it is checked
 * (and is taken back when right), so parallel guesses cannot overrun the limit. Every right and
 * wrong code is in the security log, never the code itself.
 */
import { Router } from 'express';
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { AppDeps } from '../deps.js';
import { findUserById } from '../db/users.js';
import { errors } from '../errors.js';
import { checkSecondFactor, confirmEnrolment, startEnrolment } from './mfa.js';
import { createFailureLimiter } from './rate-limit.js';
import { logSecurityEvent } from './security-log.js';
import { createSession, endSession, setSessionCookie } from './sessions.js';

export const CODE_LIMITS = {
  /** Wrong codes one user may send within `windowMs` before 429 `rate_limited`. */
  maxFailures: 5,
  windowMs: 15 * 60_000,
} as const;

const codeBody = z.object({ code: z.string().min(1).max(64) });

function ip(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

export function createSecondFactorRouter(deps: AppDeps): Router {
  const router = Router();
  const limiter = createFailureLimiter({ clock: deps.clock, ...CODE_LIMITS });

  const parseCode = (req: Request): string => {
    const parsed = codeBody.safeParse(req.body);
    if (!parsed.success) throw errors.invalidRequest('Send {"code": "..."} as JSON');
    return parsed.data.code;
  };

  /** Counts the attempt up front; 429 when the user has used up the limit. */
  const admit = (req: Request, userId: string, username: string): void => {
    const waitMs = limiter.retryAfterMs(userId);
    if (waitMs > 0) {
      deps.logger.warn({ requestId: req.id, username, ip: ip(req) }, 'second factor rate limited');
      throw errors.rateLimited(Math.ceil(waitMs / 1000));
    }
    limiter.fail(userId);
  };

  /** Ends the step session and starts a full one (a new id: the step's id never becomes a signed-in one). */
  const finishSignIn = async (req: Request, res: Response, userId: string): Promise<void> => {
    if (req.sessionIdHash !== undefined) await endSession(deps, req.sessionIdHash);
    setSessionCookie(req, res, deps.config, await createSession(deps, userId, 'full'));
  };

  router.post('/v1/session/code', async (req, res) => {
    const code = parseCode(req);
    const step = req.signInStep;
    if (!step) throw req.principal ? errors.conflict('signed in already') : errors.unauthenticated();
    if (step.stage !== 'code') throw errors.secondFactorRequired(step.stage);
    const user = step.user;
    admit(req, user.id, user.username);
    const passed = await checkSecondFactor(deps, user, code);
    if (!passed) {
      deps.metrics.logins.inc({ outcome: 'invalid_code' });
      deps.logger.warn({ requestId: req.id, username: user.username, ip: ip(req) }, 'second factor failed');
      await logSecurityEvent(deps, { action: 'code_failed', user, requestId: req.id, detail: { ip: ip(req) } });
      throw errors.invalidCode();
    }
    limiter.forgive(user.id);
    await finishSignIn(req, res, user.id);
    deps.metrics.logins.inc({ outcome: 'success' });
    deps.logger.info(
      { requestId: req.id, username: user.username, role: user.role, ip: ip(req), method: passed.method },
      'login succeeded',
    );
    if (passed.method === 'recovery') {
      await logSecurityEvent(deps, {
        action: 'recovery_used',
        user,
        requestId: req.id,
        detail: { left: passed.recoveryCodesLeft ?? 0, ip: ip(req) },
      });
    }
    await logSecurityEvent(deps, {
      action: 'sign_in',
      user,
      requestId: req.id,
      detail: { method: `password+${passed.method}`, ip: ip(req) },
    });
    res.status(200).json({
      user: { username: user.username, role: user.role, queues: user.queues },
      ...(passed.recoveryCodesLeft === undefined ? {} : { recoveryCodesLeft: passed.recoveryCodesLeft }),
    });
  });

  /** The user who may enrol: an enrolment-step session, or a signed-in session (not a token). */
  const enrollingUser = async (req: Request) => {
    if (req.signInStep?.stage === 'enrol') return req.signInStep.user;
    if (req.signInStep) throw errors.secondFactorRequired(req.signInStep.stage);
    if (!req.principal) throw errors.unauthenticated();
    if (req.principal.via !== 'session') throw errors.forbidden({ detail: 'enrol from a signed-in browser session' });
    const user = await findUserById(deps.db.knex, req.principal.userId);
    if (!user) throw errors.unauthenticated();
    return user;
  };

  router.post('/v1/session/enrolment', async (req, res) => {
    const user = await enrollingUser(req);
    const enrolment = await startEnrolment(deps, user);
    deps.logger.info({ requestId: req.id, username: user.username }, 'second factor enrolment started');
    res.setHeader('Cache-Control', 'no-store');
    res.status(200).json(enrolment);
  });

  router.post('/v1/session/enrolment/confirm', async (req, res) => {
    const code = parseCode(req);
    const user = await enrollingUser(req);
    admit(req, user.id, user.username);
    let recoveryCodes: string[];
    try {
      recoveryCodes = await confirmEnrolment(deps, user, code);
    } catch (error) {
      if ((error as { code?: string }).code === 'invalid_code') {
        deps.logger.warn({ requestId: req.id, username: user.username, ip: ip(req) }, 'enrolment code failed');
        await logSecurityEvent(deps, {
          action: 'code_failed',
          user,
          requestId: req.id,
          detail: { step: 'enrolment', ip: ip(req) },
        });
      }
      throw error;
    }
    limiter.forgive(user.id);
    deps.logger.info({ requestId: req.id, username: user.username }, 'second factor enrolled');
    await logSecurityEvent(deps, { action: 'mfa_enrolled', user, requestId: req.id, detail: { ip: ip(req) } });
    if (req.signInStep?.stage === 'enrol') {
      await finishSignIn(req, res, user.id);
      await logSecurityEvent(deps, {
        action: 'sign_in',
        user,
        requestId: req.id,
        detail: { method: 'password+totp', ip: ip(req) },
      });
    }
    res.setHeader('Cache-Control', 'no-store');
    res.status(200).json({ recoveryCodes, user: { username: user.username, role: user.role, queues: user.queues } });
  });

  return router;
}
