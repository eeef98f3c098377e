import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { expect } from 'chai';
import {
  AudioDecodeError,
  AudioTimeoutError,
  MAX_PEAKS,
  computePeaks,
  createPeakReducer,
  encoderOptions,
  identifyAudio,
  parseWavHeader,
  plausibleDurationMs,
  probeAudio,
  readWavHeader,
  transcodeForPlayback,
  wavPeakTap,
} from '../../src/audio/index.js';
import type { AudioProbe } from '../../src/audio/index.js';
import { peakOutputOptions, peakSink } from '../../src/audio/waveform.js';
import { tempDir } from '../support/backends.js';
import {
  AUDIO_FIXTURES,
  audioFixture,
  randomNoise,
  silentUlawWav,
  truncated,
  wavHeader,
  withLyingSizes,
} from '../support/fixtures.js';
import { longToneCall } from '../support/long-call.js';
import { rejection } from '../support/rejection.js';
import type { AudioFixtureName } from '../support/fixtures.js';
import { seededBytes, seededRandom } from '../support/random.js';

const LIMITS = { timeoutMs: 20_000 };

/** A header's answer without where its samples lie (which ffprobe does not report). */
function withoutLayout(probe: AudioProbe | undefined): Omit<AudioProbe, 'wavData'> | undefined {
  if (!probe) return probe;
  const { wavData: _wavData, ...rest } = probe;
  return rest;
}

/** Interleaved s16le PCM with `frames` frames; channel c carries amplitude amps[c]. */
function pcm(frames: number, amps: number[]): Buffer {
  const buf = Buffer.alloc(frames * 2 * amps.length);
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < amps.length; c++) buf.writeInt16LE((f % 2 ? -1 : 1) * amps[c]!, (f * amps.length + c) * 2);
  }
  return buf;
}

/**
 * A 2-minute stereo Opus call, mostly quiet as calls are (a tone a second per channel each minute): ffmpeg's float
 * resampling was slowest on its near-silent samples.
 */
async function quietOpusCall(): Promise<{ dir: string; file: string }> {
  const dir = tempDir('callrec-quiet-opus-');
  const file = path.join(dir, 'call.ogg');
  fs.writeFileSync(file, await longToneCall({ minutes: 2 }));
  return { dir, file };
}

/** The CPU (user + system, s) of one ffmpeg run with `args`, from bash's `times` (its children's line): not the clock. */
async function ffmpegCpuSeconds(args: string[]): Promise<number> {
  const { stdout } = await promisify(execFile)('bash', [
    '-c',
    'ffmpeg "$@" >/dev/null 2>&1 || exit 1; times',
    'bash',
    ...args,
  ]);
  const children = stdout
    .trim()
    .split('\n')[1]!
    .match(/(\d+)m([\d.]+)s/g)!;
  return children.reduce((sum, t) => sum + Number(t.split('m')[0]) * 60 + Number.parseFloat(t.split('m')[1]!), 0);
}

describe('audio', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = tempDir('callrec-audio-');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('probeAudio', () => {
    for (const name of Object.keys(AUDIO_FIXTURES) as AudioFixtureName[]) {
      const spec = AUDIO_FIXTURES[name];
      it(`when given ${name}, then it reports ${spec.codec}, ${spec.sampleRate} Hz, ${spec.channels} channel(s), ~3 s`, async () => {
        const probe = await probeAudio(await audioFixture(name), LIMITS);
        expect(probe).to.include({ codec: spec.codec, sampleRate: spec.sampleRate, channels: spec.channels });
        expect(probe.durationMs).to.be.within(2900, 3200);
      });
    }

    it('when given random bytes, then AudioDecodeError', async () => {
      const file = path.join(dir, 'noise.bin');
      fs.writeFileSync(file, randomNoise(4096));
      await expectRejection(probeAudio(file, LIMITS), AudioDecodeError);
    });

    it('when the hard timeout passes, then the run is killed with AudioTimeoutError', async () => {
      const started = Date.now();
      await expectRejection(probeAudio(await audioFixture('ulaw-mono'), { timeoutMs: 1 }), AudioTimeoutError);
      expect(Date.now() - started).to.be.lessThan(10_000);
    });

    it('when a WAV header claims 1000× its data, then the probed duration is still what the file holds', async () => {
      const file = path.join(dir, 'lying.wav');
      fs.writeFileSync(file, withLyingSizes(fs.readFileSync(await audioFixture('ulaw-mono')), 1000));
      const probe = await probeAudio(file, LIMITS);
      expect(plausibleDurationMs(probe, fs.statSync(file).size)).to.be.within(2900, 3200);
    });

    it('when a probe claims more than a constant-rate file can hold, then the plausible duration is capped by its size', () => {
      const probe = {
        container: 'wav',
        codec: 'pcm_mulaw',
        sampleRate: 8000,
        channels: 1,
        durationMs: 3_600_000,
        bitRate: 64_000,
      };
      expect(plausibleDurationMs(probe, 24_000)).to.equal(3000);
      expect(plausibleDurationMs({ ...probe, bitRate: undefined }, 24_000)).to.equal(3_600_000);
      expect(plausibleDurationMs({ ...probe, durationMs: 1000 }, 24_000)).to.equal(1000);
    });
  });

  describe('readWavHeader (the fast path of identifyAudio)', () => {
    const run = promisify(execFile);
    /** A WAV re-encoded by ffmpeg from the μ-law fixture with `args` (e.g. 24-bit, float, 6 channels). */
    async function reencoded(name: string, args: string[]): Promise<string> {
      const file = path.join(dir, `${name}.wav`);
      await run('ffmpeg', ['-v', 'error', '-y', '-i', await audioFixture('ulaw-mono'), ...args, file]);
      return file;
    }
    /** The file with a LIST chunk of odd size (plus its pad byte) between RIFF and `fmt `. */
    function withListChunk(wav: Buffer): Buffer {
      const list = Buffer.alloc(8 + 13 + 1);
      list.write('LIST', 0, 'latin1');
      list.writeUInt32LE(13, 4);
      list.write('INFOISFT\u0001abcd', 8, 'latin1');
      const out = Buffer.concat([wav.subarray(0, 12), list, wav.subarray(12)]);
      out.writeUInt32LE(out.length - 8, 4);
      return out;
    }

    const wavFixtures = (Object.keys(AUDIO_FIXTURES) as AudioFixtureName[]).filter(
      (name) => AUDIO_FIXTURES[name].ext === 'wav',
    );
    for (const name of wavFixtures) {
      it(`when reading the ${name} fixture, then it answers exactly what ffprobe answers`, async () => {
        const file = await audioFixture(name);
        expect(withoutLayout(await readWavHeader(file))).to.deep.equal(await probeAudio(file, LIMITS));
      });
    }

    for (const [name, args] of [
      ['pcm24-stereo', ['-ac', '2', '-c:a', 'pcm_s24le']],
      ['float-mono', ['-c:a', 'pcm_f32le']],
      ['pcm16-6ch', ['-ac', '6', '-c:a', 'pcm_s16le']],
      ['u8-mono', ['-c:a', 'pcm_u8']],
    ] as const) {
      it(`when ffmpeg writes ${name} (WAVE_FORMAT_EXTENSIBLE where it uses it), then it answers what ffprobe answers`, async () => {
        const file = await reencoded(name, [...args]);
        expect(withoutLayout(await readWavHeader(file))).to.deep.equal(await probeAudio(file, LIMITS));
      });
    }

    it('when a LIST chunk of odd size precedes fmt, then it is skipped with its pad byte', async () => {
      const file = path.join(dir, 'with-list.wav');
      fs.writeFileSync(file, withListChunk(fs.readFileSync(await audioFixture('ulaw-stereo'))));
      expect(withoutLayout(await readWavHeader(file))).to.deep.equal(await probeAudio(file, LIMITS));
    });

    it('when the header claims 1000× its data, then the claim is reported and the plausible duration is what the file holds', async () => {
      const file = path.join(dir, 'lying-fast.wav');
      fs.writeFileSync(file, withLyingSizes(fs.readFileSync(await audioFixture('ulaw-mono')), 1000));
      const header = await readWavHeader(file);
      expect(header!.durationMs).to.be.greaterThan(2_000_000);
      expect(plausibleDurationMs(header!, fs.statSync(file).size)).to.be.within(2900, 3200);
    });

    it('when the data size was never filled in (0 or 0xFFFFFFFF), then the duration is what the file holds', () => {
      const samples = Buffer.alloc(8000, 0xff);
      for (const size of [0, 0xffffffff]) {
        const head = wavHeader({ dataBytes: 8000 });
        head.writeUInt32LE(size, 40);
        expect(parseWavHeader(Buffer.concat([head, samples]), 44 + 8000)!.durationMs).to.equal(1000);
      }
      expect(parseWavHeader(wavHeader({ dataBytes: 0 }), 44)!.durationMs).to.equal(0);
    });

    it('when the file is not a WAV it knows (MP3, Ogg, noise, a cut header, an unknown format tag), then undefined, and identifyAudio asks ffprobe', async () => {
      for (const name of ['mp3-mono', 'opus-mono'] as const) {
        const file = await audioFixture(name);
        expect(await readWavHeader(file), name).to.equal(undefined);
        expect(await identifyAudio(file, LIMITS), name).to.deep.equal(await probeAudio(file, LIMITS));
      }
      const noise = randomNoise(4096);
      expect(parseWavHeader(noise, noise.length)).to.equal(undefined);
      const cut = truncated(silentUlawWav(1), 30);
      expect(parseWavHeader(cut, cut.length)).to.equal(undefined);
      const adpcm = silentUlawWav(1);
      adpcm.writeUInt16LE(0x0002, 20); // MS ADPCM: left to ffprobe
      expect(parseWavHeader(adpcm, adpcm.length)).to.equal(undefined);
      const noFile = path.join(dir, 'noise.bin');
      fs.writeFileSync(noFile, noise);
      await expectRejection(identifyAudio(noFile, LIMITS), AudioDecodeError);
    });
  });

  describe('wavPeakTap (peaks read from the original while it is stored)', () => {
    /** Streams `file` through the tap (bytes must come out unchanged) and answers the tapped waveform. */
    async function tapped(
      file: string,
    ): Promise<{ waveform: ReturnType<NonNullable<ReturnType<typeof wavPeakTap>>['result']>; passed: Buffer }> {
      const probe = await readWavHeader(file);
      const peaks = wavPeakTap(probe!);
      if (!peaks) throw new Error('no tap for this file');
      const out: Buffer[] = [];
      await pipeline(
        fs.createReadStream(file, { highWaterMark: 1001 }),
        peaks.tap,
        new Writable({ write: (c: Buffer, _e, cb) => (out.push(c), cb()) }),
      );
      return { waveform: peaks.result(), passed: Buffer.concat(out) };
    }

    for (const name of ['ulaw-mono', 'alaw-mono', 'pcm-stereo', 'ulaw-stereo'] as const) {
      it(`when the ${name} fixture streams through, then its bytes pass unchanged and the peaks equal ffmpeg's decoding`, async () => {
        const file = await audioFixture(name);
        const { waveform, passed } = await tapped(file);
        expect(passed.equals(fs.readFileSync(file))).to.equal(true);
        const reference = await computePeaks(file, { ...LIMITS, channels: AUDIO_FIXTURES[name].channels });
        expect(waveform).to.deep.equal(reference);
      });
    }

    it("when the WAV is 8-bit PCM, then the peaks equal ffmpeg's decoding", async () => {
      const file = path.join(dir, 'u8-tap.wav');
      await promisify(execFile)('ffmpeg', [
        '-v',
        'error',
        '-y',
        '-i',
        await audioFixture('ulaw-stereo'),
        '-c:a',
        'pcm_u8',
        file,
      ]);
      expect((await tapped(file)).waveform).to.deep.equal(await computePeaks(file, { ...LIMITS, channels: 2 }));
    });

    it('when the header claims 1000× its data, then the duration is what the file holds', async () => {
      const file = path.join(dir, 'lying-tap.wav');
      fs.writeFileSync(file, withLyingSizes(fs.readFileSync(await audioFixture('ulaw-mono')), 1000));
      expect((await tapped(file)).waveform.durationMs).to.be.within(2900, 3100);
    });

    it('when the encoding is GSM, 24-bit, float, or more than two channels, or the layout came from ffprobe, then there is no tap', async () => {
      const gsm = await readWavHeader(await audioFixture('gsm-mono'));
      expect(wavPeakTap(gsm!)).to.equal(undefined);
      const pcm = (await readWavHeader(await audioFixture('pcm-stereo')))!;
      for (const codec of ['pcm_s24le', 'pcm_f32le']) expect(wavPeakTap({ ...pcm, codec }), codec).to.equal(undefined);
      expect(wavPeakTap({ ...pcm, channels: 6 })).to.equal(undefined);
      expect(wavPeakTap(await probeAudio(await audioFixture('pcm-stereo'), LIMITS))).to.equal(undefined);
    });
  });

  describe('transcodeForPlayback', () => {
    it('when given stereo PCM, then the Opus rendition stays stereo and the peaks have two channels', async () => {
      const input = await audioFixture('pcm-stereo');
      const output = path.join(dir, 'stereo.ogg');
      const result = await transcodeForPlayback(input, output, {
        ...LIMITS,
        format: 'opus',
        source: { sampleRate: 8000, channels: 2 },
        peaks: true,
      });
      expect(result).to.include({ format: 'opus', ext: 'ogg' });
      expect(result.sizeBytes).to.equal(fs.statSync(output).size);
      const probe = await probeAudio(output, LIMITS);
      expect(probe).to.include({ codec: 'opus', channels: 2 });
      expect(result.waveform!.channels).to.equal(2);
      expect(result.waveform!.durationMs).to.be.within(2900, 3100);
    });

    it('when the format is mp3, then the rendition is MP3', async () => {
      const output = path.join(dir, 'mono.mp3');
      const result = await transcodeForPlayback(await audioFixture('ulaw-mono'), output, {
        ...LIMITS,
        format: 'mp3',
        source: { sampleRate: 8000, channels: 1 },
      });
      expect(result).to.include({ format: 'mp3', contentType: 'audio/mpeg' });
      expect(result.waveform).to.equal(undefined);
      expect((await probeAudio(output, LIMITS)).codec).to.equal('mp3');
    });

    it('when the signal aborts, then ffmpeg is killed and the run rejects with an AbortError', async () => {
      const input = path.join(dir, 'long.wav');
      fs.writeFileSync(input, silentUlawWav(3600));
      const controller = new AbortController();
      const run = transcodeForPlayback(input, path.join(dir, 'aborted.ogg'), {
        ...LIMITS,
        signal: controller.signal,
        format: 'opus',
        source: { sampleRate: 8000, channels: 1 },
      });
      setTimeout(() => controller.abort(new DOMException('stop', 'AbortError')), 30);
      const error = await run.then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.name).to.equal('AbortError');
    });

    it('when the input is not audio, then AudioDecodeError', async () => {
      const input = path.join(dir, 'noise2.bin');
      fs.writeFileSync(input, randomNoise(8192));
      await expectRejection(
        transcodeForPlayback(input, path.join(dir, 'x.ogg'), {
          ...LIMITS,
          format: 'opus',
          source: { sampleRate: 8000, channels: 1 },
        }),
        AudioDecodeError,
      );
    });

    it('when a mostly quiet stereo Opus call is transcoded to either rendition, then ffmpeg resamples 16-bit samples: its CPU stays within 4× of the bare decode', async () => {
      const { dir: callDir, file } = await quietOpusCall();
      const input = ['-nostdin', '-threads', '1', '-i', file];
      const bare = await ffmpegCpuSeconds([...input, '-f', 'null', '-']);
      for (const format of ['opus', 'mp3'] as const) {
        const cpu = await ffmpegCpuSeconds([
          ...input,
          ...encoderOptions(format, { sampleRate: 48000, channels: 2 }),
          '-',
        ]);
        expect(cpu, `${format}: ${cpu}s of CPU, bare decode ${bare}s`).to.be.below(bare * 4 + 0.05);
      }
      fs.rmSync(callDir, { recursive: true, force: true });
    });

    it('when encoder options are chosen, then narrowband stays 8 kHz, wider goes 16 kHz, at the measured bit rates, and MP3 never couples the channels', () => {
      const narrow = encoderOptions('opus', { sampleRate: 8000, channels: 1 });
      expect(narrow.join(' ')).to.contain('-ar 8000').and.contain('-b:a 28k').and.contain('-application voip');
      expect(encoderOptions('opus', { sampleRate: 8000, channels: 2 }).join(' ')).to.contain('-b:a 80k');
      expect(encoderOptions('opus', { sampleRate: 16000, channels: 1 }).join(' ')).to.contain('-b:a 64k');
      expect(encoderOptions('opus', { sampleRate: 48000, channels: 2 }).join(' '))
        .to.contain('-ar 16000')
        .and.contain('-ac 2')
        .and.contain('-b:a 128k');
      expect(encoderOptions('opus', { sampleRate: 8000, channels: 6 }).join(' ')).to.contain('-ac 2');
      expect(encoderOptions('mp3', { sampleRate: 8000, channels: 2 }).join(' '))
        .to.contain('-ar 16000')
        .and.contain('-joint_stereo 0')
        .and.contain('-b:a 128k');
    });
  });

  describe('peaks', () => {
    it('when a mostly quiet call whose codec decodes to float (Opus) is reduced to peaks, then ffmpeg resamples 16-bit samples: its CPU stays within 2.5× of the bare decode, and the peaks are those of the float path within 0.001', async () => {
      const run = promisify(execFile);
      const { dir, file } = await quietOpusCall();
      const input = ['-nostdin', '-threads', '1', '-i', file];
      const bare = await ffmpegCpuSeconds([...input, '-f', 'null', '-']);
      const reduced = await ffmpegCpuSeconds([...input, ...peakOutputOptions(2), '-']);
      expect(reduced, `peaks ${reduced}s of CPU, bare decode ${bare}s`).to.be.below(bare * 2.5 + 0.05);

      const floatPath = peakSink({ channels: 2, sampleRate: 8000 });
      const pcm = await run('ffmpeg', [...input, '-ac', '2', '-ar', '8000', '-f', 's16le', '-'], {
        encoding: 'buffer',
        maxBuffer: 8 * 1024 * 1024,
      });
      floatPath.sink.end(pcm.stdout);
      await new Promise((resolve) => floatPath.sink.once('finish', resolve));
      const expected = floatPath.result();
      const actual = await computePeaks(file, { ...LIMITS, channels: 2 });
      expect(actual.length).to.equal(expected.length);
      for (const c of [0, 1])
        actual.peaks[c]!.forEach((v, i) => {
          const thousandths = Math.abs(Math.round(v * 1000) - Math.round(expected.peaks[c]![i]! * 1000));
          expect(thousandths, `channel ${c}, peak ${i}`).to.be.at.most(1);
        });
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('when PCM is pushed in odd chunk sizes, then the peaks are per channel, in [0, 1], and the duration counts frames', () => {
      const reducer = createPeakReducer({ channels: 2, sampleRate: 8000, initialSamplesPerPeak: 100 });
      const data = Buffer.concat([pcm(4000, [16384, 32767]), pcm(4000, [0, 3277])]);
      for (let i = 0; i < data.length; i += 333) reducer.push(data.subarray(i, i + 333));
      const w = reducer.finish();
      expect(w).to.include({
        version: 1,
        channels: 2,
        sampleRate: 8000,
        samplesPerPeak: 100,
        length: 80,
        durationMs: 1000,
      });
      expect(w.peaks[0]!.slice(0, 40).every((v) => v === 0.5)).to.equal(true);
      expect(w.peaks[1]![0]).to.equal(1);
      expect(w.peaks[0]!.slice(40).every((v) => v === 0)).to.equal(true);
      expect(w.peaks[1]![79]).to.equal(0.1);
    });

    it('when the same random PCM arrives whole, in odd chunks or at odd byte offsets, then the peaks equal a sample-by-sample reference', () => {
      const frames = 12_345;
      const data = seededBytes('audio-peaks-pcm', frames * 4);
      const reference = [0, 1].map((c) => {
        const peaks: number[] = [];
        for (let f = 0; f < frames; f += 50) {
          let peak = 0;
          for (let g = f; g < Math.min(f + 50, frames); g++)
            peak = Math.max(peak, Math.abs(data.readInt16LE(4 * g + 2 * c)));
          peaks.push(Math.round((Math.min(peak, 32767) / 32767) * 1000) / 1000);
        }
        return peaks;
      });
      const misaligned = (chunk: Buffer) => {
        const holder = Buffer.alloc(chunk.length + 1);
        chunk.copy(holder, 1);
        return holder.subarray(1);
      };
      const feeds: Array<(push: (b: Buffer) => void) => void> = [
        (push) => push(data),
        (push) => {
          for (let i = 0; i < data.length; i += 999) push(data.subarray(i, i + 999));
        },
        (push) => {
          for (let i = 0; i < data.length; i += 4096) push(misaligned(data.subarray(i, i + 4096)));
        },
      ];
      for (const feed of feeds) {
        const reducer = createPeakReducer({ channels: 2, sampleRate: 8000, initialSamplesPerPeak: 50 });
        feed((b) => reducer.push(b));
        const w = reducer.finish();
        expect(w.durationMs).to.equal(Math.round((frames * 1000) / 8000));
        expect(w.peaks).to.deep.equal(reference);
      }
    });

    it('when mono 8-bit codes arrive whole, in odd chunks or at odd byte offsets, then the peaks equal a code-by-code reference', () => {
      const count = 20_011;
      const codes = seededBytes('audio-peaks-codes', count);
      const random = seededRandom('audio-peaks-magnitudes');
      const magnitudes = Uint16Array.from({ length: 256 }, () => random.int(0, 32768));
      // An odd bucket size, so that buckets start and end at odd and even positions alike.
      const perPeak = 51;
      const reference: number[] = [];
      for (let f = 0; f < count; f += perPeak) {
        let peak = 0;
        for (let g = f; g < Math.min(f + perPeak, count); g++) peak = Math.max(peak, magnitudes[codes[g]!]!);
        reference.push(Math.round((Math.min(peak, 32767) / 32767) * 1000) / 1000);
      }
      const misaligned = (chunk: Buffer) => {
        const holder = Buffer.alloc(chunk.length + 1);
        chunk.copy(holder, 1);
        return holder.subarray(1);
      };
      const inChunks =
        (size: number, shape: (b: Buffer) => Buffer = (b) => b) =>
        (push: (b: Buffer) => void) => {
          for (let i = 0; i < count; i += size) push(shape(codes.subarray(i, i + size)));
        };
      const feeds = [
        inChunks(count),
        inChunks(999),
        inChunks(63),
        inChunks(64),
        inChunks(4097, misaligned),
        inChunks(1000, misaligned),
      ];
      for (const feed of feeds) {
        const reducer = createPeakReducer({ channels: 1, sampleRate: 8000, initialSamplesPerPeak: perPeak });
        feed((b) => reducer.pushCodes(b, magnitudes));
        const w = reducer.finish();
        expect(w.durationMs).to.equal(Math.round((count * 1000) / 8000));
        expect(w.peaks).to.deep.equal([reference]);
      }
    });

    it('when the audio is long, then buckets double so that at most 2 × MAX_PEAKS peaks stay in memory', () => {
      const reducer = createPeakReducer({ channels: 1, sampleRate: 8000, initialSamplesPerPeak: 1 });
      const second = pcm(8000, [1000]);
      for (let s = 0; s < 60; s++) reducer.push(second);
      const w = reducer.finish();
      expect(w.length)
        .to.be.at.least(MAX_PEAKS)
        .and.lessThan(2 * MAX_PEAKS);
      expect(w.length).to.equal(Math.ceil(480_000 / w.samplesPerPeak));
      expect(w.durationMs).to.equal(60_000);
    });

    it('when computed from a file, then it matches the decoded length of the call', async () => {
      const w = await computePeaks(await audioFixture('ulaw-mono'), { ...LIMITS, channels: 1 });
      expect(w.durationMs).to.be.within(2900, 3100);
      expect(Math.max(...w.peaks[0]!)).to.be.within(0.05, 1);
    });
  });
});

async function expectRejection(promise: Promise<unknown>, type: new (...args: never[]) => Error): Promise<void> {
  expect(await rejection(promise), 'rejection').to.be.instanceOf(type);
}
