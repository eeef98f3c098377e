/**
 * Small pure helpers every benchmark uses: spreads over runs, percentiles, the seeded PRNG
 * and the BENCH_* knobs. No I/O.
 */
import type { BenchContext, ResultRow, Spread } from './types.js';

/** min / median / max of `samples` (median of an even count: the mean of the middle two). */
export function spreadOf(samples: readonly number[]): Spread {
  if (samples.length === 0) throw new RangeError('a spread needs at least one sample');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { min: sorted[0]!, median, max: sorted[sorted.length - 1]! };
}

/** The p-th percentile (0–100) of ascending `sorted` samples (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** The numeric bound of a target such as `≤ 1.15×`, `>= 0.9x`, `< 2`; undefined when there is none. */
export function targetBound(target: string | undefined): { op: '<=' | '>='; value: number } | undefined {
  if (!target) return undefined;
  const match = /(≤|<=|<|≥|>=|>)\s*([0-9]+(?:\.[0-9]+)?)/.exec(target);
  if (!match) return undefined;
  return { op: match[1] === '≤' || match[1] === '<=' || match[1] === '<' ? '<=' : '>=', value: Number(match[2]) };
}

/** Whether `target` bounds the ratio (its number is followed by `×` or `x`) rather than the value. */
export const targetOnRatio = (target: string | undefined): boolean => /[0-9]\s*[×x]/.test(target ?? '');

/**
 * A result row from one sample per run. `ratio` defaults to median / baseline median; `met`
 * is decided on the ratio when the target is written with `×`, on the median otherwise.
 */
export function rowFromRuns(options: {
  name: string;
  unit: string;
  samples: readonly number[];
  baseline?: { name: string; samples: readonly number[] };
  ratio?: number;
  target?: string;
  note?: string;
}): ResultRow {
  const spread = spreadOf(options.samples);
  const baseline = options.baseline
    ? { name: options.baseline.name, ...spreadOf(options.baseline.samples) }
    : undefined;
  const ratio = options.ratio ?? (baseline ? spread.median / baseline.median : undefined);
  const bound = targetBound(options.target);
  const judged = targetOnRatio(options.target) ? ratio : spread.median;
  const met =
    bound && judged !== undefined ? (bound.op === '<=' ? judged <= bound.value : judged >= bound.value) : undefined;
  return {
    name: options.name,
    unit: options.unit,
    ...spread,
    runs: options.samples.length,
    ...(baseline ? { baseline } : {}),
    ...(ratio === undefined ? {} : { ratio }),
    ...(options.target ? { target: options.target } : {}),
    ...(met === undefined ? {} : { met }),
    ...(options.note ? { note: options.note } : {}),
  };
}

/** The seeded PRNG of tests and benchmarks (one implementation: test/support/random.ts). */
export { seededRandom } from '../test/support/random.js';

/** A whole-number BENCH_* knob (≥ `min`, default `fallback`); a bad value stops the bench naming it. */
export function intKnob(env: BenchContext['env'], name: string, fallback: number, min = 1): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`${name} expects a whole number ≥ ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

/** A comma-list BENCH_* knob restricted to `known` (default: all of them). */
export function listKnob<T extends string>(env: BenchContext['env'], name: string, known: readonly T[]): T[] {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return [...known];
  const picked = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = picked.filter((p) => !known.includes(p as T));
  if (unknown.length) throw new Error(`${name}: unknown ${unknown.join(', ')}; known: ${known.join(', ')}`);
  return picked as T[];
}
