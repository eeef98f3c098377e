/**
 * What a database error may say about itself, for logs and for the edge.
 *
 * A database error reaches us as a driver error that knex has decorated: knex puts the
 * statement in front of the message (`insert into "recordings" (...) values (...) - <driver
 * message>`; with `compileSqlOnError: false`, which `knexConfig` sets, placeholders instead of
 * the values), and PostgreSQL errors carry members that quote values (`detail`: "Key
 * (call_id)=(…) already exists", "Failing row contains (…)"; `where`: "parameter $1 = '…'")
 * and a message that may quote one ("invalid input syntax for type integer: \"…\"").
 * Bound values are personal data (agent, call id, numbers, object keys), so a log line may
 * carry only `dbErrorSummary`: the driver's error code, the table, the constraint and the
 * operation. SQLite's own reason ("UNIQUE constraint failed: users.id") names schema objects
 * only and is kept; PostgreSQL's message is not.
 */

export interface DbErrorSummary {
  /** `SQLITE_CONSTRAINT`, `SQLITE_FULL`, a PostgreSQL SQLSTATE such as `23505`, or `KnexTimeoutError`. */
  code: string;
  /** The table the statement worked on, when known. */
  table?: string;
  /** The violated constraint (PostgreSQL), when known. */
  constraint?: string;
  /** `insert`, `update`, `delete`, `select`, … (the statement's first word), when known. */
  operation?: string;
  /** A message fit for a log: code, reason (SQLite), table; never a value or the statement. */
  message: string;
}

interface DriverError extends Error {
  code?: unknown;
  errno?: unknown;
  severity?: unknown;
  routine?: unknown;
  table?: unknown;
  constraint?: unknown;
  sql?: unknown;
}

const SQLSTATE = /^[0-9A-Z]{5}$/;
const STATEMENT =
  /^\s*(?:with\b[\s\S]*?\)\s*)?(insert|update|delete|select|create|alter|drop|pragma|begin|commit|rollback)\b/i;
const TABLE_AFTER = new RegExp(
  /\b(?:insert\s+into|update|delete\s+from|from|into|table(?:\s+if\s+(?:not\s+)?exists)?)\s+/.source +
    /[`"[]?([A-Za-z_][A-Za-z0-9_]*)[`"\]]?/.source,
  'i',
);

function isSqliteError(error: DriverError): boolean {
  return typeof error.code === 'string' && error.code.startsWith('SQLITE_');
}

function isPgError(error: DriverError): boolean {
  return typeof error.code === 'string' && SQLSTATE.test(error.code) && typeof error.severity === 'string';
}

function isKnexTimeout(error: DriverError): boolean {
  return error.name === 'KnexTimeoutError';
}

/** True when `error` is a database driver error (SQLite, PostgreSQL) or a knex pool timeout. */
export function isDbError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const e = error as DriverError;
  return isSqliteError(e) || isPgError(e) || isKnexTimeout(e);
}

/** The statement knex put in front of the driver's message (`<sql> - <message>`), if any. */
function statementOf(error: DriverError, driverMessageStart: number): string | undefined {
  if (typeof error.sql === 'string') return error.sql;
  if (driverMessageStart <= 0) return undefined;
  const prefix = error.message.slice(0, driverMessageStart);
  return STATEMENT.test(prefix) ? prefix : undefined;
}

/**
 * The loggable summary of a database error, or undefined when `error` is none. Never
 * contains a bound value, the statement, or PostgreSQL's `detail`/`where`/message.
 */
export function dbErrorSummary(error: unknown): DbErrorSummary | undefined {
  if (!isDbError(error)) return undefined;
  const e = error as DriverError;
  const code = isKnexTimeout(e) ? 'KnexTimeoutError' : String(e.code);
  let reason: string | undefined;
  let driverStart = -1;
  if (isSqliteError(e)) {
    // The driver's message starts with the code: "SQLITE_CONSTRAINT: UNIQUE constraint failed: users.id".
    driverStart = e.message.lastIndexOf(`${code}:`);
    reason = driverStart >= 0 ? e.message.slice(driverStart + code.length + 1).trim() : undefined;
  } else if (isPgError(e)) {
    driverStart = e.message.lastIndexOf(' - ') + 3;
  }
  const statement = statementOf(e, driverStart);
  const operation = statement ? STATEMENT.exec(statement)?.[1]?.toLowerCase() : undefined;
  const table =
    typeof e.table === 'string' && e.table ? e.table : statement ? TABLE_AFTER.exec(statement)?.[1] : undefined;
  const constraint = typeof e.constraint === 'string' && e.constraint ? e.constraint : undefined;
  const message = [
    `database error ${code}`,
    reason ? `(${reason})` : undefined,
    operation ? `in ${operation}` : undefined,
    table ? `on ${table}` : undefined,
    constraint ? `violating ${constraint}` : undefined,
  ]
    .filter(Boolean)
    .join(' ');
  return {
    code,
    message,
    ...(table ? { table } : {}),
    ...(constraint ? { constraint } : {}),
    ...(operation ? { operation } : {}),
  };
}

/**
 * True when the database refused a write because its disk is full: SQLite `SQLITE_FULL`,
 * PostgreSQL SQLSTATE 53100 (`disk_full`).
 */
export function isDbFull(error: unknown): boolean {
  if (!isDbError(error)) return false;
  const code = (error as DriverError).code;
  return code === 'SQLITE_FULL' || code === '53100';
}
