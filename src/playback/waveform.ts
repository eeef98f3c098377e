/**
 * Waveform peaks for drawing: `{ durationMs, channels, peaks }`, where `peaks`
 * holds one array per channel of absolute peak values in [0, 1].
 *
 * Peaks are written at ingest into the row's `waveform` column. For a row
 * without them, `computePeaks` decodes the playback object once with ffmpeg
 * (streamed: the object is piped into ffmpeg, PCM is folded into buckets as
 * it arrives, memory stays bounded) under a hard timeout that kills ffmpeg.
 */
import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';

export interface Waveform {
  durationMs: number;
  channels: number;
  peaks: number[][];
}

const DECODE_RATE = 8000;

/** How many peaks per channel to draw for a call of this length. */
export function peakCount(durationMs: number): number {
  return Math.min(4000, Math.max(200, Math.round(durationMs / 100)));
}

/**
 * Reads whatever the ingest stored (this module's shape, or a bare array of
 * peaks, or `{peaks: number[]}`) into a Waveform; undefined when unusable.
 */
export function parseStoredWaveform(json: string | null, durationMs: number): Waveform | undefined {
  if (!json) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  const isNumbers = (a: unknown): a is number[] => Array.isArray(a) && a.every((n) => typeof n === 'number');
  const peaksOf = (p: unknown): number[][] | undefined => {
    if (isNumbers(p)) return [p];
    if (Array.isArray(p) && p.length > 0 && p.every(isNumbers)) return p;
    return undefined;
  };
  const obj = value as { peaks?: unknown; durationMs?: unknown } | null;
  const peaks = peaksOf(Array.isArray(value) ? value : obj?.peaks);
  if (!peaks) return undefined;
  const d = typeof obj?.durationMs === 'number' ? obj.durationMs : durationMs;
  return { durationMs: d, channels: peaks.length, peaks };
}

/** Folds interleaved s16le PCM into per-channel absolute peaks of `bucketFrames` frames each. */
export function createPeakFolder(channels: number, bucketFrames: number) {
  const peaks: number[][] = Array.from({ length: channels }, () => []);
  const current = new Array<number>(channels).fill(0);
  let framesInBucket = 0;
  let carry = Buffer.alloc(0);
  const frameBytes = 2 * channels;
  return {
    push(chunk: Buffer) {
      const data = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      const usable = data.length - (data.length % frameBytes);
      for (let off = 0; off < usable; off += frameBytes) {
        for (let c = 0; c < channels; c++) {
          const v = Math.abs(data.readInt16LE(off + 2 * c)) / 32768;
          if (v > current[c]!) current[c] = v;
        }
        if (++framesInBucket === bucketFrames) {
          for (let c = 0; c < channels; c++) {
            peaks[c]!.push(Math.round(current[c]! * 1000) / 1000);
            current[c] = 0;
          }
          framesInBucket = 0;
        }
      }
      carry = Buffer.from(data.subarray(usable));
    },
    finish(): number[][] {
      if (framesInBucket > 0) for (let c = 0; c < channels; c++) peaks[c]!.push(Math.round(current[c]! * 1000) / 1000);
      return peaks;
    },
  };
}

/** Decodes `body` with ffmpeg and returns its peaks; rejects on a decode failure, timeout or abort. */
export async function computePeaks(options: {
  body: Readable;
  durationMs: number;
  channels: number;
  timeoutMs: number;
  signal?: AbortSignal;
}): Promise<Waveform> {
  const channels = Math.min(2, Math.max(1, options.channels));
  const totalFrames = Math.max(1, Math.round((options.durationMs / 1000) * DECODE_RATE));
  const bucketFrames = Math.max(1, Math.ceil(totalFrames / peakCount(options.durationMs)));
  const folder = createPeakFolder(channels, bucketFrames);
  const child = spawn(
    'ffmpeg',
    ['-nostdin', '-hide_banner', '-loglevel', 'error', '-i', 'pipe:0', '-f', 's16le', '-acodec', 'pcm_s16le', '-ac', String(channels), '-ar', String(DECODE_RATE), 'pipe:1'],
    { stdio: ['pipe', 'pipe', 'ignore'] },
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
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        folder.push(chunk);
        cb();
      },
    });
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
  return { durationMs: options.durationMs, channels, peaks: folder.finish() };
}
