/**
 * `npm run bench`: runs every benchmark registered in `bench/benches.ts`
 * against real servers (scripts/bench starts PostgreSQL and MinIO), with a
 * progress bar on stderr, then prints the table of every figure beside its
 * baseline and ratio (stdout, Markdown) and writes under `bench/results/`
 * (git-ignored): `latest.json`, `latest.md` and `ratios.svg` (bar chart).
 *
 * Arguments name the benchmarks to run (default: all). A failing benchmark is
 * reported and the others still run; the exit status is 1 when any failed
 * (2 for an unknown name). Missed targets are shown in the table, not fatal.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { benches } from './benches.js';
import { renderProgress, renderRatioChart, renderTable } from './report.js';
import type { BenchFailure, BenchFigure } from './report.js';

const RESULTS_DIR = path.resolve(import.meta.dirname, 'results');
const only = process.argv.slice(2);
const unknown = only.filter((name) => !benches.some((b) => b.name === name));
if (unknown.length) {
  process.stderr.write(`unknown benchmark: ${unknown.join(', ')}; known: ${benches.map((b) => b.name).join(', ') || '(none registered)'}\n`);
  process.exit(2);
}
const selected = only.length ? benches.filter((b) => only.includes(b.name)) : benches;
if (selected.length === 0) process.stderr.write('no benchmark is registered in bench/benches.ts\n');

const tty = process.stderr.isTTY === true;
const figures: BenchFigure[] = [];
const failures: BenchFailure[] = [];
const started = Date.now();

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
    const result = await bench.run({ tmpDir, env: process.env, progress: draw });
    figures.push(...result.map((f) => ({ ...f, bench: bench.name })));
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

const generatedAt = `${new Date().toISOString()} · node ${process.version} · ${os.cpus().length} CPU(s) · ${Math.round((Date.now() - started) / 1000)}s`;
const table = renderTable(figures, failures);
process.stdout.write(`\n${table}`);
fs.mkdirSync(RESULTS_DIR, { recursive: true });
fs.writeFileSync(path.join(RESULTS_DIR, 'latest.json'), `${JSON.stringify({ generatedAt, figures, failures }, null, 2)}\n`);
fs.writeFileSync(path.join(RESULTS_DIR, 'latest.md'), `<!-- ${generatedAt} -->\n${table}`);
fs.writeFileSync(path.join(RESULTS_DIR, 'ratios.svg'), renderRatioChart(figures, { generatedAt }));
process.stderr.write(`\nresults: ${path.relative(process.cwd(), RESULTS_DIR)}/latest.md, latest.json, ratios.svg\n`);
const missed = figures.filter((f) => f.met === false).length;
if (missed) process.stderr.write(`${missed} figure(s) missed their target\n`);
if (failures.length) {
  process.stderr.write(`${failures.length} benchmark(s) failed: ${failures.map((f) => f.bench).join(', ')}\n`);
  process.exitCode = 1;
}
// A benchmark that leaves a handle open (a pool, a worker, a socket) must not keep the
// runner alive after the report is written: end with the status decided above.
process.exit(process.exitCode ?? 0);
