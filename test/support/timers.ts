/**
 * Manual timers over a manual clock, for schedulers that take `clock` and `timers`:
 * `advance(ms)` moves the clock forward and fires every timer that falls due on the way,
 * in order, letting the work each one starts finish (promise jobs and I/O callbacks)
 * before moving on. Nothing waits for real time.
 */
import { createManualClock } from '../../src/clock.js';
import type { Timers } from '../../src/retention/scheduler.js';

export interface ManualTimers extends Timers {
  clock: ReturnType<typeof createManualClock>;
  /** Due times (epoch ms) of the pending timers, earliest first. */
  pending(): number[];
  /** Moves time forward by `ms`, firing what falls due. */
  advance(ms: number): Promise<void>;
  /** Lets started work finish without moving time. */
  settle(): Promise<void>;
}

const flush = async () => {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

export function createManualTimers(start: number): ManualTimers {
  const clock = createManualClock(start);
  let nextId = 0;
  const timers = new Map<number, { at: number; callback: () => void }>();
  return {
    clock,
    setTimeout(callback, ms) {
      const id = ++nextId;
      timers.set(id, { at: clock.now() + Math.max(0, ms), callback });
      return id;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    pending: () => [...timers.values()].map((t) => t.at).sort((a, b) => a - b),
    async advance(ms) {
      const end = clock.now() + ms;
      await flush();
      for (;;) {
        const due = [...timers.entries()]
          .filter(([, t]) => t.at <= end)
          .sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0];
        if (!due) break;
        timers.delete(due[0]);
        clock.set(Math.max(clock.now(), due[1].at));
        due[1].callback();
        await flush();
      }
      clock.set(end);
    },
    settle: flush,
  };
}
