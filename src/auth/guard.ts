/**
 * Route guards: the one place that decides who may call a route.
 * `requireRole(...roles)` answers 401 without a principal and 403 for a role
 * not listed (and logs the refusal without credentials). A session that has passed the password
 * but not the second factor (or must enrol one first) has no principal: every guarded route
 * answers it 403 `second_factor_required`.
 */
import type { RequestHandler } from 'express';
import { errors } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Principal, Role } from './principal.js';

export function createGuards(deps: { logger: Logger }) {
  return {
    requireRole(...roles: Role[]): RequestHandler {
      return (req, _res, next) => {
        const principal = req.principal;
        if (!principal && req.signInStep) {
          deps.logger.info(
            {
              requestId: req.id,
              user: req.signInStep.user.username,
              stage: req.signInStep.stage,
              path: req.baseUrl + req.path,
            },
            'request of an unfinished sign-in refused',
          );
          return next(errors.secondFactorRequired(req.signInStep.stage));
        }
        if (!principal) {
          deps.logger.info(
            { requestId: req.id, method: req.method, path: req.baseUrl + req.path },
            'unauthenticated request refused',
          );
          return next(errors.unauthenticated());
        }
        if (!roles.includes(principal.role)) {
          deps.logger.warn(
            {
              requestId: req.id,
              user: principal.username,
              role: principal.role,
              method: req.method,
              path: req.baseUrl + req.path,
            },
            'authorization refused',
          );
          return next(errors.forbidden());
        }
        next();
      };
    },
  };
}

/** True when the principal may see recordings of `queue` (trainers may be limited to queues). */
export function canSeeQueue(principal: Principal, queue: string | null): boolean {
  if (principal.role !== 'trainer' || principal.queues === null) return true;
  return queue !== null && principal.queues.includes(queue);
}

/**
 * The queues a principal's recording queries must be limited to: the trainer's
 * queue list, or null for every queue (unscoped trainers and every other role).
 * An empty list means no queue at all (the query must return nothing).
 */
export function queueScope(principal: Principal): readonly string[] | null {
  return principal.role === 'trainer' ? principal.queues : null;
}
