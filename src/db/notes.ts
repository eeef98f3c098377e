/**
 * The `notes` table: training notes on a recording's timeline. Notes are
 * deleted with their recording (foreign key ON DELETE CASCADE, and the
 * retention sweeper removes them in the same transaction as the row).
 */
import type { Knex } from 'knex';
import { ulid } from 'ulid';

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
