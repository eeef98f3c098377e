/**
 * The in-process background jobs (retention sweeper, reconciler, checkpoints).
 * Placeholder until the retention work lands: `stop()` resolves when every job
 * has finished its current run.
 */
import type { AppDeps } from './deps.js';

export interface BackgroundJobs {
  stop(): Promise<void>;
}

export function startBackgroundJobs(_deps: AppDeps): BackgroundJobs {
  return { stop: async () => {} };
}
