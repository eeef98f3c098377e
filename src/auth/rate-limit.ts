/**
 * Failure limiters per key (user + address, address), in memory: a sliding
 * window (`createFailureLimiter`) and an exponential backoff (`createBackoffLimiter`).
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

export function createFailureLimiter(options: {
  clock: Clock;
  maxFailures: number;
  windowMs: number;
  maxKeys?: number;
}): FailureLimiter {
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

/**
 * Exponential backoff per key: the first `freeFailures` failures cost nothing; from then
 * on the key must wait `baseDelayMs · 2^(failures − freeFailures)` (at most `maxDelayMs`)
 * after its latest failure before the next attempt. A key with no failure for
 * `forgetAfterMs` (longer than `maxDelayMs`, so that waiting out the longest delay does not
 * start the count over) is forgotten. It slows one key down without ever locking it for
 * longer than `maxDelayMs`. Memory is bounded by `maxKeys` (the least recently failed
 * keys are dropped first).
 */
export function createBackoffLimiter(options: {
  clock: Clock;
  freeFailures: number;
  baseDelayMs: number;
  maxDelayMs: number;
  forgetAfterMs: number;
  maxKeys?: number;
}): FailureLimiter {
  const maxKeys = options.maxKeys ?? 10_000;
  const entries = new Map<string, { failures: number; lastAt: number }>();

  const live = (key: string) => {
    const entry = entries.get(key);
    if (entry && options.clock.now() - entry.lastAt >= options.forgetAfterMs) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  };

  return {
    retryAfterMs(key) {
      const entry = live(key);
      if (!entry || entry.failures < options.freeFailures) return 0;
      const doublings = Math.min(entry.failures - options.freeFailures, 40);
      const delay = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** doublings);
      const wait = entry.lastAt + delay - options.clock.now();
      return wait > 0 ? Math.max(1, wait) : 0;
    },
    fail(key) {
      const entry = live(key) ?? { failures: 0, lastAt: 0 };
      entry.failures += 1;
      entry.lastAt = options.clock.now();
      entries.delete(key);
      entries.set(key, entry);
      while (entries.size > maxKeys) entries.delete(entries.keys().next().value!);
    },
    reset(key) {
      entries.delete(key);
    },
    forgive(key) {
      const entry = entries.get(key);
      if (!entry) return;
      entry.failures -= 1;
      if (entry.failures <= 0) entries.delete(key);
    },
  };
}
