/**
 * The playback API (trainer, admin; privacy may read; auditors never):
 *
 * - `GET /v1/recordings` search with filters and a keyset cursor on (started_at desc, id desc)
 * - `GET /v1/recordings/:id` detail (numbers masked for trainers; logs `view`)
 * - `GET /v1/recordings/:id/audio` the playback rendition, RFC 9110 single ranges (logs `play` once
 *   per listening session, or `download` with `?download=1`; see listen-log.ts)
 * - `GET /v1/recordings/:id/waveform` peaks (from ingest, else computed once and cached in the row)
 * - `GET|POST /v1/recordings/:id/notes` training notes; `PATCH|DELETE /v1/recordings/:id/notes/:noteId`
 *   change the text of, or delete, a note: its author only (403 `forbidden` for anyone else)
 *
 * Role checks are the route guards; object-level checks are `loadVisibleRecording` (404, never 403;
 * `loadPlayableRecording` for audio: the same checks on fewer columns).
 */
import { Router } from 'express';
import type { Request } from 'express';
import { z } from 'zod';
import { createGuards } from '../auth/index.js';
import type { Principal } from '../domain/roles.js';
import type { AppDeps } from '../deps.js';
import { appendAccess } from '../db/access-log.js';
import { deleteNote, findNote, insertNote, listNotes, NOTE_MAX_LENGTH, updateNoteText } from '../db/notes.js';
import { searchRecordings, setRecordingWaveform } from '../db/recordings.js';
import { errors } from '../errors.js';
import type { FieldProblem } from '../errors.js';
import { filterText, isoInstant, trimmedText, wholeNumber } from '../http/request-schemas.js';
import {
  loadPlayableRecording,
  loadVisibleRecording,
  CALL_ROLES,
  NOTE_ROLES,
  presentRecording,
  READ_ROLES,
  seesRestricted,
} from './access.js';
import { createAudioPrefetch, discardEarlyRead, streamAudio } from './audio.js';
import { createListenLog } from './listen-log.js';
import { storeErrorToAppError } from '../http/store-errors.js';
import { computePeaksFromStream, parseStoredWaveform } from './waveform.js';
import type { ServedWaveform } from './waveform.js';

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 200;

const name = filterText(128);
/** `<startedAt ms>.<id>` of the previous page's last recording: the keyset position after which a page starts. */
const CURSOR = /^([0-9]{1,16})\.([0-9A-Z]{26})$/;

export const listQuerySchema = z.strictObject({
  from: isoInstant.optional(),
  to: isoInstant.optional(),
  agentId: name.optional(),
  queue: name.optional(),
  direction: z.enum(['inbound', 'outbound'], { message: 'expects inbound or outbound' }).optional(),
  callGroupId: name.optional().describe('Only the segments of this call group (transfers, conferences)'),
  caseReference: name
    .optional()
    .describe('Only recordings with this case or dossier reference (privacy officers and admins; a trainer gets 403)'),
  qualityFlag: z
    .enum(['silent', 'one_way'], { message: 'expects silent or one_way' })
    .optional()
    .describe('Only recordings with this quality flag'),
  // duration_ms is a 32-bit integer column: a larger bound would be a database error (500) on PostgreSQL.
  minDurationMs: wholeNumber(0, 2_147_483_647).optional(),
  maxDurationMs: wholeNumber(0, 2_147_483_647).optional(),
  cursor: z
    .string()
    .regex(CURSOR, 'expects a cursor from a previous page')
    .transform((s) => decodeCursor(s)!)
    .optional()
    .describe('`nextCursor` of the previous page'),
  limit: wholeNumber(1, MAX_LIMIT).optional(),
});

export const noteSchema = z.strictObject({
  offsetMs: z
    .number()
    .int('expects a whole number of milliseconds')
    .min(0, 'expects 0 or more')
    .describe("Milliseconds from the start of the call; at most the recording's durationMs (else 400 invalid_request)"),
  text: trimmedText(NOTE_MAX_LENGTH, {
    controls: 'line-breaks',
    messages: { empty: 'expects some text', long: `expects at most ${NOTE_MAX_LENGTH} characters` },
  }).describe(
    `1 to ${NOTE_MAX_LENGTH} characters after trimming surrounding whitespace; no control characters but tabs and ` +
      `line breaks`,
  ),
});

/** A note's new text (`PATCH …/notes/:noteId`): the text rules of a new note. */
export const noteTextSchema = noteSchema.pick({ text: true });

function fieldProblems(error: z.ZodError): FieldProblem[] {
  return error.issues.map((i) => ({
    field: i.path.length ? i.path.join('.') : ((i as { keys?: string[] }).keys?.join(',') ?? ''),
    message: i.message,
  }));
}

export function encodeCursor(row: { started_at: number; id: string }): string {
  return `${row.started_at}.${row.id}`;
}

export function decodeCursor(cursor: string): { startedAt: number; id: string } | undefined {
  const match = CURSOR.exec(cursor);
  return match ? { startedAt: Number(match[1]), id: match[2]! } : undefined;
}

function principalOf(req: Request): Principal {
  // The guard ran before every handler here; a missing principal is a wiring bug.
  if (!req.principal) throw errors.unauthenticated();
  return req.principal;
}

export function createPlaybackRouter(deps: AppDeps): Router {
  const router = Router();
  const guards = createGuards(deps);
  const canRead = guards.requireRole(...READ_ROLES);
  const canOpenCall = guards.requireRole(...CALL_ROLES);
  const canWriteNotes = guards.requireRole(...NOTE_ROLES);
  const listenLog = createListenLog(deps);
  const prefetch = createAudioPrefetch(deps);
  const computing = new Map<string, Promise<ServedWaveform>>();

  router.get('/v1/recordings', canRead, async (req, res) => {
    const principal = principalOf(req);
    const parsed = listQuerySchema.safeParse(req.query);
    if (!parsed.success) throw errors.invalidQuery(fieldProblems(parsed.error));
    const q = parsed.data;
    // Trainers do not see case references, so they may not search by them either.
    if (q.caseReference !== undefined && principal.role === 'trainer') throw errors.forbidden();
    const after = q.cursor;
    const limit = q.limit ?? DEFAULT_LIMIT;
    const rows = await searchRecordings(deps.db.knex, {
      from: q.from,
      to: q.to,
      agentId: q.agentId,
      queue: q.queue,
      direction: q.direction,
      callGroupId: q.callGroupId,
      caseReference: q.caseReference,
      qualityFlag: q.qualityFlag,
      minDurationMs: q.minDurationMs,
      maxDurationMs: q.maxDurationMs,
      queues: principal.role === 'trainer' ? principal.queues : null,
      hideRestricted: !seesRestricted(principal),
      visibleAt: deps.clock.now(),
      after,
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    // A search by case reference finds a subject's calls, like a subject search: logged the
    // same way (`search`, the hit count; never the reference itself) before the answer.
    if (q.caseReference !== undefined) {
      await appendAccess(deps.db.knex, {
        principal,
        recordingId: null,
        action: 'search',
        at: deps.clock.now(),
        requestId: req.id,
        detail: `by=caseReference count=${page.length}`,
      });
    }
    res.setHeader('Cache-Control', 'private, no-store');
    res.json({
      items: page.map((row) => presentRecording(row, principal)),
      nextCursor: rows.length > limit && last ? encodeCursor(last) : null,
    });
  });

  router.get('/v1/recordings/:id', canOpenCall, async (req, res) => {
    const principal = principalOf(req);
    const row = await loadVisibleRecording(deps.db, principal, String(req.params.id), deps.clock.now());
    await listenLog.view(principal, row.id, req.id);
    res.setHeader('Cache-Control', 'private, no-store');
    res.json(presentRecording(row, principal));
  });

  router.get('/v1/recordings/:id/audio', canOpenCall, async (req, res) => {
    const principal = principalOf(req);
    const id = String(req.params.id);
    // The row query first (it waits on the database), then the object read beside it;
    // nothing is sent unless the row's checks pass (audio.ts).
    const checked = loadPlayableRecording(deps.db, principal, id, deps.clock.now());
    const early = prefetch.start(id, req, res);
    let row;
    try {
      row = await checked;
    } catch (error) {
      discardEarlyRead(early);
      throw error;
    }
    prefetch.remember(row);
    await streamAudio({ deps, listenLog, principal, row, req, res, early });
  });

  router.get('/v1/recordings/:id/waveform', canOpenCall, async (req, res) => {
    const principal = principalOf(req);
    const row = await loadVisibleRecording(deps.db, principal, String(req.params.id), deps.clock.now());
    let waveform = parseStoredWaveform(row.waveform, row.duration_ms);
    if (!waveform) {
      // One computation per recording at a time; later requests read the cached row.
      let job = computing.get(row.id);
      if (!job) {
        job = (async () => {
          let got;
          try {
            got = await deps.store.get(row.playback_key);
          } catch (error) {
            throw storeErrorToAppError(error, { what: 'Recording' });
          }
          const computed = await computePeaksFromStream({
            body: got.body,
            channels: row.original_channels,
            timeoutMs: deps.config.ingest.ffmpegTimeoutMs,
          });
          await setRecordingWaveform(deps.db.knex, row.id, JSON.stringify(computed));
          return computed;
        })().finally(() => computing.delete(row.id));
        computing.set(row.id, job);
      }
      waveform = await job;
    }
    res.setHeader('Cache-Control', 'private, no-store');
    res.json(waveform);
  });

  router.get('/v1/recordings/:id/notes', canRead, async (req, res) => {
    const principal = principalOf(req);
    const row = await loadVisibleRecording(deps.db, principal, String(req.params.id), deps.clock.now());
    res.setHeader('Cache-Control', 'private, no-store');
    res.json({ items: await listNotes(deps.db.knex, row.id) });
  });

  router.post('/v1/recordings/:id/notes', canWriteNotes, async (req, res) => {
    const principal = principalOf(req);
    const row = await loadVisibleRecording(deps.db, principal, String(req.params.id), deps.clock.now());
    if (!req.is('application/json')) throw errors.unsupportedMediaType('Send the note as application/json');
    const parsed = noteSchema.safeParse(req.body);
    if (!parsed.success)
      throw errors.invalidRequest('Invalid note', { extra: { fields: fieldProblems(parsed.error) } });
    if (parsed.data.offsetMs > row.duration_ms) {
      throw errors.invalidRequest('Invalid note', {
        extra: { fields: [{ field: 'offsetMs', message: 'expects an offset within the recording' }] },
      });
    }
    const note = await insertNote(deps.db.knex, {
      recordingId: row.id,
      author: principal.username,
      offsetMs: parsed.data.offsetMs,
      text: parsed.data.text,
      at: deps.clock.now(),
    });
    res.status(201).setHeader('Location', `/v1/recordings/${row.id}/notes/${note.id}`).json(note);
  });

  /** The note of a visible recording that its author means to change: 404 when absent, 403 when another's. */
  const ownNote = async (req: Request) => {
    const principal = principalOf(req);
    const row = await loadVisibleRecording(deps.db, principal, String(req.params.id), deps.clock.now());
    const note = await findNote(deps.db.knex, row.id, String(req.params.noteId));
    if (!note) throw errors.notFound('Note');
    if (note.author !== principal.username) throw errors.forbidden({ detail: 'Only the author can change a note' });
    return note;
  };

  router.patch('/v1/recordings/:id/notes/:noteId', canWriteNotes, async (req, res) => {
    const note = await ownNote(req);
    if (!req.is('application/json')) throw errors.unsupportedMediaType('Send the note as application/json');
    const parsed = noteTextSchema.safeParse(req.body);
    if (!parsed.success)
      throw errors.invalidRequest('Invalid note', { extra: { fields: fieldProblems(parsed.error) } });
    await updateNoteText(deps.db.knex, { recordingId: note.recordingId, noteId: note.id, text: parsed.data.text });
    res.setHeader('Cache-Control', 'private, no-store');
    res.json({ ...note, text: parsed.data.text });
  });

  router.delete('/v1/recordings/:id/notes/:noteId', canWriteNotes, async (req, res) => {
    const note = await ownNote(req);
    await deleteNote(deps.db.knex, note.recordingId, note.id);
    res.status(204).end();
  });

  return router;
}
