/**
 * The row lookup of every audio request (`findPlaybackRowById`), on its hot path.
 *
 * On SQLite a knex query costs three trips through the thread pool (prepare,
 * step, finalize) plus knex's own work; here the SELECT is prepared once per
 * pooled connection and only run per request. It is run with `all`, which steps
 * to SQLITE_DONE: node-sqlite3's `get` steps once and leaves the statement
 * active, and an active statement holds the connection's read transaction open
 * after the request, so that the one connection of the process kept reading an
 * old snapshot (another process's commits, e.g. the CLI disabling a user, stayed
 * invisible; its own writes then failed with SQLITE_BUSY) and no checkpoint
 * could pass it (the WAL grew without bound). The connection is still
 * taken from and returned to knex's pool, so the lookup waits for an open
 * transaction exactly as a knex query does (one connection: never inside
 * someone else's transaction). SQLite refuses to close a connection with a
 * statement still prepared, so the statement is finalized before the
 * connection closes. A failed preparation is not kept: the next call prepares
 * again. On PostgreSQL the lookup is the plain knex query.
 */
import type { Db } from '../db/db.js';
import { findPlaybackRowById, PLAYBACK_COLUMNS } from '../db/recordings.js';
import type { PlaybackRow } from './audio.js';

const SQL = `select ${PLAYBACK_COLUMNS.join(', ')} from recordings where id = ?`;

type Callback<T> = (error: Error | null, value?: T) => void;

/** The parts of a node-sqlite3 Database and Statement used here. */
interface SqliteStatement {
  all(params: unknown[], callback: Callback<unknown[]>): unknown;
  finalize(callback?: () => void): unknown;
}
interface SqliteConnection {
  prepare(sql: string, callback: (error: Error | null) => void): SqliteStatement;
  close(callback: Callback<void>): unknown;
}
interface PoolClient {
  acquireConnection(): Promise<SqliteConnection>;
  releaseConnection(connection: SqliteConnection): unknown;
}

const statements = new WeakMap<SqliteConnection, SqliteStatement>();

function statementFor(connection: SqliteConnection): SqliteStatement {
  const known = statements.get(connection);
  if (known) return known;
  const statement = connection.prepare(SQL, (error) => {
    // Reported to the pending all() as well; only forget it so the next call prepares afresh.
    if (error && statements.get(connection) === statement) statements.delete(connection);
  });
  statements.set(connection, statement);
  const close = connection.close.bind(connection);
  connection.close = (callback: Callback<void>) => statement.finalize(() => close(callback));
  return statement;
}

/** The playback columns of recording `id`, or undefined when there is no such row. */
export async function findPlaybackRow(db: Db, id: string): Promise<PlaybackRow | undefined> {
  if (db.client !== 'sqlite') return findPlaybackRowById(db.knex, id);
  const client = db.knex.client as PoolClient;
  const connection = await client.acquireConnection();
  try {
    // `all`, not `get`: it runs the statement to its end, which ends the read transaction (see above).
    const row = await new Promise<PlaybackRow | undefined>((resolve, reject) => {
      statementFor(connection).all([id], (error, rows) => (error ? reject(error) : resolve(rows?.[0] as PlaybackRow | undefined)));
    });
    return row && { ...row, legal_hold: Boolean(row.legal_hold), expires_at: Number(row.expires_at) };
  } finally {
    client.releaseConnection(connection);
  }
}
