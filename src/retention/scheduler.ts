/**
 * A periodic in-process job: runs `run` every `intervalMs` ± jitter, never
 * overlapping itself (the next run is scheduled only after the previous one
 * finished), and `stop()` aborts the current run's signal and resolves when it
 * has returned. A failing run is logged and the schedule continues.
 *
 * Deadlines: a run may return when work next falls due (`nextDueAt`, epoch ms by
 * the injected clock), and `wakeAt(ms)` may announce one at any time (a new
 * recording's deadline, a released hold). The next run then starts `settleMs`
 * after the earliest known due time, but never sooner than `settleMs` after the
 * previous run ended, and never later than the jittered interval: deadlines that
 * fall together go in one run, a run that leaves work due now does not spin, and
 * the interval stays the upper bound for anything the job was not told about.
 */
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import type { Logger } from '../logger.js';

export interface PeriodicJob {
  /** Resolves once no run is in progress and none will start. Idempotent. */
  stop(): Promise<void>;
  /** Starts a run now unless one is in progress; resolves when it has finished. */
  runNow(): Promise<void>;
  /** Work falls due at `atMs`: run then (see the module comment) if that is before the next planned run. */
  wakeAt(atMs: number): void;
}

/** What a run may tell the scheduler. */
export interface RunOutcome {
  /** When work next falls due (epoch ms); null or absent: nothing known, the interval applies. */
  nextDueAt?: number | null;
}

/** The timer functions the scheduler uses; tests inject manual ones. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Node's timers, unref'd (a pending run never keeps the process alive). */
export const systemTimers: Timers = {
  setTimeout(callback, ms) {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return timer;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

/**
 * The longest delay Node's setTimeout honours (about 24.8 days; a longer one fires after
 * 1 ms). A longer wait is cut to this: the run then happens early, which is harmless.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Default coalescing window after a deadline (see the module comment). */
export const DEFAULT_SETTLE_MS = 250;

/**
 * When the next run should start (epoch ms): the interval after `lastEndAt`, or `settleMs`
 * after the earliest due time (but at least `settleMs` after `lastEndAt`), whichever is first.
 */
export function nextRunAt(options: {
  lastEndAt: number;
  intervalMs: number;
  dueAt: number | null | undefined;
  settleMs: number;
}): number {
  const { lastEndAt, intervalMs, dueAt, settleMs } = options;
  const byInterval = lastEndAt + intervalMs;
  if (dueAt === null || dueAt === undefined || !Number.isFinite(dueAt)) return byInterval;
  return Math.min(byInterval, Math.max(dueAt, lastEndAt) + settleMs);
}

/** The timer delay for a run at `atMs`: never negative, never above MAX_TIMER_MS. */
export function timerDelay(atMs: number, now: number): number {
  return Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil(atMs - now)));
}

export function startPeriodicJob(options: {
  name: string;
  intervalMs: number;
  /** Fraction of the interval added or removed at random (default 0.1). */
  jitter?: number;
  /** Delay before the first run (default: a jittered interval); `wakeAt` may bring it forward. */
  initialDelayMs?: number;
  run: (signal: AbortSignal) => Promise<RunOutcome | void>;
  logger: Logger;
  random?: () => number;
  /** Coalescing window after a due time (default DEFAULT_SETTLE_MS). */
  settleMs?: number;
  clock?: Clock;
  timers?: Timers;
}): PeriodicJob {
  const random = options.random ?? Math.random;
  const jitter = options.jitter ?? 0.1;
  const settleMs = options.settleMs ?? DEFAULT_SETTLE_MS;
  const clock = options.clock ?? systemClock;
  const timers = options.timers ?? systemTimers;
  const controller = new AbortController();
  let timer: unknown;
  let current: Promise<void> | undefined;
  let stopped = false;
  /** The plan for the next run: the end of the previous one, its jittered interval, the earliest due time known. */
  let lastEndAt = clock.now();
  let intervalMs = 0;
  let dueAt: number | undefined;
  /** Due times announced while a run was in progress (it may have read the database before them). */
  let dueDuringRun: number | undefined;
  let plannedAt = Number.POSITIVE_INFINITY;

  const jittered = () => Math.max(0, Math.round(options.intervalMs * (1 + jitter * (2 * random() - 1))));
  const earliest = (a: number | undefined, b: number | null | undefined) =>
    b === null || b === undefined ? a : a === undefined ? b : Math.min(a, b);

  function arm() {
    if (stopped || current) return;
    const at = nextRunAt({ lastEndAt, intervalMs, dueAt, settleMs });
    if (timer !== undefined) timers.clearTimeout(timer);
    plannedAt = at;
    timer = timers.setTimeout(
      () => {
        timer = undefined;
        void runOnce();
      },
      timerDelay(at, clock.now()),
    );
  }

  const runOnce = (): Promise<void> => {
    if (current) return current;
    if (timer !== undefined) timers.clearTimeout(timer);
    timer = undefined;
    plannedAt = Number.POSITIVE_INFINITY;
    dueAt = undefined;
    current = (async () => {
      let outcome: RunOutcome | void = undefined;
      try {
        // Yield first: even a run that throws synchronously finishes after `current` is set.
        await Promise.resolve();
        outcome = await options.run(controller.signal);
      } catch (error) {
        if (!controller.signal.aborted) {
          options.logger.error(
            { job: options.name, err: { name: (error as Error)?.name, code: (error as { code?: unknown })?.code } },
            'background job failed',
          );
        }
      } finally {
        current = undefined;
        lastEndAt = clock.now();
        intervalMs = jittered();
        dueAt = earliest(dueDuringRun, outcome ? outcome.nextDueAt : undefined);
        dueDuringRun = undefined;
        arm();
      }
    })();
    return current;
  };

  intervalMs = options.initialDelayMs ?? jittered();
  arm();

  return {
    async stop() {
      stopped = true;
      if (timer !== undefined) timers.clearTimeout(timer);
      timer = undefined;
      controller.abort();
      await current;
    },
    runNow: () => (stopped ? Promise.resolve() : runOnce()),
    wakeAt(atMs) {
      if (stopped || !Number.isFinite(atMs)) return;
      if (current) {
        dueDuringRun = earliest(dueDuringRun, atMs);
        return;
      }
      const before = plannedAt;
      dueAt = earliest(dueAt, atMs);
      if (nextRunAt({ lastEndAt, intervalMs, dueAt, settleMs }) < before) arm();
    },
  };
}
