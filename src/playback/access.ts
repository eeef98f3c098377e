/**
 * Object-level access to recordings: the one place that decides whether a
 * principal may see a given recording. Anything a principal may not see is
 * reported exactly like a recording that does not exist (404), so that ids
 * cannot be probed: outside a trainer's queue scope, being deleted, past
 * its deadline without a legal hold, or restricted (a caller or callee number under
 * restriction or objection, Art. 18/21) for anyone but a privacy officer. An agent sees only the calls of
 * their own evaluations that reached them (src/db/agent-calls.ts), and of those only the detail, the audio and
 * the waveform (CALL_ROLES); any other call is 404 to them.
 */
import type { Principal, Role } from '../domain/roles.js';
import { canSeeQueue } from '../auth/index.js';
import type { Db } from '../db/db.js';
import { isCallOfAgentEvaluation } from '../db/agent-calls.js';
import { isRecordingRestricted } from '../db/privacy-requests.js';
import { findPlaybackRowById, findRecordingById, toRecording } from '../db/recordings.js';
import type { Recording, RecordingRow } from '../db/recordings.js';
import { errors } from '../errors.js';
import type { PlaybackRow } from './audio.js';
import { maskPhoneNumber } from './mask.js';

/** Who may read recordings (list, detail, audio, waveform, notes). Auditors never. */
export const READ_ROLES: Role[] = ['trainer', 'privacy', 'admin'];
/** Who may open one call (detail, audio, waveform): the readers, and agents for the calls of their evaluations. */
export const CALL_ROLES: Role[] = [...READ_ROLES, 'agent'];
/** Who may write training notes. */
export const NOTE_ROLES: Role[] = ['trainer', 'admin'];

const ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** True when the row is playable now: stored, and not overdue (unless held). */
export function isVisible(row: Pick<RecordingRow, 'status' | 'legal_hold' | 'expires_at'>, now: number): boolean {
  return row.status === 'stored' && (row.legal_hold || row.expires_at > now);
}

/** True when `principal` sees restricted recordings: privacy officers only (they act on the restriction). */
export function seesRestricted(principal: Principal): boolean {
  return principal.role === 'privacy';
}

/**
 * 404 when the recording is restricted and `principal` may not see restricted recordings, and for an agent when
 * no evaluation of theirs that reached them is about this call (an agent without an agent id sees none).
 */
async function refuseRestricted(
  db: Db,
  principal: Principal,
  recording: { id: string; restricted?: boolean },
): Promise<void> {
  if (principal.role === 'agent') {
    if (principal.agentId === null || !(await isCallOfAgentEvaluation(db.knex, recording.id, principal.agentId))) {
      throw errors.notFound('Recording');
    }
  }
  if (seesRestricted(principal)) return;
  // `restricted` when the row was read with it (one statement), else asked now.
  if (recording.restricted ?? (await isRecordingRestricted(db.knex, recording.id))) throw errors.notFound('Recording');
}

/** The recording `id` if `principal` may see it at `now`; otherwise 404 `not_found`. */
export async function loadVisibleRecording(
  db: Db,
  principal: Principal,
  id: string,
  now: number,
): Promise<RecordingRow> {
  const row = ID.test(id) ? await findRecordingById(db.knex, id) : undefined;
  if (!row || !isVisible(row, now) || !canSeeQueue(principal, row.queue)) throw errors.notFound('Recording');
  await refuseRestricted(db, principal, { id: row.id });
  return row;
}

/**
 * As `loadVisibleRecording` (same checks, same 404), reading only the columns audio playback needs, with the
 * restriction in the same statement (one query per ranged read, not the row and then the restriction).
 */
export async function loadPlayableRecording(
  db: Db,
  principal: Principal,
  id: string,
  now: number,
): Promise<PlaybackRow> {
  const row = ID.test(id) ? await findPlaybackRowById(db.knex, id) : undefined;
  if (!row || !isVisible(row, now) || !canSeeQueue(principal, row.queue)) throw errors.notFound('Recording');
  await refuseRestricted(db, principal, row);
  return row;
}

/** The API shape for this audience: trainers and agents see caller and callee numbers masked and no case reference. */
export function presentRecording(row: RecordingRow, principal: Principal): Recording {
  const recording = toRecording(row);
  if (principal.role === 'trainer' || principal.role === 'agent') {
    recording.callerNumber = maskPhoneNumber(recording.callerNumber);
    recording.calleeNumber = maskPhoneNumber(recording.calleeNumber);
    // A case or dossier reference leads to the customer: for privacy officers and admins only.
    recording.caseReference = null;
  }
  return recording;
}
