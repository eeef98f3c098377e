/**
 * Waveform peaks read straight from a WAV's samples (ingest reads a short original's
 * bytes once, or taps a long one on its way to the object store), so that the ffmpeg
 * run needs no second, PCM output piped back into this process.
 *
 * Contract: `wavPeakReader(probe)` (the file's bytes pushed in order, any chunking) and
 * `wavPeakTap(probe)` (a pass-through Transform over them) exist only for mono or
 * stereo 16-bit PCM, 8-bit PCM, μ-law and A-law WAVs whose layout came from the
 * header (`probe.wavData`); undefined otherwise (the caller takes peaks from
 * ffmpeg). The tap passes the bytes through unchanged. Samples are
 * decoded exactly as ffmpeg decodes them (G.711 tables, u8 − 128 << 8), so the
 * peaks equal those of ffmpeg's PCM output at the source rate; `durationMs`
 * counts the whole frames present, which is the decoded duration of these
 * codecs. `result()` is valid once the whole file has been pushed (or has passed).
 */
import { Transform } from 'node:stream';
import type { AudioProbe } from './probe.js';
import { createPeakReducer } from './waveform.js';
import type { Waveform } from './waveform.js';

/** G.711 μ-law byte → 16-bit linear (the ITU/Sun reference decoding ffmpeg uses). */
function ulawToLinear(byte: number): number {
  const u = ~byte & 0xff;
  const t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
  return u & 0x80 ? 0x84 - t : t - 0x84;
}

/** G.711 A-law byte → 16-bit linear. */
function alawToLinear(byte: number): number {
  const a = byte ^ 0x55;
  let t = (a & 0x0f) << 4;
  const segment = (a & 0x70) >> 4;
  if (segment === 0) t += 8;
  else if (segment === 1) t += 0x108;
  else t = (t + 0x108) << (segment - 1);
  return a & 0x80 ? t : -t;
}

/** |16-bit value| of every 8-bit code, per codec: what the peaks are taken of. */
const magnitudesOf = (decode: (code: number) => number) =>
  Uint16Array.from({ length: 256 }, (_, code) => Math.abs(decode(code)));
const MAGNITUDES: Record<string, Uint16Array> = {
  pcm_mulaw: magnitudesOf(ulawToLinear),
  pcm_alaw: magnitudesOf(alawToLinear),
  pcm_u8: magnitudesOf((code) => (code - 128) << 8),
};

/**
 * The peaks of a WAV fed to `push` in order, from its first byte (any chunking);
 * undefined for a WAV this module does not read (see the contract above).
 */
export function wavPeakReader(
  probe: AudioProbe,
): { push: (chunk: Uint8Array) => void; result: () => Waveform } | undefined {
  const layout = probe.wavData;
  const magnitudes = MAGNITUDES[probe.codec];
  if (!layout || (probe.codec !== 'pcm_s16le' && !magnitudes) || probe.channels < 1 || probe.channels > 2)
    return undefined;
  const reducer = createPeakReducer({ channels: probe.channels, sampleRate: probe.sampleRate });
  const start = layout.offset;
  const end = layout.offset + layout.bytes;
  let position = 0;
  return {
    push(chunk: Uint8Array): void {
      const from = Math.max(start, position);
      const to = Math.min(end, position + chunk.length);
      if (to > from) {
        const data = chunk.subarray(from - position, to - position);
        if (magnitudes) reducer.pushCodes(data, magnitudes);
        else reducer.push(Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length));
      }
      position += chunk.length;
    },
    result: () => reducer.finish(),
  };
}

/** A pass-through Transform that reads the peaks of the WAV streaming through it (see wavPeakReader). */
export function wavPeakTap(probe: AudioProbe): { tap: Transform; result: () => Waveform } | undefined {
  const reader = wavPeakReader(probe);
  if (!reader) return undefined;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      reader.push(chunk);
      callback(null, chunk);
    },
  });
  return { tap, result: reader.result };
}
