/** Placeholder router; the feature's work replaces it. */
import { Router } from 'express';
import type { AppDeps } from '../deps.js';

export function createAuditRouter(_deps: AppDeps): Router {
  return Router();
}
