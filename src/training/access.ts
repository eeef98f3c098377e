/**
 * Who may do what with forms and evaluations: the one place the training routes ask. Anything a
 * principal may not see is answered exactly like an evaluation that does not exist (404), as for
 * recordings. Role-level refusals are 403 (the route guards).
 *
 * - admin: manages forms; reads every evaluation (drafts and calibration included).
 * - trainer: evaluates visible recordings of their queues; reads the evaluations of their queues,
 *   but another trainer's drafts never, and other trainers' calibration evaluations of a call only
 *   once they submitted their own calibration evaluation of it (blind).
 * - agent: reads only the evaluations of their own calls (`agent_id` = theirs) that reached them
 *   (submitted, acknowledged, disputed; never drafts, never calibration evaluations), and answers
 *   (acknowledges or disputes) their own submitted ones; any other evaluation is 404 to them. They
 *   read the forms too (the questions they were judged on: no personal data). An agent without an
 *   agent id sees nothing.
 * - auditor, privacy: no evaluation route (403).
 */
import type { EvaluationRecord, EvaluationScope } from '../db/evaluations.js';
import type { Principal, Role } from '../domain/roles.js';

/** Who creates forms and their new versions. */
export const FORM_ADMIN_ROLES: Role[] = ['admin'];
/** Who reads forms (to fill them in, or to read an evaluation against its questions). */
export const FORM_READ_ROLES: Role[] = ['trainer', 'admin', 'agent'];
/** Who evaluates calls and reads the calibration view. */
export const EVALUATE_ROLES: Role[] = ['trainer', 'admin'];
/** Who reads evaluations (each one further limited by `evaluationScope`). */
export const EVALUATION_READ_ROLES: Role[] = ['trainer', 'admin', 'agent'];
/** Who acknowledges or disputes an evaluation: agents (each only their own, `canRespond`). */
export const RESPOND_ROLES: Role[] = ['agent'];
/** What an agent sees of their evaluations: those the trainer submitted (and the agent may have answered). */
export const AGENT_STATUSES = ['submitted', 'acknowledged', 'disputed'] as const;

/** The evaluations `principal` may read, as a database scope (for one evaluation and for lists alike). */
export function evaluationScope(principal: Principal): EvaluationScope {
  switch (principal.role) {
    case 'admin':
      return { queues: null, viewer: null };
    case 'trainer':
      return { queues: principal.queues, viewer: principal.username };
    case 'agent':
      if (principal.agentId === null) return { queues: [], viewer: principal.username };
      return { queues: null, viewer: null, agentId: principal.agentId, statuses: AGENT_STATUSES, calibration: false };
    default:
      return { queues: [], viewer: principal.username };
  }
}

/** True when `principal` may change `evaluation`: its evaluator (a draft only: else 409, decided by the caller). */
export function canEditEvaluation(principal: Principal, evaluation: Pick<EvaluationRecord, 'evaluator'>): boolean {
  return principal.username === evaluation.evaluator;
}

/** True when `principal` may acknowledge or dispute `evaluation` (visible to them already). */
export function canRespond(principal: Principal, evaluation: Pick<EvaluationRecord, 'agentId'>): boolean {
  return principal.role === 'agent' && principal.agentId !== null && evaluation.agentId === principal.agentId;
}
