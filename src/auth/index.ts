/**
 * What other features use from auth: the route guards, queue scoping and the username rule.
 * Features import auth only through this file (lint: eslint.config.js, layering). Role and
 * Principal live in src/domain/roles.ts.
 */
export { USERNAME_PATTERN } from './accounts.js';
export { canSeeQueue, createGuards } from './guard.js';
