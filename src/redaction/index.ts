/**
 * What other features use from redaction: the router, and the finishing step crash recovery runs
 * for a redaction whose process died after it took effect. Features import redaction only through
 * this file (lint: eslint.config.js).
 */
export { createRedactionRouter } from './redaction-routes.js';
export { finishRedaction, parsePendingRedaction } from './finish.js';
export type { PendingRedaction } from './finish.js';
export { REDACTION_STEPS, redactRecording } from './redact.js';
export type { RedactionStep } from './redact.js';
export { redactionBodySchema } from './schemas.js';
