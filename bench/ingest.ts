/**
 * Ingest benchmark: 5-minute 8 kHz μ-law calls (generated) through the real
 * upload hook, against the fs store and MinIO, at concurrency 1 and 4, beside a
 * baseline measured in the same run on the same file: the ffmpeg transcode alone
 * plus a raw write of the same bytes (PutObject on MinIO, a file copy for fs).
 * The service runs in a process of its own (bench/server-process.ts), as in
 * production and as in the playback benchmark: the telephony client's work
 * (building and signing each body) happens in this process, as the baseline's does.
 *
 * Figures:
 * - ingest wall time per call (mean latency) and calls/s, with the baseline and the ratio
 *   ingest / baseline (target ≤ 1.15×: signature, parsing, hashing, peaks, tags, row and
 *   the second object should cost little beside the encode and the upload);
 * - the rendition's encode speed in × realtime per CPU core (ffmpeg's own utime+stime,
 *   single thread), beside ffmpeg's default Opus settings (target ≥ 400× at ≤ 24 kbit/s);
 * - the peak RSS (VmHWM) of a server process while it stores a 1 GB WAV
 *   (93 min of 48 kHz stereo PCM: a real 201, not a refusal), target ≤ 150 MB.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { encoderOptions, probeAudio, transcodeForPlayback } from '../src/audio/index.js';
import { loadConfig } from '../src/config.js';
import type { StoreConfig } from '../src/config.js';
import { setupBucket } from '../src/storage/setup-bucket.js';
import { audioFixture, wavHeader } from '../test/support/fixtures.js';
import { TEST_SECRET, TEST_SOURCE, signedStreamUpload, signedUpload } from '../test/support/upload.js';
import { startServerProcess } from './server-process.js';
import type { Bench, BenchContext, Figure } from './types.js';

const CALL_SECONDS = 300;
const CONCURRENCIES = [1, 4] as const;
// Rounds of `concurrency` calls: 8 rounds at c=1, 4 rounds at c=4 (rounds spread by ±5% here).
const CALLS: Record<number, number> = { 1: 8, 4: 16 };

async function pool<T>(count: number, concurrency: number, work: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await work(i);
      }
    }),
  );
  return results;
}

async function timed<T>(fn: () => Promise<T>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** ffmpeg's own CPU seconds (utime + stime, from -benchmark) for one single-threaded run. */
function ffmpegCpuSeconds(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-benchmark', '-threads', '1', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => {
      const m = /utime=([\d.]+)s stime=([\d.]+)s/.exec(stderr);
      if (code !== 0 || !m) reject(new Error(`ffmpeg failed: ${stderr.slice(-500)}`));
      else resolve(Number(m[1]) + Number(m[2]));
    });
  });
}

interface Target {
  name: 'fs' | 'minio';
  /** The service's store settings (CALLREC_STORE and its companions). */
  storeEnv: Record<string, string>;
  rawPut: (file: string, key: string) => Promise<void>;
  close: () => void;
}

function targets(ctx: BenchContext): Target[] {
  const list: Target[] = [];
  const rawDir = path.join(ctx.tmpDir, 'raw-copies');
  fs.mkdirSync(rawDir, { recursive: true });
  list.push({
    name: 'fs',
    storeEnv: { CALLREC_STORE: 'fs' },
    rawPut: async (file, key) => {
      await fs.promises.copyFile(file, path.join(rawDir, key.replace(/\//g, '_')));
    },
    close: () => undefined,
  });
  const endpoint = ctx.env.CALLREC_TEST_S3_ENDPOINT;
  if (endpoint) {
    const bucket = `callrec-bench-${Date.now().toString(36)}`;
    const s3Config: Extract<StoreConfig, { kind: 's3' }> = {
      kind: 's3',
      endpoint,
      bucket,
      region: 'us-east-1',
      accessKeyId: ctx.env.CALLREC_TEST_S3_ACCESS_KEY_ID,
      secretAccessKey: ctx.env.CALLREC_TEST_S3_SECRET_ACCESS_KEY,
      forcePathStyle: true,
      versionedBucket: 'refuse',
    };
    const client = new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: s3Config.accessKeyId!, secretAccessKey: s3Config.secretAccessKey! },
      // The same checksum settings as the service's client (src/storage/s3-store.ts): the SDK's
      // default would compute a CRC32 of every byte and make the baseline slower than a bare put.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    list.push({
      name: 'minio',
      storeEnv: {
        CALLREC_STORE: 's3',
        CALLREC_S3_ENDPOINT: endpoint,
        CALLREC_S3_BUCKET: bucket,
        CALLREC_S3_ACCESS_KEY_ID: s3Config.accessKeyId ?? '',
        CALLREC_S3_SECRET_ACCESS_KEY: s3Config.secretAccessKey ?? '',
      },
      rawPut: async (file, key) => {
        const { size } = await fs.promises.stat(file);
        await client.send(
          new PutObjectCommand({ Bucket: bucket, Key: `raw/${key}`, Body: fs.createReadStream(file), ContentLength: size, ContentType: 'audio/wav', Tagging: 'retention=30d' }),
        );
      },
      close: () => client.destroy(),
    });
  }
  return list;
}

async function ingestFigures(ctx: BenchContext, call: string, target: Target, concurrency: number): Promise<Figure[]> {
  const dataDir = fs.mkdtempSync(path.join(ctx.tmpDir, `data-${target.name}-${concurrency}-`));
  const env = {
    CALLREC_DATA_DIR: dataDir,
    CALLREC_INGEST_SOURCES: `${TEST_SOURCE}:${TEST_SECRET}`,
    CALLREC_TRANSCODE_CONCURRENCY: String(concurrency),
    CALLREC_LOG_LEVEL: 'warn',
    ...target.storeEnv,
  };
  const config = loadConfig(env);
  if (config.store.kind === 's3') await setupBucket(config.store, { retentionDays: 30 });
  const server = await startServerProcess(env);
  const url = server.base;
  const audio = await fs.promises.readFile(call);
  const source = await probeAudio(call, { timeoutMs: 60_000 });
  const count = CALLS[concurrency]!;
  const label = `${target.name}, c=${concurrency}`;
  try {
    // warm-up (also the first bucket/table touch)
    await signedUpload({ url, fields: { callId: `warm-${concurrency}`, startedAt: new Date(Date.now() - 60_000).toISOString() }, audio });

    // Ingest and baseline alternate in rounds of `concurrency` calls, so that both see the
    // same background load (the machine is shared); wall times are summed per phase.
    const outDir = fs.mkdtempSync(path.join(ctx.tmpDir, 'baseline-'));
    const ingestTimes: number[] = [];
    const baseTimes: number[] = [];
    let ingestWall = 0;
    let baseWall = 0;
    for (let round = 0; round * concurrency < count; round++) {
      ctx.progress(`ingest ${label}, round ${round + 1}`);
      let start = performance.now();
      ingestTimes.push(
        ...(await pool(concurrency, concurrency, (j) =>
          timed(async () => {
            const callId = `bench-${concurrency}-${round}-${j}`;
            const res = await signedUpload({ url, fields: { callId, startedAt: new Date(Date.now() - 60_000).toISOString() }, audio });
            if (res.status !== 201) throw new Error(`ingest answered ${res.status}: ${res.text.slice(0, 200)}`);
          }),
        )),
      );
      ingestWall += performance.now() - start;
      ctx.progress(`baseline ${label}, round ${round + 1}`);
      start = performance.now();
      baseTimes.push(
        ...(await pool(concurrency, concurrency, (j) =>
          timed(async () => {
            await transcodeForPlayback(call, path.join(outDir, `${round}-${j}.ogg`), { format: 'opus', source, timeoutMs: 600_000 });
            await target.rawPut(call, `bench-${concurrency}-${round}-${j}/original.wav`);
          }),
        )),
      );
      baseWall += performance.now() - start;
    }
    fs.rmSync(outDir, { recursive: true, force: true });

    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const perCall = mean(ingestTimes);
    const basePerCall = mean(baseTimes);
    const rate = count / (ingestWall / 1000);
    const baseRate = count / (baseWall / 1000);
    return [
      {
        name: `ingest wall per 5-min call (${label})`,
        value: Math.round(perCall),
        unit: 'ms',
        baseline: { name: 'ffmpeg transcode alone + raw put', value: Math.round(basePerCall) },
        ratio: perCall / basePerCall,
        target: '≤ 1.15×',
        met: perCall / basePerCall <= 1.15,
        note: `${count} calls`,
      },
      {
        name: `ingest throughput (${label})`,
        value: Math.round(rate * 100) / 100,
        unit: 'calls/s',
        baseline: { name: 'ffmpeg transcode alone + raw put', value: Math.round(baseRate * 100) / 100 },
        ratio: baseRate / rate,
        target: '≤ 1.15× (baseline/ingest)',
        met: baseRate / rate <= 1.15,
        note: 'ratio is baseline calls/s ÷ ingest calls/s (time ratio)',
      },
    ];
  } finally {
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function encodeFigure(ctx: BenchContext, call: string): Promise<Figure> {
  ctx.progress('encode speed');
  const out = path.join(ctx.tmpDir, 'encode.ogg');
  const ours = ['-y', '-i', call, ...encoderOptions('opus', { sampleRate: 8000, channels: 1 }), out];
  const cpu = await bestOf(3, () => ffmpegCpuSeconds(ours));
  const kbps = ((await fs.promises.stat(out)).size * 8) / CALL_SECONDS / 1000;
  const defaults = await bestOf(2, () => ffmpegCpuSeconds(['-y', '-i', call, '-c:a', 'libopus', '-f', 'ogg', path.join(ctx.tmpDir, 'default.ogg')]));
  const speed = CALL_SECONDS / cpu;
  const defaultSpeed = CALL_SECONDS / defaults;
  return {
    name: 'Opus rendition encode (8 kHz μ-law in)',
    value: Math.round(speed),
    unit: '× realtime per core',
    baseline: { name: 'ffmpeg default libopus settings', value: Math.round(defaultSpeed) },
    ratio: speed / defaultSpeed,
    target: '≥ 400× at ≤ 24 kbit/s',
    met: speed >= 400 && kbps <= 24,
    note: `${kbps.toFixed(1)} kbit/s; decode included; ffmpeg -benchmark utime+stime, 1 thread, best of 3`,
  };
}

async function bestOf(n: number, run: () => Promise<number>): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < n; i++) best = Math.min(best, await run());
  return best;
}

async function bigUploadFigure(ctx: BenchContext): Promise<Figure> {
  // Measured on the service as it is deployed: compiled by `npm run build` and run by plain node
  // (the container runs dist/main.js), not under the tsx loader, whose compiler caches alone cost ~45 MB.
  ctx.progress('1 GB upload: compiling the service (npm run build)');
  await promisify(execFile)('bash', ['scripts/build'], { cwd: path.join(import.meta.dirname, '..') });
  ctx.progress('1 GB upload: starting the compiled service');
  const dataDir = fs.mkdtempSync(path.join(ctx.tmpDir, 'big-'));
  const child = spawn(process.execPath, [path.join(import.meta.dirname, '..', 'dist', 'main.js')], {
    env: {
      PATH: process.env.PATH,
      CALLREC_DATA_DIR: dataDir,
      CALLREC_PORT: '0',
      CALLREC_INGEST_SOURCES: `${TEST_SOURCE}:${TEST_SECRET}`,
      CALLREC_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /listening on http:\/\/[^:]+:(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.on('exit', (code) => reject(new Error(`server exited ${code}`)));
    });
    const serverPid = child.pid!;
    // 1 GB of 48 kHz stereo 16-bit PCM = 93 min of (silent) call, under the 4 h maximum.
    const rate = 48_000;
    const total = 1024 ** 3;
    const dataBytes = total - 44 - ((total - 44) % 4);
    const chunk = Buffer.alloc(1024 * 1024);
    const audio = () =>
      Readable.from(
        (function* () {
          yield wavHeader({ dataBytes, sampleRate: rate, channels: 2, format: 'pcm16' });
          for (let left = dataBytes; left > 0; left -= chunk.length) yield left >= chunk.length ? chunk : chunk.subarray(0, left);
        })(),
      );
    const readKb = async (field: 'VmHWM' | 'VmRSS') =>
      Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(await fs.promises.readFile(`/proc/${serverPid}/status`, 'utf8'))?.[1] ?? Number.NaN);
    const idleKb = await readKb('VmRSS');
    ctx.progress('1 GB upload: streaming 93 min of stereo PCM');
    const start = performance.now();
    const res = await signedStreamUpload({
      url: `http://127.0.0.1:${port}`,
      fields: { callId: 'bench-1gb', startedAt: new Date(Date.now() - 60_000).toISOString() },
      audio,
      audioBytes: 44 + dataBytes,
    });
    const seconds = (performance.now() - start) / 1000;
    if (res.status !== 201) throw new Error(`1 GB upload answered ${res.status}: ${res.text.slice(0, 200)}`);
    const mb = (await readKb('VmHWM')) / 1024;
    const idleMb = idleKb / 1024;
    return {
      name: 'peak RSS of the server during a 1 GB upload',
      value: Math.round(mb),
      unit: 'MB',
      target: '≤ 150 MB',
      met: mb <= 150,
      baseline: { name: 'the same server idle, before the upload (VmRSS)', value: Math.round(idleMb) },
      ratio: mb / idleMb,
      note: `VmHWM (peak RSS, start-up included) of the compiled service (node dist/main.js); growth over idle ${Math.round(mb - idleMb)} MB; stored (201) in ${seconds.toFixed(0)} s, fs store`,
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export const ingestBench: Bench = {
  name: 'ingest',
  async run(ctx) {
    ctx.progress('generating a 5-minute μ-law call', 0);
    const call = await audioFixture('ulaw-mono', { seconds: CALL_SECONDS });
    const figures: Figure[] = [];
    const list = targets(ctx);
    try {
      const steps = list.length * CONCURRENCIES.length + 2;
      let step = 0;
      for (const target of list) {
        for (const concurrency of CONCURRENCIES) {
          ctx.progress(`ingest ${target.name} c=${concurrency}`, step++ / steps);
          figures.push(...(await ingestFigures(ctx, call, target, concurrency)));
        }
      }
      ctx.progress('encode speed', step++ / steps);
      figures.push(await encodeFigure(ctx, call));
      ctx.progress('1 GB upload', step / steps);
      figures.push(await bigUploadFigure(ctx));
    } finally {
      for (const target of list) target.close();
    }
    return figures;
  },
};
