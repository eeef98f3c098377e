/**
 * The playback rendition: one ffmpeg run decodes the original once and writes
 * both the rendition (a file) and 8 kHz PCM for the waveform peaks (stdout).
 *
 * Encoder settings, chosen by measurement (test/unit/rendition-quality.test.ts scores every
 * format, mono and each stereo channel, with PESQ against the decoded original; README
 * "Rendition quality"): telephony speech needs no more than its source bandwidth, so Opus
 * encodes at 8 kHz (narrowband sources) or 16 kHz (anything wider) with `-application voip`,
 * complexity 0 and 60 ms frames (the encode speed), at rates that keep PESQ ≥ 4.2 narrowband:
 * 28 kbit/s mono, 80 kbit/s stereo; 64 and 128 kbit/s for wideband sources. Stereo stays
 * stereo (agent and customer apart); Opus's coupled stereo leaks one channel into the other
 * below about 56 kbit/s (−20 dB measured at 24 kbit/s), above it the channels stay ≥ 50 dB
 * apart. MP3 (the option) always encodes at 16 kHz (LAME's 8 kHz MPEG-2.5 scores PESQ 2.7) with
 * plain stereo (no joint/mid-side stereo, which would mix the channels): 64 kbit/s mono, 128
 * stereo. More than two channels are downmixed to two.
 */
import fs from 'node:fs';
import ffmpeg from 'fluent-ffmpeg';
import { AudioDecodeError, AudioOutputError } from './errors.js';
import { runFfmpeg, runFfmpegToSink } from './process.js';
import type { RunLimits } from './process.js';
import { Writable } from 'node:stream';
import { DTMF_SAMPLE_RATE, createDtmfScanner } from './dtmf.js';
import type { ToneSpan } from './dtmf.js';
import { PEAK_SAMPLE_RATE, pcm16Options, peakOutputOptions, peakSink } from './waveform.js';
import type { Waveform } from './waveform.js';

export type PlaybackFormat = 'opus' | 'mp3';

export const PLAYBACK_RENDITIONS: Record<PlaybackFormat, { ext: string; contentType: string }> = {
  opus: { ext: 'ogg', contentType: 'audio/ogg; codecs=opus' },
  mp3: { ext: 'mp3', contentType: 'audio/mpeg' },
};

/** The encoder arguments for a source of `sampleRate` Hz and `channels` channels. Pure. */
export function encoderOptions(format: PlaybackFormat, source: { sampleRate: number; channels: number }): string[] {
  const channels = Math.min(Math.max(source.channels, 1), 2);
  const wideband = source.sampleRate > 8000;
  if (format === 'opus') {
    const bitrate = channels === 2 ? (wideband ? '128k' : '80k') : wideband ? '64k' : '28k';
    return [
      ...commonOptions(channels, wideband ? 16000 : 8000),
      '-c:a',
      'libopus',
      '-application',
      'voip',
      '-b:a',
      bitrate,
      '-compression_level',
      '0',
      '-frame_duration',
      '60',
      '-f',
      'ogg',
    ];
  }
  return [
    ...commonOptions(channels, 16000),
    '-c:a',
    'libmp3lame',
    '-b:a',
    channels === 2 ? '128k' : '64k',
    '-joint_stereo',
    '0',
    '-compression_level',
    '9',
    '-f',
    'mp3',
  ];
}

function commonOptions(channels: number, rate: number): string[] {
  return ['-map', '0:a:0', '-vn', '-map_metadata', '-1', ...pcm16Options(channels, rate)];
}

export interface TranscodeResult {
  format: PlaybackFormat;
  ext: string;
  contentType: string;
  sizeBytes: number;
  /** Present when asked for with `peaks: true`. */
  waveform?: Waveform;
  /** The DTMF tones in the decoded audio (every channel, up to two), when asked for with `dtmf: true`. */
  tones?: ToneSpan[];
}

/**
 * Transcodes `input` into the playback rendition at `output` (overwritten).
 * With `peaks: true` the same run also yields the waveform (whose `durationMs`
 * is the decoded duration). Throws AudioDecodeError when ffmpeg fails on the input
 * or produces nothing; AudioOutputError when it cannot write the output (code `ENOSPC`:
 * the disk is full); AudioTimeoutError or the abort reason when killed. On
 * failure `output` may be partial: the caller owns and removes it.
 */
export async function transcodeForPlayback(
  input: string,
  output: string,
  options: RunLimits & {
    format: PlaybackFormat;
    /** With `rawInput`: headerless audio, read with these input options (./raw-formats.ts). */
    source: { sampleRate: number; channels: number; rawInput?: readonly string[] };
    peaks?: boolean;
    /** Also scan the decoded PCM for DTMF tones (src/audio/dtmf.ts); implies `peaks`. */
    dtmf?: boolean;
  },
): Promise<TranscodeResult> {
  const command = ffmpeg(input)
    .inputOptions(['-nostdin', '-threads', '1', ...(options.source.rawInput ?? [])])
    .output(output)
    .outputOptions(['-y', ...encoderOptions(options.format, options.source)]);
  const channels = Math.min(Math.max(options.source.channels, 1), 2);
  const peaks = options.peaks || options.dtmf ? peakSink({ channels, sampleRate: PEAK_SAMPLE_RATE }) : undefined;
  // The peaks' PCM is the detector's (8 kHz s16le): one decode feeds both.
  const scanner = options.dtmf && PEAK_SAMPLE_RATE === DTMF_SAMPLE_RATE ? createDtmfScanner(channels) : undefined;
  const sink =
    peaks && scanner
      ? new Writable({
          write(chunk: Buffer, encoding, callback) {
            scanner.push(chunk);
            peaks.sink.write(chunk, encoding, callback);
          },
        })
      : peaks?.sink;
  try {
    if (sink) await runFfmpegToSink(command, { ...options, sink, outputOptions: peakOutputOptions(channels) });
    else await runFfmpeg(command, options);
  } catch (error) {
    if (
      error instanceof Error &&
      (error.name === 'AudioTimeoutError' || error.name === 'AbortError' || options.signal?.aborted)
    )
      throw error;
    if (error instanceof AudioOutputError) throw error;
    throw new AudioDecodeError('ffmpeg could not decode the audio', { cause: error });
  }
  const { size } = await fs.promises.stat(output);
  if (size === 0) throw new AudioDecodeError('ffmpeg produced an empty rendition');
  const rendition = PLAYBACK_RENDITIONS[options.format];
  return {
    format: options.format,
    ext: rendition.ext,
    contentType: rendition.contentType,
    sizeBytes: size,
    ...(peaks ? { waveform: peaks.result() } : {}),
    ...(scanner ? { tones: scanner.finish() } : {}),
  };
}
