/**
 * Generated audio fixtures: small, real telephony-like files made with
 * espeak-ng (speech) and ffmpeg (codecs, channels), cached by name under
 * `test/fixtures/generated/` (git-ignored). Generation writes to a unique temp
 * name and renames, so parallel test processes never see a half-written file.
 *
 *   const file = await audioFixture('ulaw-mono');                 // 3 s μ-law WAV, 8 kHz mono
 *   const long = await audioFixture('ulaw-mono', { seconds: 300 }); // 5-minute call for the bench
 *   const bytes = await audioFixtureBytes('pcm-stereo');
 *   const big = await largeCallFixture({ megabytes: 50 });         // ~50 MB of stereo noise (sox)
 *
 * Broken inputs (truncated header, lying sizes, random bytes) are built from
 * these by the helpers at the bottom, in memory.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { seededBytes } from './random.js';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const FIXTURE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'generated');

export interface AudioFixtureSpec {
  ext: string;
  contentType: string;
  /** codec name as ffprobe reports it */
  codec: string;
  sampleRate: number;
  channels: number;
  /** ffmpeg output arguments (after the input) */
  args: string[];
}

export const AUDIO_FIXTURES = {
  'ulaw-mono': {
    ext: 'wav',
    contentType: 'audio/wav',
    codec: 'pcm_mulaw',
    sampleRate: 8000,
    channels: 1,
    args: ['-ac', '1', '-ar', '8000', '-c:a', 'pcm_mulaw'],
  },
  'alaw-mono': {
    ext: 'wav',
    contentType: 'audio/wav',
    codec: 'pcm_alaw',
    sampleRate: 8000,
    channels: 1,
    args: ['-ac', '1', '-ar', '8000', '-c:a', 'pcm_alaw'],
  },
  'gsm-mono': {
    ext: 'wav',
    contentType: 'audio/wav',
    codec: 'gsm_ms',
    sampleRate: 8000,
    channels: 1,
    args: ['-ac', '1', '-ar', '8000', '-c:a', 'libgsm_ms'],
  },
  'pcm-mono-16k': {
    ext: 'wav',
    contentType: 'audio/wav',
    codec: 'pcm_s16le',
    sampleRate: 16000,
    channels: 1,
    args: ['-ac', '1', '-ar', '16000', '-c:a', 'pcm_s16le'],
  },
  'pcm-stereo': {
    ext: 'wav',
    contentType: 'audio/wav',
    codec: 'pcm_s16le',
    sampleRate: 8000,
    channels: 2,
    args: ['-ac', '2', '-ar', '8000', '-c:a', 'pcm_s16le'],
  },
  'ulaw-stereo': {
    ext: 'wav',
    contentType: 'audio/wav',
    codec: 'pcm_mulaw',
    sampleRate: 8000,
    channels: 2,
    args: ['-ac', '2', '-ar', '8000', '-c:a', 'pcm_mulaw'],
  },
  'mp3-mono': {
    ext: 'mp3',
    contentType: 'audio/mpeg',
    codec: 'mp3',
    sampleRate: 16000,
    channels: 1,
    args: ['-ac', '1', '-ar', '16000', '-c:a', 'libmp3lame', '-b:a', '32k'],
  },
  'opus-mono': {
    ext: 'ogg',
    contentType: 'audio/ogg',
    codec: 'opus',
    sampleRate: 48000,
    channels: 1,
    args: ['-ac', '1', '-ar', '16000', '-c:a', 'libopus', '-b:a', '16k'],
  },
} satisfies Record<string, AudioFixtureSpec>;

export type AudioFixtureName = keyof typeof AUDIO_FIXTURES;

const SPEECH = [
  'Thank you for calling. Your call may be recorded to improve our service and to train our staff.',
  'Hello, I would like to ask about my last invoice, the amount seems higher than usual.',
];

async function ensureDir(): Promise<void> {
  await fs.promises.mkdir(FIXTURE_DIR, { recursive: true });
}

async function atomicGenerate(target: string, make: (tmp: string) => Promise<void>): Promise<string> {
  if (fs.existsSync(target)) return target;
  await ensureDir();
  const tmp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp${path.extname(target)}`;
  try {
    await make(tmp);
    await fs.promises.rename(tmp, target);
  } finally {
    await fs.promises.rm(tmp, { force: true });
  }
  return target;
}

/** One spoken sentence (espeak-ng, 22.05 kHz mono WAV); `voice` 0 or 1 picks text and voice. */
async function speech(voice: 0 | 1): Promise<string> {
  return atomicGenerate(path.join(FIXTURE_DIR, `speech-${voice}.wav`), async (tmp) => {
    await run('espeak-ng', ['-v', voice === 0 ? 'en' : 'en+f3', '-s', '160', '-w', tmp, SPEECH[voice]!]);
  });
}

/**
 * The path of a generated fixture of `seconds` (default 3) of looped speech in
 * the named format. Stereo fixtures carry a different speaker on each channel
 * (agent left, customer right).
 */
export async function audioFixture(name: AudioFixtureName, options: { seconds?: number } = {}): Promise<string> {
  const seconds = options.seconds ?? 3;
  const spec: AudioFixtureSpec = AUDIO_FIXTURES[name];
  const target = path.join(FIXTURE_DIR, `${name}-${seconds}s.${spec.ext}`);
  return atomicGenerate(target, async (tmp) => {
    const left = await speech(0);
    const inputs = ['-stream_loop', '-1', '-i', left];
    let filter: string[] = [];
    if (spec.channels === 2) {
      inputs.push('-stream_loop', '-1', '-i', await speech(1));
      filter = ['-filter_complex', '[0:a][1:a]amerge=inputs=2[a]', '-map', '[a]'];
    }
    await run(
      'ffmpeg',
      ['-hide_banner', '-loglevel', 'error', '-y', ...inputs, ...filter, '-t', String(seconds), ...spec.args, tmp],
      {
        maxBuffer: 1024 * 1024,
      },
    );
  });
}

export async function audioFixtureBytes(name: AudioFixtureName, options: { seconds?: number } = {}): Promise<Buffer> {
  return fs.promises.readFile(await audioFixture(name, options));
}

/**
 * A large call: about `megabytes` (default 50) of 16-bit stereo 48 kHz noise (sox), generated
 * once and cached. Many bytes, yet few seconds to transcode (the crash tests upload it dozens
 * of times).
 */
export async function largeCallFixture(options: { megabytes?: number } = {}): Promise<string> {
  const seconds = Math.round(((options.megabytes ?? 50) * 1024 * 1024) / (48_000 * 2 * 2));
  const target = path.join(FIXTURE_DIR, `noise-stereo-48k-${seconds}s.wav`);
  return atomicGenerate(target, async (tmp) => {
    await run('sox', [
      '-n',
      '-r',
      '48000',
      '-c',
      '2',
      '-b',
      '16',
      '-e',
      'signed-integer',
      tmp,
      'synth',
      String(seconds),
      'whitenoise',
      'vol',
      '0.1',
    ]);
  });
}

/** Deterministic-length random bytes: certainly not audio. */
export function randomNoise(size = 4096, seed = 'noise'): Buffer {
  return seededBytes(seed, size);
}

/** A canonical 44-byte RIFF/WAVE header for `dataBytes` of audio (8-bit μ-law by default). */
export function wavHeader(options: {
  dataBytes: number;
  sampleRate?: number;
  channels?: number;
  format?: 'mulaw' | 'pcm16';
}): Buffer {
  const { dataBytes, sampleRate = 8000, channels = 1, format = 'mulaw' } = options;
  const bits = format === 'mulaw' ? 8 : 16;
  const blockAlign = (channels * bits) / 8;
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(Math.min(0xffffffff, 36 + dataBytes), 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(format === 'mulaw' ? 7 : 1, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * blockAlign, 28);
  h.writeUInt16LE(blockAlign, 32);
  h.writeUInt16LE(bits, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(Math.min(0xffffffff, dataBytes), 40);
  return h;
}

/** The first `bytes` bytes of a WAV (default: cut inside its header). */
export function truncated(wav: Buffer, bytes = 30): Buffer {
  return wav.subarray(0, bytes);
}

/**
 * A copy of a canonical 44-byte-header WAV whose RIFF and data sizes claim
 * `factor` times the audio actually present (what a recorder that crashed
 * before fixing up its header leaves behind).
 */
export function withLyingSizes(wav: Buffer, factor = 1000): Buffer {
  const copy = Buffer.from(wav);
  const dataAt = copy.indexOf('data', 12, 'ascii');
  if (dataAt < 0) throw new Error('not a WAV with a data chunk');
  const real = copy.length - dataAt - 8;
  const claimed = Math.min(0xfffffff0, real * factor);
  copy.writeUInt32LE(claimed, dataAt + 4);
  copy.writeUInt32LE(Math.min(0xffffffff, claimed + dataAt), 4);
  return copy;
}

/** A μ-law WAV of `seconds` of digital silence (0xFF in μ-law), built in memory. */
export function silentUlawWav(seconds: number): Buffer {
  const data = Buffer.alloc(seconds * 8000, 0xff);
  return Buffer.concat([wavHeader({ dataBytes: data.length }), data]);
}

/** ffmpeg output arguments of each headerless fixture format (mono, the format's own rate). */
const RAW_FIXTURE_ARGS = {
  ulaw: ['-ar', '8000', '-c:a', 'pcm_mulaw', '-f', 'mulaw'],
  alaw: ['-ar', '8000', '-c:a', 'pcm_alaw', '-f', 'alaw'],
  sln: ['-ar', '8000', '-c:a', 'pcm_s16le', '-f', 's16le'],
  sln16: ['-ar', '16000', '-c:a', 'pcm_s16le', '-f', 's16le'],
  gsm: ['-ar', '8000', '-c:a', 'libgsm', '-f', 'gsm'],
  g722: ['-ar', '16000', '-c:a', 'g722', '-f', 'g722'],
} as const;

export type RawFixtureFormat = keyof typeof RAW_FIXTURE_ARGS;
export const RAW_FIXTURE_FORMATS = Object.keys(RAW_FIXTURE_ARGS) as RawFixtureFormat[];

/**
 * Headerless audio as Asterisk writes it (`.ulaw`, `.alaw`, `.sln`, `.sln16`, `.gsm`, `.g722`):
 * `seconds` (default 3) of speech, mono, generated once with ffmpeg from the mono speech fixture.
 */
export async function rawAudioFixture(format: RawFixtureFormat, options: { seconds?: number } = {}): Promise<string> {
  const seconds = options.seconds ?? 3;
  const target = path.join(FIXTURE_DIR, `headerless-${seconds}s.${format}`);
  return atomicGenerate(target, async (tmp) => {
    await run('ffmpeg', [
      ...['-hide_banner', '-loglevel', 'error', '-y', '-stream_loop', '-1', '-i', await speech(0)],
      ...['-t', String(seconds), '-ac', '1', ...RAW_FIXTURE_ARGS[format], tmp],
    ]);
  });
}

const SPEECH_SAMPLES = {
  en: 'Thank you for calling customer service. I understand the problem with your invoice, let me check your account for you.',
  nl: 'Goedemorgen, u spreekt met de klantenservice. Ik begrijp het probleem met uw factuur, ik kijk even in uw dossier.',
} as const;

/** Several seconds of English or Dutch speech (espeak-ng, 22.05 kHz mono WAV): the PESQ fixtures. */
export async function speechSample(language: keyof typeof SPEECH_SAMPLES): Promise<string> {
  return atomicGenerate(path.join(FIXTURE_DIR, `speech-sample-${language}.wav`), async (tmp) => {
    await run('espeak-ng', ['-v', language, '-s', '150', '-w', tmp, SPEECH_SAMPLES[language]]);
  });
}
