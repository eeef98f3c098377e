/**
 * A sliding-window failure counter per key (username, IP), in memory.
 *
 * In memory means per process: with several instances behind a balancer each
 * counts on its own, so the effective limit is multiplied by the instance
 * count; a restart forgets. Memory is bounded by `maxKeys` (the least recently
 * failed keys are dropped first).
 */
import type { Clock } from '../clock.js';

export interface FailureLimiter {
  /** Milliseconds until `key` may try again; 0 when it may try now. */
  retryAfterMs(key: string): number;
  /** Records a failure of `key` now. */
  fail(key: string): void;
  /** Forgets `key`'s failures (after a success). */
  reset(key: string): void;
  /** Takes back the most recent failure of `key` (an attempt counted up front that succeeded). */
  forgive(key: string): void;
}

export function createFailureLimiter(options: { clock: Clock; maxFailures: number; windowMs: number; maxKeys?: number }): FailureLimiter {
  const maxKeys = options.maxKeys ?? 10_000;
  const failures = new Map<string, number[]>();

  const recent = (key: string): number[] => {
    const now = options.clock.now();
    const list = (failures.get(key) ?? []).filter((at) => at > now - options.windowMs);
    if (list.length === 0) failures.delete(key);
    else failures.set(key, list);
    return list;
  };

  return {
    retryAfterMs(key) {
      const list = recent(key);
      if (list.length < options.maxFailures) return 0;
      const oldestCounted = list[list.length - options.maxFailures]!;
      return Math.max(1, oldestCounted + options.windowMs - options.clock.now());
    },
    fail(key) {
      const list = recent(key);
      list.push(options.clock.now());
      if (list.length > options.maxFailures) list.splice(0, list.length - options.maxFailures);
      failures.delete(key);
      failures.set(key, list);
      while (failures.size > maxKeys) failures.delete(failures.keys().next().value!);
    },
    reset(key) {
      failures.delete(key);
    },
    forgive(key) {
      const list = failures.get(key);
      list?.pop();
      if (list?.length === 0) failures.delete(key);
    },
  };
}
