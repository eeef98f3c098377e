/**
 * What the ingest pipeline (./ingest.ts) is given, whatever the transport: typed, already
 * validated call metadata and an audio file on local disk. Adapters (./adapters/) turn what
 * their platform sends into these; the pipeline never parses wire fields.
 */

import type { RawFormatName } from '../audio/index.js';

export type Direction = 'inbound' | 'outbound';

/** Which stereo channel holds the agent (the other one holds the customer). */
export type AgentChannel = 'left' | 'right';
export const AGENT_CHANNELS = ['left', 'right'] as const satisfies readonly AgentChannel[];

/**
 * What a party's number field held: `e164` (a valid number, stored and searchable), `withheld`
 * (the PBX sent `anonymous`, `unknown`, `restricted`, …, or an empty value: presentation
 * restricted), `internal` (an extension such as `1001`, or Asterisk's `s`). Only `e164`
 * numbers are stored as numbers; the others keep their kind and no number.
 */
export type NumberKind = 'e164' | 'withheld' | 'internal';
export const NUMBER_KINDS = ['e164', 'withheld', 'internal'] as const satisfies readonly NumberKind[];

/** Call metadata, validated and normalized by an adapter. */
export interface CallMetadata {
  /** Unique per source: a second upload with the same id is a replay (same audio) or 409. */
  callId: string;
  /** epoch ms */
  startedAt: number;
  agentId: string | null;
  queue: string | null;
  direction: Direction | null;
  /** epoch ms, when the upload says when the call ended (not after now, not before `startedAt`) */
  endedAt: number | null;
  /** E.164, only when the kind is `e164` */
  callerNumber: string | null;
  calleeNumber: string | null;
  /** null when the field was not sent at all */
  callerNumberKind: NumberKind | null;
  calleeNumberKind: NumberKind | null;
  /** The upload's own statement; null: the source's default (CALLREC_INGEST_AGENT_CHANNELS), else left. */
  agentChannel: AgentChannel | null;
  /** Ties the segments of one call (transfers, conferences): Asterisk linkedid, Twilio CallSid, … */
  callGroupId: string | null;
  /** A case or dossier reference privacy officers search by. */
  caseReference: string | null;
  /**
   * Spans to silence before anything is stored (the telephony's pause/resume events: card data
   * being read out), in ms from the audio's start, sorted by start; may overlap (they are joined).
   */
  pauses: PauseSpan[];
}

/**
 * A pause span of the upload, in whole ms (end exclusive); `index` is its place in the field as sent (for problems).
 */
export interface PauseSpan {
  startMs: number;
  endMs: number;
  index?: number;
}

/** The audio, complete on local disk, with the digest and size taken as its bytes arrived. */
export interface AudioFile {
  path: string;
  /** sha256 (hex) of the file's bytes: the store refuses the original unless it holds exactly these. */
  sha256: string;
  sizeBytes: number;
  /** Headerless audio: the format the upload declared (codec and rate); absent: the file says (header, ffprobe). */
  declaredFormat?: RawFormatName;
  /**
   * True when the pipeline may delete the file once a silenced copy is written (the hook's temp file; never a spool
   * file).
   */
  disposable?: boolean;
}
