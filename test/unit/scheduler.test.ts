/**
 * The periodic job's arming: when the next run starts, given the interval, the due times a
 * run reports and the deadlines announced with `wakeAt`. Manual clock and timers: no real
 * waiting (test/support/timers.ts).
 */
import { expect } from 'chai';
import { createLogger } from '../../src/logger.js';
import { MAX_TIMER_MS, nextRunAt, startPeriodicJob, timerDelay } from '../../src/retention/scheduler.js';
import type { PeriodicJob, RunOutcome } from '../../src/retention/scheduler.js';
import { createManualTimers } from '../support/timers.js';
import type { ManualTimers } from '../support/timers.js';

const T0 = Date.UTC(2026, 5, 1);
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const silent = createLogger({ level: 'silent' });

describe('periodic job arming', () => {
  let timers: ManualTimers;
  let job: PeriodicJob | undefined;
  let runs: number[];

  /** A job with a 1-minute interval, no jitter, first run after 5 s, 250 ms settle; `outcome` answers each run. */
  function start(
    outcome: (run: number) => RunOutcome | void | Promise<RunOutcome | void>,
    overrides: Partial<Parameters<typeof startPeriodicJob>[0]> = {},
  ) {
    job = startPeriodicJob({
      name: 'test',
      intervalMs: MINUTE,
      jitter: 0,
      initialDelayMs: 5 * SECOND,
      settleMs: 250,
      logger: silent,
      clock: timers.clock,
      timers,
      run: async () => {
        runs.push(timers.clock.now() - T0);
        return outcome(runs.length);
      },
      ...overrides,
    });
  }

  beforeEach(() => {
    timers = createManualTimers(T0);
    runs = [];
  });

  afterEach(async () => {
    await job?.stop();
    job = undefined;
  });

  it('when a run reports work due before the interval, then the next run starts settleMs after that due time', async () => {
    start((n) => ({ nextDueAt: n === 1 ? T0 + 20 * SECOND : null }));
    await timers.advance(5 * SECOND);
    expect(runs).to.deep.equal([5 * SECOND]);
    expect(timers.pending()).to.deep.equal([T0 + 20 * SECOND + 250]);
    await timers.advance(16 * SECOND);
    expect(runs).to.deep.equal([5 * SECOND, 20 * SECOND + 250]);
  });

  it('when the next due time lies beyond the interval, then the interval bounds the wait', async () => {
    start(() => ({ nextDueAt: T0 + 10 * MINUTE }));
    await timers.advance(5 * SECOND);
    expect(timers.pending()).to.deep.equal([T0 + 5 * SECOND + MINUTE]);
  });

  it('when a run reports nothing due (or fails), then the next run comes after the interval', async () => {
    start((n) => {
      if (n === 2) throw new Error('database unavailable');
      return { nextDueAt: null };
    });
    await timers.advance(5 * SECOND);
    expect(timers.pending()).to.deep.equal([T0 + 5 * SECOND + MINUTE]);
    await timers.advance(MINUTE);
    expect(runs).to.have.length(2);
    expect(timers.pending()).to.deep.equal([T0 + 5 * SECOND + 2 * MINUTE]);
  });

  it('when work is still due after a run, then runs follow settleMs apart instead of spinning', async () => {
    start(() => ({ nextDueAt: T0 }));
    await timers.advance(6 * SECOND);
    expect(runs).to.deep.equal([5000, 5250, 5500, 5750, 6000]);
  });

  it('when many deadlines fall together, then one run takes them all', async () => {
    // The store of due times, as the database would answer after each run.
    const deadlines = Array.from({ length: 100 }, (_, i) => T0 + 30 * SECOND + i); // 100 deadlines within 0.1 s
    let handled = 0;
    start(() => {
      handled = deadlines.filter((d) => d <= timers.clock.now()).length;
      const next = deadlines.find((d) => d > timers.clock.now());
      return { nextDueAt: next ?? null };
    });
    await timers.advance(31 * SECOND);
    expect(runs).to.deep.equal([5 * SECOND, 30 * SECOND + 250]);
    expect(handled).to.equal(100);
  });

  it('when a deadline is announced while idle, then an earlier one brings the run forward and a later one changes nothing', async () => {
    start(() => ({ nextDueAt: null }));
    await timers.advance(5 * SECOND);
    job!.wakeAt(T0 + 10 * MINUTE);
    expect(timers.pending()).to.deep.equal([T0 + 5 * SECOND + MINUTE]);
    job!.wakeAt(T0 + 7 * SECOND);
    expect(timers.pending()).to.deep.equal([T0 + 7 * SECOND + 250]);
    job!.wakeAt(T0 + 9 * SECOND);
    expect(timers.pending()).to.deep.equal([T0 + 7 * SECOND + 250]);
    await timers.advance(3 * SECOND);
    expect(runs).to.deep.equal([5 * SECOND, 7 * SECOND + 250]);
  });

  it('when a deadline already past is announced (a released hold), then the run starts at once', async () => {
    start(() => ({ nextDueAt: null }));
    await timers.advance(20 * SECOND);
    job!.wakeAt(T0 - MINUTE);
    expect(timers.pending()).to.deep.equal([T0 + 20 * SECOND]);
    await timers.advance(0);
    expect(runs).to.deep.equal([5 * SECOND, 20 * SECOND]);
  });

  it('when a deadline is announced during a run, then it is kept for after the run even when the run reports a later one', async () => {
    let release!: () => void;
    start((n) =>
      n === 1
        ? new Promise<RunOutcome>((resolve) => {
            release = () => resolve({ nextDueAt: T0 + 50 * SECOND });
          })
        : { nextDueAt: null },
    );
    await timers.advance(5 * SECOND);
    expect(runs).to.have.length(1);
    job!.wakeAt(T0 + 8 * SECOND);
    expect(timers.pending()).to.deep.equal([]);
    await timers.advance(SECOND);
    release();
    await timers.settle();
    expect(timers.pending()).to.deep.equal([T0 + 8 * SECOND + 250]);
  });

  it('when the next run lies beyond what setTimeout can wait, then the timer is cut to MAX_TIMER_MS', async () => {
    start(() => ({ nextDueAt: null }), { intervalMs: 60 * 24 * 60 * MINUTE });
    await timers.advance(5 * SECOND);
    expect(timers.pending()).to.deep.equal([T0 + 5 * SECOND + MAX_TIMER_MS]);
  });

  it('when the interval has jitter, then it applies to the interval only, never to a deadline wake', async () => {
    start(() => ({ nextDueAt: T0 + 10 * SECOND }), { jitter: 0.1, random: () => 1 });
    await timers.advance(5 * SECOND);
    expect(timers.pending()).to.deep.equal([T0 + 10 * SECOND + 250]);
    await timers.advance(5 * SECOND + 250);
    // Now both runs reported a due time in the past: interval +10 % is 66 s, the settle rule wins.
    expect(timers.pending()).to.deep.equal([T0 + 10 * SECOND + 500]);
  });

  it('when stopped, then no timer stays armed and announced deadlines are ignored', async () => {
    start(() => ({ nextDueAt: T0 + 20 * SECOND }));
    await timers.advance(5 * SECOND);
    await job!.stop();
    job!.wakeAt(T0 + 6 * SECOND);
    expect(timers.pending()).to.deep.equal([]);
    await timers.advance(MINUTE);
    expect(runs).to.have.length(1);
  });

  describe('nextRunAt / timerDelay', () => {
    const base = { lastEndAt: 1000, intervalMs: 60_000, settleMs: 250 };
    for (const [dueAt, expected, why] of [
      [null, 61_000, 'nothing due: the interval'],
      [30_000, 30_250, 'due before the interval: settle after it'],
      [500, 1250, 'due before the last run ended: settle after that end'],
      [61_000, 61_000, 'due at the interval: the interval'],
      [Number.NaN, 61_000, 'not a time: the interval'],
    ] as const) {
      it(`when ${why}, then ${expected}`, () => {
        expect(nextRunAt({ ...base, dueAt })).to.equal(expected);
      });
    }

    it('when the run time is past, then the delay is 0; when far ahead, it is cut to MAX_TIMER_MS', () => {
      expect(timerDelay(900, 1000)).to.equal(0);
      expect(timerDelay(1000.2, 1000)).to.equal(1);
      expect(timerDelay(1000 + 40 * 86_400_000, 1000)).to.equal(MAX_TIMER_MS);
    });
  });
});
