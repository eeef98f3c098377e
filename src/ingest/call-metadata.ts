/**
 * What the ingest pipeline (./ingest.ts) is given, whatever the transport: typed, already
 * validated call metadata and an audio file on local disk. Adapters (./adapters/) turn what
 * their platform sends into these; the pipeline never parses wire fields.
 */

export type Direction = 'inbound' | 'outbound';


/** Call metadata, validated and normalized by an adapter. */
export interface CallMetadata {
  /** Unique per source: a second upload with the same id is a replay (same audio) or 409. */
  callId: string;
  /** epoch ms */
  startedAt: number;
  agentId: string | null;
  queue: string | null;
  direction: Direction | null;
  /** E.164 */
  callerNumber: string | null;
  calleeNumber: string | null;
}

/** The audio, complete on local disk, with the digest and size taken as its bytes arrived. */
export interface AudioFile {
  path: string;
  /** sha256 (hex) of the file's bytes: the store refuses the original unless it holds exactly these. */
  sha256: string;
  sizeBytes: number;
}
