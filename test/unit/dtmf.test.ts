/**
 * The DTMF detector (src/audio/dtmf.ts), the redaction plan (src/ingest/mask.ts) and the
 * silencing filter (src/audio/silence.ts): synthetic tones at the Q.24 limits, and the false
 * positives measured on an hour of espeak-ng speech (Dutch and English, male and female
 * voices) and on music-like signals (sox chords, sweeps, melodies), all generated here.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { createDtmfDetector, createDtmfScanner, scanDtmf } from '../../src/audio/dtmf.js';
import type { ToneSpan } from '../../src/audio/dtmf.js';
import { enableExpression, silenceSpans } from '../../src/audio/silence.js';
import { DTMF_MARGIN_MS, maskAudio, redactionsOf } from '../../src/ingest/mask.js';
import { identifyAudio } from '../../src/audio/index.js';
import { tempDir } from '../support/backends.js';
import { buildDtmfCallSpec, decodeDtmf, dtmfCall, dtmfFrequencies } from '../support/dtmf-calls.js';
import { audioFileOf } from '../support/pipeline.js';
import { seededRandom } from '../support/random.js';

const run = promisify(execFile);
const RATE = 8000;

/** `ms` of a tone pair at `levelDb` (row) and `levelDb + twistDb` (column), 8 kHz floats. */
function tone(
  digit: string,
  options: { ms: number; levelDb?: number; twistDb?: number; noise?: number },
): Float32Array {
  const [low, high] = dtmfFrequencies(digit);
  const a = 10 ** ((options.levelDb ?? -12) / 20);
  const b = 10 ** (((options.levelDb ?? -12) + (options.twistDb ?? 0)) / 20);
  const random = seededRandom(`tone-${digit}`);
  return Float32Array.from({ length: Math.round((options.ms * RATE) / 1000) }, (_, n) => {
    const t = n / RATE;
    return (
      a * Math.sin(2 * Math.PI * low * t) +
      b * Math.sin(2 * Math.PI * high * t) +
      (options.noise ?? 0) * (random.next() * 2 - 1)
    );
  });
}

const silence = (ms: number) => new Float32Array(Math.round((ms * RATE) / 1000));

function detect(...parts: Float32Array[]): ToneSpan[] {
  const detector = createDtmfDetector();
  for (const part of parts) detector.push(part);
  return detector.finish();
}

describe('DTMF detector', () => {
  it('when each of the 16 keys sounds for 50 ms at phone level, then each is one span where it sounded', () => {
    for (const digit of '0123456789*#ABCD') {
      const spans = detect(silence(300), tone(digit, { ms: 50 }), silence(300));
      expect(spans, digit).to.have.length(1);
      expect(spans[0]!.startMs, digit).to.be.within(300 - 26, 300);
      expect(spans[0]!.endMs, digit).to.be.within(340, 350 + 26);
    }
  });

  it('when a tone is shorter than Q.24 requires (20 ms), then it is not a digit; 40 ms is', () => {
    expect(detect(silence(100), tone('5', { ms: 20 }), silence(100))).to.deep.equal([]);
    expect(detect(silence(100), tone('5', { ms: 40 }), silence(100))).to.have.length(1);
  });

  it('when the twist is beyond the limits (column 10 dB above or 6 dB below the row), then nothing is found; within them, the digit is', () => {
    expect(detect(tone('1', { ms: 80, twistDb: 10 }))).to.deep.equal([]);
    expect(detect(tone('1', { ms: 80, twistDb: -6 }))).to.deep.equal([]);
    expect(detect(tone('1', { ms: 80, twistDb: 7 }))).to.have.length(1);
    expect(detect(tone('1', { ms: 80, twistDb: -3 }))).to.have.length(1);
  });

  it('when the tones are too quiet (-45 dBFS) or buried in noise of their own power, then nothing is found', () => {
    expect(detect(tone('7', { ms: 100, levelDb: -45 }))).to.deep.equal([]);
    expect(detect(tone('7', { ms: 100, levelDb: -12, noise: 0.5 }))).to.deep.equal([]);
  });

  it('when one frequency sounds alone (a dial tone or a single note at 697 Hz), then nothing is found', () => {
    const single = Float32Array.from({ length: RATE }, (_, n) => 0.3 * Math.sin((2 * Math.PI * 697 * n) / RATE));
    expect(detect(single)).to.deep.equal([]);
  });

  it('when samples arrive in odd chunks, then the spans are the same as in one piece', () => {
    const signal = Float32Array.from([
      ...silence(200),
      ...tone('9', { ms: 70 }),
      ...silence(90),
      ...tone('9', { ms: 70 }),
    ]);
    const whole = detect(signal);
    const detector = createDtmfDetector();
    for (let i = 0; i < signal.length; i += 37) detector.push(signal.subarray(i, i + 37));
    expect(detector.finish()).to.deep.equal(whole);
    expect(whole).to.have.length(2);
  });

  it('when two channels are interleaved s16le, then tones on either channel are found and merged in order', () => {
    const left = Float32Array.from([...tone('1', { ms: 80 }), ...silence(400)]);
    const right = Float32Array.from([...silence(300), ...tone('2', { ms: 80 }), ...silence(100)]);
    const pcm = Buffer.alloc(left.length * 4);
    for (let i = 0; i < left.length; i++) {
      pcm.writeInt16LE(Math.round(left[i]! * 32767), i * 4);
      pcm.writeInt16LE(Math.round(right[i]! * 32767), i * 4 + 2);
    }
    const scanner = createDtmfScanner(2);
    for (let i = 0; i < pcm.length; i += 1001) scanner.push(pcm.subarray(i, i + 1001));
    const spans = scanner.finish();
    expect(spans).to.have.length(2);
    expect(spans[0]!.startMs).to.be.lessThan(spans[1]!.startMs);
    expect(spans[1]!.startMs).to.be.within(270, 300);
  });
});

describe('redaction plan and silencing', () => {
  it('when tones and pauses are planned, then tones widen by the margin (clamped to the audio) and join, pauses are cut at the end, sorted', () => {
    const plan = redactionsOf(
      [
        { startMs: 9000, endMs: 12_000 },
        { startMs: 0, endMs: 100 },
        { startMs: 50, endMs: 300 },
      ],
      [
        { startMs: 10, endMs: 60.5 },
        { startMs: 140, endMs: 200 },
        { startMs: 5000, endMs: 5080 },
      ],
      10_000,
    );
    expect(plan).to.deep.equal([
      { startMs: 0, endMs: 200 + DTMF_MARGIN_MS, kind: 'dtmf' },
      { startMs: 0, endMs: 300, kind: 'pause' },
      { startMs: 5000 - DTMF_MARGIN_MS, endMs: 5080 + DTMF_MARGIN_MS, kind: 'dtmf' },
      { startMs: 9000, endMs: 10_000, kind: 'pause' },
    ]);
  });

  it('when the enable expression is built, then each span starts one frame early (frames that end inside it are silenced too)', () => {
    expect(enableExpression([{ startMs: 1000, endMs: 1500 }], 0.004)).to.equal('between(t,0.996000,1.500000)');
  });

  describe('with files', function () {
    this.timeout(120_000);
    let dir: string;
    before(() => {
      dir = tempDir('callrec-dtmf-');
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('when a disposable upload is masked, then the silenced copy replaces it (own digest and probe) and the upload file is deleted; a spool file is kept', async () => {
      for (const disposable of [true, false]) {
        const call = await dtmfCall(dir, buildDtmfCallSpec({ channel: 'mono', seed: `mask-${disposable}` }));
        const audio = { ...(await audioFileOf(call.path)), disposable };
        const probe = await identifyAudio(call.path, { timeoutMs: 60_000 });
        const work = fs.mkdtempSync(path.join(dir, 'work-'));
        const masked = await maskAudio({
          audio,
          probe,
          pauses: [],
          maskDtmf: true,
          dir: work,
          limits: { timeoutMs: 60_000, signal: new AbortController().signal },
        });
        expect(masked.audio.path).to.not.equal(call.path);
        expect(masked.audio.sha256).to.equal((await audioFileOf(masked.audio.path)).sha256);
        expect(masked.probe.codec).to.equal('pcm_mulaw');
        expect(fs.existsSync(call.path), `upload kept: ${!disposable}`).to.equal(!disposable);
        expect((await decodeDtmf(masked.audio.path)).join('')).to.equal('');
      }
    });

    it('when a codec has no encoder here (GSM in WAV), then the silenced copy is 16-bit PCM WAV and says so', async () => {
      const input = path.join(dir, 'gsm.wav');
      await run('ffmpeg', [
        '-v',
        'error',
        '-f',
        'lavfi',
        '-i',
        'sine=f=440:d=2:r=8000',
        '-c:a',
        'libgsm_ms',
        '-ar',
        '8000',
        '-ac',
        '1',
        input,
      ]).catch(async () =>
        run('sox', ['-n', '-r', '8000', '-c', '1', '-e', 'gsm-full-rate', input, 'synth', '2', 'sine', '440']),
      );
      const probe = await identifyAudio(input, { timeoutMs: 60_000 });
      const out = path.join(dir, 'gsm-silenced');
      const result = await silenceSpans(input, out, {
        timeoutMs: 60_000,
        spans: [{ startMs: 500, endMs: 1000 }],
        source: probe,
      });
      const after = await identifyAudio(out, { timeoutMs: 60_000 });
      if (result.sameFormat) expect(after.codec).to.equal(probe.codec);
      else expect(after).to.include({ container: 'wav', codec: 'pcm_s16le' });
    });
  });
});

describe('DTMF false positives', function () {
  this.timeout(600_000);
  let dir: string;
  before(() => {
    dir = tempDir('callrec-dtmf-fp-');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const PARAGRAPHS = {
    en: 'Good afternoon, you are speaking with customer service. How can I help you today? I see that your last payment of four hundred and twelve euros and fifty cents was received on the third of November. Could you confirm your date of birth and the first line of your address, please? Thank you. One, two, three, four, five, six, seven, eight, nine, zero. I will transfer you to our secure payment line now; please hold for a moment while I check the details of your account. Yes, that is correct, the reference number starts with seven seven nine. Is there anything else I can do for you? Have a lovely evening, goodbye.',
    nl: 'Goedemiddag, u spreekt met de klantenservice. Waarmee kan ik u helpen? Ik zie dat uw laatste betaling van vierhonderdtwaalf euro en vijftig cent op drie november is ontvangen. Kunt u uw geboortedatum en uw adres bevestigen? Dank u wel. Een, twee, drie, vier, vijf, zes, zeven, acht, negen, nul. Ik verbind u nu door met onze beveiligde betaallijn; blijft u even aan de lijn terwijl ik de gegevens van uw rekening bekijk. Ja, dat klopt, het kenmerk begint met zeven zeven negen. Kan ik nog iets anders voor u doen? Nog een fijne avond, tot ziens.',
  };
  /** Voices (language, variant) and the pitch/speed each reads at: Dutch and English, male and female. */
  const VOICES = [
    ['en', 'en', 50, 160],
    ['en', 'en+f3', 60, 170],
    ['en', 'en-us+m3', 35, 150],
    ['en', 'en+f4', 75, 185],
    ['nl', 'nl', 45, 160],
    ['nl', 'nl+f2', 65, 170],
    ['nl', 'nl+m3', 30, 150],
    ['nl', 'nl+f5', 80, 180],
  ] as const;
  /** Speech per voice: 8 × 7.5 minutes = an hour. */
  const SECONDS_PER_VOICE = 450;

  it('when an hour of speech (Dutch and English, male and female voices) is scanned, then no span is masked (< 1 per hour)', async () => {
    let seconds = 0;
    let spans = 0;
    for (const [lang, voice, pitch, speed] of VOICES) {
      const file = path.join(dir, `${voice}.wav`);
      const once = path.join(dir, `${voice}-once.wav`);
      await run('espeak-ng', ['-v', voice, '-p', String(pitch), '-s', String(speed), '-w', once, PARAGRAPHS[lang]]);
      const { stdout } = await run('soxi', ['-D', once]);
      const repeats = Math.ceil(SECONDS_PER_VOICE / Number(stdout)) - 1;
      // Repeated at telephone bandwidth and level (300-3400 Hz, 8 kHz), with a little line noise.
      await run('sox', [
        once,
        '-r',
        '8000',
        '-b',
        '16',
        file,
        'repeat',
        String(repeats),
        'sinc',
        '300-3400',
        'gain',
        '-n',
        '-6',
      ]);
      const found = await scanDtmf(file, { timeoutMs: 600_000, channels: 1 });
      const { stdout: length } = await run('soxi', ['-D', file]);
      seconds += Number(length);
      spans += found.length;
      expect(found, `${voice}: ${JSON.stringify(found.slice(0, 3))}`).to.deep.equal([]);
      fs.rmSync(file);
      fs.rmSync(once);
    }
    expect(seconds).to.be.at.least(3600);
    expect(spans).to.equal(0);
  });

  it('when music on hold is scanned (chords with harmonics, sweeps, a melody, ten minutes), then no span is masked', async () => {
    const signals: Array<[string, string[]]> = [
      [
        'chords',
        ['synth', '4', 'pluck', 'C4', 'pluck', 'E4', 'pluck', 'G4', 'pluck', 'C5', 'remix', '-', 'repeat', '29'],
      ],
      ['square-chords', ['synth', '3', 'square', 'A3', 'square', 'C#4', 'square', 'E4', 'remix', '-', 'repeat', '39']],
      ['sweep', ['synth', '10', 'sine', '200-3400', 'repeat', '11']],
      // (Two pure sines swept slowly through both bands are a DTMF generator, not music: any detector fires.)
      ['sawtooth-fifths', ['synth', '2', 'sawtooth', 'F4', 'sawtooth', 'C5', 'remix', '-', 'repeat', '59']],
      [
        'melody',
        ['synth', '0.25', 'triangle', 'F5', 'synth', '0.25', 'sine', 'amod', 'D6', 'remix', '-', 'repeat', '479'],
      ],
    ];
    let seconds = 0;
    for (const [name, effects] of signals) {
      const file = path.join(dir, `${name}.wav`);
      await run('sox', ['-n', '-r', '8000', '-b', '16', '-c', '1', file, ...effects, 'gain', '-n', '-8']);
      const found = await scanDtmf(file, { timeoutMs: 600_000, channels: 1 });
      const { stdout } = await run('soxi', ['-D', file]);
      seconds += Number(stdout);
      expect(found, name).to.deep.equal([]);
      fs.rmSync(file);
    }
    expect(seconds).to.be.at.least(500);
  });
});
