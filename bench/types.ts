/** The shape every benchmark returns: a figure beside a raw baseline measured in the same run. */
export interface Figure {
  /** e.g. "ingest (fs, c=1)" */
  name: string;
  value: number;
  unit: string;
  /** The raw operation measured in the same run, e.g. "ffmpeg alone + PutObject". */
  baseline?: { name: string; value: number };
  /** value / baseline.value, or as the benchmark defines it (say so in `note`). */
  ratio?: number;
  /** Human target, e.g. "≤ 1.15×". */
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
  /** Real servers started by scripts/bench (same variables as the tests). */
  env: Readonly<Record<string, string | undefined>>;
}

export interface Bench {
  name: string;
  run(ctx: BenchContext): Promise<Figure[]>;
}
