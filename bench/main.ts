/**
 * `npm run bench`: runs every benchmark registered in `bench/benches.ts`
 * against real servers (scripts/bench starts PostgreSQL and MinIO), with a
 * progress bar on stderr, then prints the table of every figure (min / median / max over
 * its runs) beside its baseline and ratio (stdout, Markdown) and writes under
 * `bench/results/` (git-ignored) the results file `bench-<date>.json` (date, machine,
 * settings, rows; see `BenchResults` in bench/report.ts), `latest.md` and `ratios.svg`.
 *
 * Arguments name the benchmarks to run (default: all). A failing benchmark is
 * reported and the others still run; the exit status is 1 when any failed
 * (2 for an unknown name). Missed targets are shown in the table, not fatal.
 *
 * `npm run bench -- --markdown [file]` runs nothing: it puts the table of the newest results
 * file (or `--results <file>`) between the markers of `file` (default README.md).
 *
 * Knobs: BENCH_RUNS (runs per figure, default 5), BENCH_SEED (default 1), and each bench's own.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { benches } from './benches.js';
import {
  RESULTS_FORMAT,
  latestResultsFile,
  parseResults,
  renderMarkdownSection,
  renderProgress,
  renderRatioChart,
  renderTable,
  replaceMarkedBlock,
  resultsFileName,
} from './report.js';
import type { BenchFailure, BenchResults, BenchRow } from './report.js';
import { intKnob } from './spread.js';

const RESULTS_DIR = path.resolve(import.meta.dirname, 'results');
const ROOT = path.resolve(import.meta.dirname, '..');
const argv = process.argv.slice(2);

if (argv.includes('--markdown')) {
  const at = argv.indexOf('--markdown');
  const next = argv[at + 1];
  const target = path.resolve(next && !next.startsWith('--') ? next : path.join(ROOT, 'README.md'));
  const resultsAt = argv.indexOf('--results');
  const latest = latestResultsFile(fs.existsSync(RESULTS_DIR) ? fs.readdirSync(RESULTS_DIR) : []);
  const source =
    resultsAt >= 0 ? path.resolve(argv[resultsAt + 1] ?? '') : latest ? path.join(RESULTS_DIR, latest) : undefined;
  if (!source) {
    process.stderr.write(
      `no results file in ${path.relative(process.cwd(), RESULTS_DIR)}/: run \`npm run bench\` first\n`,
    );
    process.exit(2);
  }
  const results = parseResults(fs.readFileSync(source, 'utf8'));
  const block = renderMarkdownSection(results, { source: path.relative(ROOT, source) });
  fs.writeFileSync(target, replaceMarkedBlock(fs.readFileSync(target, 'utf8'), block));
  process.stderr.write(
    `${path.relative(process.cwd(), target)}: table of ${path.relative(process.cwd(), source)} (${results.rows.length} figures)\n`,
  );
  process.exit(0);
}

const only = argv.filter((a) => !a.startsWith('--'));
const unknown = only.filter((name) => !benches.some((b) => b.name === name));
if (unknown.length) {
  process.stderr.write(
    `unknown benchmark: ${unknown.join(', ')}; known: ${benches.map((b) => b.name).join(', ') || '(none registered)'}\n`,
  );
  process.exit(2);
}
const selected = only.length ? benches.filter((b) => only.includes(b.name)) : benches;
if (selected.length === 0) process.stderr.write('no benchmark is registered in bench/benches.ts\n');
const runs = intKnob(process.env, 'BENCH_RUNS', 5);
const seed = intKnob(process.env, 'BENCH_SEED', 1, 0);

const tty = process.stderr.isTTY === true;
const rows: BenchRow[] = [];
const failures: BenchFailure[] = [];
const started = new Date();
const loadAverage = os.loadavg()[0]!;

for (const [i, bench] of selected.entries()) {
  // Flush what earlier benchmarks left in the page cache (the ingest's 1 GB upload), so that
  // its writeback does not land in this one's fsyncs and reads.
  spawnSync('sync');
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), `callrec-bench-${bench.name}-`));
  const benchStart = Date.now();
  let lastPrinted = '';
  let lastBucket = -2;
  let lastAt = 0;
  const draw = (message: string, fraction?: number) => {
    const line = renderProgress({
      index: i + 1,
      total: selected.length,
      bench: bench.name,
      message,
      fraction,
      elapsedMs: Date.now() - benchStart,
      width: tty ? Math.max(40, (process.stderr.columns ?? 100) - 1) : 120,
    });
    if (tty) {
      process.stderr.write(`\r\x1b[2K${line}`);
    } else {
      // Without a terminal: a line per 10% step, or for a new message at most every 2 s; never a flood.
      const bucket = fraction === undefined ? -1 : Math.floor(fraction * 10);
      const now = Date.now();
      if (bucket !== lastBucket || (message !== lastPrinted && now - lastAt >= 2_000)) {
        process.stderr.write(`${line}\n`);
        lastPrinted = message;
        lastAt = now;
      }
      lastBucket = bucket;
    }
  };
  draw('starting', 0);
  try {
    const result = await bench.run({ tmpDir, env: process.env, progress: draw, runs, seed });
    rows.push(...result.map((f) => ({ bench: bench.name, ...f })));
    draw(`done: ${result.length} figure(s)`, 1);
    if (tty) process.stderr.write('\n');
  } catch (error) {
    if (tty) process.stderr.write('\n');
    const message = error instanceof Error ? error.message : String(error);
    failures.push({ bench: bench.name, error: message.split('\n')[0]!.slice(0, 200) });
    process.stderr.write(`✖ ${bench.name} failed: ${error instanceof Error ? (error.stack ?? message) : message}\n`);
  } finally {
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }
}

const cpus = os.cpus();
const results: BenchResults = {
  format: RESULTS_FORMAT,
  date: started.toISOString(),
  durationSeconds: Math.round((Date.now() - started.getTime()) / 1000),
  machine: {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    ramBytes: os.totalmem(),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadAverage,
  },
  settings: {
    runs,
    seed,
    knobs: Object.fromEntries(
      (
        Object.entries(process.env).filter(([k, v]) => k.startsWith('BENCH_') && v !== undefined) as Array<
          [string, string]
        >
      ).sort(([a], [b]) => (a < b ? -1 : 1)),
    ),
  },
  benches: selected.map((b) => b.name),
  rows,
  failures,
};
const table = renderTable(rows, failures);
process.stdout.write(`\n${table}`);
fs.mkdirSync(RESULTS_DIR, { recursive: true });
const resultsFile = path.join(RESULTS_DIR, resultsFileName(started));
fs.writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
fs.writeFileSync(
  path.join(RESULTS_DIR, 'latest.md'),
  renderMarkdownSection(results, { source: path.relative(ROOT, resultsFile) }),
);
fs.writeFileSync(
  path.join(RESULTS_DIR, 'ratios.svg'),
  renderRatioChart(rows, { generatedAt: `${results.date} · ${cpus.length} CPU(s) · node ${process.version}` }),
);
process.stderr.write(
  `\nresults: ${path.relative(process.cwd(), resultsFile)} (and latest.md, ratios.svg); README table: npm run bench -- --markdown\n`,
);
const missed = rows.filter((f) => f.met === false).length;
if (missed) process.stderr.write(`${missed} figure(s) missed their target\n`);
if (failures.length) {
  process.stderr.write(`${failures.length} benchmark(s) failed: ${failures.map((f) => f.bench).join(', ')}\n`);
  process.exitCode = 1;
}
// A benchmark that leaves a handle open (a pool, a worker, a socket) must not keep the
// runner alive after the report is written: end with the status decided above.
process.exit(process.exitCode ?? 0);
