/**
 * Calls with card data keyed in, generated at test time (nothing checked in): speech from
 * espeak-ng around DTMF digit strings synthesized by sox at the levels and timing phones
 * produce, on either channel; and an independent decoder (Debian's multimon-ng) to count the
 * digits a file still holds.
 *
 *   const call = await dtmfCall(dir, buildDtmfCallSpec({ channel: 'right' }));
 *   expect(await decodeDtmf(call.path)).to.deep.equal(['', call.digits]);   // per channel
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { seededRandom } from './random.js';

const run = promisify(execFile);

const ROWS = [697, 770, 852, 941];
const COLUMNS = [1209, 1336, 1477, 1633];
const KEYPAD = ['123A', '456B', '789C', '*0#D'];

/** Row and column frequency of a keypad digit. */
export function dtmfFrequencies(digit: string): [number, number] {
  for (let r = 0; r < 4; r++) {
    const c = KEYPAD[r]!.indexOf(digit);
    if (c >= 0) return [ROWS[r]!, COLUMNS[c]!];
  }
  throw new Error(`not a DTMF digit: ${digit}`);
}

export interface DtmfCallSpec {
  /** Digit groups keyed in, with speech before, between and after them. */
  groups: string[];
  /** Which channel keys the digits (the other one holds the agent's speech); mono: one channel. */
  channel: 'left' | 'right' | 'mono';
  /** Level of the low (row) tone in dBFS; the high tone is `twistDb` louder (phones pre-emphasize it). */
  levelDb: number;
  twistDb: number;
  /** Tone and gap durations are drawn from these ranges (ms), seeded. */
  toneMs: [number, number];
  gapMs: [number, number];
  voice: string;
  otherVoice: string;
  seed: string;
}

/** A card number and its verification code keyed on the customer's (right) channel at phone levels, with overrides. */
export function buildDtmfCallSpec(overrides: Partial<DtmfCallSpec> = {}): DtmfCallSpec {
  return {
    groups: ['4929123456781234', '737'],
    channel: 'right',
    levelDb: -12,
    twistDb: 2,
    toneMs: [65, 110],
    gapMs: [60, 120],
    voice: 'en+f3',
    otherVoice: 'nl',
    seed: 'dtmf-call',
    ...overrides,
  };
}

const SPEECH = [
  'Thank you. Please key in your card number now, followed by the hash key.',
  'Thank you. Now the three digits on the back of your card.',
  'Your payment has been received. Is there anything else I can help you with today?',
];
const AGENT =
  'Goedemiddag, u spreekt met de klantenservice. Ik zet u even over naar de betaalomgeving. Een moment geduld alstublieft, dan kijk ik mee. Dank u wel en nog een fijne dag.';

async function sox(args: string[]): Promise<void> {
  await run('sox', args);
}

/** Speech of `voice` saying `text`, as 8 kHz mono 16-bit WAV at `file`. */
export async function speechWav(file: string, text: string, voice: string): Promise<void> {
  const raw = `${file}.espeak.wav`;
  await run('espeak-ng', ['-v', voice, '-w', raw, text]);
  await sox([raw, '-r', '8000', '-c', '1', '-b', '16', file]);
  await fs.promises.rm(raw, { force: true });
}

/** One DTMF tone of `ms` then `gapMs` of silence, 8 kHz mono 16-bit, at `file`. */
export async function toneWav(
  file: string,
  options: { digit: string; ms: number; gapMs: number; levelDb: number; twistDb: number },
): Promise<void> {
  const [low, high] = dtmfFrequencies(options.digit);
  const a = 10 ** (options.levelDb / 20);
  const b = 10 ** ((options.levelDb + options.twistDb) / 20);
  const two = `${file}.2ch.wav`;
  await sox([
    '-n',
    '-r',
    '8000',
    '-c',
    '2',
    '-b',
    '16',
    two,
    'synth',
    String(options.ms / 1000),
    'sine',
    String(low),
    'sine',
    String(high),
  ]);
  await sox([two, '-c', '1', file, 'remix', `1v${a}`, `2v${b}`, 'pad', '0', String(options.gapMs / 1000)]);
  await fs.promises.rm(two, { force: true });
}

export interface DtmfCall {
  /** 8 kHz μ-law WAV */
  path: string;
  /** Every digit keyed, in order. */
  digits: string;
  durationMs: number;
}

/** Generates the call of `spec` in `dir` (a folder the caller owns). */
export async function dtmfCall(dir: string, spec: DtmfCallSpec): Promise<DtmfCall> {
  const random = seededRandom(spec.seed);
  const work = await fs.promises.mkdtemp(path.join(dir, 'call-'));
  const pieces: string[] = [];
  for (let g = 0; g <= spec.groups.length; g++) {
    const speech = path.join(work, `speech-${g}.wav`);
    await speechWav(speech, SPEECH[g % SPEECH.length]!, spec.voice);
    pieces.push(speech);
    const group = spec.groups[g];
    if (group === undefined) break;
    for (const [i, digit] of [...group].entries()) {
      const tone = path.join(work, `tone-${g}-${i}.wav`);
      await toneWav(tone, {
        digit,
        ms: random.int(spec.toneMs[0], spec.toneMs[1] + 1),
        gapMs: random.int(spec.gapMs[0], spec.gapMs[1] + 1),
        levelDb: spec.levelDb,
        twistDb: spec.twistDb,
      });
      pieces.push(tone);
    }
  }
  const keyed = path.join(work, 'keyed.wav');
  await sox([...pieces, keyed]);
  const out = path.join(dir, `${path.basename(work)}.wav`);
  if (spec.channel === 'mono') {
    await sox([keyed, '-e', 'u-law', out]);
  } else {
    const agent = path.join(work, 'agent.wav');
    await speechWav(agent, AGENT, spec.otherVoice);
    const seconds = (await soxSeconds(keyed)).toFixed(3);
    const agentFit = path.join(work, 'agent-fit.wav');
    await sox([agent, agentFit, 'pad', '0', seconds, 'trim', '0', seconds]);
    const [left, right] = spec.channel === 'left' ? [keyed, agentFit] : [agentFit, keyed];
    await sox(['-M', left, right, '-e', 'u-law', out]);
  }
  const durationMs = Math.round((await soxSeconds(out)) * 1000);
  await fs.promises.rm(work, { recursive: true, force: true });
  return { path: out, digits: spec.groups.join(''), durationMs };
}

async function soxSeconds(file: string): Promise<number> {
  const { stdout } = await run('soxi', ['-D', file]);
  return Number(stdout.trim());
}

/** The channels of any audio file ffprobe reads. */
async function channelsOf(file: string): Promise<number> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'a:0',
    '-show_entries',
    'stream=channels',
    '-of',
    'csv=p=0',
    file,
  ]);
  return Number(stdout.trim());
}

/**
 * The DTMF digits multimon-ng (an independent decoder) hears in each channel of `file` (any
 * format ffmpeg decodes), one string per channel.
 */
export async function decodeDtmf(file: string): Promise<string[]> {
  const channels = await channelsOf(file);
  const out: string[] = [];
  for (let c = 0; c < channels; c++) {
    const { stdout } = await run(
      'bash',
      [
        '-c',
        'ffmpeg -v error -nostdin -i "$1" -af "pan=mono|c0=c$2" -ar 22050 -f s16le -c:a pcm_s16le - | multimon-ng -q -c -a DTMF -t raw -',
        'decode',
        file,
        String(c),
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    out.push(
      stdout
        .split('\n')
        .map((line) => /^DTMF: (.)/.exec(line)?.[1])
        .filter((d): d is string => d !== undefined)
        .join(''),
    );
  }
  return out;
}
