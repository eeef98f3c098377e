/**
 * Response schemas (zod) for the API shapes the handlers build from TypeScript
 * interfaces (`Recording`, `Note`, `DeletionEntry`, …). Each schema is tied to
 * its interface by a compile-time check (`sameShape`): changing the interface
 * without the schema, or the other way round, is a type error, so the OpenAPI
 * document cannot drift from what the handlers send.
 */
import { z } from 'zod';
import { ROLES } from './domain/roles.js';
import type { Checkpoint } from './audit/checkpoints.js';
import type { DeletedObject, DeletionEntry } from './audit/deletion-log.js';
import type { VerifyResult } from './audit/verify.js';
import { ACCESS_ACTIONS } from './db/access-log.js';
import type { AccessEntry } from './db/access-log.js';
import type { Note } from './db/notes.js';
import type { Recording } from './db/recordings.js';
import type { Waveform as StoredWaveform } from './audio/waveform.js';
import type { Waveform } from './playback/waveform.js';
import type { ErasureResult, SubjectErasureResult } from './subjects/erasure.js';
import { REQUEST_CHANNELS, REQUEST_KINDS, REQUEST_OUTCOMES, RESTRICTION_MODES } from './db/privacy-requests.js';
import type { PrivacyRequest, PrivacyRequestDetail, TimelineEvent } from './privacy/register.js';
import type { RestrictionStatus } from './subjects/restriction.js';

/** `true` only when A and B are mutually assignable; used as `const _x: SameShape<A, B> = true`. */
export type SameShape<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

const isoDateTime = z.iso.datetime({ offset: true }).describe('ISO 8601 date-time (UTC)');
const nullable = <T extends z.ZodType>(schema: T) => schema.nullable();

export const recordingSchema = z.object({
  id: z.string().describe('ULID'),
  source: z.string(),
  callId: z.string(),
  startedAt: isoDateTime,
  expiresAt: isoDateTime.describe('When retention ends and the sweeper deletes the recording (unless on legal hold)'),
  durationMs: z.number().int().min(0),
  agentId: nullable(z.string()),
  queue: nullable(z.string()),
  direction: nullable(z.enum(['inbound', 'outbound'])),
  callerNumber: nullable(z.string()).describe('E.164; masked for trainers'),
  calleeNumber: nullable(z.string()).describe('E.164; masked for trainers'),
  endedAt: nullable(isoDateTime).describe('When the call ended, if the upload said'),
  callerNumberKind: nullable(z.enum(['e164', 'withheld', 'internal'])).describe(
    'What the number field held: a number (`e164`), a withheld number (anonymous, unknown, restricted, empty) or an ' +
      'internal extension; withheld and internal ones have no number. Null when the field was not sent',
  ),
  calleeNumberKind: nullable(z.enum(['e164', 'withheld', 'internal'])).describe('As callerNumberKind'),
  agentChannel: nullable(z.enum(['left', 'right'])).describe(
    'Which channel of a stereo recording holds the agent; null for mono',
  ),
  callGroupId: nullable(z.string()).describe('Ties the segments of one call (transfers, conferences)'),
  caseReference: nullable(z.string()).describe('Case or dossier reference; null for trainers'),
  qualityFlags: z
    .array(z.enum(['silent', 'one_way']))
    .describe(
      'Read from the peaks at ingest: `silent` (no channel carries sound), `one_way` (one channel of a stereo call ' +
        'is silent)',
    ),
  redactions: z
    .array(
      z.object({
        startMs: z.number().int().min(0),
        endMs: z.number().int().min(0),
        kind: z.enum(['pause', 'dtmf', 'manual']),
      }),
    )
    .describe(
      'Spans silenced on every channel of the original and the rendition, in ms from the start (end exclusive): ' +
        '`pause` (the telephony paused the recording: card data read out), `dtmf` (keyed-in tones, with a margin), ' +
        '`manual` (a privacy officer or admin redacted it). Never the digits',
    ),
  original: z.object({
    sha256: z.string(),
    sizeBytes: z.number().int().min(0),
    codec: z.string(),
    sampleRate: z.number().int().min(0),
    channels: z.number().int().min(0),
  }),
  playback: z.object({ format: z.string(), sizeBytes: z.number().int().min(0), contentType: z.string() }),
  legalHold: nullable(z.object({ reason: nullable(z.string()), by: nullable(z.string()), at: nullable(isoDateTime) })),
  createdAt: isoDateTime,
});
const _recording: SameShape<z.output<typeof recordingSchema>, Recording> = true;

export const recordingPageSchema = z.object({
  items: z.array(recordingSchema),
  nextCursor: nullable(z.string()).describe('Pass as `cursor` for the next page; null on the last page'),
});

export const noteSchema = z.object({
  id: z.string(),
  recordingId: z.string(),
  author: z.string(),
  offsetMs: z.number().int().min(0),
  text: z.string(),
  createdAt: isoDateTime,
});
const _note: SameShape<z.output<typeof noteSchema>, Note> = true;

export const waveformSchema = z
  .object({
    version: z.literal(1).optional().describe('format version of peaks written at ingest'),
    sampleRate: z.number().int().min(1).optional().describe('rate the audio was decoded at for peaks'),
    samplesPerPeak: z.number().int().min(1).optional(),
    length: z.number().int().min(0).optional().describe('peaks per channel'),
    durationMs: z.number().int().min(0),
    channels: z.number().int().min(0),
    peaks: z
      .array(z.array(z.number()))
      .describe('Per channel: peak values in [-1, 1], evenly spaced over the duration'),
  })
  .loose()
  .describe('At least durationMs, channels and peaks; peaks written at ingest also carry the version-1 members');
const _waveform: SameShape<z.output<typeof waveformSchema>, Waveform> = true;
const _storedWaveform: [{ [K in keyof StoredWaveform]: StoredWaveform[K] }] extends [z.output<typeof waveformSchema>]
  ? true
  : false = true;

const deletedObjectSchema = z.object({ key: z.string(), sha256: z.string(), sizeBytes: z.number().int().min(0) });
const _deletedObject: SameShape<z.output<typeof deletedObjectSchema>, DeletedObject> = true;

export const deletionEntrySchema = z.object({
  seq: z.number().int().min(1),
  recordingId: z.string(),
  source: z.string(),
  callId: z.string(),
  reason: z.enum(['retention_expired', 'erasure_request', 'lifecycle_expired', 'privacy_request', 'objection']),
  actor: z.string(),
  reference: nullable(z.string()),
  startedAt: isoDateTime,
  expiresAt: isoDateTime,
  deletedAt: isoDateTime,
  objects: z.array(deletedObjectSchema),
  verified: z.boolean(),
  prevHash: z.string().describe('hash of the previous entry; 64 zeros for the first'),
  hash: z.string().describe('sha256(prevHash ‖ canonical JSON of this entry without `hash`), lowercase hex'),
  keyShredded: z
    .boolean()
    .optional()
    .describe(
      "present (true) when the deletion destroyed the recording's data key in the same transaction " +
        '(crypto-shredding); absent for recordings stored in plaintext and entries written before encryption',
    ),
  kekId: nullable(z.string())
    .optional()
    .describe('with `keyShredded`: the key-encryption key that had wrapped the destroyed data key'),
});
const _deletion: SameShape<z.output<typeof deletionEntrySchema>, DeletionEntry> = true;

export const accessEntrySchema = z.object({
  id: z.number().int(),
  userId: nullable(z.string()),
  username: z.string(),
  role: z.string(),
  recordingId: nullable(z.string()),
  action: z.enum(ACCESS_ACTIONS),
  at: isoDateTime,
  requestId: nullable(z.string()),
  detail: nullable(z.string()),
});
const _access: SameShape<z.output<typeof accessEntrySchema>, AccessEntry> = true;

export const verifyResultSchema = z.object({
  ok: z.boolean(),
  count: z.number().int().min(0).describe('Entries checked'),
  headHash: z.string().describe('hash of the last entry (64 zeros for an empty log)'),
  firstInvalidSeq: nullable(z.number().int()),
  problem: nullable(
    z.enum([
      'gap',
      'prev_hash',
      'hash',
      'time',
      'checkpoint_mismatch',
      'checkpoint_signature',
      'truncated',
      'external_checkpoint_signature',
    ]),
  ),
  checkpoints: z.object({ count: z.number().int().min(0), verified: z.number().int().min(0) }),
  external: nullable(
    z
      .object({
        count: z.number().int().min(0),
        matched: z.number().int().min(0),
        largestSize: nullable(z.number().int().min(1)),
      })
      .describe(
        'The checkpoints published in the object store (under checkpoints/), which the log was also checked against',
      ),
  ),
});
const _verify: SameShape<z.output<typeof verifyResultSchema>, VerifyResult> = true;

const checkpointSchema = z.object({
  size: z.number().int().min(0),
  headHash: z.string(),
  at: isoDateTime,
  signature: z.string().describe('base64 Ed25519 signature over the canonical JSON {at, headHash, size}'),
  keyId: z.string(),
});
const _checkpoint: SameShape<z.output<typeof checkpointSchema>, Checkpoint> = true;

export const checkpointListSchema = z.object({
  publicKey: z.string().describe('SPKI PEM of the Ed25519 public key'),
  keyId: z.string().describe('sha256 hex of the public key (SPKI DER)'),
  items: z.array(checkpointSchema),
});

export const erasureResultSchema = z.object({
  id: z.string(),
  erased: z.literal(true),
  deletion: deletionEntrySchema.describe('The deletion-log entry that proves the erasure'),
});
const _erasure: SameShape<z.output<typeof erasureResultSchema>, ErasureResult> = true;

export const subjectErasureResultSchema = z.object({
  erased: z.array(z.object({ id: z.string(), seq: z.number().int().min(1).describe('deletion-log entry') })),
  pending: z.array(z.string()).describe('Ids already being deleted by another process; the sweeper finishes them'),
  count: z.number().int().min(0),
});
const _subjectErasure: SameShape<z.output<typeof subjectErasureResultSchema>, SubjectErasureResult> = true;

export const privacyRequestSchema = z.object({
  id: z.string().describe('ULID'),
  reference: z.string().describe('Human reference, PR-<year of receipt>-<sequence>'),
  kind: z.enum(REQUEST_KINDS),
  channel: z.enum(REQUEST_CHANNELS),
  identityVerified: z.boolean(),
  caseReference: nullable(z.string()),
  receivedAt: isoDateTime,
  dueAt: isoDateTime.describe('End of the Europe/Amsterdam day one calendar month after receipt (plus extensions)'),
  extensionMonths: z.number().int().min(0).max(2),
  status: z
    .enum(['open', 'due_soon', 'overdue', 'closed'])
    .describe('From the clock: due_soon within 7 days of dueAt, overdue past it'),
  daysLeft: nullable(z.number().int()).describe(
    'Amsterdam calendar days to the due date (negative when overdue); null once closed',
  ),
  outcome: nullable(z.enum(REQUEST_OUTCOMES)),
  closeReason: nullable(z.string()),
  closedAt: nullable(isoDateTime),
  closedBy: nullable(z.string()),
  createdBy: z.string(),
  createdAt: isoDateTime,
});
const _privacyRequest: SameShape<z.output<typeof privacyRequestSchema>, PrivacyRequest> = true;

const timelineEventSchema = z.object({
  at: isoDateTime,
  actor: z.string(),
  role: z.string(),
  action: z
    .string()
    .describe(
      'created, search, export, erase, erase_refused, hold, release, restrict, unrestrict, correct, extended, closed',
    ),
  recordingIds: z.array(z.string()),
  deletionSeqs: z.array(z.number().int().min(1)).describe('Deletion-log entries of the erasures done'),
  detail: nullable(z.string()),
});
const _timelineEvent: SameShape<z.output<typeof timelineEventSchema>, TimelineEvent> = true;

export const privacyRequestDetailSchema = privacyRequestSchema.extend({
  phones: z.array(z.string()).describe('E.164 numbers the request concerns'),
  timeline: z.array(timelineEventSchema).describe('Oldest first'),
});
const _privacyRequestDetail: SameShape<z.output<typeof privacyRequestDetailSchema>, PrivacyRequestDetail> = true;

export const privacyRequestPageSchema = z.object({
  items: z.array(privacyRequestSchema).describe('Without phone numbers'),
  nextCursor: nullable(z.string()).describe(
    'Pass as `cursor` (with the same sort) for the next page; null on the last page',
  ),
});

/** The upload hook's 200 for a recording not kept (a "do not keep" objection; src/ingest/discard.ts). */
export const notKeptSchema = z.object({
  id: z.string().describe('The id the deletion-log entry names; no recording with it exists'),
  kept: z.literal(false),
  reason: z.literal('objection'),
  deletionSeq: z
    .number()
    .int()
    .min(1)
    .describe('The deletion-log entry that records the upload and that nothing was kept'),
});

export const restrictionStatusSchema = z.object({
  restricted: z.boolean(),
  mode: nullable(z.enum(RESTRICTION_MODES)),
  doNotKeep: z.boolean().describe('An objection that says "do not keep": new recordings are not stored at ingest'),
  requestId: nullable(z.string()),
  since: nullable(isoDateTime),
  recordingIds: z.array(z.string()).describe('Recordings stored now where the number is the caller or the callee'),
});
const _restriction: SameShape<z.output<typeof restrictionStatusSchema>, RestrictionStatus> = true;

export const sessionUserSchema = z.object({
  username: z.string(),
  role: z.enum(ROLES),
  queues: nullable(z.array(z.string())).describe('Queues a trainer is limited to; null for every queue'),
  agentId: z.string().optional().describe('Agents only: the agent they are bound to'),
});

export const healthSchema = z.object({ status: z.literal('ok') });
export const readinessSchema = z.object({
  status: z.enum(['ready', 'unavailable']),
  checks: z.object({
    db: z.enum(['ok', 'fail']),
    store: z.enum(['ok', 'fail', 'full']),
    disk: z
      .enum(['ok', 'fail', 'full'])
      .describe('free space under the data dir and the SQLite file against CALLREC_MIN_FREE_BYTES'),
  }),
});

/** Keeps the compile-time checks referenced (they exist for their types only). */
export const SHAPE_CHECKS = [
  _recording,
  _note,
  _waveform,
  _storedWaveform,
  _deletedObject,
  _deletion,
  _access,
  _verify,
  _checkpoint,
  _erasure,
  _subjectErasure,
  _privacyRequest,
  _timelineEvent,
  _privacyRequestDetail,
  _restriction,
] as const;
