/**
 * ffprobe behind one function. fluent-ffmpeg's own ffprobe wrapper cannot be
 * killed, so this spawns ffprobe directly under the same hard timeout.
 */
import { AudioDecodeError } from './errors.js';
import { runCollect } from './process.js';
import type { RunLimits } from './process.js';
import { readWavHeader } from './wav-header.js';

export interface AudioProbe {
  /** container as ffprobe names it, e.g. `wav`, `mp3`, `ogg` */
  container: string;
  /** codec of the first audio stream, e.g. `pcm_mulaw`, `gsm_ms`, `mp3`, `opus` */
  codec: string;
  sampleRate: number;
  channels: number;
  /** Duration the file claims (header or container), in ms; 0 when unknown. */
  durationMs: number;
  /** Bit rate of the audio stream in bit/s when the codec declares one (constant-rate codecs). */
  bitRate: number | undefined;
  /**
   * Where the samples lie, when the answer came from a WAV header (never from ffprobe):
   * the byte offset of the `data` chunk's payload and its length as claimed, capped by the file.
   */
  wavData?: { offset: number; bytes: number };
  /** ffmpeg's input options for headerless audio (the demuxer, rate and channels), which the file cannot tell. */
  rawInput?: string[];
}

interface FfprobeJson {
  streams?: Array<{
    codec_type?: string;
    codec_name?: string;
    sample_rate?: string;
    channels?: number;
    duration?: string;
    bit_rate?: string;
  }>;
  format?: { format_name?: string; duration?: string };
}

const positive = (text: string | undefined): number | undefined => {
  const n = Number(text);
  return Number.isFinite(n) && n > 0 ? n : undefined;
};

/**
 * Probes `file`. Throws AudioDecodeError when ffprobe cannot read it or it has
 * no audio stream with a sample rate and channel count; AudioTimeoutError or the
 * abort reason when the run is killed.
 */
export async function probeAudio(file: string, limits: RunLimits): Promise<AudioProbe> {
  const { code, stdout } = await runCollect(
    'ffprobe',
    [
      '-v',
      'error',
      '-hide_banner',
      '-print_format',
      'json',
      '-show_format',
      '-show_streams',
      '-select_streams',
      'a:0',
      file,
    ],
    limits,
  );
  if (code !== 0) throw new AudioDecodeError('ffprobe could not read the file');
  let json: FfprobeJson;
  try {
    json = JSON.parse(stdout) as FfprobeJson;
  } catch {
    throw new AudioDecodeError('ffprobe wrote no readable answer');
  }
  const stream = json.streams?.find((s) => s.codec_type === 'audio');
  const sampleRate = positive(stream?.sample_rate);
  const channels = stream?.channels;
  if (!stream?.codec_name || !sampleRate || !channels || channels < 1) throw new AudioDecodeError('no audio stream');
  const seconds = positive(stream.duration) ?? positive(json.format?.duration) ?? 0;
  return {
    container: (json.format?.format_name ?? 'unknown').split(',')[0]!,
    codec: stream.codec_name,
    sampleRate,
    channels,
    durationMs: Math.round(seconds * 1000),
    bitRate: positive(stream.bit_rate),
  };
}

/**
 * The longest duration the file can really hold: the claimed duration, capped
 * by what its size allows at a constant bit rate (a header that lies about its
 * data size cannot make a small file look long).
 */
export function plausibleDurationMs(probe: AudioProbe, fileBytes: number): number {
  if (!probe.bitRate) return probe.durationMs;
  const bySize = Math.ceil((fileBytes * 8 * 1000) / probe.bitRate);
  return probe.durationMs > 0 ? Math.min(probe.durationMs, bySize) : bySize;
}

/**
 * What ingest asks: the WAV header when it is one `readWavHeader` knows (no
 * process started), ffprobe otherwise. Same answer and same errors as
 * `probeAudio`; like it, it does not prove that the samples decode.
 */
export async function identifyAudio(file: string, limits: RunLimits): Promise<AudioProbe> {
  return (await readWavHeader(file, { signal: limits.signal })) ?? (await probeAudio(file, limits));
}
