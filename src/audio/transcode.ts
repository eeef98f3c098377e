/**
 * The playback rendition: one ffmpeg run decodes the original once and writes
 * both the rendition (a file) and 8 kHz PCM for the waveform peaks (stdout).
 *
 * Encoder settings (measured with bench/ingest.ts on 8 kHz μ-law calls; see the README):
 * telephony speech needs no more than its source bandwidth, so Opus encodes at
 * 8 kHz (narrowband sources) or 16 kHz (anything wider) with `-application voip`,
 * 16 kbit/s per mono (24 kbit/s stereo), complexity 0 and 60 ms frames. That costs
 * about a fifth of ffmpeg's default Opus settings (48 kHz, complexity 10, 20 ms frames)
 * and stays intelligible. MP3 (the option) uses LAME at the same rates, 16/24 kbit/s.
 * Stereo stays stereo (agent and customer apart); more than two channels are downmixed to two.
 */
import fs from 'node:fs';
import ffmpeg from 'fluent-ffmpeg';
import { AudioDecodeError, AudioOutputError } from './errors.js';
import { runFfmpeg, runFfmpegToSink } from './process.js';
import type { RunLimits } from './process.js';
import { Writable } from 'node:stream';
import { DTMF_SAMPLE_RATE, createDtmfScanner } from './dtmf.js';
import type { ToneSpan } from './dtmf.js';
import { PEAK_SAMPLE_RATE, peakOutputOptions, peakSink } from './waveform.js';
import type { Waveform } from './waveform.js';

export type PlaybackFormat = 'opus' | 'mp3';

export const PLAYBACK_RENDITIONS: Record<PlaybackFormat, { ext: string; contentType: string }> = {
  opus: { ext: 'ogg', contentType: 'audio/ogg; codecs=opus' },
  mp3: { ext: 'mp3', contentType: 'audio/mpeg' },
};

/** The encoder arguments for a source of `sampleRate` Hz and `channels` channels. Pure. */
export function encoderOptions(format: PlaybackFormat, source: { sampleRate: number; channels: number }): string[] {
  const channels = Math.min(Math.max(source.channels, 1), 2);
  const rate = source.sampleRate <= 8000 ? 8000 : 16000;
  const bitrate = channels === 2 ? '24k' : '16k';
  const common = ['-map', '0:a:0', '-vn', '-map_metadata', '-1', '-ac', String(channels), '-ar', String(rate)];
  if (format === 'opus') {
    return [
      ...common,
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
  return [...common, '-c:a', 'libmp3lame', '-b:a', bitrate, '-compression_level', '9', '-f', 'mp3'];
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
    source: { sampleRate: number; channels: number };
    peaks?: boolean;
    /** Also scan the decoded PCM for DTMF tones (src/audio/dtmf.ts); implies `peaks`. */
    dtmf?: boolean;
  },
): Promise<TranscodeResult> {
  const command = ffmpeg(input)
    .inputOptions(['-nostdin', '-threads', '1'])
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
