/**
 * `npm run bench`: runs every benchmark against real servers (scripts/bench
 * starts them) and prints each figure beside its baseline and the ratio.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { benches } from './benches.js';
import type { Figure } from './types.js';

const only = process.argv.slice(2);
const selected = only.length ? benches.filter((b) => only.includes(b.name)) : benches;
const figures: Array<Figure & { bench: string }> = [];
for (const bench of selected) {
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), `callrec-bench-${bench.name}-`));
  process.stderr.write(`\n▶ ${bench.name}\n`);
  try {
    const result = await bench.run({
      tmpDir,
      env: process.env,
      progress: (message, fraction) => {
        const bar = fraction === undefined ? '' : `[${'#'.repeat(Math.round(fraction * 20)).padEnd(20, '.')}] `;
        process.stderr.write(`\r  ${bar}${message}`.padEnd(100).slice(0, 100));
      },
    });
    figures.push(...result.map((f) => ({ ...f, bench: bench.name })));
    process.stderr.write('\n');
  } finally {
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }
}
const fmt = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toPrecision(3));
process.stdout.write('\n| benchmark | figure | value | baseline | baseline value | ratio | target | met |\n|---|---|---|---|---|---|---|---|\n');
for (const f of figures) {
  process.stdout.write(
    `| ${f.bench} | ${f.name} | ${fmt(f.value)} ${f.unit} | ${f.baseline?.name ?? '—'} | ${f.baseline ? `${fmt(f.baseline.value)} ${f.unit}` : '—'} | ${f.ratio === undefined ? '—' : `${fmt(f.ratio)}×`} | ${f.target ?? '—'} | ${f.met === undefined ? '—' : f.met ? 'yes' : 'no'} |\n`,
  );
}
fs.mkdirSync('bench/results', { recursive: true });
fs.writeFileSync('bench/results/latest.json', JSON.stringify(figures, null, 2));
