/**
 * Card data kept out of the store (issue #18): before the original is stored or transcoded,
 * the upload's pause spans (from the telephony's pause/resume events) and, with
 * CALLREC_MASK_DTMF=on, every DTMF tone found on any channel (plus DTMF_MARGIN_MS either side)
 * are silenced on every channel. The pipeline then stores the silenced copy as the original
 * and encodes the rendition from it, so neither ever holds those spans. The recording lists
 * the spans (`redactions`), never a digit.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { identifyAudio } from '../audio/index.js';
import type { AudioProbe, RunLimits } from '../audio/index.js';
import { scanDtmf } from '../audio/dtmf.js';
import type { ToneSpan } from '../audio/dtmf.js';
import { silenceSpans } from '../audio/silence.js';
import { errors } from '../errors.js';
import type { FieldProblem } from '../errors.js';
import type { AudioFile, PauseSpan } from './call-metadata.js';

/** Silence added before and after each DTMF tone found (its onset and decay, and the detector's block edges). */
export const DTMF_MARGIN_MS = 60;

export type RedactionKind = 'pause' | 'dtmf' | 'manual';
export const REDACTION_KINDS = ['pause', 'dtmf', 'manual'] as const satisfies readonly RedactionKind[];

/** A silenced span of a recording, in whole ms from its start (end exclusive). */
export interface Redaction {
  startMs: number;
  endMs: number;
  kind: RedactionKind;
}

/**
 * The redactions of one upload: its pauses (cut at the audio's end when that is known) and
 * the tones found, widened by DTMF_MARGIN_MS and rounded outward to whole ms, clamped to
 * [0, duration]; sorted by start. Spans of one kind that overlap are joined. Pure.
 */
export function redactionsOf(
  pauses: readonly PauseSpan[],
  tones: readonly ToneSpan[],
  durationMs: number | undefined,
): Redaction[] {
  const end = (ms: number) => (durationMs && durationMs > 0 ? Math.min(ms, durationMs) : ms);
  const joined = (spans: Array<{ startMs: number; endMs: number }>, kind: RedactionKind): Redaction[] => {
    const sorted = spans.filter((s) => s.endMs > s.startMs).sort((a, b) => a.startMs - b.startMs);
    const out: Redaction[] = [];
    for (const s of sorted) {
      const last = out.at(-1);
      if (last && s.startMs <= last.endMs) last.endMs = Math.max(last.endMs, s.endMs);
      else out.push({ startMs: s.startMs, endMs: s.endMs, kind });
    }
    return out;
  };
  const pauseSpans = joined(
    pauses.map((p) => ({ startMs: p.startMs, endMs: end(p.endMs) })),
    'pause',
  );
  const toneSpans = joined(
    tones.map((t) => ({
      startMs: Math.max(0, Math.floor(t.startMs - DTMF_MARGIN_MS)),
      endMs: end(Math.ceil(t.endMs + DTMF_MARGIN_MS)),
    })),
    'dtmf',
  );
  return [...pauseSpans, ...toneSpans].sort((a, b) => a.startMs - b.startMs || a.endMs - b.endMs);
}

/** The pauses that start at or after the audio's end (400: their times cannot be those of this audio). Pure. */
export function pausesPastEnd(pauses: readonly PauseSpan[], durationMs: number): FieldProblem[] {
  const problems: FieldProblem[] = [];
  pauses.forEach((p, i) => {
    if (p.startMs >= durationMs)
      problems.push({
        field: `pauses[${p.index ?? i}].startMs`,
        message: `lies at or after the end of the audio (${durationMs} ms)`,
      });
  });
  return problems;
}

/** sha256 (hex) and size of a file, read once as a stream. */
async function digestOf(file: string, signal: AbortSignal): Promise<{ sha256: string; sizeBytes: number }> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  await pipeline(
    fs.createReadStream(file),
    async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        hash.update(chunk);
        sizeBytes += chunk.length;
      }
      yield* [];
    },
    { signal },
  );
  return { sha256: hash.digest('hex'), sizeBytes };
}

/**
 * Finds the spans to silence in `audio` (its pauses, and DTMF tones when `maskDtmf`) and, when
 * there are any, writes the silenced copy into `dir` and answers it (with its digest and its
 * own probe) in place of the upload; a `disposable` upload's file is deleted once the copy is
 * written. With nothing to silence, answers the upload unchanged. Throws 400 invalid_metadata
 * when a pause starts after the audio's end (as far as the probe knows it), and the audio
 * toolbox's errors.
 */
export async function maskAudio(options: {
  audio: AudioFile;
  probe: AudioProbe;
  pauses: readonly PauseSpan[];
  maskDtmf: boolean;
  /** Tones already found (by the transcode's own scan): not scanned again. */
  tones?: readonly ToneSpan[];
  dir: string;
  limits: RunLimits & { signal: AbortSignal };
}): Promise<{ audio: AudioFile; probe: AudioProbe; redactions: Redaction[] }> {
  const { audio, probe, pauses, limits } = options;
  if (probe.durationMs > 0) {
    const problems = pausesPastEnd(pauses, probe.durationMs);
    if (problems.length > 0) throw errors.invalidMetadata(problems);
  }
  const tones =
    options.tones ??
    (options.maskDtmf
      ? await scanDtmf(audio.path, { ...limits, channels: probe.channels, rawInput: probe.rawInput })
      : []);
  const redactions = redactionsOf(pauses, tones, probe.durationMs);
  if (redactions.length === 0) return { audio, probe, redactions };
  const output = path.join(options.dir, 'silenced');
  await silenceSpans(audio.path, output, { ...limits, spans: redactions, source: probe });
  const digest = await digestOf(output, limits.signal);
  const silencedProbe = await identifyAudio(output, limits);
  // The unredacted upload is not needed any more: it never reaches the store.
  if (audio.disposable) await fs.promises.rm(audio.path, { force: true });
  return { audio: { path: output, ...digest }, probe: silencedProbe, redactions };
}
