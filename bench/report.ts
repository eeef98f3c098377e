/**
 * Pure rendering of benchmark results: the results file's shape, the Markdown table printed
 * by `npm run bench` and put in the README by `npm run bench -- --markdown`, the SVG bar
 * chart of the ratios, and the progress line. No I/O here; `bench/main.ts` reads and writes.
 */
import { targetBound, targetOnRatio } from './spread.js';
import type { ResultRow } from './types.js';

export { targetBound } from './spread.js';

export type BenchRow = ResultRow & { bench: string };

export interface BenchFailure {
  bench: string;
  error: string;
}

/** The machine a run was measured on. */
export interface Machine {
  cpuModel: string;
  cores: number;
  ramBytes: number;
  node: string;
  platform: string;
  /** 1-minute load average when the run started (a busy machine gives noisy figures). */
  loadAverage: number;
}

/** What one `npm run bench` writes to `bench/results/<resultsFileName>`. */
export interface BenchResults {
  format: 'callrec-bench/1';
  /** ISO time the run started. */
  date: string;
  durationSeconds: number;
  machine: Machine;
  /** Runs per figure, seed, and every BENCH_* knob set for the run. */
  settings: { runs: number; seed: number; knobs: Record<string, string> };
  benches: string[];
  rows: BenchRow[];
  failures: BenchFailure[];
}

export const RESULTS_FORMAT = 'callrec-bench/1';
const RESULTS_FILE = /^bench-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:-\d{3})?Z\.json$/;

/** `bench-2026-11-30T12-00-00-000Z.json`: sorts by time. */
export function resultsFileName(date: Date): string {
  return `bench-${date.toISOString().replace(/[:.]/g, '-')}.json`;
}

/** The newest results file among `names` (by the time in its name), or undefined. */
export function latestResultsFile(names: readonly string[]): string | undefined {
  return names
    .filter((n) => RESULTS_FILE.test(n))
    .sort()
    .at(-1);
}

/** Parses a results file, refusing anything of another format. */
export function parseResults(text: string): BenchResults {
  const parsed = JSON.parse(text) as Partial<BenchResults>;
  if (parsed.format !== RESULTS_FORMAT || !Array.isArray(parsed.rows))
    throw new Error(`not a ${RESULTS_FORMAT} results file`);
  return parsed as BenchResults;
}

/** Compact number formatting: 3 significant digits below 100, integers above. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 100) return n.toFixed(0);
  if (abs >= 1) return n.toFixed(2);
  if (abs === 0) return '0';
  return n.toPrecision(3);
}

const holds = (bound: { op: '<=' | '>='; value: number }, x: number) =>
  bound.op === '<=' ? x <= bound.value : x >= bound.value;

/**
 * The target bound when it constrains the figure's ratio (drawn as a tick on the
 * ratio chart), or undefined when it constrains the value itself (`≤ 150 MB`,
 * `≥ 400× realtime`). Decided by which reading reproduces the figure's `met`
 * verdict; when both or neither do, a bound written with `×` is taken as a ratio.
 */
export function ratioTarget(f: ResultRow): { op: '<=' | '>='; value: number } | undefined {
  const bound = targetBound(f.target);
  if (!bound || f.ratio === undefined) return undefined;
  if (f.met !== undefined) {
    const byRatio = holds(bound, f.ratio) === f.met;
    const byValue = holds(bound, f.median) === f.met;
    if (byRatio !== byValue) return byRatio ? bound : undefined;
  }
  return targetOnRatio(f.target) ? bound : undefined;
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const spreadCell = (s: { min: number; median: number; max: number }, unit: string) =>
  s.min === s.max
    ? `${formatNumber(s.median)} ${cell(unit)}`
    : `${formatNumber(s.min)} / **${formatNumber(s.median)}** / ${formatNumber(s.max)} ${cell(unit)}`;

/**
 * The Markdown table: one row per figure with min / **median** / max over its runs, the
 * baseline's the same way, the ratio, the target and whether it is met; then one line per
 * failed bench and the notes.
 */
export function renderTable(rows: readonly BenchRow[], failures: readonly BenchFailure[] = []): string {
  const lines = [
    '| benchmark | figure | min / **median** / max | runs | baseline | baseline min / **median** / max | ratio | target | met |',
    '|---|---|---:|---:|---|---:|---:|---|---|',
  ];
  for (const f of rows) {
    lines.push(
      `| ${cell(f.bench)} | ${cell(f.name)} | ${spreadCell(f, f.unit)} | ${f.runs ?? '—'} | ${cell(f.baseline?.name ?? '—')} | ${
        f.baseline ? spreadCell(f.baseline, f.unit) : '—'
      } | ${f.ratio === undefined ? '—' : `${formatNumber(f.ratio)}×`} | ${cell(f.target ?? '—')} | ${f.met === undefined ? '—' : f.met ? 'yes' : '**no**'} |`,
    );
  }
  for (const failure of failures)
    lines.push(`| ${cell(failure.bench)} | FAILED: ${cell(failure.error)} | — | — | — | — | — | — | **no** |`);
  const notes = rows.filter((f) => f.note).map((f) => `- ${f.bench} · ${f.name}: ${f.note}`);
  return `${lines.join('\n')}\n${notes.length ? `\n${notes.join('\n')}\n` : ''}`;
}

/** "Intel(R) Xeon(R) … · 2 cores · 7.8 GiB RAM · Node v20.19.0 · linux · load 0.42" */
export function describeMachine(m: Machine): string {
  return `${m.cpuModel} · ${m.cores} cores · ${(m.ramBytes / 1024 ** 3).toFixed(1)} GiB RAM · Node ${m.node} · ${m.platform} · 1-min load ${m.loadAverage.toFixed(2)} at start`;
}

export const README_START = '<!-- bench-table:start -->';
export const README_END = '<!-- bench-table:end -->';

/** The README's benchmark block (between the markers, markers excluded) for one results file. */
export function renderMarkdownSection(results: BenchResults, options: { source?: string } = {}): string {
  const date = results.date.replace('T', ' ').replace(/:\d{2}(\.\d+)?Z$/, ' UTC');
  const head = [
    `Generated by \`npm run bench -- --markdown\` from ${options.source ? `\`${options.source}\`` : 'a results file'}: run of ${date} (${Math.round(results.durationSeconds / 60)} min, benches: ${results.benches.join(', ') || 'none'}).`,
    `Machine: ${describeMachine(results.machine)}. Each figure: min / **median** / max over its runs (${results.settings.runs} per figure unless the runs column says otherwise), seed ${results.settings.seed}${
      Object.keys(results.settings.knobs).length
        ? `, knobs ${Object.entries(results.settings.knobs)
            .map(([k, v]) => `\`${k}=${v}\``)
            .join(' ')}`
        : ''
    }.`,
  ];
  return `${head.join('\n')}\n\n${renderTable(results.rows, results.failures)}`;
}

/** `text` with what lies between the README markers replaced by `block`; throws when a marker is missing. */
export function replaceMarkedBlock(text: string, block: string): string {
  const start = text.indexOf(README_START);
  const end = text.indexOf(README_END);
  if (start < 0 || end < start) throw new Error(`the markers ${README_START} … ${README_END} are missing`);
  return `${text.slice(0, start + README_START.length)}\n${block.trimEnd()}\n${text.slice(end)}`;
}

const escapeXml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * A horizontal bar chart (SVG) of every figure that has a ratio: one bar per
 * figure, a dashed line at 1× (parity with the baseline), a tick at the
 * target's bound, green when the target is met, red when missed, grey when
 * there is no target (a target on the value itself gets no tick).
 */
export function renderRatioChart(
  figures: readonly BenchRow[],
  options: { title?: string; generatedAt?: string } = {},
): string {
  const rows = figures.filter((f) => f.ratio !== undefined && Number.isFinite(f.ratio));
  const labelWidth = 340;
  const plotWidth = 480;
  const rowHeight = 26;
  const top = 56;
  const height = top + Math.max(rows.length, 1) * rowHeight + 40;
  const width = labelWidth + plotWidth + 90;
  const maxValue = Math.max(1.2, ...rows.map((f) => f.ratio!), ...rows.map((f) => ratioTarget(f)?.value ?? 0)) * 1.1;
  const x = (v: number) => labelWidth + (Math.max(0, v) / maxValue) * plotWidth;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="16" y="24" font-size="16" font-weight="bold">${escapeXml(options.title ?? 'callrec benchmarks: value / baseline')}</text>`,
  ];
  if (options.generatedAt) parts.push(`<text x="16" y="42" fill="#666">${escapeXml(options.generatedAt)}</text>`);
  if (rows.length === 0) parts.push(`<text x="16" y="${top + 18}" fill="#666">no figure with a ratio</text>`);
  rows.forEach((f, i) => {
    const y = top + i * rowHeight;
    const color = f.met === undefined ? '#8a8f98' : f.met ? '#2e8b57' : '#c0392b';
    parts.push(
      `<text x="${labelWidth - 8}" y="${y + 17}" text-anchor="end">${escapeXml(`${f.bench} · ${f.name}`)}</text>`,
    );
    parts.push(
      `<rect x="${labelWidth}" y="${y + 4}" width="${(x(f.ratio!) - labelWidth).toFixed(1)}" height="${rowHeight - 8}" fill="${color}"><title>${escapeXml(`${f.name}: ${formatNumber(f.ratio!)}×${f.target ? ` (target ${f.target})` : ''}`)}</title></rect>`,
    );
    parts.push(
      `<text x="${(x(f.ratio!) + 6).toFixed(1)}" y="${y + 17}">${escapeXml(`${formatNumber(f.ratio!)}×`)}</text>`,
    );
    const bound = ratioTarget(f);
    if (bound)
      parts.push(
        `<line x1="${x(bound.value).toFixed(1)}" x2="${x(bound.value).toFixed(1)}" y1="${y + 1}" y2="${y + rowHeight - 1}" stroke="#222" stroke-width="2"/>`,
      );
  });
  const axisY = top + Math.max(rows.length, 1) * rowHeight;
  parts.push(
    `<line x1="${x(1).toFixed(1)}" x2="${x(1).toFixed(1)}" y1="${top - 4}" y2="${axisY}" stroke="#555" stroke-dasharray="4 3"/>`,
  );
  parts.push(`<line x1="${labelWidth}" x2="${labelWidth + plotWidth}" y1="${axisY}" y2="${axisY}" stroke="#555"/>`);
  for (const tick of [0, 0.5, 1, 1.5, 2, 3, 5, 10, 20, 50, 100].filter((t) => t <= maxValue)) {
    parts.push(`<text x="${x(tick).toFixed(1)}" y="${axisY + 16}" text-anchor="middle" fill="#555">${tick}×</text>`);
  }
  parts.push(
    `<text x="${labelWidth}" y="${axisY + 32}" fill="#666">dashed: 1× (as fast as the raw baseline) · black tick: target</text>`,
  );
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** One progress line: `[3/5 ingest] [########............] 40%  message  (12s)`. */
export function renderProgress(options: {
  index: number;
  total: number;
  bench: string;
  message: string;
  fraction?: number;
  elapsedMs: number;
  width?: number;
}): string {
  const barWidth = 24;
  const fraction = options.fraction === undefined ? undefined : Math.min(1, Math.max(0, options.fraction));
  const bar =
    fraction === undefined
      ? ''
      : `[${'#'.repeat(Math.round(fraction * barWidth)).padEnd(barWidth, '.')}] ${String(Math.round(fraction * 100)).padStart(3)}%  `;
  const line = `[${options.index}/${options.total} ${options.bench}] ${bar}${options.message}  (${Math.round(options.elapsedMs / 1000)}s)`;
  const width = options.width ?? 100;
  return line.length > width ? `${line.slice(0, width - 1)}…` : line;
}
