/**
 * Card data benchmark (issue #18): what keeping DTMF tones out of recordings costs.
 *
 * - DTMF scan speed: the detector (src/audio/dtmf.ts) over the decoded PCM of a generated
 *   5-minute stereo call (espeak-ng speech on both channels, a card number and its code keyed
 *   on one), in seconds of one channel's audio per CPU second of this process (process.cpuUsage:
 *   immune to other load on the machine), target ≥ 1000×; beside it, the whole scan (ffmpeg
 *   decode included) in × realtime of wall time, untargeted.
 * - Ingest of that 5-minute call through the pipeline (ingestRecording: probe, scan, silence,
 *   store the original, Opus rendition, peaks, row; SQLite × fs) with CALLREC_MASK_DTMF on vs
 *   off, wall ms per call, rounds alternating, target ≤ 1.05×. With tones found, "on" also
 *   writes the silenced copy; the call without tones measures the scan alone.
 *
 * Knobs: BENCH_CARD_SECONDS (call length, 300), BENCH_RUNS.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { createDtmfScanner, scanDtmf } from '../src/audio/dtmf.js';
import { loadConfig } from '../src/config.js';
import { createDb } from '../src/db/db.js';
import { createIngestRuntime } from '../src/ingest/service.js';
import { createLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import { systemClock } from '../src/clock.js';
import { createObjectStore } from '../src/storage/create-store.js';
import { buildDtmfCallSpec, dtmfCall } from '../test/support/dtmf-calls.js';
import { ingestFile } from '../test/support/pipeline.js';
import { TEST_SECRET, TEST_SOURCE } from '../test/support/upload.js';
import { intKnob, rowFromRuns } from './spread.js';
import type { Bench, BenchContext, ResultRow } from './types.js';

const run = promisify(execFile);

/** A stereo call of about `seconds`: the keyed call (speech, 19 digits) padded with looped speech. */
async function longCall(ctx: BenchContext, seconds: number, withTones: boolean): Promise<string> {
  const call = await dtmfCall(
    ctx.tmpDir,
    buildDtmfCallSpec({ seed: `bench-card-${ctx.seed}`, ...(withTones ? {} : { groups: ['', ''] }) }),
  );
  const out = path.join(ctx.tmpDir, `call-${withTones ? 'tones' : 'speech'}-${seconds}s.wav`);
  const repeats = Math.max(0, Math.ceil((seconds * 1000) / call.durationMs) - 1);
  await run('sox', [call.path, '-e', 'u-law', out, 'repeat', String(repeats), 'trim', '0', String(seconds)]);
  fs.rmSync(call.path);
  return out;
}

/** The call decoded as ffmpeg hands it to the scanner (8 kHz s16le, both channels). */
async function decoded(file: string): Promise<Buffer> {
  const { stdout } = await run(
    'ffmpeg',
    ['-v', 'error', '-nostdin', '-i', file, '-ac', '2', '-ar', '8000', '-f', 's16le', '-c:a', 'pcm_s16le', '-'],
    { encoding: 'buffer', maxBuffer: 1024 * 1024 * 1024 },
  );
  return stdout as unknown as Buffer;
}

export const cardBench: Bench = {
  name: 'card',
  async run(ctx) {
    const seconds = intKnob(ctx.env, 'BENCH_CARD_SECONDS', 300);
    const rows: ResultRow[] = [];
    ctx.progress('card: generating calls');
    const toned = await longCall(ctx, seconds, true);
    const plain = await longCall(ctx, seconds, false);

    // DTMF scan speed: CPU time of the detector alone, and the wall time of the whole scan.
    const pcm = await decoded(toned);
    /** Seconds of audio summed over both channels (samples of all channels / rate). */
    const channelSeconds = pcm.length / 2 / 8000;
    const perCore: number[] = [];
    const wall: number[] = [];
    for (let r = 0; r < ctx.runs + 1; r++) {
      ctx.progress('card: DTMF scan', r / (ctx.runs + 1));
      const scanner = createDtmfScanner(2);
      const cpu = process.cpuUsage();
      for (let i = 0; i < pcm.length; i += 64 * 1024) scanner.push(pcm.subarray(i, i + 64 * 1024));
      scanner.finish();
      const used = process.cpuUsage(cpu);
      const started = performance.now();
      await scanDtmf(toned, { timeoutMs: 600_000, channels: 2 });
      const wallMs = performance.now() - started;
      if (r === 0) continue; // warm-up
      perCore.push(channelSeconds / ((used.user + used.system) / 1e6));
      wall.push((seconds * 1000) / wallMs);
    }
    rows.push(
      rowFromRuns({
        name: `DTMF scan, detector CPU (${seconds / 60}-min stereo call)`,
        unit: '× realtime/core',
        samples: perCore,
        target: '≥ 1000',
        note: 'seconds of one channel per CPU second of the detector (decoded PCM in memory)',
      }),
      rowFromRuns({
        name: `DTMF scan, ffmpeg decode + detector (${seconds / 60}-min stereo call)`,
        unit: '× realtime',
        samples: wall,
        note: 'wall time of scanDtmf, both channels; shares the machine with the rest',
      }),
    );

    // Ingest with masking on vs off (SQLite × fs, in process).
    const runtimes = await Promise.all(
      (['on', 'off'] as const).map(async (mask) => {
        const config = loadConfig({
          CALLREC_DATA_DIR: path.join(ctx.tmpDir, `ingest-${mask}`),
          CALLREC_STORE: 'fs',
          CALLREC_MASK_DTMF: mask,
          CALLREC_INGEST_SOURCES: `${TEST_SOURCE}:${TEST_SECRET}`,
        });
        const db = createDb(config.db);
        await db.migrate();
        const store = await createObjectStore(config.store);
        const runtime = createIngestRuntime({
          config,
          db,
          store,
          logger: createLogger({ level: 'silent' }),
          clock: systemClock,
          metrics: createMetrics(),
        });
        return { mask, runtime, db };
      }),
    );
    try {
      for (const [label, file] of [
        ['keyed card number', toned],
        ['no tones', plain],
      ] as const) {
        const samples: Record<'on' | 'off', number[]> = { on: [], off: [] };
        for (let r = 0; r < ctx.runs + 1; r++) {
          ctx.progress(`card: ingest (${label})`, r / (ctx.runs + 1));
          const order = r % 2 ? [...runtimes].reverse() : runtimes;
          for (const { mask, runtime } of order) {
            const started = performance.now();
            await ingestFile(runtime, { audioPath: file });
            if (r > 0) samples[mask].push(performance.now() - started);
          }
        }
        rows.push(
          rowFromRuns({
            name: `ingest ${seconds / 60}-min stereo call, DTMF masking on (${label})`,
            unit: 'ms',
            samples: samples.on,
            baseline: { name: 'masking off', samples: samples.off },
            target: '≤ 1.05×',
            note: 'SQLite × fs, in process; rounds alternate on/off',
          }),
        );
      }
    } finally {
      for (const { db } of runtimes) await db.close();
    }
    return rows;
  },
};
