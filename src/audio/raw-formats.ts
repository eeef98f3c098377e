/**
 * Headerless telephony audio as PBXes write it (Asterisk's MixMonitor/Monitor formats, FreeSWITCH's
 * `.PCMU`/`.PCMA`): the bytes say nothing about codec or rate, so the upload names them
 * (`audioFormat`, by Asterisk's format name, which fixes both), and this module checks that the
 * bytes can be that format before ffmpeg is told to read them so.
 *
 * Contract of `probeRawAudio`: never starts a process; reads the file once (streamed, bounded
 * memory) for formats whose frames carry a signature (GSM 06.10), else only its first bytes.
 * It refuses (AudioFormatMismatchError) a file that holds a container header (WAV, MP3 with ID3,
 * Ogg, FLAC, …: the upload named the wrong format), whose size is not a whole number of frames or
 * samples, or whose GSM frames lack the 0xD signature nibble. Otherwise it answers the same
 * AudioProbe ffprobe would, plus the ffmpeg input options that read the file (`rawInput`), and
 * for G.711 and signed linear the sample layout (`wavData`, offset 0) so the peaks are read
 * in-process. Random bytes declared as μ-law, A-law, signed linear or G.722 are audio to any
 * decoder; only what can be checked is.
 */
import fs from 'node:fs';
import { AudioFormatMismatchError } from './errors.js';
import type { AudioProbe } from './probe.js';

interface RawFormat {
  /** ffmpeg demuxer */
  demuxer: string;
  /** ffmpeg codec name, as ffprobe reports it */
  codec: string;
  sampleRate: number;
  /** Bytes per frame (GSM: 33 per 20 ms; G.729: 10 per 10 ms) or per sample. */
  blockBytes: number;
  /** Samples per block. */
  blockSamples: number;
  /** Extension and content type of the stored original. */
  ext: string;
  contentType: string;
  /** The samples are laid out as a WAV's data chunk would hold them (peaks read in-process). */
  pcmLayout: boolean;
  /** Whether the demuxer takes the rate and channel count as options (the raw PCM demuxers do). */
  rateOption: boolean;
}

const g711 = (demuxer: string, codec: string, ext: string, contentType: string): RawFormat => ({
  demuxer,
  codec,
  sampleRate: 8000,
  blockBytes: 1,
  blockSamples: 1,
  ext,
  contentType,
  pcmLayout: true,
  rateOption: true,
});
const slin = (sampleRate: number, ext: string): RawFormat => ({
  demuxer: 's16le',
  codec: 'pcm_s16le',
  sampleRate,
  blockBytes: 2,
  blockSamples: 1,
  ext,
  contentType: `audio/x-sln; rate=${sampleRate}`,
  pcmLayout: true,
  rateOption: true,
});

/**
 * The declared formats, by Asterisk's format name (file extension); `pcmu`/`pcma` are FreeSWITCH's
 * names of G.711. Each name fixes codec, rate and one channel.
 */
export const RAW_FORMATS = {
  ulaw: g711('mulaw', 'pcm_mulaw', 'ulaw', 'audio/basic'),
  pcmu: g711('mulaw', 'pcm_mulaw', 'ulaw', 'audio/basic'),
  alaw: g711('alaw', 'pcm_alaw', 'alaw', 'audio/PCMA'),
  pcma: g711('alaw', 'pcm_alaw', 'alaw', 'audio/PCMA'),
  sln: slin(8000, 'sln'),
  sln12: slin(12000, 'sln12'),
  sln16: slin(16000, 'sln16'),
  sln24: slin(24000, 'sln24'),
  sln32: slin(32000, 'sln32'),
  sln44: slin(44100, 'sln44'),
  sln48: slin(48000, 'sln48'),
  sln96: slin(96000, 'sln96'),
  sln192: slin(192000, 'sln192'),
  gsm: {
    demuxer: 'gsm',
    codec: 'gsm',
    sampleRate: 8000,
    blockBytes: 33,
    blockSamples: 160,
    ext: 'gsm',
    contentType: 'audio/gsm',
    pcmLayout: false,
    rateOption: false,
  },
  g722: {
    demuxer: 'g722',
    codec: 'adpcm_g722',
    sampleRate: 16000,
    blockBytes: 1,
    blockSamples: 2,
    ext: 'g722',
    contentType: 'audio/G722',
    pcmLayout: false,
    rateOption: false,
  },
} as const satisfies Record<string, RawFormat>;

export type RawFormatName = keyof typeof RAW_FORMATS;
export const RAW_FORMAT_NAMES = Object.keys(RAW_FORMATS) as [RawFormatName, ...RawFormatName[]];

export function isRawFormatName(name: string): name is RawFormatName {
  return Object.hasOwn(RAW_FORMATS, name);
}

/** Whether two names are the same format (`ulaw` and `pcmu` are). Pure. */
export function sameRawFormat(a: RawFormatName, b: RawFormatName): boolean {
  const x: RawFormat = RAW_FORMATS[a];
  const y: RawFormat = RAW_FORMATS[b];
  return x.codec === y.codec && x.sampleRate === y.sampleRate;
}

/** The stored original's extension and content type of a container this module named (undefined for others). */
export function rawOriginalType(container: string): { ext: string; contentType: string } | undefined {
  if (!container.startsWith('raw:')) return undefined;
  const name = container.slice('raw:'.length);
  if (!isRawFormatName(name)) return undefined;
  const format: RawFormat = RAW_FORMATS[name];
  return { ext: format.ext, contentType: format.contentType };
}

/** Leading bytes of containers a PBX or a script may send under a raw name by mistake. */
const CONTAINER_MAGIC: readonly { offset: number; bytes: Buffer }[] = [
  'RIFF',
  'RF64',
  'ID3',
  'OggS',
  'fLaC',
  'FORM',
  '.snd',
  '#!AMR',
  'caff',
  'wvpk',
].map((text) => ({ offset: 0, bytes: Buffer.from(text, 'latin1') }));
const MATROSKA = { offset: 0, bytes: Buffer.from([0x1a, 0x45, 0xdf, 0xa3]) };
const MP4 = { offset: 4, bytes: Buffer.from('ftyp', 'latin1') };

/** Whether `head` starts like a container file (pure). */
export function looksLikeContainer(head: Buffer): boolean {
  return [...CONTAINER_MAGIC, MATROSKA, MP4].some(
    ({ offset, bytes }) =>
      head.length >= offset + bytes.length && head.subarray(offset, offset + bytes.length).equals(bytes),
  );
}

/** The GSM 06.10 frame signature: the high nibble of each 33-byte frame's first byte. */
const GSM_SIGNATURE = 0xd;

async function gsmFramesSigned(file: string, signal: AbortSignal | undefined): Promise<boolean> {
  let position = 0;
  for await (const chunk of fs.createReadStream(file, signal ? { signal } : {}) as AsyncIterable<Buffer>) {
    // The next frame start within this chunk.
    let i = (33 - (position % 33)) % 33;
    for (; i < chunk.length; i += 33) if (chunk[i]! >> 4 !== GSM_SIGNATURE) return false;
    position += chunk.length;
  }
  return true;
}

/**
 * The probe of `file` (`sizeBytes` long) read as the declared raw format (see the module
 * comment). Throws AudioFormatMismatchError when the bytes cannot be that format.
 */
export async function probeRawAudio(
  file: string,
  options: { format: RawFormatName; sizeBytes: number; signal?: AbortSignal },
): Promise<AudioProbe> {
  const format: RawFormat = RAW_FORMATS[options.format];
  const { sizeBytes } = options;
  if (sizeBytes <= 0) throw new AudioFormatMismatchError(`The ${options.format} audio is empty`);
  const head = Buffer.alloc(16);
  const handle = await fs.promises.open(file, 'r');
  try {
    await handle.read(head, 0, head.length, 0);
  } finally {
    await handle.close();
  }
  if (looksLikeContainer(head))
    throw new AudioFormatMismatchError(`The audio has a container header, so it is not raw ${options.format}`);
  if (sizeBytes % format.blockBytes !== 0)
    throw new AudioFormatMismatchError(
      `The ${options.format} audio is not a whole number of ${format.blockBytes}-byte ` +
        `${format.blockBytes > 2 ? 'frames' : 'samples'}`,
    );
  if (options.format === 'gsm' && !(await gsmFramesSigned(file, options.signal)))
    throw new AudioFormatMismatchError('The audio is not GSM 06.10 frames (a frame lacks its signature)');
  const samples = (sizeBytes / format.blockBytes) * format.blockSamples;
  const bitRate = Math.round((format.blockBytes * 8 * format.sampleRate) / format.blockSamples);
  return {
    container: `raw:${options.format}`,
    codec: format.codec,
    sampleRate: format.sampleRate,
    channels: 1,
    durationMs: Math.round((samples * 1000) / format.sampleRate),
    bitRate,
    rawInput: ['-f', format.demuxer, ...(format.rateOption ? ['-ar', String(format.sampleRate), '-ac', '1'] : [])],
    ...(format.pcmLayout ? { wavData: { offset: 0, bytes: sizeBytes } } : {}),
  };
}
