/**
 * What every benchmark returns: result rows, each a spread (min / median / max) over its runs,
 * beside the raw baseline measured in the same run where there is one.
 *
 * A benchmark plugs in by exporting a `Bench` and pushing it in `bench/benches.ts`; it builds
 * its rows with `rowFromRuns` (bench/spread.ts) from one sample per run.
 */

/** min / median / max of the samples of a figure (one sample per run). */
export interface Spread {
  min: number;
  median: number;
  max: number;
}

/** One figure of the results file and of the table. */
export interface ResultRow extends Spread {
  /** e.g. "ingest wall per 5-min call (fs, c=1)" */
  name: string;
  /** e.g. "ms", "MB", "calls/s" */
  unit: string;
  /** How many samples the spread is over: runs, or calls where the note says so (1: a single measurement). */
  runs?: number;
  /** The raw operation measured in the same run, in the same unit, e.g. "ffmpeg transcode ∥ raw put". */
  baseline?: Spread & { name: string };
  /** median / baseline median, or as the benchmark defines it (say so in `note`). */
  ratio?: number;
  /** Human target, e.g. "≤ 1.3×" (on the ratio) or "≤ 150 MB" (on the median). */
  target?: string;
  /** Whether the target was met, when there is one. */
  met?: boolean;
  note?: string;
}

export interface BenchContext {
  /** Scratch directory removed after the run. */
  tmpDir: string;
  /** Reports progress (drawn as a progress line). */
  progress(message: string, fraction?: number): void;
  /** Real servers started by scripts/bench (same variables as the tests), and the BENCH_* knobs. */
  env: Readonly<Record<string, string | undefined>>;
  /** Runs per figure (BENCH_RUNS, default 5): each row's spread is over this many samples. */
  runs: number;
  /** Seed of every random input (BENCH_SEED, default 1): the same seed gives the same inputs. */
  seed: number;
}

export interface Bench {
  name: string;
  run(ctx: BenchContext): Promise<ResultRow[]>;
}
