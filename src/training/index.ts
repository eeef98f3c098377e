/**
 * What other features use of training: the expiry of evaluations (background job and `callrec sweep`) and the
 * access rules the agent role extends. Features import training only through this file.
 */
export { countExpiredEvaluationsAt, expireEvaluations } from './expiry.js';
export { evaluationScope } from './access.js';
export { ensureScorecardRollup } from './scorecard-rollup.js';
