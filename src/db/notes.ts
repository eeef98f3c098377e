/**
 * The `notes` table: training notes on a recording's timeline. Notes are
 * deleted with their recording (foreign key ON DELETE CASCADE, and the
 * retention sweeper removes them in the same transaction as the row).
 */
import type { Knex } from 'knex';
import { ulid } from 'ulid';
import { whereNotRestricted } from './privacy-requests.js';

export const NOTE_MAX_LENGTH = 2000;

export interface Note {
  id: string;
  recordingId: string;
  author: string;
  offsetMs: number;
  text: string;
  createdAt: string;
}

interface NoteRow {
  id: string;
  recording_id: string;
  author: string;
  offset_ms: number;
  text: string;
  created_at: number;
}

function toNote(row: NoteRow): Note {
  return {
    id: row.id,
    recordingId: row.recording_id,
    author: row.author,
    offsetMs: Number(row.offset_ms),
    text: row.text,
    createdAt: new Date(Number(row.created_at)).toISOString(),
  };
}

/** Inserts one note and returns it. Not idempotent: each call adds a note. */
export async function insertNote(
  q: Knex | Knex.Transaction,
  input: { recordingId: string; author: string; offsetMs: number; text: string; at: number },
): Promise<Note> {
  const row: NoteRow = {
    id: ulid(input.at),
    recording_id: input.recordingId,
    author: input.author,
    offset_ms: input.offsetMs,
    text: input.text,
    created_at: input.at,
  };
  await q('notes').insert(row);
  return toNote(row);
}

/** The notes of a recording in timeline order (offset, then creation); empty for an unknown id. */
export async function listNotes(q: Knex | Knex.Transaction, recordingId: string): Promise<Note[]> {
  const rows = (await q('notes')
    .where({ recording_id: recordingId })
    .orderBy([
      { column: 'offset_ms', order: 'asc' },
      { column: 'id', order: 'asc' },
    ])) as NoteRow[];
  return rows.map(toNote);
}

/** One note of a recording, or undefined. */
export async function findNote(
  q: Knex | Knex.Transaction,
  recordingId: string,
  noteId: string,
): Promise<Note | undefined> {
  const row = (await q('notes').where({ recording_id: recordingId, id: noteId }).first()) as NoteRow | undefined;
  return row && toNote(row);
}

/** Replaces the text of a note (its offset and author stay); returns false when no such note exists. */
export async function updateNoteText(
  q: Knex | Knex.Transaction,
  input: { recordingId: string; noteId: string; text: string },
): Promise<boolean> {
  const changed = await q('notes')
    .where({ recording_id: input.recordingId, id: input.noteId })
    .update({ text: input.text });
  return Number(changed) > 0;
}

/** Deletes a note; returns false when no such note exists. */
export async function deleteNote(q: Knex | Knex.Transaction, recordingId: string, noteId: string): Promise<boolean> {
  const deleted = await q('notes').where({ recording_id: recordingId, id: noteId }).delete();
  return Number(deleted) > 0;
}

/** A note found by `searchNotes`, with what the list shows of its recording (never a number). */
export interface FoundNote extends Note {
  recording: { startedAt: string; durationMs: number; queue: string | null; agentId: string | null };
}

export interface NoteSearch {
  /** Words in the text: a case-insensitive substring match (LIKE wildcards in it are literal). */
  text?: string;
  /** The author's username, case-insensitive. */
  author?: string;
  /** created_at >= from (epoch ms). */
  from?: number;
  /** created_at < to (epoch ms). */
  to?: number;
  /** Only notes on recordings of these queues (a scoped trainer); null or absent: every queue. */
  queues?: readonly string[] | null;
  /** Only notes on recordings visible at this instant (stored, before their deadline or held). */
  visibleAt: number;
  /** Leave out notes on recordings whose numbers are under restriction (Art. 18/21). */
  hideRestricted?: boolean;
  /** Keyset cursor: notes with an id below this one (ids are ULIDs of their creation: newest first). */
  before?: string;
  limit: number;
}

const likePattern = (s: string) => `%${s.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * Notes newest first, on recordings the searcher may see (the recording list's visibility rules,
 * in the same query: one join, no query per note), at most `limit`.
 */
export async function searchNotes(q: Knex | Knex.Transaction, search: NoteSearch): Promise<FoundNote[]> {
  let b = q('notes')
    .join('recordings', 'recordings.id', 'notes.recording_id')
    .where('recordings.status', 'stored')
    .andWhere(
      (w) => void w.where('recordings.expires_at', '>', search.visibleAt).orWhere('recordings.legal_hold', true),
    )
    .select(
      'notes.*',
      'recordings.started_at as rec_started_at',
      'recordings.duration_ms as rec_duration_ms',
      'recordings.queue as rec_queue',
      'recordings.agent_id as rec_agent_id',
    )
    .orderBy('notes.id', 'desc')
    .limit(search.limit);
  if (search.text !== undefined) b = b.whereRaw("lower(notes.text) like ? escape '\\'", [likePattern(search.text)]);
  if (search.author !== undefined) b = b.whereRaw('lower(notes.author) = ?', [search.author.toLowerCase()]);
  if (search.from !== undefined) b = b.where('notes.created_at', '>=', search.from);
  if (search.to !== undefined) b = b.where('notes.created_at', '<', search.to);
  if (search.queues) b = b.whereIn('recordings.queue', [...search.queues]);
  if (search.hideRestricted) b = whereNotRestricted(b, q);
  if (search.before !== undefined) b = b.where('notes.id', '<', search.before);
  const rows = (await b) as (NoteRow & {
    rec_started_at: number;
    rec_duration_ms: number;
    rec_queue: string | null;
    rec_agent_id: string | null;
  })[];
  return rows.map((row) => ({
    ...toNote(row),
    recording: {
      startedAt: new Date(Number(row.rec_started_at)).toISOString(),
      durationMs: Number(row.rec_duration_ms),
      queue: row.rec_queue,
      agentId: row.rec_agent_id,
    },
  }));
}
