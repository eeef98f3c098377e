/**
 * The playback rendition, measured (issue #15, "Formats"): what trainers judge tone and empathy
 * by must score PESQ (ITU-T P.862, the pinned `pesq` package from PyPI: scripts/pesq/ensure)
 * ≥ 4.2 narrowband against the original decoded to 8 kHz PCM, for every playback format, mono
 * and each channel of stereo; wideband sources are scored wideband (P.862.2, against the
 * original at 16 kHz) and must reach ≥ 3.8 (see WIDEBAND_MIN). And agent and customer stay apart:
 * a tone on one channel of a stereo source measures ≤ −50 dB on the other channel of the
 * rendition.
 *
 * Sources are generated at test time from espeak-ng speech (English and Dutch) with ffmpeg. The
 * PESQ runner is shared with the ingest bench, which prints the narrowband figures beside the
 * encode speed (test/support/pesq.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { tempDir } from '../support/backends.js';
import { speechSample } from '../support/fixtures.js';
import {
  decodeTo,
  ffmpeg,
  NARROWBAND_ARGS,
  NARROWBAND_MIN,
  pesqPython,
  PLAYBACK_FORMATS as FORMATS,
  renditionOf,
  renditionPesq,
  speechSource,
} from '../support/pesq.js';
/**
 * The floor for wideband sources (PESQ-WB, P.862.2), which the issue leaves open: P.862.2 scores
 * the same codec lower than P.862. The chosen settings (Opus 64 kbit/s mono, 128 stereo; MP3
 * 64/128) measured 4.00-4.42 on these fixtures, the old ones (16/24 kbit/s) 1.2-2.2; 3.8 keeps a
 * margin of 0.2 for other ffmpeg/libopus builds.
 */
const WIDEBAND_MIN = 3.8;
/** The most one channel may leak into the other (issue #15). */
const MAX_BLEED_DB = -50;
const TONE_HZ = 1000;
const FMT = 'aformat=sample_fmts=s16:sample_rates=16000:channel_layouts=mono';

/** Interleaved 16-bit samples of a PCM WAV (the data chunk), per channel. */
function channelsOf(wav: Buffer, channels: number): Float64Array[] {
  let offset = 12;
  while (offset + 8 <= wav.length && wav.toString('latin1', offset, offset + 4) !== 'data')
    offset += 8 + wav.readUInt32LE(offset + 4);
  const start = offset + 8;
  const frames = Math.floor((wav.length - start) / (2 * channels));
  const out = Array.from({ length: channels }, () => new Float64Array(frames));
  for (let i = 0; i < frames; i++)
    for (let c = 0; c < channels; c++) out[c]![i] = wav.readInt16LE(start + (i * channels + c) * 2);
  return out;
}

/** Energy of `samples` at `hz` (Goertzel over the whole signal, Hann window). */
function toneEnergy(samples: Float64Array, hz: number, rate: number): number {
  const coefficient = 2 * Math.cos((2 * Math.PI * hz) / rate);
  let s1 = 0;
  let s2 = 0;
  const n = samples.length;
  for (let i = 0; i < n; i++) {
    const window = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
    const s = samples[i]! * window + coefficient * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  return s1 * s1 + s2 * s2 - coefficient * s1 * s2;
}

/** dB of the tone's energy on the other channel relative to its own channel. */
async function bleedDb(file: string, dir: string, toneChannel: 0 | 1): Promise<number> {
  const pcm = await decodeTo(file, path.join(dir, `${path.basename(file)}.bleed.wav`), 16000);
  const [left, right] = channelsOf(await fs.promises.readFile(pcm), 2) as [Float64Array, Float64Array];
  const [tone, other] = toneChannel === 0 ? [left, right] : [right, left];
  return 10 * Math.log10(toneEnergy(other, TONE_HZ, 16000) / toneEnergy(tone, TONE_HZ, 16000));
}

describe('rendition quality (PESQ) and channel separation', function () {
  this.timeout(300_000);
  let python: string;
  let dir: string;
  let en: string;
  let nl: string;

  before(async () => {
    // Installs the pinned pesq into ~/.cache/callrec-tools once (about a minute), then answers at once.
    python = await pesqPython();
    dir = tempDir('callrec-pesq-');
    en = await speechSample('en');
    nl = await speechSample('nl');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Mono (en or nl) or stereo (en left, nl right) sources from the speech samples. */
  const SOURCES = [
    { name: 'nb-en.wav', voices: () => [en], args: NARROWBAND_ARGS, mode: 'nb' as const },
    { name: 'nb-nl.wav', voices: () => [nl], args: NARROWBAND_ARGS, mode: 'nb' as const },
    { name: 'nb-stereo.wav', voices: () => [en, nl], args: NARROWBAND_ARGS, mode: 'nb' as const },
    { name: 'wb-en.wav', voices: () => [en], args: ['-ar', '16000', '-c:a', 'pcm_s16le'], mode: 'wb' as const },
    { name: 'wb-nl.wav', voices: () => [nl], args: ['-ar', '16000', '-c:a', 'pcm_s16le'], mode: 'wb' as const },
    {
      name: 'wb-stereo.mp3',
      voices: () => [en, nl],
      args: ['-ar', '16000', '-c:a', 'libmp3lame', '-b:a', '192k', '-joint_stereo', '0'],
      mode: 'wb' as const,
    },
  ];

  for (const spec of SOURCES) {
    for (const format of FORMATS) {
      const min = spec.mode === 'nb' ? NARROWBAND_MIN : WIDEBAND_MIN;
      it(`when ${spec.name} is rendered as ${format}, then every channel scores PESQ-${spec.mode.toUpperCase()} ≥ ${min} against the decoded original`, async () => {
        const original = await speechSource(dir, `${format}-${spec.name}`, spec.voices(), spec.args);
        const scores = await renditionPesq({ python, original, format, mode: spec.mode, dir });
        expect(scores).to.have.length(spec.voices().length);
        for (const score of scores) expect(score, `PESQ per channel: ${scores.join(', ')}`).to.be.at.least(min);
      });
    }
  }

  /** A stereo source: a 1 kHz tone on one channel, speech with a notch at 1 kHz on the other. */
  const toneSource = async (name: string, toneChannel: 0 | 1, args: string[]): Promise<string> => {
    const output = path.join(dir, name);
    const notch = Array.from({ length: 3 }, () => `bandreject=f=${TONE_HZ}:width_type=h:w=200`).join(',');
    const [a, b] = toneChannel === 0 ? ['[t]', '[s]'] : ['[s]', '[t]'];
    await ffmpeg([
      ...['-f', 'lavfi', '-i', `sine=frequency=${TONE_HZ}:sample_rate=16000:duration=5`, '-i', en],
      '-filter_complex',
      `[0:a]volume=0.5,${FMT}[t];[1:a]aresample=16000,${notch},apad,atrim=0:5,${FMT}[s];${a}${b}amerge=inputs=2,pan=stereo|c0=c0|c1=c1[a]`,
      ...['-map', '[a]', ...args, output],
    ]);
    return output;
  };

  const BLEED_SOURCES = [
    {
      label: 'a 16 kHz stereo MP3',
      ext: 'mp3',
      args: ['-ar', '16000', '-c:a', 'libmp3lame', '-b:a', '192k', '-joint_stereo', '0'],
    },
    { label: 'an 8 kHz stereo μ-law WAV', ext: 'wav', args: ['-ar', '8000', '-c:a', 'pcm_mulaw'] },
  ];
  for (const spec of BLEED_SOURCES) {
    for (const format of FORMATS) {
      it(`when ${spec.label} carries a tone on one channel and speech on the other, then the ${format} rendition keeps the tone ≤ ${MAX_BLEED_DB} dB on the other channel (either side)`, async () => {
        for (const toneChannel of [0, 1] as const) {
          const original = await toneSource(`${format}-tone${toneChannel}.${spec.ext}`, toneChannel, spec.args);
          expect(await bleedDb(original, dir, toneChannel), 'the source itself').to.be.below(MAX_BLEED_DB);
          const bleed = await bleedDb(await renditionOf(original, format, dir), dir, toneChannel);
          expect(bleed, `tone on channel ${toneChannel}: ${bleed.toFixed(1)} dB`).to.be.at.most(MAX_BLEED_DB);
        }
      });
    }
  }
});
