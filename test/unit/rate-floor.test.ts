import { expect } from 'chai';
import { createManualClock } from '../../src/clock.js';
import { createRateFloor, meteredBody } from '../../src/ingest/rate-floor.js';
import type { RateFloorOptions, Scheduler } from '../../src/ingest/rate-floor.js';

const KIB = 1024;

/** The floor of the issue (32 KiB/s after 10 s), with overrides. */
function floorOptions(overrides: Partial<RateFloorOptions> = {}): RateFloorOptions {
  return { bytesPerSecond: 32 * KIB, graceMs: 10_000, ...overrides };
}

/** A scheduler the test ticks by hand. */
function manualScheduler(): Scheduler & { tick(): void; readonly active: number } {
  const ticks = new Set<() => void>();
  const schedule: Scheduler = (tick) => {
    ticks.add(tick);
    return () => {
      ticks.delete(tick);
    };
  };
  // defineProperties, not Object.assign: the getter must stay a getter.
  return Object.defineProperties(schedule, {
    tick: { value: () => ticks.forEach((tick) => tick()) },
    active: { get: () => ticks.size },
  }) as Scheduler & { tick(): void; readonly active: number };
}

/** A source the test feeds chunk by chunk; `next()` waits until a chunk or the end is pushed. */
function feedableSource() {
  const queue: Array<Buffer | null> = [];
  let wake: (() => void) | undefined;
  return {
    push(chunk: Buffer | null) {
      queue.push(chunk);
      wake?.();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
        const chunk = queue.shift()!;
        if (chunk === null) return;
        yield chunk;
      }
    },
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('ingest rate floor', () => {
  it('when less than the grace has passed, then nothing is judged, however little arrived', () => {
    const floor = createRateFloor(floorOptions());
    expect(floor.ok(0)).to.equal(true);
    expect(floor.ok(9_999)).to.equal(true);
  });

  it('when the grace has passed and the window held less than the floor, then not ok; at the floor, ok', () => {
    const slow = createRateFloor(floorOptions());
    slow.add(320 * KIB - 1);
    expect(slow.ok(10_000)).to.equal(false);
    const enough = createRateFloor(floorOptions());
    enough.add(320 * KIB);
    expect(enough.ok(10_000)).to.equal(true);
  });

  it('when a body arrives in a burst and then stalls, then it is judged by the last window, not by its average', () => {
    const floor = createRateFloor(floorOptions());
    floor.add(10 * 1024 * KIB); // 10 MiB at once: far above the floor on average for minutes
    for (let at = 0; at <= 11_250; at += 1_250) expect(floor.ok(at), `at ${at} ms`).to.equal(at < 11_250);
  });

  it('when a body keeps arriving at the floor for a long time, then it stays ok', () => {
    const floor = createRateFloor(floorOptions());
    for (let at = 500; at <= 120_000; at += 500) {
      floor.add(16 * KIB);
      expect(floor.ok(at), `at ${at} ms`).to.equal(true);
    }
  });

  it('when the floor is 0, then nothing is ever too slow', () => {
    const floor = createRateFloor(floorOptions({ bytesPerSecond: 0 }));
    expect(floor.ok(3_600_000)).to.equal(true);
  });

  describe('meteredBody', () => {
    const tooSlow = () => new Error('too slow');

    it('when the client stalls past the grace, then the body fails with tooSlow at the next tick, though no byte arrives', async () => {
      const clock = createManualClock(1_000_000);
      const schedule = manualScheduler();
      const source = feedableSource();
      const chunks: Buffer[] = [];
      const reading = (async () => {
        for await (const chunk of meteredBody(source, { floor: floorOptions(), clock, tooSlow, schedule }))
          chunks.push(chunk);
      })();
      source.push(Buffer.alloc(10 * KIB));
      await settle();
      clock.advance(9_000);
      schedule.tick();
      await settle();
      clock.advance(1_001);
      schedule.tick();
      let failure: unknown;
      await reading.catch((error: unknown) => (failure = error));
      expect((failure as Error | undefined)?.message).to.equal('too slow');
      expect(chunks.map((c) => c.length)).to.deep.equal([10 * KIB]);
      expect(schedule.active, 'the ticker is cancelled').to.equal(0);
    });

    it('when time passes while the reader does not ask for bytes (backpressure), then the client is not charged for it', async () => {
      const clock = createManualClock(0);
      const schedule = manualScheduler();
      const source = feedableSource();
      const iterator = meteredBody(source, { floor: floorOptions(), clock, tooSlow, schedule });
      source.push(Buffer.alloc(KIB));
      source.push(Buffer.alloc(KIB));
      source.push(null);
      expect((await iterator.next()).value).to.have.length(KIB);
      clock.advance(60_000); // the reader is busy elsewhere for a minute
      schedule.tick();
      expect((await iterator.next()).value).to.have.length(KIB);
      expect((await iterator.next()).done).to.equal(true);
    });

    it('when a fast body arrives, then every chunk passes unchanged and the ticker stops at the end', async () => {
      const clock = createManualClock(0);
      const schedule = manualScheduler();
      const source = feedableSource();
      const sent = [Buffer.from('a'), Buffer.from('bc'), Buffer.from('def')];
      for (const chunk of sent) source.push(chunk);
      source.push(null);
      const got: Buffer[] = [];
      for await (const chunk of meteredBody(source, { floor: floorOptions(), clock, tooSlow, schedule }))
        got.push(chunk);
      expect(Buffer.concat(got).toString()).to.equal('abcdef');
      expect(schedule.active).to.equal(0);
    });
  });
});
