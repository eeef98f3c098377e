/**
 * Finding a data subject's recordings by phone number (already normalized to E.164).
 * Reads only; the routes write the access log.
 */
import type { Knex } from 'knex';
import { queryAccess } from '../db/access-log.js';
import type { AccessEntry } from '../db/access-log.js';
import { findRecordingsByNumber } from '../db/recordings.js';
import type { RecordingRow } from '../db/recordings.js';
import type { ExportRecording } from './export.js';

export const SEARCH_PAGE_MAX = 500;
const ACCESS_PAGE = 1000;

/** One page of the subject's recordings in id order; `nextCursor` is null on the last page. */
export async function findSubjectRecordings(
  q: Knex | Knex.Transaction,
  options: { number: string; afterId?: string; limit: number },
): Promise<{ items: RecordingRow[]; nextCursor: string | null }> {
  const rows = await findRecordingsByNumber(q, { ...options, limit: options.limit + 1 });
  const items = rows.slice(0, options.limit);
  return { items, nextCursor: rows.length > options.limit ? items[items.length - 1]!.id : null };
}

/** Every recording of the subject (all pages), in id order. */
export async function findAllSubjectRecordings(q: Knex | Knex.Transaction, number: string): Promise<RecordingRow[]> {
  const all: RecordingRow[] = [];
  let afterId: string | undefined;
  for (;;) {
    const page = await findSubjectRecordings(q, { number, afterId, limit: SEARCH_PAGE_MAX });
    all.push(...page.items);
    if (page.nextCursor === null) return all;
    afterId = page.nextCursor;
  }
}

/** The full access history of one recording, oldest first. */
export async function accessHistory(q: Knex | Knex.Transaction, recordingId: string): Promise<AccessEntry[]> {
  const all: AccessEntry[] = [];
  let afterId: number | undefined;
  for (;;) {
    const page = await queryAccess(q, { recordingId, afterId, limit: ACCESS_PAGE });
    all.push(...page);
    if (page.length < ACCESS_PAGE) return all;
    afterId = page[page.length - 1]!.id;
  }
}

/** The subject's recordings with their access history: everything the export's manifest needs. */
export async function collectExport(q: Knex | Knex.Transaction, number: string): Promise<ExportRecording[]> {
  const rows = await findAllSubjectRecordings(q, number);
  const out: ExportRecording[] = [];
  for (const row of rows) out.push({ row, access: await accessHistory(q, row.id) });
  return out;
}
