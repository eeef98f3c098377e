/**
 * Many recordings at once, for the scale benchmark (bench/scale.ts) and the query-plan test
 * (test/contract/query-plans.test.ts): rows only (no objects), generated inside the database
 * by one INSERT … SELECT per batch (a recursive CTE on SQLite, generate_series on PostgreSQL),
 * so that millions of rows go in within minutes.
 *
 * Deterministic: every attribute is a function of the row number n (Lehmer hashes modulo
 * 2^31 − 1), so two seedings of the same size hold the same rows. Distributions:
 * - deadlines spread evenly over 30 days from `now − dueWindowMs` (the rows in that first
 *   window are due); started_at = deadline − 30 days (the default retention);
 * - sources pbx-ams 60 %, pbx-rtm 30 %, teams 10 %; inbound 70 %, outbound 30 %;
 * - 19 queues `queue-0` … `queue-18`, skewed towards the low numbers, 5 % without a queue;
 *   500 agents `agent-0` … `agent-499`;
 * - customers: 1,000,000 Dutch mobile numbers `+3161xxxxxxx` (E.164, as ingest stores them),
 *   the caller of an inbound call and the callee of an outbound one; the other side is one of
 *   50 company lines `+3120555xxxx`;
 * - durations 5 s to ~15 min, skewed short; 0.1 % on legal hold; 0.01 % claimed by an erasure
 *   in flight (status `deleting`, lease running).
 * No waveform (the real JSON peaks would multiply the table's size; no query here reads them).
 */
import type { Knex } from 'knex';
import type { Db } from '../../src/db/db.js';
import {
  claimDueRecordings,
  findRecordingsByNumber,
  listDueRecordingIds,
  nextDueAt,
  retentionBacklog,
  searchRecordings,
} from '../../src/db/recordings.js';
import type { RecordingSearch } from '../../src/db/recordings.js';

const DAY_MS = 86_400_000;
const RETENTION_MS = 30 * DAY_MS;
const P = 2147483647;
const MULTIPLIERS = [950706376, 742938285, 1226874159, 62089911, 1343714438, 1099087573] as const;

export interface SeedOptions {
  /** Rows to insert (numbered 1 … rows after `firstRow − 1`). */
  rows: number;
  /** The instant deadlines are laid out around (epoch ms). */
  now: number;
  /** Rows whose deadline falls in [now − dueWindowMs, now] are due (default 3 h: 0.4 % of the rows). */
  dueWindowMs?: number;
  /** Rows per INSERT (default 50,000). */
  batch?: number;
  /** Called after each batch with the rows inserted so far. */
  onProgress?(done: number): void;
}

/** The customer number of row n (E.164), as the seeding computes it. */
export function seededCustomerNumber(n: number): string {
  const h = Number((BigInt(n) * BigInt(MULTIPLIERS[5])) % BigInt(P));
  return `+3161${String(h % 1_000_000).padStart(7, '0')}`;
}

/** The queues the seeding spreads calls over (queue-0 busiest). */
export const SEEDED_QUEUES = Array.from({ length: 19 }, (_, i) => `queue-${i}`);

/** The columns the SELECT below fills, in its order (named: later migrations may add columns). */
const COLUMNS = [
  'id',
  'source',
  'call_id',
  'started_at',
  'duration_ms',
  'agent_id',
  'queue',
  'direction',
  'caller_number',
  'callee_number',
  'original_key',
  'original_sha256',
  'original_size',
  'original_codec',
  'original_content_type',
  'original_sample_rate',
  'original_channels',
  'playback_key',
  'playback_format',
  'playback_content_type',
  'playback_size',
  'playback_sha256',
  'waveform',
  'expires_at',
  'legal_hold',
  'hold_reason',
  'hold_by',
  'hold_at',
  'status',
  'claimed_by',
  'claim_expires_at',
  'delete_attempts',
  'next_attempt_at',
  'last_error',
  'created_at',
  'delete_reason',
  'delete_actor',
  'delete_reference',
].join(', ');

function columnsSql(client: Db['client'], now: number, dueWindowMs: number): string {
  const pad = (expr: string, width: number) =>
    client === 'pg' ? `lpad((${expr})::text, ${width}, '0')` : `printf('%0${width}d', ${expr})`;
  const bool = (expr: string) => (client === 'pg' ? `(${expr})` : `(CASE WHEN ${expr} THEN 1 ELSE 0 END)`);
  const first = now - dueWindowMs;
  const held = 'h3 % 1000 = 7';
  const deleting = `h4 % 10000 = 3 AND NOT (${held})`;
  const customer = `'+3161' || ${pad('h6 % 1000000', 7)}`;
  const company = `'+3120555' || ${pad('h4 % 50', 4)}`;
  return `
    ${pad('e - ' + RETENTION_MS, 13)} || ${pad('n', 13)} AS id,
    CASE WHEN h4 % 10 < 6 THEN 'pbx-ams' WHEN h4 % 10 < 9 THEN 'pbx-rtm' ELSE 'teams' END AS source,
    'call-' || n AS call_id,
    e - ${RETENTION_MS} AS started_at,
    5000 + (h3 % 60) * (h4 % 15000) AS duration_ms,
    'agent-' || (h5 % 500) AS agent_id,
    CASE WHEN h3 % 20 = 0 THEN NULL ELSE 'queue-' || (((h2 % 20) * (h4 % 20)) / 20) END AS queue,
    CASE WHEN h5 % 10 < 7 THEN 'inbound' ELSE 'outbound' END AS direction,
    CASE WHEN h5 % 10 < 7 THEN ${customer} ELSE ${company} END AS caller_number,
    CASE WHEN h5 % 10 < 7 THEN ${company} ELSE ${customer} END AS callee_number,
    'recordings/seed/' || ${pad('n', 13)} || '/original.wav' AS original_key,
    ${pad('n', 64)} AS original_sha256,
    96000 + h2 % 9000000 AS original_size,
    'pcm_mulaw' AS original_codec,
    'audio/wav' AS original_content_type,
    8000 AS original_sample_rate,
    1 AS original_channels,
    'recordings/seed/' || ${pad('n', 13)} || '/playback.opus' AS playback_key,
    'opus' AS playback_format,
    'audio/ogg' AS playback_content_type,
    4000 + h2 % 900000 AS playback_size,
    ${pad('n', 64)} AS playback_sha256,
    NULL AS waveform,
    e AS expires_at,
    ${bool(held)} AS legal_hold,
    CASE WHEN ${held} THEN 'seeded hold' ELSE NULL END AS hold_reason,
    CASE WHEN ${held} THEN 'privacy' ELSE NULL END AS hold_by,
    CASE WHEN ${held} THEN ${now - DAY_MS} ELSE NULL END AS hold_at,
    CASE WHEN ${deleting} THEN 'deleting' ELSE 'stored' END AS status,
    CASE WHEN ${deleting} THEN 'seed-erasure' ELSE NULL END AS claimed_by,
    CASE WHEN ${deleting} THEN ${now + 10 * 60_000} ELSE NULL END AS claim_expires_at,
    CASE WHEN ${deleting} THEN 1 ELSE 0 END AS delete_attempts,
    NULL AS next_attempt_at,
    NULL AS last_error,
    e - ${RETENTION_MS} + 5000 + (h3 % 60) * (h4 % 15000) + 2000 AS created_at,
    CASE WHEN ${deleting} THEN 'erasure_request' ELSE NULL END AS delete_reason,
    CASE WHEN ${deleting} THEN 'privacy' ELSE NULL END AS delete_actor,
    NULL AS delete_reference
  FROM (
    SELECT n, h2, h3, h4, h5, h6, ${first} + (h1 % 30000) * 86400 + (h2 % 86400) AS e
    FROM (
      SELECT n, ${MULTIPLIERS.map((m, i) => `(n * ${m}) % ${P} AS h${i + 1}`).join(', ')}
      FROM series
    ) hashed
  ) spread`;
}

/**
 * The secondary indexes of `recordings` (name and the statement that creates it), which the
 * seeding drops and creates again after the rows are in: one sorted build instead of millions
 * of scattered inserts. The primary key and unique constraints stay.
 */
async function secondaryIndexes(db: Db): Promise<Array<{ name: string; create: string }>> {
  if (db.client === 'pg') {
    const result = (await db.knex.raw(
      `SELECT i.indexname AS name, i.indexdef AS "create" FROM pg_indexes i
       WHERE i.tablename = 'recordings' AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`,
    )) as { rows: Array<{ name: string; create: string }> };
    return result.rows;
  }
  return (await db.knex.raw(
    "SELECT name, sql AS \"create\" FROM sqlite_master WHERE type = 'index' AND tbl_name = 'recordings' AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'",
  )) as Array<{
    name: string;
    create: string;
  }>;
}

/**
 * Inserts `rows` generated recordings (see the module comment); ANALYZE is left to the caller.
 * The secondary indexes are dropped meanwhile and built again at the end (the same statements);
 * on SQLite the page cache is raised for the seeding and put back after it.
 */
export async function seedRecordings(db: Db, options: SeedOptions): Promise<void> {
  const indexes = await secondaryIndexes(db);
  // SQLite forgets an index's statistics when it is dropped: keep the migrations' rows.
  const stats =
    db.client === 'sqlite'
      ? ((await db.knex.raw("SELECT tbl, idx, stat FROM sqlite_stat1 WHERE tbl = 'recordings'")) as Array<
          Record<string, string>
        >)
      : [];
  for (const index of indexes) await db.knex.raw(`DROP INDEX ${index.name}`);
  let cacheSize: number | undefined;
  if (db.client === 'sqlite') {
    cacheSize = ((await db.knex.raw('PRAGMA cache_size')) as Array<{ cache_size: number }>)[0]!.cache_size;
    await db.knex.raw('PRAGMA cache_size = -1000000');
  }
  try {
    await insertRows(db, options);
  } finally {
    for (const index of indexes) await db.knex.raw(index.create);
    if (cacheSize !== undefined) await db.knex.raw(`PRAGMA cache_size = ${cacheSize}`);
    if (db.client === 'sqlite') {
      await db.knex.raw("DELETE FROM sqlite_stat1 WHERE tbl = 'recordings'");
      for (const s of stats)
        await db.knex.raw('INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)', [s.tbl!, s.idx!, s.stat!]);
      await db.knex.raw('ANALYZE sqlite_schema');
    }
  }
}

async function insertRows(db: Db, options: SeedOptions): Promise<void> {
  const batch = options.batch ?? 50_000;
  const select = columnsSql(db.client, options.now, options.dueWindowMs ?? 3 * 3_600_000);
  const insert = (knex: Knex | Knex.Transaction, from: number, to: number) =>
    db.client === 'pg'
      ? knex.raw(
          `WITH series AS (SELECT n::bigint AS n FROM generate_series(${from}, ${to}) AS n) INSERT INTO recordings (${COLUMNS}) SELECT ${select}`,
        )
      : knex.raw(
          `WITH RECURSIVE series(n) AS (SELECT ${from} UNION ALL SELECT n + 1 FROM series WHERE n < ${to}) INSERT INTO recordings (${COLUMNS}) SELECT ${select}`,
        );
  for (let done = 0; done < options.rows; done += batch) {
    const to = Math.min(options.rows, done + batch);
    await insert(db.knex, done + 1, to);
    options.onProgress?.(to);
  }
}

// ---------------------------------------------------------------------------
// Query plans: the SQL a db function runs, its EXPLAIN, and whether it reads the table whole.

export interface CapturedQuery {
  sql: string;
  bindings: readonly unknown[];
}

/** The statements (SELECT, UPDATE, DELETE, INSERT, WITH) `work` sends through `knex` (its 'query' events), in order. */
export async function captureQueries(knex: Knex, work: () => Promise<unknown>): Promise<CapturedQuery[]> {
  const seen: CapturedQuery[] = [];
  // Statements only: a transaction's BEGIN / COMMIT have no plan.
  const listener = (q: { sql: string; bindings?: readonly unknown[] }) => {
    if (/^\s*(select|update|delete|insert|with)\b/i.test(q.sql)) seen.push({ sql: q.sql, bindings: q.bindings ?? [] });
  };
  knex.on('query', listener);
  try {
    await work();
  } finally {
    knex.removeListener('query', listener);
  }
  return seen;
}

/** The plan of one captured statement: `EXPLAIN QUERY PLAN` rows on SQLite, `EXPLAIN` lines on PostgreSQL. */
export async function explain(db: Pick<Db, 'knex' | 'client'>, query: CapturedQuery): Promise<string[]> {
  // knex's 'query' event carries `?` placeholders on SQLite and `$n` on PostgreSQL; raw() takes `?`.
  const sql = db.client === 'pg' ? query.sql.replace(/\$\d+/g, '?') : query.sql;
  if (db.client === 'pg') {
    const result = (await db.knex.raw(`EXPLAIN ${sql}`, query.bindings as Knex.RawBinding[])) as {
      rows: Array<{ 'QUERY PLAN': string }>;
    };
    return result.rows.map((r) => r['QUERY PLAN']);
  }
  const rows = (await db.knex.raw(`EXPLAIN QUERY PLAN ${sql}`, query.bindings as Knex.RawBinding[])) as Array<{
    detail: string;
  }>;
  return rows.map((r) => r.detail);
}

/**
 * The plan lines that read `recordings` whole: on SQLite `SCAN recordings`, with or without
 * `USING [COVERING] INDEX` (an index walked end to end without a constraint), on PostgreSQL
 * `Seq Scan on recordings`. Empty when every access to the table is an index search.
 */
export function fullScans(client: Db['client'], plan: readonly string[]): string[] {
  return plan.filter((line) =>
    client === 'pg' ? /Seq Scan on recordings\b/.test(line) : /^\s*SCAN recordings\b/.test(line),
  );
}

/**
 * SQLite's plan lines that sort every matching row (`USE TEMP B-TREE FOR ORDER BY`; sorting
 * only the ties of an index's order, `… FOR LAST TERM OF ORDER BY`, is not one). SQLite plans
 * from fixed statistics (the migrations write them), so its plan on a small table is its plan
 * on a large one; PostgreSQL's depends on the table's measured size and is not judged here.
 */
export function fullSorts(plan: readonly string[]): string[] {
  return plan.filter((line) => /^\s*USE TEMP B-TREE FOR ORDER BY\s*$/.test(line));
}

/** The index names a plan mentions (`recordings_…_index`, `recordings_pkey`, `sqlite_autoindex_recordings_…`). */
export function indexesUsed(plan: readonly string[]): string[] {
  const names = new Set<string>();
  for (const line of plan)
    for (const m of line.matchAll(/\b(recordings_[a-z0-9_]+|sqlite_autoindex_recordings_\d+)\b/g)) names.add(m[1]!);
  return [...names];
}

// ---------------------------------------------------------------------------
// The queries measured at scale and checked for index use: each through the db function the
// service calls, with the arguments the API or the sweeper would pass.

export interface ScaleQuery {
  name: string;
  /** A page of the list: the index must deliver the rows in the list's order (no sort of every match). */
  ordered?: boolean;
  run(db: Db): Promise<unknown>;
}

/**
 * The recordings list (newest first: no filter, each filter the API offers, all of them, a
 * later page), the trainer-scoped list (several queues, one rare queue), the subject search
 * by phone, and the sweeper's queries (due rows with some due and with none due, the claim
 * when none is due: its steady state, the backlog gauges, the next deadline).
 */
export function scaleQueries(options: { now: number; dueWindowMs?: number; subject: string }): ScaleQuery[] {
  const { now, subject } = options;
  const beforeDue = now - (options.dueWindowMs ?? 3 * 3_600_000) - 1;
  const list = (extra: Omit<RecordingSearch, 'visibleAt' | 'limit'>) => (db: Db) =>
    searchRecordings(db.knex, { visibleAt: now, limit: 51, ...extra });
  return [
    { name: 'list, newest first', ordered: true, run: list({}) },
    { name: 'list, from/to (1 day)', ordered: true, run: list({ from: now - 10 * DAY_MS, to: now - 9 * DAY_MS }) },
    { name: 'list, agentId', ordered: true, run: list({ agentId: 'agent-123' }) },
    {
      name: 'list, agentId + from/to (20 days)',
      ordered: true,
      run: list({ agentId: 'agent-77', from: now - 20 * DAY_MS, to: now }),
    },
    { name: 'list, queue', ordered: true, run: list({ queue: 'queue-7' }) },
    { name: 'list, direction', ordered: true, run: list({ direction: 'outbound' }) },
    { name: 'list, duration ≥ 10 min', ordered: true, run: list({ minDurationMs: 600_000, maxDurationMs: 3_600_000 }) },
    {
      name: 'list, every filter',
      ordered: true,
      run: list({
        from: now - 20 * DAY_MS,
        to: now,
        agentId: 'agent-42',
        queue: 'queue-1',
        direction: 'inbound',
        minDurationMs: 60_000,
      }),
    },
    {
      name: 'list, next page (cursor)',
      ordered: true,
      run: list({ after: { startedAt: now - 15 * DAY_MS, id: '9'.repeat(26) } }),
    },
    { name: 'trainer list, 3 queues', ordered: true, run: list({ queues: ['queue-3', 'queue-9', 'queue-15'] }) },
    { name: 'trainer list, 1 rare queue', ordered: true, run: list({ queues: ['queue-18'] }) },
    { name: 'subject search by phone', run: (db) => findRecordingsByNumber(db.knex, { number: subject, limit: 101 }) },
    { name: 'sweeper due, some due', ordered: true, run: (db) => listDueRecordingIds(db.knex, { now, limit: 200 }) },
    {
      name: 'sweeper due, none due',
      ordered: true,
      run: (db) => listDueRecordingIds(db.knex, { now: beforeDue, limit: 200 }),
    },
    {
      name: 'sweeper claim, none due',
      run: (db) => claimDueRecordings(db, { now: beforeDue, limit: 200, claimant: 'scale-probe', leaseMs: 600_000 }),
    },
    { name: 'sweeper backlog', run: (db) => retentionBacklog(db.knex, now) },
    { name: 'sweeper next deadline', run: (db) => nextDueAt(db.knex) },
  ];
}
