/**
 * Quality flags of a recording, read from the waveform peaks ingest already computed (no second
 * decode): `silent` when no channel carries sound, `one_way` when a stereo recording has one
 * silent channel (one party was not heard: a broken RTP path, a muted leg). Flagged recordings
 * are still stored; the list shows and filters the flags.
 */
import type { Waveform } from '../audio/waveform.js';

export type QualityFlag = 'silent' | 'one_way';
export const QUALITY_FLAGS = ['silent', 'one_way'] as const satisfies readonly QualityFlag[];

/** A peak at or below this (about −30 dBFS) is no speech: line noise, comfort noise, silence. */
export const SOUND_PEAK = 0.03;
/** A channel is silent when fewer than this share of its peaks are sound (a click or two do not count). */
export const SOUND_SHARE = 0.01;

function isSilent(peaks: readonly number[]): boolean {
  if (peaks.length === 0) return true;
  let loud = 0;
  for (const peak of peaks) if (Math.abs(peak) > SOUND_PEAK) loud += 1;
  return loud / peaks.length < SOUND_SHARE;
}

/** The flags of a recording with these peaks (see the module comment). */
export function qualityFlagsOf(waveform: Pick<Waveform, 'peaks'>): QualityFlag[] {
  const silent = waveform.peaks.map(isSilent);
  if (silent.every(Boolean)) return ['silent'];
  if (silent.length === 2 && silent.some(Boolean)) return ['one_way'];
  return [];
}
