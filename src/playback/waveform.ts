/**
 * Waveform peaks for drawing, in the format of `src/audio/waveform.ts` (version 1:
 * `{version, sampleRate, samplesPerPeak, channels, length, durationMs, peaks}`).
 *
 * Peaks are written at ingest into the row's `waveform` column. For a row
 * without them, `computePeaksFromStream` decodes the playback object once with
 * ffmpeg (streamed: the object is piped into ffmpeg's stdin, PCM is reduced as
 * it arrives, memory stays bounded) under a hard timeout that kills ffmpeg.
 */
import { spawn } from 'node:child_process';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { PEAK_SAMPLE_RATE, peakOutputOptions, peakSink } from '../audio/waveform.js';

/** What the waveform route serves: at least these members (stored extras are kept). */
export interface ServedWaveform {
  durationMs: number;
  channels: number;
  peaks: number[][];
  [member: string]: unknown;
}

const isNumbers = (a: unknown): a is number[] => Array.isArray(a) && a.every((n) => typeof n === 'number');

/**
 * The stored JSON as served, when it holds usable peaks (an array of per-channel arrays, or
 * one flat array); undefined for no or unusable data, which is then recomputed.
 */
export function parseStoredWaveform(json: string | null, durationMs: number): ServedWaveform | undefined {
  if (!json) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (isNumbers(value)) return { durationMs, channels: 1, peaks: [value] };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const obj = value as Record<string, unknown>;
  const raw = obj.peaks;
  const peaks = isNumbers(raw)
    ? [raw]
    : Array.isArray(raw) && raw.length > 0 && raw.every(isNumbers)
      ? (raw as number[][])
      : undefined;
  if (!peaks) return undefined;
  return {
    ...obj,
    durationMs: typeof obj.durationMs === 'number' ? obj.durationMs : durationMs,
    channels: peaks.length,
    peaks,
  };
}

/** Decodes `body` with ffmpeg and returns its peaks; rejects on a decode failure, timeout or abort. */
export async function computePeaksFromStream(options: {
  body: Readable;
  channels: number;
  timeoutMs: number;
  signal?: AbortSignal;
  /**
   * Only this stretch of the decoded audio (ms), reduced to buckets of `samplesPerPeak` samples at
   * PEAK_SAMPLE_RATE: ffmpeg decodes and drops what lies before `fromMs` and stops after `toMs`.
   * `copyts`: the input's own timestamps count (an Ogg stream that starts mid-way says where it is).
   */
  window?: { fromMs: number; toMs: number; samplesPerPeak: number; copyts: boolean };
}): Promise<ServedWaveform> {
  const channels = Math.min(2, Math.max(1, options.channels));
  const w = options.window;
  const { sink, result } = peakSink({
    channels,
    sampleRate: PEAK_SAMPLE_RATE,
    // A window keeps buckets of exactly the size asked for (no halving: its length is bounded by the caller).
    ...(w ? { initialSamplesPerPeak: w.samplesPerPeak, maxPeaks: Number.MAX_SAFE_INTEGER } : {}),
  });
  const seconds = (ms: number) => (ms / 1000).toFixed(3);
  const input = w?.copyts ? ['-copyts', '-i', 'pipe:0'] : ['-i', 'pipe:0'];
  const cut = w ? ['-ss', seconds(w.fromMs), '-t', seconds(w.toMs - w.fromMs)] : [];
  const child = spawn(
    'ffmpeg',
    ['-nostdin', '-hide_banner', '-loglevel', 'error', ...input, ...cut, ...peakOutputOptions(channels), 'pipe:1'],
    {
      stdio: ['pipe', 'pipe', 'ignore'],
    },
  );
  const controller = new AbortController();
  const kill = () => {
    controller.abort();
    child.kill('SIGKILL');
  };
  const timer = setTimeout(kill, options.timeoutMs);
  options.signal?.addEventListener('abort', kill, { once: true });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  try {
    await Promise.all([
      // ffmpeg may stop reading early (EPIPE) once it has what it needs: not an error by itself.
      pipeline(options.body, child.stdin, { signal: controller.signal }).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_PREMATURE_CLOSE') throw error;
      }),
      pipeline(child.stdout, sink, { signal: controller.signal }),
    ]);
    const code = await exited;
    if (code !== 0) throw new Error(`ffmpeg exited with ${code}`);
  } catch (error) {
    child.kill('SIGKILL');
    options.body.destroy();
    throw error;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', kill);
  }
  return { ...result() };
}

/** The served waveform (kept under this name for the OpenAPI schema module). */
export type Waveform = ServedWaveform;
