/**
 * Who may do what with forms and evaluations: the one place the training routes ask. Anything a
 * principal may not see is answered exactly like an evaluation that does not exist (404), as for
 * recordings. Role-level refusals are 403 (the route guards).
 *
 * - admin: manages forms; reads every evaluation (drafts and calibration included).
 * - trainer: evaluates visible recordings of their queues; reads the evaluations of their queues,
 *   but another trainer's drafts never, and other trainers' calibration evaluations of a call only
 *   once they submitted their own calibration evaluation of it (blind).
 * - auditor, privacy: no evaluation route (403).
 * The `agent` role (issue #20, helper scorecard) extends `evaluationScope`, `RESPOND_ROLES` and
 * `canRespond`: an agent reads only their own calls' submitted/acknowledged/disputed,
 * non-calibration evaluations, and responds to their own submitted ones.
 */
import type { EvaluationRecord, EvaluationScope } from '../db/evaluations.js';
import type { Principal, Role } from '../domain/roles.js';

/** Who creates forms and their new versions. */
export const FORM_ADMIN_ROLES: Role[] = ['admin'];
/** Who reads forms (to fill them in, or to read an evaluation against its questions). */
export const FORM_READ_ROLES: Role[] = ['trainer', 'admin'];
/** Who evaluates calls and reads the calibration view. */
export const EVALUATE_ROLES: Role[] = ['trainer', 'admin'];
/** Who reads evaluations (each one further limited by `evaluationScope`). */
export const EVALUATION_READ_ROLES: Role[] = ['trainer', 'admin'];
/** Who acknowledges or disputes an evaluation: the agent role (added with it). */
export const RESPOND_ROLES: Role[] = [];

/** The evaluations `principal` may read, as a database scope (for one evaluation and for lists alike). */
export function evaluationScope(principal: Principal): EvaluationScope {
  switch (principal.role) {
    case 'admin':
      return { queues: null, viewer: null };
    case 'trainer':
      return { queues: principal.queues, viewer: principal.username };
    default:
      return { queues: [], viewer: principal.username };
  }
}

/** True when `principal` may change `evaluation`: its evaluator (a draft only: else 409, decided by the caller). */
export function canEditEvaluation(principal: Principal, evaluation: Pick<EvaluationRecord, 'evaluator'>): boolean {
  return principal.username === evaluation.evaluator;
}

/** True when `principal` may acknowledge or dispute `evaluation` (visible to them already). */
export function canRespond(_principal: Principal, _evaluation: Pick<EvaluationRecord, 'agentId'>): boolean {
  return false;
}
