/**
 * A periodic in-process job: runs `run` every `intervalMs` ± jitter, never
 * overlapping itself (the next run is scheduled only after the previous one
 * finished), and `stop()` aborts the current run's signal and resolves when it
 * has returned. A failing run is logged and the schedule continues.
 */
import type { Logger } from '../logger.js';

export interface PeriodicJob {
  /** Resolves once no run is in progress and none will start. Idempotent. */
  stop(): Promise<void>;
  /** Starts a run now unless one is in progress; resolves when it has finished. */
  runNow(): Promise<void>;
}

export function startPeriodicJob(options: {
  name: string;
  intervalMs: number;
  /** Fraction of the interval added or removed at random (default 0.1). */
  jitter?: number;
  /** Delay before the first run (default: a jittered interval). */
  initialDelayMs?: number;
  run: (signal: AbortSignal) => Promise<void>;
  logger: Logger;
  random?: () => number;
}): PeriodicJob {
  const random = options.random ?? Math.random;
  const jitter = options.jitter ?? 0.1;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> | undefined;
  let stopped = false;

  const delay = () => Math.max(0, Math.round(options.intervalMs * (1 + jitter * (2 * random() - 1))));

  const runOnce = (): Promise<void> => {
    if (current) return current;
    current = (async () => {
      try {
        await options.run(controller.signal);
      } catch (error) {
        if (!controller.signal.aborted) {
          options.logger.error({ job: options.name, err: { name: (error as Error)?.name, code: (error as { code?: unknown })?.code } }, 'background job failed');
        }
      } finally {
        current = undefined;
        schedule(delay());
      }
    })();
    return current;
  };

  function schedule(ms: number) {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void runOnce(), ms);
    timer.unref();
  }

  schedule(options.initialDelayMs ?? delay());

  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      controller.abort();
      await current;
    },
    runNow: () => (stopped ? Promise.resolve() : runOnce()),
  };
}
