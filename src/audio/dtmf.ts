/**
 * DTMF detection (card numbers keyed in during a call), written here so that its limits are
 * ours to state: Goertzel filters at the eight ITU-T Q.23/Q.24 frequencies over blocks of
 * 204 samples of 8 kHz PCM (25.5 ms), hopped by half a block, one detector per channel.
 *
 * A block holds a digit when all of these hold (the checks that keep speech and music out):
 * - level: the row and the column tone each carry at least MIN_TONE_POWER (about -38 dBFS);
 * - twist: the column tone is at most 8 dB above the row tone ("normal" twist) and at most
 *   4 dB below it ("reverse" twist), as Q.24 allows for real lines;
 * - relative peak: the strongest row tone is 8 dB above every other row frequency, and so for
 *   the columns (speech formants spread over several);
 * - purity: the two tones carry at least 70 % of the block's total energy (speech and chords
 *   carry energy elsewhere too).
 * A tone is a run of at least MIN_BLOCKS consecutive blocks with the same digit (at least 38 ms
 * of tone: Q.24 asks for ≥ 40 ms to be accepted), reported as the run's span. The digit itself
 * is never reported: callers learn only where a tone was.
 *
 * `scanDtmf` decodes a file once with ffmpeg (8 kHz s16le on its stdout, never on disk: bounded
 * memory) and runs one detector per channel.
 */
import ffmpeg from 'fluent-ffmpeg';
import { Writable } from 'node:stream';
import { runFfmpegToSink } from './process.js';
import type { RunLimits } from './process.js';

export const DTMF_SAMPLE_RATE = 8000;
export const ROW_HZ = [697, 770, 852, 941] as const;
export const COLUMN_HZ = [1209, 1336, 1477, 1633] as const;
/** Samples per Goertzel block; blocks start every HOP samples. */
export const BLOCK = 204;
export const HOP = BLOCK / 2;
/** Consecutive blocks (hopped by HOP) with one digit that make a tone: 2 → 306 samples, 38 ms. */
export const MIN_BLOCKS = 2;
/** Power of one tone (normalized: amplitude² / 2 of a full-scale sine = 0.5) below which nothing counts: ≈ -38 dBFS. */
const MIN_TONE_POWER = 10 ** (-38 / 10) * 0.5;
const NORMAL_TWIST = 10 ** (8 / 10);
const REVERSE_TWIST = 10 ** (4 / 10);
const RELATIVE_PEAK = 10 ** (8 / 10);
const MIN_PURITY = 0.7;

/** A tone's span in ms from the start of the audio (end exclusive). */
export interface ToneSpan {
  startMs: number;
  endMs: number;
}

const FREQUENCIES = [...ROW_HZ, ...COLUMN_HZ];
const OMEGAS = FREQUENCIES.map((f) => (2 * Math.PI * f) / DTMF_SAMPLE_RATE);
const COEFFICIENTS = Float64Array.from(OMEGAS, (w) => 2 * Math.cos(w));
const COS = Float64Array.from(OMEGAS, (w) => Math.cos(w));
const SIN = Float64Array.from(OMEGAS, (w) => Math.sin(w));
/** Rotations that turn a half block's Goertzel state into its DFT term, and shift the second half by HOP. */
const COS_LAST = Float64Array.from(OMEGAS, (w) => Math.cos(w * (HOP - 1)));
const SIN_LAST = Float64Array.from(OMEGAS, (w) => Math.sin(w * (HOP - 1)));
const COS_HOP = Float64Array.from(OMEGAS, (w) => Math.cos(w * HOP));
const SIN_HOP = Float64Array.from(OMEGAS, (w) => Math.sin(w * HOP));

/**
 * The DFT terms Σ x[n]·e^(-jωn) of `samples[from, from + HOP)` at the eight frequencies, into
 * `re`/`im`: a Goertzel filter per frequency, its final state rotated into the term.
 */
function halfBlockTerms(samples: Float32Array, from: number, re: Float64Array, im: Float64Array): void {
  // All eight filters in one pass (independent recurrences: one load per sample).
  const [c0, c1, c2, c3, c4, c5, c6, c7] = COEFFICIENTS as unknown as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  let a0 = 0,
    b0 = 0,
    a1 = 0,
    b1 = 0,
    a2 = 0,
    b2 = 0,
    a3 = 0,
    b3 = 0;
  let a4 = 0,
    b4 = 0,
    a5 = 0,
    b5 = 0,
    a6 = 0,
    b6 = 0,
    a7 = 0,
    b7 = 0;
  for (let i = from, end = from + HOP; i < end; i++) {
    const x = samples[i]!;
    let t = x + c0 * a0 - b0;
    b0 = a0;
    a0 = t;
    t = x + c1 * a1 - b1;
    b1 = a1;
    a1 = t;
    t = x + c2 * a2 - b2;
    b2 = a2;
    a2 = t;
    t = x + c3 * a3 - b3;
    b3 = a3;
    a3 = t;
    t = x + c4 * a4 - b4;
    b4 = a4;
    a4 = t;
    t = x + c5 * a5 - b5;
    b5 = a5;
    a5 = t;
    t = x + c6 * a6 - b6;
    b6 = a6;
    a6 = t;
    t = x + c7 * a7 - b7;
    b7 = a7;
    a7 = t;
  }
  const s1 = [a0, a1, a2, a3, a4, a5, a6, a7];
  const s2 = [b0, b1, b2, b3, b4, b5, b6, b7];
  for (let k = 0; k < 8; k++) {
    const a = s1[k]! - COS[k]! * s2[k]!;
    const b = SIN[k]! * s2[k]!;
    re[k] = a * COS_LAST[k]! + b * SIN_LAST[k]!;
    im[k] = b * COS_LAST[k]! - a * SIN_LAST[k]!;
  }
}

/** The digit of one block's powers (rows 0-3, columns 4-7; normalized), or -1. Pure. */
export function classifyBlock(powers: Float64Array, energy: number): number {
  let row = 0;
  for (let i = 1; i < 4; i++) if (powers[i]! > powers[row]!) row = i;
  let col = 4;
  for (let i = 5; i < 8; i++) if (powers[i]! > powers[col]!) col = i;
  const r = powers[row]!;
  const c = powers[col]!;
  if (r < MIN_TONE_POWER || c < MIN_TONE_POWER) return -1;
  if (c > r * NORMAL_TWIST || r > c * REVERSE_TWIST) return -1;
  for (let i = 0; i < 4; i++) if (i !== row && powers[i]! * RELATIVE_PEAK > r) return -1;
  for (let i = 4; i < 8; i++) if (i !== col && powers[i]! * RELATIVE_PEAK > c) return -1;
  if (r + c < MIN_PURITY * energy) return -1;
  return row * 4 + (col - 4);
}

/**
 * One channel's detector: push 8 kHz samples (floats in [-1, 1]) in any chunking; `finish`
 * returns the tones found, in order. Memory: constant (one block). Every HOP samples the last
 * BLOCK samples are analysed; a window too quiet to hold two tones skips the filters.
 */
export function createDtmfDetector(): { push(samples: Float32Array): void; finish(): ToneSpan[] } {
  const spans: ToneSpan[] = [];
  const window = new Float32Array(BLOCK);
  const powers = new Float64Array(8);
  /** Samples in the second half of `window`; the first half holds the previous hop. */
  let fill = HOP;
  /** Energy (sum of squares) of the first and second half. */
  let firstEnergy = 0;
  let secondEnergy = 0;
  /** Index of the window's first sample. */
  let windowStart = -HOP;
  let runDigit = -1;
  let runBlocks = 0;
  let runStart = 0;
  let runEnd = 0;
  const quietEnergy = 2 * MIN_TONE_POWER * BLOCK;
  const firstRe = new Float64Array(8);
  const firstIm = new Float64Array(8);
  const secondRe = new Float64Array(8);
  const secondIm = new Float64Array(8);
  /** Whether the half's terms are computed. */
  let firstTerms = false;
  let secondTerms = false;

  const closeRun = () => {
    if (runDigit >= 0 && runBlocks >= MIN_BLOCKS)
      spans.push({
        startMs: (Math.max(0, runStart) * 1000) / DTMF_SAMPLE_RATE,
        endMs: (runEnd * 1000) / DTMF_SAMPLE_RATE,
      });
    runDigit = -1;
    runBlocks = 0;
  };

  const analyse = () => {
    const energy = firstEnergy + secondEnergy;
    let digit = -1;
    if (energy >= quietEnergy) {
      // A window is two half blocks: each half's terms are computed once (the first half's
      // in the previous hop, unless that window was too quiet) and joined, the second shifted by HOP.
      if (!firstTerms) halfBlockTerms(window, 0, firstRe, firstIm);
      halfBlockTerms(window, HOP, secondRe, secondIm);
      secondTerms = true;
      const norm = 2 / (BLOCK * BLOCK);
      for (let k = 0; k < 8; k++) {
        const re = firstRe[k]! + secondRe[k]! * COS_HOP[k]! + secondIm[k]! * SIN_HOP[k]!;
        const im = firstIm[k]! + secondIm[k]! * COS_HOP[k]! - secondRe[k]! * SIN_HOP[k]!;
        powers[k] = (re * re + im * im) * norm;
      }
      digit = classifyBlock(powers, energy / BLOCK);
    }
    if (digit >= 0 && digit === runDigit) {
      runBlocks += 1;
      runEnd = windowStart + BLOCK;
    } else {
      closeRun();
      if (digit >= 0) {
        runDigit = digit;
        runBlocks = 1;
        runStart = windowStart;
        runEnd = windowStart + BLOCK;
      }
    }
  };

  return {
    push(samples) {
      let i = 0;
      while (i < samples.length) {
        const n = Math.min(BLOCK - fill, samples.length - i);
        let e = 0;
        for (let j = 0; j < n; j++) {
          const v = samples[i + j]!;
          window[fill + j] = v;
          e += v * v;
        }
        secondEnergy += e;
        fill += n;
        i += n;
        if (fill === BLOCK) {
          analyse();
          window.copyWithin(0, HOP, BLOCK);
          firstRe.set(secondRe);
          firstIm.set(secondIm);
          firstTerms = secondTerms;
          secondTerms = false;
          firstEnergy = secondEnergy;
          secondEnergy = 0;
          fill = HOP;
          windowStart += HOP;
        }
      }
    },
    finish() {
      closeRun();
      return spans;
    },
  };
}

/**
 * Splits interleaved s16le PCM of `channels` channels into per-channel detectors; `finish`
 * returns every channel's tones merged into one ordered list. Pure apart from its state.
 */
export function createDtmfScanner(channels: number): { push(chunk: Buffer): void; finish(): ToneSpan[] } {
  const detectors = Array.from({ length: channels }, () => createDtmfDetector());
  const frame = 2 * channels;
  let carry = Buffer.alloc(0);
  const planes = Array.from({ length: channels }, () => new Float32Array(4096));
  return {
    push(chunk) {
      const data = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
      const frames = Math.floor(data.length / frame);
      let offset = 0;
      for (let done = 0; done < frames;) {
        const n = Math.min(4096, frames - done);
        for (let i = 0; i < n; i++) {
          for (let c = 0; c < channels; c++) {
            planes[c]![i] = data.readInt16LE(offset) / 32768;
            offset += 2;
          }
        }
        for (let c = 0; c < channels; c++) detectors[c]!.push(planes[c]!.subarray(0, n));
        done += n;
      }
      carry = Buffer.from(data.subarray(frames * frame));
    },
    finish() {
      return mergeSpans(detectors.flatMap((d) => d.finish()));
    },
  };
}

/** Sorted, with overlapping or touching spans joined. Pure. */
export function mergeSpans<T extends ToneSpan>(spans: readonly T[]): ToneSpan[] {
  const sorted = [...spans].sort((a, b) => a.startMs - b.startMs);
  const merged: ToneSpan[] = [];
  for (const span of sorted) {
    const last = merged.at(-1);
    if (last && span.startMs <= last.endMs) last.endMs = Math.max(last.endMs, span.endMs);
    else merged.push({ startMs: span.startMs, endMs: span.endMs });
  }
  return merged;
}

/**
 * Decodes `file` (its first audio stream, every channel, 8 kHz) and returns where DTMF tones
 * are, in ms, merged across channels. Throws as the other ffmpeg runs do (AudioTimeoutError,
 * the abort reason, ffmpeg's error).
 */
export async function scanDtmf(
  file: string,
  options: RunLimits & { channels: number; rawInput?: readonly string[] },
): Promise<ToneSpan[]> {
  const channels = Math.min(Math.max(options.channels, 1), 8);
  const scanner = createDtmfScanner(channels);
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      scanner.push(chunk);
      callback();
    },
  });
  const command = ffmpeg(file).inputOptions(['-nostdin', '-threads', '1', ...(options.rawInput ?? [])]);
  await runFfmpegToSink(command, {
    timeoutMs: options.timeoutMs,
    ...(options.signal ? { signal: options.signal } : {}),
    sink,
    outputOptions: [
      '-map',
      '0:a:0',
      '-vn',
      '-ac',
      String(channels),
      '-ar',
      String(DTMF_SAMPLE_RATE),
      '-f',
      's16le',
      '-c:a',
      'pcm_s16le',
    ],
  });
  return scanner.finish();
}
