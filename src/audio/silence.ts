/**
 * Silences spans of an audio file on every channel (pause segments, DTMF tones, manual
 * redaction): one ffmpeg run decodes the file and writes a copy in which those spans are
 * digital silence, in the same codec and container when ffmpeg can encode them, else as
 * 16-bit PCM WAV (the fallback the caller learns from the result).
 *
 * Precision: ffmpeg applies a filter's `enable` per frame, so the audio is cut into frames of
 * FRAME_MS first and a frame is silenced when any part of it lies in a span: the silence
 * covers each span fully and overshoots it by less than FRAME_MS on either side.
 */
import fs from 'node:fs';
import ffmpeg from 'fluent-ffmpeg';
import { AudioDecodeError } from './errors.js';
import { runFfmpeg } from './process.js';
import type { RunLimits } from './process.js';

/** Length of the frames the enable expression is evaluated on. */
export const FRAME_MS = 4;

export interface SilenceSpan {
  startMs: number;
  endMs: number;
}

/** Encoder of each decoder ffmpeg names in ffprobe (PCM codecs encode under their own name). */
const ENCODERS: Record<string, string> = {
  mp3: 'libmp3lame',
  opus: 'libopus',
  vorbis: 'libvorbis',
  flac: 'flac',
  aac: 'aac',
  gsm: 'libgsm',
  gsm_ms: 'libgsm_ms',
  amr_nb: 'libopencore_amrnb',
  alac: 'alac',
};

/** ffmpeg muxer of each container ffprobe names. */
const MUXERS: Record<string, string> = {
  wav: 'wav',
  mp3: 'mp3',
  ogg: 'ogg',
  flac: 'flac',
  mov: 'ipod',
  aiff: 'aiff',
  gsm: 'gsm',
  amr: 'amr',
  aac: 'adts',
  caf: 'caf',
  au: 'au',
  w64: 'w64',
  matroska: 'matroska',
};

/**
 * The `volume` filter's enable expression for `spans` (frames of `frameSeconds` starting in (start - frame, end]).
 * Pure.
 */
export function enableExpression(spans: readonly SilenceSpan[], frameSeconds: number): string {
  return spans
    .map((s) => `between(t,${(s.startMs / 1000 - frameSeconds).toFixed(6)},${(s.endMs / 1000).toFixed(6)})`)
    .join('+');
}

/** The audio filter that silences `spans` of audio at `sampleRate` Hz. Pure. */
export function silenceFilter(spans: readonly SilenceSpan[], sampleRate: number): string {
  const frame = Math.max(1, Math.round((sampleRate * FRAME_MS) / 1000));
  const enable = enableExpression(spans, frame / sampleRate);
  return `asetpts=PTS-STARTPTS,asetnsamples=n=${frame}:p=0,volume=0:enable='${enable}'`;
}

export interface SilenceResult {
  /** True when the copy keeps the original's codec and container; false: it is 16-bit PCM WAV. */
  sameFormat: boolean;
}

/**
 * Writes `output`: `input` with `spans` silenced on every channel, keeping sample rate and
 * channel count. Throws AudioDecodeError when ffmpeg can read the input in neither form; the
 * timeout and abort errors of every run. `output` may be partial on failure: the caller owns it.
 */
export async function silenceSpans(
  input: string,
  output: string,
  options: RunLimits & {
    spans: readonly SilenceSpan[];
    /** `rawInput`: headerless audio, read with these input options (./raw-formats.ts). */
    source: {
      container: string;
      codec: string;
      sampleRate: number;
      channels: number;
      bitRate: number | undefined;
      rawInput?: readonly string[];
    };
  },
): Promise<SilenceResult> {
  const { source } = options;
  const filter = silenceFilter(options.spans, source.sampleRate);
  const encoder =
    source.codec.startsWith('pcm_') || source.codec.startsWith('adpcm_') ? source.codec : ENCODERS[source.codec];
  const muxer = MUXERS[source.container];
  const run = (codecOptions: string[]) =>
    runFfmpeg(
      ffmpeg(input)
        .inputOptions(['-nostdin', '-threads', '1', ...(source.rawInput ?? [])])
        .output(output)
        .outputOptions([
          '-y',
          '-map',
          '0:a:0',
          '-vn',
          '-map_metadata',
          '-1',
          '-af',
          filter,
          '-ar',
          String(source.sampleRate),
          '-ac',
          String(source.channels),
          ...codecOptions,
        ]),
      options,
    );
  const fatal = (error: unknown) =>
    error instanceof Error &&
    (error.name === 'AudioTimeoutError' || error.name === 'AbortError' || options.signal?.aborted);
  if (encoder && muxer) {
    try {
      const bitrate = source.bitRate && !source.codec.startsWith('pcm_') ? ['-b:a', String(source.bitRate)] : [];
      await run(['-c:a', encoder, ...bitrate, '-f', muxer]);
      if ((await fs.promises.stat(output)).size > 0) return { sameFormat: true };
    } catch (error) {
      if (fatal(error) || options.signal?.aborted) throw error;
      // No encoder for this codec here (or the muxer refused it): fall back to PCM WAV.
    }
  }
  try {
    await run(['-c:a', 'pcm_s16le', '-f', 'wav']);
  } catch (error) {
    if (fatal(error)) throw error;
    throw new AudioDecodeError('ffmpeg could not silence the audio', { cause: error });
  }
  return { sameFormat: false };
}
