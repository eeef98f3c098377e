/**
 * A reader of RIFF/WAVE headers: the fast path of probing for the format that
 * telephony platforms write (Asterisk MixMonitor, FreeSWITCH record), which saves
 * an ffprobe process per upload (about 60 ms of a core here).
 *
 * Contract: `readWavHeader` answers an AudioProbe equal to what ffprobe reports
 * (container `wav`, ffprobe's codec names, sample rate, channels, bit rate and
 * the duration the header claims), plus where the samples lie (`wavData`), for
 * the WAV encodings it knows, and
 * `undefined` for anything else (not RIFF/WAVE, RF64, an unknown format tag, a
 * `fmt ` chunk that is cut or implausible, no `data` chunk within the first
 * 64 KiB): the caller then asks ffprobe. It never decides that audio is
 * decodable; the transcode does that, and its decoded duration is what is kept.
 */
import fs from 'node:fs';
import type { AudioProbe } from './probe.js';

/** Bytes read from the head of the file; `fmt ` and the start of `data` must lie within them. */
export const WAV_HEADER_WINDOW = 64 * 1024;

const WAVE_FORMAT_PCM = 0x0001;
const WAVE_FORMAT_IEEE_FLOAT = 0x0003;
const WAVE_FORMAT_ALAW = 0x0006;
const WAVE_FORMAT_MULAW = 0x0007;
const WAVE_FORMAT_GSM610 = 0x0031;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

/** ffprobe's codec name for a format tag and sample size, or undefined for encodings left to ffprobe. */
function codecOf(tag: number, bitsPerSample: number): string | undefined {
  switch (tag) {
    case WAVE_FORMAT_PCM:
      return { 8: 'pcm_u8', 16: 'pcm_s16le', 24: 'pcm_s24le', 32: 'pcm_s32le' }[bitsPerSample];
    case WAVE_FORMAT_IEEE_FLOAT:
      return { 32: 'pcm_f32le', 64: 'pcm_f64le' }[bitsPerSample];
    case WAVE_FORMAT_ALAW:
      return bitsPerSample === 8 ? 'pcm_alaw' : undefined;
    case WAVE_FORMAT_MULAW:
      return bitsPerSample === 8 ? 'pcm_mulaw' : undefined;
    case WAVE_FORMAT_GSM610:
      return 'gsm_ms';
    default:
      return undefined;
  }
}

/**
 * Parses a WAV header from the first bytes of a file (pure). `fileBytes` is the
 * whole file's size, which bounds the claimed duration of a header that lies.
 */
export function parseWavHeader(head: Buffer, fileBytes: number): AudioProbe | undefined {
  if (head.length < 12 || head.toString('latin1', 0, 4) !== 'RIFF' || head.toString('latin1', 8, 12) !== 'WAVE')
    return undefined;
  let offset = 12;
  let fmt: { codec: string; channels: number; sampleRate: number; byteRate: number } | undefined;
  while (offset + 8 <= head.length) {
    const id = head.toString('latin1', offset, offset + 4);
    const size = head.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + size > head.length) return undefined;
      let tag = head.readUInt16LE(body);
      const channels = head.readUInt16LE(body + 2);
      const sampleRate = head.readUInt32LE(body + 4);
      const byteRate = head.readUInt32LE(body + 8);
      const bitsPerSample = head.readUInt16LE(body + 14);
      if (tag === WAVE_FORMAT_EXTENSIBLE) {
        // cbSize(2) validBits(2) channelMask(4) then the SubFormat GUID, whose first two bytes are the tag.
        if (size < 40) return undefined;
        tag = head.readUInt16LE(body + 24);
      }
      const codec = codecOf(tag, bitsPerSample);
      if (!codec || channels < 1 || channels > 64 || sampleRate < 1000 || sampleRate > 384_000 || byteRate < 1)
        return undefined;
      fmt = { codec, channels, sampleRate, byteRate };
    } else if (id === 'data') {
      if (!fmt) return undefined;
      const available = Math.max(0, fileBytes - body);
      // 0 and 0xFFFFFFFF are written by recorders that never went back to fill the size in.
      const claimed = size === 0xffffffff || (size === 0 && available > 0) ? available : size;
      return {
        container: 'wav',
        codec: fmt.codec,
        sampleRate: fmt.sampleRate,
        channels: fmt.channels,
        durationMs: Math.round((claimed * 1000) / fmt.byteRate),
        bitRate: fmt.byteRate * 8,
        wavData: { offset: body, bytes: Math.min(claimed, available) },
      };
    }
    // Chunks are word-aligned: an odd size is followed by one pad byte.
    offset = body + size + (size % 2);
  }
  return undefined;
}

/** Reads the head of `file` and parses it; undefined when it is not a WAV this module knows. */
export async function readWavHeader(
  file: string,
  options: { signal?: AbortSignal } = {},
): Promise<AudioProbe | undefined> {
  options.signal?.throwIfAborted();
  const handle = await fs.promises.open(file, 'r');
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(Math.min(size, WAV_HEADER_WINDOW));
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return parseWavHeader(head.subarray(0, bytesRead), size);
  } finally {
    await handle.close();
  }
}
