/**
 * Spool benchmark (issue #15): the spool folder's import rate beside the signed upload hook's on
 * the same files, through the production service (bench/service.ts: `dist/main.js`, log level
 * info, background jobs on) with the spool adapter enabled (CALLREC_SPOOL_DIR) and the fs store.
 *
 * One round per run, alternating which side goes first so both see the same background load:
 * - hook: the calls are posted one after another (signed v2 multipart, as upload-recording
 *   does), recordings/s = calls ÷ the wall time of all of them;
 * - spool: the same calls are dropped as pairs the way a PBX does (audio, then the JSON by
 *   rename), recordings/s = calls ÷ the time from the drop until the folder is empty again
 *   (every pair stored and removed), which includes the two scans that prove a pair stable.
 * The spool ingests one pair after another, so the hook runs at concurrency 1 too
 * (CALLREC_TRANSCODE_CONCURRENCY=1). Target: spool ≥ 0.9× the hook's rate.
 *
 * Knobs: BENCH_SPOOL_CALLS (calls per round, 20), BENCH_SPOOL_SECONDS (call length, 60),
 * BENCH_SPOOL_INTERVAL (the scan interval, 250ms), BENCH_RUNS (rounds).
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { audioFixture } from '../test/support/fixtures.js';
import { TEST_SECRET, TEST_SOURCE, signedUpload } from '../test/support/upload.js';
import { startService } from './service.js';
import { intKnob, rowFromRuns } from './spread.js';
import type { Bench, BenchContext, ResultRow } from './types.js';

/** Resolves once `dir` holds no pair, no claim and nothing refused; throws on a refusal or after `timeoutMs`. */
async function drained(dir: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const failed = path.join(dir, 'failed');
    if (fs.existsSync(failed) && fs.readdirSync(failed).length > 0)
      throw new Error(`the spool refused a pair: ${fs.readdirSync(failed).join(', ')}`);
    const claims = path.join(dir, '.callrec');
    const left = fs.readdirSync(dir).filter((f) => !f.startsWith('.') && f !== 'failed').length;
    const claimed = fs.existsSync(claims) ? fs.readdirSync(claims).length : 0;
    if (left === 0 && claimed === 0) return;
    if (Date.now() > deadline) throw new Error(`the spool did not drain in time (${left} files, ${claimed} claims)`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function spoolFigures(ctx: BenchContext): Promise<ResultRow[]> {
  const calls = intKnob(ctx.env, 'BENCH_SPOOL_CALLS', 20);
  const seconds = intKnob(ctx.env, 'BENCH_SPOOL_SECONDS', 60);
  const interval = ctx.env.BENCH_SPOOL_INTERVAL ?? '250ms';
  ctx.progress(`spool: generating a ${seconds}-s call`);
  const call = await audioFixture('ulaw-mono', { seconds });
  const audio = await fs.promises.readFile(call);
  const dataDir = fs.mkdtempSync(path.join(ctx.tmpDir, 'data-spool-'));
  const spoolDir = fs.mkdtempSync(path.join(ctx.tmpDir, 'spool-'));
  const env = {
    CALLREC_DATA_DIR: dataDir,
    CALLREC_INGEST_SOURCES: `${TEST_SOURCE}:${TEST_SECRET}`,
    CALLREC_TRANSCODE_CONCURRENCY: '1',
    CALLREC_STORE: 'fs',
    CALLREC_SPOOL_DIR: spoolDir,
    CALLREC_SPOOL_INTERVAL: interval,
  };
  loadConfig(env); // refuses bad knobs before a process starts
  const service = await startService(ctx, env, { name: 'spool' });
  const startedAt = () => new Date(Date.now() - 60_000).toISOString();
  const hookRound = async (prefix: string): Promise<number> => {
    const start = performance.now();
    for (let i = 0; i < calls; i++) {
      const res = await signedUpload({
        url: service.base,
        fields: { callId: `${prefix}-${i}`, startedAt: startedAt() },
        audio,
      });
      if (res.status !== 201) throw new Error(`the hook answered ${res.status}: ${res.text.slice(0, 200)}`);
    }
    return calls / ((performance.now() - start) / 1000);
  };
  const spoolRound = async (prefix: string): Promise<number> => {
    const start = performance.now();
    for (let i = 0; i < calls; i++) {
      const name = `${prefix}-${i}`;
      // As a PBX (or upload-recording --spool-dir) writes a pair: hidden temp names renamed in, the JSON last.
      await fs.promises.copyFile(call, path.join(spoolDir, `.${name}.wav.tmp`));
      await fs.promises.rename(path.join(spoolDir, `.${name}.wav.tmp`), path.join(spoolDir, `${name}.wav`));
      await fs.promises.writeFile(
        path.join(spoolDir, `.${name}.json.tmp`),
        JSON.stringify({ callId: name, startedAt: startedAt() }),
      );
      await fs.promises.rename(path.join(spoolDir, `.${name}.json.tmp`), path.join(spoolDir, `${name}.json`));
    }
    await drained(spoolDir, 600_000);
    return calls / ((performance.now() - start) / 1000);
  };
  try {
    ctx.progress('spool: warm-up');
    await hookRound('warm-hook');
    await spoolRound('warm-spool');
    const hook: number[] = [];
    const spool: number[] = [];
    for (let round = 0; round < ctx.runs; round++) {
      const sides = [
        async () => {
          ctx.progress(`spool vs hook, round ${round + 1}/${ctx.runs}: hook`);
          hook.push(await hookRound(`hook-${round}`));
        },
        async () => {
          ctx.progress(`spool vs hook, round ${round + 1}/${ctx.runs}: spool`);
          spool.push(await spoolRound(`spool-${round}`));
        },
      ];
      if (round % 2) sides.reverse();
      for (const side of sides) await side();
    }
    const length = seconds % 60 ? `${seconds}-s` : `${seconds / 60}-min`;
    const row = rowFromRuns({
      name: `spool folder import (${calls} × ${length} μ-law calls, fs, c=1)`,
      unit: 'recordings/s',
      samples: spool,
      baseline: { name: 'signed upload hook, the same files one after another', samples: hook },
      target: '≥ 0.9×',
      note: `one sample per round; ratio: spool ÷ hook (medians); from the drop until the folder is empty, scan interval ${interval}; service: ${service.entry}`,
    });
    return [row];
  } finally {
    await service.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(spoolDir, { recursive: true, force: true });
  }
}

export const spoolBench: Bench = { name: 'spool', run: spoolFigures };
