/**
 * Ingest benchmark: generated 8 kHz μ-law calls (5 minutes by default) through the real
 * upload hook of the production service (bench/service.ts: its own process, log level info,
 * request log, metrics, background jobs), against the fs store and MinIO, at concurrency 1
 * and 4, beside a baseline measured in the same run on the same file that does exactly the
 * service's storage and encoding work and overlaps it the same way: the raw put of the
 * original runs in parallel with the ffmpeg transcode, then the rendition is put (PutObject
 * on MinIO, a file copy + fsync for fs). Both sides are warmed up (one round each) before the
 * measured rounds, which alternate between them so both see the same background load.
 *
 * Figures (min / median / max):
 * - ingest wall per call (one sample per call) and calls/s (one sample per round), with the
 *   baseline and the ratio (target ≤ 1.15×: signature, parsing, hashing, peaks, tags and
 *   the row should cost little beside the encode and the two puts);
 * - the rendition's encode speed in × realtime per CPU core (ffmpeg's own utime+stime,
 *   single thread), beside ffmpeg's default Opus settings (target ≥ 500× at ≤ 32 kbit/s: the
 *   28 kbit/s mono that PESQ ≥ 4.2 needs, see test/unit/rendition-quality.test.ts);
 * - beside it, the PESQ-NB of the rendition in each playback format (Opus, MP3) as the
 *   rendition-quality test measures it (test/support/pesq.ts): a short generated speech call
 *   as 8 kHz μ-law, mono (English, Dutch) and stereo (English left, Dutch right), each channel
 *   against the original decoded to 8 kHz PCM; one row per format, the spread over those four
 *   channels, target ≥ 4.2 judged on the lowest (PESQ is deterministic: measured once, not per run);
 * - the peak RSS (VmHWM) of a freshly started service that does nothing but store one 1 GB
 *   WAV (93 min of 48 kHz stereo PCM: a real 201, not a refusal), target ≤ 150 MB; a fresh
 *   process per run.
 *
 * Knobs: BENCH_STORES (fs,minio), BENCH_INGEST_SECONDS (call length, 300),
 * BENCH_INGEST_CONCURRENCY (1,4), BENCH_RUNS (rounds per concurrency), BENCH_BIG_UPLOAD_MB
 * (1024), BENCH_BIG_UPLOAD_RUNS (3).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { encoderOptions, probeAudio, transcodeForPlayback } from '../src/audio/index.js';
import { loadConfig } from '../src/config.js';
import type { StoreConfig } from '../src/config.js';
import { setupBucket } from '../src/storage/setup-bucket.js';
import { audioFixture, speechSample, wavHeader } from '../test/support/fixtures.js';
import {
  NARROWBAND_ARGS,
  NARROWBAND_MIN,
  pesqPython,
  PLAYBACK_FORMATS,
  renditionPesq,
  speechSource,
} from '../test/support/pesq.js';
import { TEST_SECRET, TEST_SOURCE, signedStreamUpload, signedUpload } from '../test/support/upload.js';
import { startService } from './service.js';
import { intKnob, listKnob, rowFromRuns } from './spread.js';
import type { Bench, BenchContext, ResultRow } from './types.js';

const BASELINE = 'transcode ∥ raw put of the original, then put of the rendition';

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
    const child = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-benchmark', '-threads', '1', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
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
  /** The raw write of one file, as bare as the store allows (fs: copy + fsync; MinIO: one PutObject). */
  rawPut: (file: string, key: string, contentType: string) => Promise<void>;
  close: () => void;
}

function targets(ctx: BenchContext): Target[] {
  const list: Target[] = [];
  const wanted = listKnob(ctx.env, 'BENCH_STORES', ['fs', 'minio'] as const);
  const rawDir = path.join(ctx.tmpDir, 'raw-copies');
  fs.mkdirSync(rawDir, { recursive: true });
  if (wanted.includes('fs')) {
    list.push({
      name: 'fs',
      storeEnv: { CALLREC_STORE: 'fs' },
      rawPut: async (file, key) => {
        const to = path.join(rawDir, key.replace(/\//g, '_'));
        await fs.promises.copyFile(file, to);
        const handle = await fs.promises.open(to, 'r+');
        try {
          await handle.sync();
        } finally {
          await handle.close();
        }
      },
      close: () => undefined,
    });
  }
  const endpoint = ctx.env.CALLREC_TEST_S3_ENDPOINT;
  if (wanted.includes('minio')) {
    if (!endpoint)
      throw new Error('CALLREC_TEST_S3_ENDPOINT is not set (run through `npm run bench`, or BENCH_STORES=fs)');
    const bucket = `callrec-bench-ingest-${Date.now().toString(36)}`;
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
      rawPut: async (file, key, contentType) => {
        const { size } = await fs.promises.stat(file);
        await client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: `raw/${key}`,
            Body: fs.createReadStream(file),
            ContentLength: size,
            ContentType: contentType,
            Tagging: 'retention=30d',
          }),
        );
      },
      close: () => client.destroy(),
    });
  }
  return list;
}

interface Sizing {
  seconds: number;
  rounds: number;
}

async function ingestFigures(
  ctx: BenchContext,
  call: string,
  target: Target,
  concurrency: number,
  sizing: Sizing,
): Promise<ResultRow[]> {
  const dataDir = fs.mkdtempSync(path.join(ctx.tmpDir, `data-${target.name}-${concurrency}-`));
  const env = {
    CALLREC_DATA_DIR: dataDir,
    CALLREC_INGEST_SOURCES: `${TEST_SOURCE}:${TEST_SECRET}`,
    CALLREC_TRANSCODE_CONCURRENCY: String(concurrency),
    ...target.storeEnv,
  };
  const config = loadConfig(env);
  if (config.store.kind === 's3') await setupBucket(config.store, { retentionDays: 30 });
  const label = `${target.name}, c=${concurrency}`;
  const service = await startService(ctx, env, { name: `ingest-${target.name}-${concurrency}` });
  const url = service.base;
  const audio = await fs.promises.readFile(call);
  const source = await probeAudio(call, { timeoutMs: 60_000 });
  const outDir = fs.mkdtempSync(path.join(ctx.tmpDir, 'baseline-'));
  const ingestOne = async (callId: string) => {
    const res = await signedUpload({
      url,
      fields: { callId, startedAt: new Date(Date.now() - 60_000).toISOString() },
      audio,
    });
    if (res.status !== 201) throw new Error(`ingest answered ${res.status}: ${res.text.slice(0, 200)}`);
  };
  // Exactly the service's storage and encoding work, overlapped as the service overlaps it.
  const baselineOne = async (name: string) => {
    const rendition = path.join(outDir, `${name}.ogg`);
    await Promise.all([
      target.rawPut(call, `${name}/original.wav`, 'audio/wav'),
      (async () => {
        await transcodeForPlayback(call, rendition, { format: 'opus', source, timeoutMs: 600_000 });
        await target.rawPut(rendition, `${name}/playback.ogg`, 'audio/ogg');
      })(),
    ]);
    await fs.promises.rm(rendition, { force: true });
  };
  try {
    ctx.progress(`ingest ${label}: warm-up`);
    await pool(concurrency, concurrency, (j) => ingestOne(`warm-${concurrency}-${j}`));
    await pool(concurrency, concurrency, (j) => baselineOne(`warm-${concurrency}-${j}`));

    // Ingest and baseline alternate in rounds of `concurrency` calls (which goes first alternates
    // too), so that both see the same background load on a shared machine.
    const ingestTimes: number[] = [];
    const baseTimes: number[] = [];
    const ingestRates: number[] = [];
    const baseRates: number[] = [];
    for (let round = 0; round < sizing.rounds; round++) {
      const sides = [
        async () => {
          ctx.progress(`ingest ${label}, round ${round + 1}/${sizing.rounds}`);
          const start = performance.now();
          ingestTimes.push(
            ...(await pool(concurrency, concurrency, (j) =>
              timed(() => ingestOne(`bench-${concurrency}-${round}-${j}`)),
            )),
          );
          ingestRates.push(concurrency / ((performance.now() - start) / 1000));
        },
        async () => {
          ctx.progress(`baseline ${label}, round ${round + 1}/${sizing.rounds}`);
          const start = performance.now();
          baseTimes.push(
            ...(await pool(concurrency, concurrency, (j) =>
              timed(() => baselineOne(`bench-${concurrency}-${round}-${j}`)),
            )),
          );
          baseRates.push(concurrency / ((performance.now() - start) / 1000));
        },
      ];
      if (round % 2) sides.reverse();
      for (const side of sides) await side();
    }
    if (service.requestLines() === 0) throw new Error('the service wrote no request log line');
    const calls = sizing.rounds * concurrency;
    const wall = rowFromRuns({
      name: `ingest wall per ${sizing.seconds % 60 ? `${sizing.seconds}-s` : `${sizing.seconds / 60}-min`} call (${label})`,
      unit: 'ms',
      samples: ingestTimes,
      baseline: { name: BASELINE, samples: baseTimes },
      target: '≤ 1.15×',
      note: `${calls} calls in ${sizing.rounds} rounds, one sample per call; service: ${service.entry}, log level info`,
    });
    const throughput = rowFromRuns({
      name: `ingest throughput (${label})`,
      unit: 'calls/s',
      samples: ingestRates,
      baseline: { name: BASELINE, samples: baseRates },
      target: '≤ 1.15× (baseline/ingest)',
      note: 'one sample per round; ratio is baseline calls/s ÷ ingest calls/s (medians; a time ratio)',
    });
    const timeRatio = throughput.baseline!.median / throughput.median;
    return [wall, { ...throughput, ratio: timeRatio, met: timeRatio <= 1.15 }];
  } finally {
    await service.stop();
    fs.rmSync(outDir, { recursive: true, force: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function encodeFigure(ctx: BenchContext, call: string, seconds: number): Promise<ResultRow> {
  const out = path.join(ctx.tmpDir, 'encode.ogg');
  const ours = ['-y', '-i', call, ...encoderOptions('opus', { sampleRate: 8000, channels: 1 }), out];
  const defaults = ['-y', '-i', call, '-c:a', 'libopus', '-f', 'ogg', path.join(ctx.tmpDir, 'default.ogg')];
  // Warm-up: the binary and the input in the page cache.
  await ffmpegCpuSeconds(ours);
  await ffmpegCpuSeconds(defaults);
  const speed: number[] = [];
  const defaultSpeed: number[] = [];
  for (let run = 0; run < ctx.runs; run++) {
    ctx.progress(`encode speed, run ${run + 1}/${ctx.runs}`);
    speed.push(seconds / (await ffmpegCpuSeconds(ours)));
    defaultSpeed.push(seconds / (await ffmpegCpuSeconds(defaults)));
  }
  const kbps = ((await fs.promises.stat(out)).size * 8) / seconds / 1000;
  const row = rowFromRuns({
    name: 'Opus rendition encode (8 kHz μ-law in)',
    unit: '× realtime per core',
    samples: speed,
    baseline: { name: 'ffmpeg default libopus settings', samples: defaultSpeed },
    target: '≥ 500× at ≤ 32 kbit/s',
    note: `${kbps.toFixed(1)} kbit/s; decode included; ffmpeg -benchmark utime+stime, 1 thread`,
  });
  return { ...row, met: row.median >= 500 && kbps <= 32 };
}

/**
 * PESQ-NB of the rendition in each playback format over mono and each stereo channel of a short
 * speech call (the rendition-quality test's narrowband sources): one row per format, the spread
 * over the channels, met when the lowest reaches NARROWBAND_MIN.
 */
async function pesqFigures(ctx: BenchContext): Promise<ResultRow[]> {
  ctx.progress('PESQ: the pinned pesq (installed once) and the speech fixtures');
  const python = await pesqPython();
  const dir = fs.mkdtempSync(path.join(ctx.tmpDir, 'pesq-'));
  const [en, nl] = [await speechSample('en'), await speechSample('nl')];
  const sources = [
    { original: await speechSource(dir, 'mono-en.wav', [en], NARROWBAND_ARGS), channels: ['mono en'] },
    { original: await speechSource(dir, 'mono-nl.wav', [nl], NARROWBAND_ARGS), channels: ['mono nl'] },
    {
      original: await speechSource(dir, 'stereo.wav', [en, nl], NARROWBAND_ARGS),
      channels: ['stereo left (en)', 'stereo right (nl)'],
    },
  ];
  const rows: ResultRow[] = [];
  for (const format of PLAYBACK_FORMATS) {
    const scored: Array<{ channel: string; score: number }> = [];
    for (const source of sources) {
      ctx.progress(`PESQ of the ${format} rendition: ${source.channels.join(', ')}`);
      const scores = await renditionPesq({ python, original: source.original, format, mode: 'nb', dir });
      if (scores.length !== source.channels.length) throw new Error(`pesq scored ${scores.length} channels`);
      scores.forEach((score, i) => scored.push({ channel: source.channels[i]!, score }));
    }
    const row = rowFromRuns({
      name: `PESQ-NB of the ${format === 'opus' ? 'Opus' : 'MP3'} rendition (8 kHz μ-law speech in)`,
      unit: 'MOS-LQO',
      samples: scored.map((s) => s.score),
      target: `≥ ${NARROWBAND_MIN} (lowest channel)`,
      note:
        `spread over ${scored.length} channels, one measurement each: ` +
        `${scored.map((s) => `${s.channel} ${s.score.toFixed(2)}`).join(', ')}; ` +
        'ITU-T P.862 against the original decoded to 8 kHz PCM (test/support/pesq.ts)',
    });
    rows.push({ ...row, met: row.min >= NARROWBAND_MIN });
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return rows;
}

/** The peak RSS (VmHWM) of a freshly started service that stores one large WAV and does nothing else. */
async function bigUploadFigure(ctx: BenchContext, options: { megabytes: number; runs: number }): Promise<ResultRow> {
  const peaks: number[] = [];
  const idles: number[] = [];
  const durations: number[] = [];
  let entry = '';
  // 48 kHz stereo 16-bit PCM (1 GB = 93 min of silent call, under the 4 h maximum).
  const rate = 48_000;
  const total = options.megabytes * 1024 ** 2;
  const dataBytes = total - 44 - ((total - 44) % 4);
  const chunk = Buffer.alloc(1024 * 1024);
  const audio = () =>
    Readable.from(
      (function* () {
        yield wavHeader({ dataBytes, sampleRate: rate, channels: 2, format: 'pcm16' });
        for (let left = dataBytes; left > 0; left -= chunk.length)
          yield left >= chunk.length ? chunk : chunk.subarray(0, left);
      })(),
    );
  for (let run = 0; run < options.runs; run++) {
    ctx.progress(`${options.megabytes} MB upload, run ${run + 1}/${options.runs}: starting a fresh service`);
    const dataDir = fs.mkdtempSync(path.join(ctx.tmpDir, 'big-'));
    const service = await startService(
      ctx,
      { CALLREC_DATA_DIR: dataDir, CALLREC_INGEST_SOURCES: `${TEST_SOURCE}:${TEST_SECRET}` },
      { name: `big-upload-${run}` },
    );
    try {
      entry = service.entry;
      idles.push(service.memoryKb('VmRSS') / 1024);
      ctx.progress(`${options.megabytes} MB upload, run ${run + 1}/${options.runs}: streaming`);
      const start = performance.now();
      const res = await signedStreamUpload({
        url: service.base,
        fields: { callId: `bench-big-${run}`, startedAt: new Date(Date.now() - 60_000).toISOString() },
        audio,
        audioBytes: 44 + dataBytes,
      });
      durations.push((performance.now() - start) / 1000);
      if (res.status !== 201)
        throw new Error(`${options.megabytes} MB upload answered ${res.status}: ${res.text.slice(0, 200)}`);
      peaks.push(service.memoryKb('VmHWM') / 1024);
    } finally {
      await service.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }
  const size =
    options.megabytes >= 1024
      ? `${(options.megabytes / 1024).toFixed(options.megabytes % 1024 ? 1 : 0)} GB`
      : `${options.megabytes} MB`;
  return rowFromRuns({
    name: `peak RSS of the service during a ${size} upload`,
    unit: 'MB',
    samples: peaks,
    baseline: { name: 'the same fresh service idle, before the upload (VmRSS)', samples: idles },
    target: '≤ 150 MB',
    note: `VmHWM (peak RSS since start) of a fresh ${entry} per run that does only this upload (fs store); stored (201) in ${Math.round(Math.min(...durations))}–${Math.round(Math.max(...durations))} s`,
  });
}

export const ingestBench: Bench = {
  name: 'ingest',
  async run(ctx) {
    const seconds = intKnob(ctx.env, 'BENCH_INGEST_SECONDS', 300);
    const concurrencies = (ctx.env.BENCH_INGEST_CONCURRENCY ?? '1,4').split(',').map(Number);
    if (concurrencies.some((c) => !Number.isInteger(c) || c < 1))
      throw new Error('BENCH_INGEST_CONCURRENCY expects a comma list of whole numbers ≥ 1');
    const big = {
      megabytes: intKnob(ctx.env, 'BENCH_BIG_UPLOAD_MB', 1024),
      runs: intKnob(ctx.env, 'BENCH_BIG_UPLOAD_RUNS', Math.min(3, ctx.runs)),
    };
    ctx.progress(`generating a ${seconds}-second μ-law call`, 0);
    const call = await audioFixture('ulaw-mono', { seconds });
    const figures: ResultRow[] = [];
    const list = targets(ctx);
    try {
      const steps = list.length * concurrencies.length + 3;
      let step = 0;
      for (const target of list) {
        for (const concurrency of concurrencies) {
          ctx.progress(`ingest ${target.name} c=${concurrency}`, step++ / steps);
          figures.push(...(await ingestFigures(ctx, call, target, concurrency, { seconds, rounds: ctx.runs })));
        }
      }
      ctx.progress('encode speed', step++ / steps);
      figures.push(await encodeFigure(ctx, call, seconds));
      ctx.progress('rendition PESQ', step++ / steps);
      figures.push(...(await pesqFigures(ctx)));
      ctx.progress('big upload', step / steps);
      figures.push(await bigUploadFigure(ctx, big));
    } finally {
      for (const target of list) target.close();
    }
    return figures;
  },
};
