/**
 * Database faults for tests, injected through knex's public `query` event: a listener that
 * throws makes that query fail before it reaches the database, as the database itself would
 * fail it. `failQueries(db, { match: isRecordingsWrite, code: 'SQLITE_BUSY' })` is SQLite with
 * another process holding the write lock: writes to `recordings` fail, reads go on.
 */
import type { Db } from '../../src/db/db.js';

/** An UPDATE, INSERT or DELETE on `recordings` (the sweeper's claim is one). */
export function isRecordingsWrite(sql: string): boolean {
  return /^\s*(update|insert\s+into|delete\s+from)\s+["`]?recordings["`]?\s/i.test(sql);
}

/** Makes every query whose SQL `match`es fail with an error carrying `code`; returns the undo. */
export function failQueries(db: Db, options: { match: (sql: string) => boolean; code: string }): () => void {
  const listener = (query: { sql?: string }) => {
    if (options.match(query.sql ?? ''))
      throw Object.assign(new Error(`${options.code}: injected by the test`), { code: options.code });
  };
  db.knex.on('query', listener);
  return () => {
    db.knex.removeListener('query', listener);
  };
}
