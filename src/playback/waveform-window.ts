/**
 * Peaks of a time window at a finer resolution, for zooming into long calls
 * (`GET /v1/recordings/:id/waveform?from=&to=&points=`).
 *
 * Nothing is stored: the window is decoded on demand from the playback rendition, so there is
 * no derived object for retention to delete, and a rendition rewritten later (redaction) is what
 * is drawn. For an Ogg Opus rendition the decode starts near the window: the Opus headers, then
 * the pages from about a second before `from` (found by bisection over ranged reads of the
 * rendition, each at most two pages long; granule positions say where a page is), with ffmpeg
 * keeping the stream's own timestamps. Any other rendition (MP3) is decoded from its start and
 * the audio before the window is dropped. Either way ffmpeg stops after the window, the read is
 * streamed (bounded memory), killed on timeout, and abandoned when `signal` aborts (the client
 * went away).
 */
import { Readable } from 'node:stream';
import { z } from 'zod';
import { PEAK_SAMPLE_RATE } from '../audio/waveform.js';
import { findPage, isOpusHead, MAX_PAGE_BYTES, OPUS_GRANULE_RATE, pagesFrom } from '../audio/ogg.js';
import type { ObjectStore } from '../storage/object-store.js';
import { wholeNumber } from '../http/request-schemas.js';
import { computePeaksFromStream } from './waveform.js';
import type { ServedWaveform } from './waveform.js';

/** The most peaks per channel a window answer carries. */
export const WINDOW_MAX_POINTS = 10_000;
/** Peaks per channel when `points` is not given. */
export const WINDOW_DEFAULT_POINTS = 2_000;
/** Decoding starts this long before the window: Opus needs 80 ms of pre-roll, pages hold up to a second. */
const PRE_ROLL_MS = 1_000;
/** A bisection step reads this much: always one whole page, wherever a page starts in its first half. */
const PROBE_BYTES = 2 * MAX_PAGE_BYTES;

const ms = wholeNumber(0, 2_147_483_647);
export const waveformWindowQuerySchema = z.strictObject({
  from: ms.optional().describe('Start of the window, ms from the start of the call (default 0)'),
  to: ms.optional().describe("End of the window, ms (default and at most the recording's durationMs)"),
  points: wholeNumber(1, WINDOW_MAX_POINTS)
    .optional()
    .describe(`Peaks per channel over the window (default ${WINDOW_DEFAULT_POINTS}); fewer when it is very short`),
});

/** The served window: the whole-call format plus where the window lies. */
export interface WindowWaveform extends ServedWaveform {
  /** Start of the window (ms from the start of the call). */
  fromMs: number;
  /** End of the decoded window (ms); `toMs - fromMs` is what the peaks cover. */
  toMs: number;
}

/**
 * A window asked for, resolved against the recording: `from <= to <= durationMs` (pure). A window
 * that is empty, reversed or starts past the end is empty (`from === to`), like a list filter
 * that matches nothing.
 */
export function resolveWindow(
  query: { from?: number; to?: number; points?: number },
  durationMs: number,
): { fromMs: number; toMs: number; points: number } {
  const toMs = Math.min(query.to ?? durationMs, durationMs);
  const fromMs = Math.min(query.from ?? 0, toMs);
  return { fromMs, toMs, points: query.points ?? WINDOW_DEFAULT_POINTS };
}

/** The answer for an empty window: no peaks, nothing decoded (pure). */
export function emptyWindow(window: { fromMs: number }, channels: number): WindowWaveform {
  const n = Math.min(2, Math.max(1, channels));
  return {
    version: 1,
    sampleRate: PEAK_SAMPLE_RATE,
    samplesPerPeak: 1,
    channels: n,
    length: 0,
    durationMs: 0,
    peaks: Array.from({ length: n }, () => []),
    fromMs: window.fromMs,
    toMs: window.fromMs,
  };
}

/** Decoded samples per peak so that `points` peaks cover the window (at least one sample each; pure). */
export function samplesPerPeakFor(window: { fromMs: number; toMs: number; points: number }): number {
  return Math.max(1, Math.ceil(windowSamples(window) / window.points));
}

const windowSamples = (window: { fromMs: number; toMs: number }) =>
  Math.round(((window.toMs - window.fromMs) * PEAK_SAMPLE_RATE) / 1000);

async function readRange(options: {
  store: ObjectStore;
  key: string;
  start: number;
  end: number;
  signal?: AbortSignal;
}): Promise<Buffer> {
  const got = await options.store.get(options.key, {
    range: { start: options.start, end: options.end },
    signal: options.signal,
  });
  const chunks: Buffer[] = [];
  for await (const chunk of got.body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Where to start decoding an Ogg Opus object for audio from `fromMs` on: the end of its header
 * pages and the offset of the first page that ends after `fromMs - PRE_ROLL_MS`. Undefined when
 * the object is not Ogg Opus (or the window starts within the pre-roll: decode from the start).
 */
export async function locateOpusStart(options: {
  store: ObjectStore;
  key: string;
  fromMs: number;
  signal?: AbortSignal;
}): Promise<{ headerEnd: number; start: number } | undefined> {
  const { store, key, signal } = options;
  const read = (start: number, end: number) => readRange({ store, key, start, end, signal });
  const head = await read(0, PROBE_BYTES - 1);
  const first = findPage(head);
  if (first?.offset !== 0 || !isOpusHead(head, first)) return undefined;
  const headerPages = pagesFrom(head).filter((p, i, all) => all.slice(0, i + 1).every((q) => q.granule === 0));
  const last = headerPages.at(-1);
  if (!last) return undefined;
  const headerEnd = last.offset + last.size;
  const preSkip = head.readUInt16LE(first.bodyOffset + 10);
  const target = ((options.fromMs - PRE_ROLL_MS) * OPUS_GRANULE_RATE) / 1000 + preSkip;
  if (options.fromMs <= PRE_ROLL_MS) return undefined;
  const info = await store.stat(key, { signal });
  // Bisection: `lo` is always at a page start with no page ending after the target before it.
  let lo = headerEnd;
  let hi = info.size;
  while (hi - lo > PROBE_BYTES) {
    const mid = Math.floor((lo + hi) / 2);
    const probe = await read(mid, mid + PROBE_BYTES - 1);
    let page = findPage(probe);
    while (page && page.granule === -1) page = findPage(probe, page.offset + page.size);
    if (!page || page.granule > target) hi = mid;
    else lo = mid + page.offset + page.size;
  }
  // Then page by page from `lo` to the first page that ends after the target.
  for (let at = lo; at < info.size;) {
    const block = await read(at, Math.min(info.size, at + PROBE_BYTES) - 1);
    const pages = pagesFrom(block);
    if (!pages.length) return undefined;
    const found = pages.find((p) => p.granule > target);
    if (found) return { headerEnd, start: at + found.offset };
    const end = pages.at(-1)!;
    at += end.offset + end.size;
  }
  return undefined;
}

/** The header bytes, then the object from `start` on, as one stream. */
function splice(options: { store: ObjectStore; key: string; headerEnd: number; start: number; signal?: AbortSignal }) {
  const { store, key, signal } = options;
  return Readable.from(
    (async function* () {
      yield await readRange({ store, key, start: 0, end: options.headerEnd - 1, signal });
      const rest = await store.get(key, { range: { start: options.start }, signal });
      yield* rest.body;
    })(),
    { objectMode: false },
  );
}

/** Window decodes running at once per process (each is one ffmpeg); later ones wait their turn. */
export const MAX_WINDOW_DECODES = 2;
let running = 0;
const waiting: (() => void)[] = [];

/** Runs `work` when fewer than MAX_WINDOW_DECODES run; a wait ends early (rejects) when `signal` aborts. */
async function inTurn<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  if (signal?.aborted) throw new Error('window request abandoned');
  if (running < MAX_WINDOW_DECODES) running += 1;
  else {
    // A finishing decode hands its slot straight to the first waiter (`running` stays counted).
    await new Promise<void>((resolve, reject) => {
      const go = () => {
        signal?.removeEventListener('abort', leave);
        resolve();
      };
      const leave = () => {
        waiting.splice(waiting.indexOf(go), 1);
        reject(new Error('window request abandoned while waiting'));
      };
      waiting.push(go);
      signal?.addEventListener('abort', leave, { once: true });
    });
  }
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running -= 1;
  }
}

/** Decodes the window of a rendition into peaks (see the module comment); at most MAX_WINDOW_DECODES at once. */
export function computeWindowPeaks(options: {
  store: ObjectStore;
  key: string;
  channels: number;
  window: { fromMs: number; toMs: number; points: number };
  timeoutMs: number;
  signal?: AbortSignal;
}): Promise<WindowWaveform> {
  return inTurn(() => decodeWindow(options), options.signal);
}

async function decodeWindow(options: {
  store: ObjectStore;
  key: string;
  channels: number;
  window: { fromMs: number; toMs: number; points: number };
  timeoutMs: number;
  signal?: AbortSignal;
}): Promise<WindowWaveform> {
  const { store, key, signal, window } = options;
  const located = await locateOpusStart({ store, key, fromMs: window.fromMs, signal });
  const body = located ? splice({ store, key, ...located, signal }) : (await store.get(key, { signal })).body;
  const samplesPerPeak = samplesPerPeakFor(window);
  const peaks = await computePeaksFromStream({
    body,
    channels: options.channels,
    timeoutMs: options.timeoutMs,
    signal,
    // An Ogg stream from its start keeps its timestamps too: they begin at 0 either way.
    window: { fromMs: window.fromMs, toMs: window.toMs, samplesPerPeak, copyts: located !== undefined },
  });
  // ffmpeg's cut may run a few samples long: no peak beyond the window.
  const length = Math.min(peaks.peaks[0]?.length ?? 0, Math.ceil(windowSamples(window) / samplesPerPeak));
  const covered = Math.min(window.toMs - window.fromMs, peaks.durationMs);
  return {
    ...peaks,
    length,
    durationMs: covered,
    peaks: peaks.peaks.map((channel) => channel.slice(0, length)),
    fromMs: window.fromMs,
    toMs: window.fromMs + covered,
  };
}
