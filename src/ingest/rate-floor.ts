/**
 * The minimum rate a request body must arrive at, so that a client that sends a
 * few bytes and stalls cannot hold a place (a temp folder, an unverified slot, a
 * transcode ticket) for minutes.
 *
 * Contract:
 * - Time is counted only while the server waits for the client's next bytes: while
 *   it is not reading (its own disk or parser applying backpressure), the client is
 *   not to blame and the meter stands still.
 * - During the first `graceMs` of that time nothing is judged. From then on, the bytes
 *   that arrived during the last `graceMs` (or up to an eighth more: the window moves in
 *   steps) must come to `bytesPerSecond` over that window.
 * - `bytesPerSecond <= 0` turns the floor off.
 */
import type { Clock } from '../clock.js';

export interface RateFloorOptions {
  bytesPerSecond: number;
  graceMs: number;
}

export interface RateFloor {
  /** Counts bytes that arrived. */
  add(bytes: number): void;
  /** False once, at `elapsedMs` of waiting time (never decreasing), the body is behind the floor. */
  ok(elapsedMs: number): boolean;
}

/** The pure judgement of a body's arrival rate over a sliding window of `graceMs`. */
export function createRateFloor(options: RateFloorOptions): RateFloor {
  let total = 0;
  let latest = 0;
  // (elapsed, total bytes) samples at least `step` apart (bounded: about 9 in a window);
  // once judged, the first is at or before `latest - graceMs`.
  const step = Math.max(1, options.graceMs / 8);
  const samples: Array<{ at: number; bytes: number }> = [{ at: 0, bytes: 0 }];
  return {
    add(bytes) {
      total += bytes;
    },
    ok(elapsedMs) {
      if (options.bytesPerSecond <= 0) return true;
      latest = Math.max(latest, elapsedMs);
      if (latest - samples[samples.length - 1]!.at >= step) samples.push({ at: latest, bytes: total });
      if (latest < options.graceMs) return true;
      const from = latest - options.graceMs;
      while (samples.length > 1 && samples[1]!.at <= from) samples.shift();
      const base = samples[0]!;
      return (total - base.bytes) * 1000 >= options.bytesPerSecond * (latest - base.at);
    },
  };
}

/** Runs `tick` every `everyMs` until the returned function is called. */
export type Scheduler = (tick: () => void, everyMs: number) => () => void;

const intervalScheduler: Scheduler = (tick, everyMs) => {
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return () => clearInterval(timer);
};

/**
 * Passes the chunks of `source` on, and throws `tooSlow()` instead as soon as they
 * arrive slower than the floor: checked on every chunk, and every tick (at most one
 * second, a quarter of the grace) while waiting for one, so a client that stalls
 * completely is refused too. It never calls `source.return()` (the caller decides
 * what happens to the request).
 */
export async function* meteredBody(
  source: AsyncIterable<Buffer>,
  options: { floor: RateFloorOptions; clock: Clock; tooSlow: () => Error; schedule?: Scheduler },
): AsyncGenerator<Buffer> {
  const iterator = source[Symbol.asyncIterator]();
  const floor = createRateFloor(options.floor);
  const { clock } = options;
  let waited = 0;
  let waitingSince: number | undefined;
  // Rejects the wait in progress. A fresh promise per wait: racing every chunk against one
  // long-lived promise would keep every chunk reachable until the body ends.
  let trip: ((error: Error) => void) | undefined;
  const enabled = options.floor.bytesPerSecond > 0;
  const cancel = enabled
    ? (options.schedule ?? intervalScheduler)(
        () => {
          if (waitingSince !== undefined && !floor.ok(waited + Math.max(0, clock.now() - waitingSince)))
            trip?.(options.tooSlow());
        },
        Math.max(1, Math.min(1000, Math.floor(options.floor.graceMs / 4))),
      )
    : () => undefined;
  try {
    for (;;) {
      waitingSince = clock.now();
      const next = await new Promise<IteratorResult<Buffer>>((resolve, reject) => {
        trip = reject;
        iterator.next().then(resolve, reject);
      });
      trip = undefined;
      waited += Math.max(0, clock.now() - waitingSince);
      waitingSince = undefined;
      if (next.done) return;
      floor.add(next.value.length);
      if (!floor.ok(waited)) throw options.tooSlow();
      yield next.value;
    }
  } finally {
    cancel();
  }
}
