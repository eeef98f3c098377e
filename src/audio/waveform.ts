/**
 * Waveform peaks: the drawing data served at GET /v1/recordings/:id/waveform
 * and stored as JSON in `recordings.waveform`.
 *
 * Format (version 1):
 *
 *   {
 *     "version": 1,
 *     "sampleRate": 8000,        // rate of the decoded signal the peaks were taken from
 *     "samplesPerPeak": 64,      // decoded samples (per channel) summarized by one peak
 *     "channels": 2,             // stereo stays stereo: peaks[0] = left (agent), peaks[1] = right
 *     "length": 1234,            // peaks per channel (every channel has the same length)
 *     "durationMs": 9873,        // decoded duration: length of the real audio, not what a header claims
 *     "peaks": [[0.012, 0.5, …], […]]  // max |amplitude| per bucket, in [0, 1], 3 decimals
 *   }
 *
 * At most MAX_PEAKS (2000) … 2 × MAX_PEAKS peaks per channel: buckets double in size
 * whenever the count reaches 2 × MAX_PEAKS, so memory stays bounded for any
 * length and the reducer needs no duration up front. The last bucket may be partial.
 * wavesurfer.js draws it with `peaks` and `duration = durationMs / 1000`.
 */
import os from 'node:os';
import { Writable } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';
import { runFfmpegToSink } from './process.js';
import type { RunLimits } from './process.js';

export const WAVEFORM_VERSION = 1;
export const MAX_PEAKS = 2000;
/** Rate at which audio is decoded for peaks (telephony: 8 kHz is the source rate anyway). */
export const PEAK_SAMPLE_RATE = 8000;

const LITTLE_ENDIAN = os.endianness() === 'LE';

export interface Waveform {
  version: 1;
  sampleRate: number;
  samplesPerPeak: number;
  channels: number;
  length: number;
  durationMs: number;
  peaks: number[][];
}

/**
 * A streaming reducer of interleaved signed 16-bit little-endian PCM into
 * peaks. Pure apart from its own state: `push` any chunking, `finish` once.
 */
export function createPeakReducer(options: {
  channels: number;
  sampleRate: number;
  maxPeaks?: number;
  initialSamplesPerPeak?: number;
}) {
  const { channels, sampleRate } = options;
  const maxPeaks = options.maxPeaks ?? MAX_PEAKS;
  let samplesPerPeak = options.initialSamplesPerPeak ?? 16;
  const peaks: number[][] = Array.from({ length: channels }, () => []);
  const current = new Array<number>(channels).fill(0);
  let inBucket = 0;
  let frames = 0;
  let carry = Buffer.alloc(0);
  let codeCarry = new Uint8Array(0);
  const frameBytes = 2 * channels;

  const halve = () => {
    for (let c = 0; c < channels; c++) {
      const list = peaks[c]!;
      const merged: number[] = [];
      for (let i = 0; i < list.length; i += 2) merged.push(Math.max(list[i]!, list[i + 1] ?? 0));
      peaks[c] = merged;
    }
    samplesPerPeak *= 2;
  };

  const closeBucket = () => {
    for (let c = 0; c < channels; c++) {
      peaks[c]!.push(current[c]!);
      current[c] = 0;
    }
    inBucket = 0;
    if (peaks[0]!.length >= 2 * maxPeaks) halve();
  };

  /**
   * Walks `total` interleaved values (whole frames) bucket by bucket; `scan` answers the
   * larger of `peak` and the magnitudes at from, from + step, … below `to` (one call per
   * bucket and channel, so the per-value loop stays a tight loop of its caller's kind).
   */
  const reduceWith = (total: number, scan: (from: number, to: number, step: number, peak: number) => number): void => {
    let i = 0;
    while (i < total) {
      const frames_ = Math.min(samplesPerPeak - inBucket, (total - i) / channels);
      const end = i + frames_ * channels;
      for (let c = 0; c < channels; c++) current[c] = scan(i + c, end, channels, current[c]!);
      i = end;
      frames += frames_;
      inBucket += frames_;
      if (inBucket === samplesPerPeak) closeBucket();
    }
  };

  /** The hot loop of ingest over 16-bit samples: no allocation, no bounds checks beyond the array's. */
  const reduce = (samples: Int16Array): void =>
    reduceWith(samples.length, (from, to, step, peak) => {
      for (let j = from; j < to; j += step) {
        const v = samples[j]!;
        const a = v < 0 ? -v : v;
        if (a > peak) peak = a;
      }
      return peak;
    });

  /**
   * Mono 8-bit codes, two at a time: one 16-bit read of two neighbouring codes and one
   * lookup of their larger magnitude (pairMagnitudes), half the iterations of a byte loop.
   * Bytes before the first even address, and a bucket's odd first or last byte, go singly.
   */
  const reduceMonoCodes = (data: Uint8Array, usable: number, magnitudes: Uint16Array): void => {
    const pairs = pairMagnitudes(magnitudes);
    const skew = data.byteOffset & 1;
    const words = new Uint16Array(data.buffer, data.byteOffset + skew, (usable - skew) >> 1);
    reduceWith(usable, (from, to, _step, peak) => {
      let j = from;
      if (((j + skew) & 1) === 1 && j < to) {
        const a = magnitudes[data[j]!]!;
        if (a > peak) peak = a;
        j++;
      }
      const last = to - ((to - j) & 1);
      for (let w = (j - skew) >> 1, end = (last - skew) >> 1; w < end; w++) {
        const a = pairs[words[w]!]!;
        if (a > peak) peak = a;
      }
      if (last < to) {
        const a = magnitudes[data[last]!]!;
        if (a > peak) peak = a;
      }
      return peak;
    });
  };

  return {
    push(chunk: Buffer): void {
      const data = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      const usable = data.length - (data.length % frameBytes);
      if (usable > 0) {
        // A typed view needs 2-byte alignment and little-endian hardware; otherwise read a copy or each sample.
        if (LITTLE_ENDIAN) {
          const aligned = data.byteOffset % 2 === 0 ? data : Buffer.from(data.subarray(0, usable));
          reduce(new Int16Array(aligned.buffer, aligned.byteOffset, usable / 2));
        } else {
          const samples = new Int16Array(usable / 2);
          for (let k = 0; k < samples.length; k++) samples[k] = data.readInt16LE(2 * k);
          reduce(samples);
        }
      }
      carry = Buffer.from(data.subarray(usable));
    },
    /**
     * Like `push`, for 8-bit codes (μ-law, A-law, u8) and the magnitude of each code's
     * 16-bit value (`magnitudes[code]`): one pass, nothing decoded into memory. A partial
     * frame waits for the next call.
     */
    pushCodes(chunk: Uint8Array, magnitudes: Uint16Array): void {
      let data = chunk;
      if (codeCarry.length) {
        data = new Uint8Array(codeCarry.length + chunk.length);
        data.set(codeCarry);
        data.set(chunk, codeCarry.length);
      }
      const usable = data.length - (data.length % channels);
      if (usable > 0 && channels === 1 && usable >= 64) reduceMonoCodes(data, usable, magnitudes);
      else if (usable > 0) {
        reduceWith(usable, (from, to, step, peak) => {
          for (let j = from; j < to; j += step) {
            const a = magnitudes[data[j]!]!;
            if (a > peak) peak = a;
          }
          return peak;
        });
      }
      codeCarry = data.slice(usable);
    },
    /** Decoded frames so far (per channel). */
    get frames(): number {
      return frames;
    },
    finish(): Waveform {
      if (inBucket > 0) closeBucket();
      return {
        version: WAVEFORM_VERSION,
        sampleRate,
        samplesPerPeak,
        channels,
        length: peaks[0]!.length,
        durationMs: Math.round((frames * 1000) / sampleRate),
        peaks: peaks.map((list) => list.map((v) => Math.round((Math.min(v, 32767) / 32767) * 1000) / 1000)),
      };
    },
  };
}

const pairTables = new WeakMap<Uint16Array, Uint16Array>();

/** For every two bytes read as one 16-bit word (either byte order), the larger of their magnitudes. */
function pairMagnitudes(magnitudes: Uint16Array): Uint16Array {
  let table = pairTables.get(magnitudes);
  if (!table) {
    table = new Uint16Array(65536);
    for (let word = 0; word < 65536; word++) table[word] = Math.max(magnitudes[word & 0xff]!, magnitudes[word >>> 8]!);
    pairTables.set(magnitudes, table);
  }
  return table;
}

/** A Writable that feeds a peak reducer (the PCM output of an ffmpeg run). */
export function peakSink(options: {
  channels: number;
  sampleRate: number;
  maxPeaks?: number;
  initialSamplesPerPeak?: number;
}): {
  sink: Writable;
  result: () => Waveform;
} {
  const reducer = createPeakReducer(options);
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      reducer.push(chunk);
      callback();
    },
  });
  return { sink, result: () => reducer.finish() };
}

/**
 * ffmpeg output options that make `channels` channels at `rate` Hz from 16-bit samples, resampled on the resampler's
 * integer path; the peaks and every rendition are made this way. A float decoder's output (Opus, MP3, AAC) resampled
 * as float cost five to six times the decode itself on mostly quiet calls (near-silent float samples are slow): 3
 * minutes of CPU for a 3-hour Opus call's peaks, 14.8 s against 3.1 s to transcode a 10-minute stereo Opus upload.
 * The samples differ from the float path's by at most 8 of 32,767; telephony audio holds no more than 16 bits.
 */
export function pcm16Options(channels: number, rate: number): string[] {
  return ['-af', `aformat=sample_fmts=s16,aresample=${rate}`, '-ac', String(channels), '-ar', String(rate)];
}

/** ffmpeg output options that decode to the PCM the reducer reads. */
export function peakOutputOptions(channels: number): string[] {
  return ['-map', '0:a:0', '-vn', ...pcm16Options(channels, PEAK_SAMPLE_RATE), '-f', 's16le', '-c:a', 'pcm_s16le'];
}

/** Decodes `file` once (8 kHz PCM on ffmpeg's stdout, never on disk) and reduces it to peaks. */
export async function computePeaks(file: string, options: RunLimits & { channels: number }): Promise<Waveform> {
  const channels = Math.min(Math.max(options.channels, 1), 2);
  const { sink, result } = peakSink({ channels, sampleRate: PEAK_SAMPLE_RATE });
  const command = ffmpeg(file).inputOptions(['-nostdin', '-threads', '1']);
  await runFfmpegToSink(command, { ...options, sink, outputOptions: peakOutputOptions(channels) });
  return result();
}
