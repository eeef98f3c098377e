/**
 * Pure rendering of benchmark results: the Markdown table printed by
 * `npm run bench`, the SVG bar chart of the ratios, and the progress line.
 * No I/O here; `bench/main.ts` writes what these return.
 */
import type { Figure } from './types.js';

export type BenchFigure = Figure & { bench: string };

export interface BenchFailure {
  bench: string;
  error: string;
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

/** The numeric bound of a target such as `≤ 1.15×`, `>= 0.9x`, `< 2`; undefined when there is none. */
export function targetBound(target: string | undefined): { op: '<=' | '>='; value: number } | undefined {
  if (!target) return undefined;
  const match = /(≤|<=|<|≥|>=|>)\s*([0-9]+(?:\.[0-9]+)?)/.exec(target);
  if (!match) return undefined;
  return { op: match[1] === '≤' || match[1] === '<=' || match[1] === '<' ? '<=' : '>=', value: Number(match[2]) };
}

const holds = (bound: { op: '<=' | '>='; value: number }, x: number) => (bound.op === '<=' ? x <= bound.value : x >= bound.value);

/**
 * The target bound when it constrains the figure's ratio (drawn as a tick on the
 * ratio chart), or undefined when it constrains the value itself (`≤ 150 MB`,
 * `≥ 400× realtime`). Decided by which reading reproduces the figure's `met`
 * verdict; when both or neither do, a bound written with `×` is taken as a ratio.
 */
export function ratioTarget(f: Figure): { op: '<=' | '>='; value: number } | undefined {
  const bound = targetBound(f.target);
  if (!bound || f.ratio === undefined) return undefined;
  if (f.met !== undefined) {
    const byRatio = holds(bound, f.ratio) === f.met;
    const byValue = holds(bound, f.value) === f.met;
    if (byRatio !== byValue) return byRatio ? bound : undefined;
  }
  return /[0-9]\s*[×x]/.test(f.target ?? '') ? bound : undefined;
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The Markdown table of every figure beside its baseline and ratio, then one line per failed bench. */
export function renderTable(figures: readonly BenchFigure[], failures: readonly BenchFailure[] = []): string {
  const lines = [
    '| benchmark | figure | value | baseline | baseline value | ratio | target | met |',
    '|---|---|---:|---|---:|---:|---|---|',
  ];
  for (const f of figures) {
    lines.push(
      `| ${cell(f.bench)} | ${cell(f.name)} | ${formatNumber(f.value)} ${cell(f.unit)} | ${cell(f.baseline?.name ?? '—')} | ${
        f.baseline ? `${formatNumber(f.baseline.value)} ${cell(f.unit)}` : '—'
      } | ${f.ratio === undefined ? '—' : `${formatNumber(f.ratio)}×`} | ${cell(f.target ?? '—')} | ${f.met === undefined ? '—' : f.met ? 'yes' : '**no**'} |`,
    );
  }
  for (const failure of failures) lines.push(`| ${cell(failure.bench)} | FAILED: ${cell(failure.error)} | — | — | — | — | — | **no** |`);
  const notes = figures.filter((f) => f.note).map((f) => `- ${f.bench} · ${f.name}: ${f.note}`);
  return `${lines.join('\n')}\n${notes.length ? `\n${notes.join('\n')}\n` : ''}`;
}

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * A horizontal bar chart (SVG) of every figure that has a ratio: one bar per
 * figure, a dashed line at 1× (parity with the baseline), a tick at the
 * target's bound, green when the target is met, red when missed, grey when
 * there is no target (a target on the value itself gets no tick).
 */
export function renderRatioChart(figures: readonly BenchFigure[], options: { title?: string; generatedAt?: string } = {}): string {
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
    parts.push(`<text x="${labelWidth - 8}" y="${y + 17}" text-anchor="end">${escapeXml(`${f.bench} · ${f.name}`)}</text>`);
    parts.push(`<rect x="${labelWidth}" y="${y + 4}" width="${(x(f.ratio!) - labelWidth).toFixed(1)}" height="${rowHeight - 8}" fill="${color}"><title>${escapeXml(`${f.name}: ${formatNumber(f.ratio!)}×${f.target ? ` (target ${f.target})` : ''}`)}</title></rect>`);
    parts.push(`<text x="${(x(f.ratio!) + 6).toFixed(1)}" y="${y + 17}">${escapeXml(`${formatNumber(f.ratio!)}×`)}</text>`);
    const bound = ratioTarget(f);
    if (bound) parts.push(`<line x1="${x(bound.value).toFixed(1)}" x2="${x(bound.value).toFixed(1)}" y1="${y + 1}" y2="${y + rowHeight - 1}" stroke="#222" stroke-width="2"/>`);
  });
  const axisY = top + Math.max(rows.length, 1) * rowHeight;
  parts.push(`<line x1="${x(1).toFixed(1)}" x2="${x(1).toFixed(1)}" y1="${top - 4}" y2="${axisY}" stroke="#555" stroke-dasharray="4 3"/>`);
  parts.push(`<line x1="${labelWidth}" x2="${labelWidth + plotWidth}" y1="${axisY}" y2="${axisY}" stroke="#555"/>`);
  for (const tick of [0, 0.5, 1, 1.5, 2, 3, 5, 10, 20, 50, 100].filter((t) => t <= maxValue)) {
    parts.push(`<text x="${x(tick).toFixed(1)}" y="${axisY + 16}" text-anchor="middle" fill="#555">${tick}×</text>`);
  }
  parts.push(`<text x="${labelWidth}" y="${axisY + 32}" fill="#666">dashed: 1× (as fast as the raw baseline) · black tick: target</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** One progress line: `[3/5 ingest] [########............] 40%  message  (12s)`. */
export function renderProgress(options: { index: number; total: number; bench: string; message: string; fraction?: number; elapsedMs: number; width?: number }): string {
  const barWidth = 24;
  const fraction = options.fraction === undefined ? undefined : Math.min(1, Math.max(0, options.fraction));
  const bar = fraction === undefined ? '' : `[${'#'.repeat(Math.round(fraction * barWidth)).padEnd(barWidth, '.')}] ${String(Math.round(fraction * 100)).padStart(3)}%  `;
  const line = `[${options.index}/${options.total} ${options.bench}] ${bar}${options.message}  (${Math.round(options.elapsedMs / 1000)}s)`;
  const width = options.width ?? 100;
  return line.length > width ? `${line.slice(0, width - 1)}…` : line;
}
