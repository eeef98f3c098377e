/**
 * One pass over the deletion log entries with from ≤ seq ≤ to, in pages: recomputes
 * each hash, checks seq contiguity, links and time order inside the range, and reports
 * the range's first and last entry (for stitching) and its hashes at the given sizes
 * (for checkpoints). The next page is fetched while the current one is hashed. Pages come
 * from `readVerifyPage` (packed rows on SQLite, exactly the stored values).
 */
import type { Db } from '../db/db.js';
import type { DeletionLogRow } from '../db/deletion-log.js';
import { hashRow } from './deletion-log.js';
import { readVerifyPage } from './verify-read.js';

export interface RangeResult {
  first: { seq: number; prevHash: string; deletedAt: number } | null;
  last: { seq: number; hash: string; deletedAt: number } | null;
  invalid: { seq: number; problem: 'gap' | 'prev_hash' | 'hash' | 'time' } | null;
  /** hash of the entry with seq = size, for each requested size in the range */
  hashes: Record<number, string>;
}

/** A row that cannot even be hashed (a time column holding text that is no number) does not match. */
function hashMatches(row: DeletionLogRow): boolean {
  try {
    return hashRow(row) === row.hash;
  } catch {
    return false;
  }
}

export async function verifyRange(
  db: Db,
  options: { from: number; to: number; pageSize: number; sizes: readonly number[]; signal?: AbortSignal },
): Promise<RangeResult> {
  const { from, to, pageSize } = options;
  const wanted = new Set(options.sizes.filter((s) => s >= from && s <= to));
  const result: RangeResult = { first: null, last: null, invalid: null, hashes: {} };
  if (to < from) return result;
  let expected = from;
  let prevHash: string | undefined;
  let lastDeletedAt = Number.NEGATIVE_INFINITY;
  const fail = (seq: number, problem: NonNullable<RangeResult['invalid']>['problem']) => {
    if (!result.invalid) result.invalid = { seq, problem };
  };
  const fetch = (after: number) =>
    readVerifyPage(db, after, pageSize).then((rows) => rows.filter((r) => Number(r.seq) <= to));
  let next: Promise<DeletionLogRow[]> | undefined = fetch(from - 1);
  while (next) {
    options.signal?.throwIfAborted();
    const page: DeletionLogRow[] = await next;
    if (page.length === 0) break;
    const lastSeq = Number(page[page.length - 1]!.seq);
    next = page.length < pageSize || lastSeq >= to ? undefined : fetch(lastSeq);
    for (const row of page) {
      const seq = Number(row.seq);
      const deletedAt = Number(row.deleted_at);
      if (!result.first) result.first = { seq, prevHash: row.prev_hash, deletedAt };
      if (!result.invalid) {
        if (seq !== expected) fail(expected, 'gap');
        else if (prevHash !== undefined && row.prev_hash !== prevHash) fail(seq, 'prev_hash');
        else if (seq === 1 && row.prev_hash !== '0'.repeat(64)) fail(seq, 'prev_hash');
        else if (!hashMatches(row)) fail(seq, 'hash');
        else if (deletedAt < lastDeletedAt) fail(seq, 'time');
      }
      if (wanted.has(seq)) result.hashes[seq] = row.hash;
      prevHash = row.hash;
      lastDeletedAt = deletedAt;
      expected = seq + 1;
    }
  }
  if (expected <= to) fail(expected, 'gap');
  result.last = prevHash === undefined ? null : { seq: expected - 1, hash: prevHash, deletedAt: lastDeletedAt };
  return result;
}
