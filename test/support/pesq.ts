/**
 * PESQ of the playback rendition (ITU-T P.862 narrowband, P.862.2 wideband; the pinned `pesq`
 * package from PyPI in a cached venv: scripts/pesq/ensure, scripts/pesq/score.py), shared by the
 * rendition-quality test and the ingest bench (`npm run bench ingest`), so both measure alike.
 *
 *   const python = await pesqPython();                       // installs pesq once (about a minute)
 *   const original = await speechSource(dir, 'nb-stereo.wav', [en, nl], NARROWBAND_ARGS);
 *   const scores = await renditionPesq({ python, original, format: 'opus', mode: 'nb', dir }); // [4.3, 4.28]
 *
 * Sources are generated from the espeak-ng speech samples (test/support/fixtures.ts) with ffmpeg.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { probeAudio, transcodeForPlayback } from '../../src/audio/index.js';
import type { PlaybackFormat } from '../../src/audio/index.js';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const LIMITS = { timeoutMs: 60_000 };

/** The playback formats a rendition can take (CALLREC_PLAYBACK_FORMAT). */
export const PLAYBACK_FORMATS: PlaybackFormat[] = ['opus', 'mp3'];
/** Issue #15's floor for narrowband sources (PESQ-NB, P.862 MOS-LQO), in the test and the bench. */
export const NARROWBAND_MIN = 4.2;
/** ffmpeg output arguments of a narrowband telephony original: 8 kHz μ-law. */
export const NARROWBAND_ARGS = ['-ar', '8000', '-c:a', 'pcm_mulaw'];

export type PesqMode = 'nb' | 'wb';

export async function ffmpeg(args: string[]): Promise<void> {
  await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args], { maxBuffer: 1 << 20 });
}

/** The path of a python with the pinned pesq, installed into ~/.cache/callrec-tools once. */
export async function pesqPython(): Promise<string> {
  const { stdout } = await run('bash', [path.join(ROOT, 'scripts', 'pesq', 'ensure')], { maxBuffer: 1 << 20 });
  return stdout.trim();
}

/** Per-channel PESQ of `degraded` against `reference` (16-bit PCM WAVs at 8 kHz for nb, 16 kHz for wb). */
export async function pesq(python: string, reference: string, degraded: string, mode: PesqMode): Promise<number[]> {
  const { stdout } = await run(python, [path.join(ROOT, 'scripts', 'pesq', 'score.py'), reference, degraded, mode]);
  return JSON.parse(stdout) as number[];
}

/** 16-bit PCM of `input` at `rate` (all channels). */
export async function decodeTo(input: string, output: string, rate: number): Promise<string> {
  await ffmpeg(['-i', input, '-ar', String(rate), '-c:a', 'pcm_s16le', output]);
  return output;
}

/** The rendition of `source` in `format`, as ingest makes it, written into `dir`. */
export async function renditionOf(source: string, format: PlaybackFormat, dir: string): Promise<string> {
  const probe = await probeAudio(source, LIMITS);
  const output = path.join(dir, `${path.basename(source)}.${format}`);
  await transcodeForPlayback(source, output, { ...LIMITS, format, source: probe });
  return output;
}

/**
 * A source `dir/name` made with ffmpeg (output `args`) from speech files: one voice gives mono, two
 * give stereo (the first on the left, the second on the right).
 */
export async function speechSource(dir: string, name: string, voices: string[], args: string[]): Promise<string> {
  const output = path.join(dir, name);
  const inputs = voices.flatMap((v) => ['-i', v]);
  const merge =
    voices.length === 2
      ? ['-filter_complex', '[0:a][1:a]amerge=inputs=2,pan=stereo|c0=c0|c1=c1[a]', '-map', '[a]']
      : [];
  await ffmpeg([...inputs, ...merge, ...args, output]);
  return output;
}

/**
 * Per-channel PESQ (`mode`) of the `format` rendition of `original` against the original decoded to
 * 16-bit PCM at the mode's rate (8 kHz nb, 16 kHz wb); the intermediate files go beside `original`.
 */
export async function renditionPesq(options: {
  python: string;
  original: string;
  format: PlaybackFormat;
  mode: PesqMode;
  dir: string;
}): Promise<number[]> {
  const { python, original, format, mode, dir } = options;
  const rate = mode === 'nb' ? 8000 : 16000;
  const reference = await decodeTo(original, `${original}.${mode}.ref.wav`, rate);
  const rendition = await renditionOf(original, format, dir);
  const degraded = await decodeTo(rendition, `${original}.${format}.${mode}.deg.wav`, rate);
  return pesq(python, reference, degraded, mode);
}
