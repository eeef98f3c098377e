/**
 * Scale: the queries the service runs on `recordings`, at 3,000,000 rows, on SQLite and
 * PostgreSQL, through the same db functions the service calls (test/support/scale-seed.ts
 * lists them: the recordings list newest first with each filter the API offers, the
 * trainer-scoped list, the subject search by phone, the sweeper's due query, claim, backlog
 * and next deadline). Rows are generated inside the database (see scale-seed.ts for the
 * distributions); PostgreSQL is VACUUM ANALYZEd afterwards as autovacuum would, SQLite is not (the
 * service never runs ANALYZE: it plans from the statistics its migrations write).
 *
 * Per database and query: RUNS runs of ITERATIONS calls each (after a warm-up call); p50 and
 * p99 of each run; the figures are min / median / max of those over the runs. Targets: p50
 * ≤ 20 ms, p99 ≤ 60 ms (judged on the median run). Each query's plan (SQLite `EXPLAIN QUERY
 * PLAN`, PostgreSQL `EXPLAIN`) is captured from the statements it actually sent: whether
 * every access to the table went through an index is in the figure's note, the plans are
 * printed on stderr and written to bench/results/scale-plans.md.
 *
 * Knobs (environment of `npm run bench`):
 *   BENCH_SCALE_ROWS        rows to seed (default 3000000)
 *   BENCH_SCALE_RUNS        runs per query (default 5)
 *   BENCH_SCALE_ITERATIONS  calls per run (default 100; fewer for a query slower than 200 ms)
 *   BENCH_SCALE_DBS         comma list of sqlite, postgres (default both)
 */
import fs from 'node:fs';
import path from 'node:path';
import { createDb } from '../src/db/db.js';
import type { Db } from '../src/db/db.js';
import {
  captureQueries,
  explain,
  fullScans,
  indexesUsed,
  scaleQueries,
  seedRecordings,
  seededCustomerNumber,
} from '../test/support/scale-seed.js';
import { percentile } from './http-client.js';
import { pgDatabase } from './retention.js';
import type { Bench, BenchContext, ResultRow } from './types.js';
import { intKnob, spreadOf } from './spread.js';

const TARGET_P50_MS = 20;
const TARGET_P99_MS = 60;
const PLANS_FILE = path.resolve(import.meta.dirname, 'results', 'scale-plans.md');

/** A figure of this bench: a result row (bench/types.ts), a spread over its runs. */
export type SpreadRow = ResultRow;

interface PlanReport {
  query: string;
  indexed: boolean;
  indexes: string[];
  statements: Array<{ sql: string; plan: string[] }>;
}

async function planOf(db: Db, query: { name: string; run(db: Db): Promise<unknown> }): Promise<PlanReport> {
  const captured = await captureQueries(db.knex, () => query.run(db));
  const statements = [];
  for (const c of captured) statements.push({ sql: c.sql, plan: await explain(db, c) });
  const lines = statements.flatMap((s) => s.plan);
  return {
    query: query.name,
    indexed: fullScans(db.client, lines).length === 0 && indexesUsed(lines).length > 0,
    indexes: indexesUsed(lines),
    statements,
  };
}

async function measure(
  ctx: BenchContext,
  label: string,
  db: Db,
  k: ReturnType<typeof knobs>,
): Promise<{ rows: SpreadRow[]; plans: PlanReport[] }> {
  const now = Date.now();
  await db.migrate();
  const seedStart = performance.now();
  await seedRecordings(db, {
    rows: k.rows,
    now,
    onProgress: (done) => ctx.progress(`${label}: seeded ${done}/${k.rows}`, (done / k.rows) * 0.5),
  });
  // What autovacuum does to a table that grew by inserts (PostgreSQL ≥ 13): statistics, and the
  // visibility map that lets an index-only scan skip the table.
  if (db.client === 'pg') await db.knex.raw('VACUUM ANALYZE recordings');
  const seedSeconds = (performance.now() - seedStart) / 1000;
  ctx.progress(`${label}: ${k.rows} rows in ${seedSeconds.toFixed(0)} s`, 0.5);

  const queries = scaleQueries({ now, subject: seededCustomerNumber(Math.floor(k.rows / 2)) });
  const rows: SpreadRow[] = [];
  const plans: PlanReport[] = [];
  const size = k.rows >= 1_000_000 ? `${k.rows / 1_000_000}M` : `${Math.round(k.rows / 1000)}k`;
  for (const [qi, query] of queries.entries()) {
    const plan = await planOf(db, query);
    plans.push(plan);
    const warm = performance.now();
    await query.run(db);
    const warmMs = performance.now() - warm;
    // A query far off target still gets measured, in fewer calls (at least 5 per run).
    const iterations = warmMs > 200 ? Math.max(5, Math.min(k.iterations, Math.floor(10_000 / warmMs))) : k.iterations;
    const p50s: number[] = [];
    const p99s: number[] = [];
    for (let run = 0; run < k.runs; run++) {
      const samples: number[] = [];
      for (let i = 0; i < iterations; i++) {
        const t = performance.now();
        await query.run(db);
        samples.push(performance.now() - t);
      }
      samples.sort((a, b) => a - b);
      p50s.push(percentile(samples, 50));
      p99s.push(percentile(samples, 99));
      ctx.progress(
        `${label}: ${query.name} run ${run + 1}/${k.runs}`,
        0.5 + ((qi + (run + 1) / k.runs) / queries.length) * 0.5,
      );
    }
    const note = `${plan.indexed ? 'index' : 'NO INDEX (full scan)'}: ${plan.indexes.join(', ') || '—'}; ${k.runs} runs × ${iterations} calls`;
    const p50 = spreadOf(p50s);
    const p99 = spreadOf(p99s);
    rows.push({
      name: `${query.name} p50 (${label}, ${size} rows)`,
      unit: 'ms',
      ...p50,
      target: `≤ ${TARGET_P50_MS} ms`,
      met: p50.median <= TARGET_P50_MS,
      note,
    });
    rows.push({
      name: `${query.name} p99 (${label}, ${size} rows)`,
      unit: 'ms',
      ...p99,
      target: `≤ ${TARGET_P99_MS} ms`,
      met: p99.median <= TARGET_P99_MS,
      note,
    });
  }
  return { rows, plans };
}

function knobs(env: BenchContext['env']) {
  const dbs = (env.BENCH_SCALE_DBS ?? 'sqlite,postgres').split(',').map((s) => s.trim());
  for (const d of dbs)
    if (d !== 'sqlite' && d !== 'postgres')
      throw new Error(`BENCH_SCALE_DBS: unknown database ${d}; known: sqlite, postgres`);
  return {
    rows: intKnob(env, 'BENCH_SCALE_ROWS', 3_000_000),
    runs: intKnob(env, 'BENCH_SCALE_RUNS', 5),
    iterations: intKnob(env, 'BENCH_SCALE_ITERATIONS', 100),
    dbs,
  };
}

function renderPlans(label: string, plans: readonly PlanReport[]): string {
  const out = [`## ${label}`, ''];
  for (const p of plans) {
    out.push(
      `### ${p.query}: ${p.indexed ? 'index' : '**NO INDEX (full scan)**'} (${p.indexes.join(', ') || '—'})`,
      '',
    );
    for (const s of p.statements) out.push('```', s.sql, '--', ...s.plan, '```', '');
  }
  return out.join('\n');
}

export const scaleBench: Bench = {
  name: 'scale',
  async run(ctx) {
    const k = knobs(ctx.env);
    const rows: SpreadRow[] = [];
    const planText: string[] = [`# Query plans at ${k.rows} rows (${new Date().toISOString()})`, ''];
    for (const which of k.dbs) {
      if (which === 'sqlite') {
        const db = createDb({ client: 'sqlite', filename: path.join(ctx.tmpDir, 'scale.sqlite') });
        try {
          const result = await measure(ctx, 'sqlite', db, k);
          rows.push(...result.rows);
          planText.push(renderPlans('sqlite', result.plans));
        } finally {
          await db.close();
        }
      } else {
        const database = await pgDatabase(ctx.env, 'callrec_bench_scale');
        const db = createDb(database.config);
        try {
          const result = await measure(ctx, 'postgres', db, k);
          rows.push(...result.rows);
          planText.push(renderPlans('postgres', result.plans));
        } finally {
          await db.close();
          await database.drop();
        }
      }
    }
    fs.mkdirSync(path.dirname(PLANS_FILE), { recursive: true });
    fs.writeFileSync(PLANS_FILE, `${planText.join('\n')}\n`);
    process.stderr.write(`\n${planText.join('\n')}\nplans: ${path.relative(process.cwd(), PLANS_FILE)}\n`);
    const unindexed = rows.filter((r) => r.note?.startsWith('NO INDEX'));
    if (unindexed.length) process.stderr.write(`${unindexed.length / 2} query plan(s) read the table whole\n`);
    return rows;
  },
};
