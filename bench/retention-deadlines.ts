/**
 * Retention deadlines: how late after its deadline each recording is deleted by the service
 * as it runs in production (bench/service.ts: its production entry in a process of its own, default settings: sweep
 * interval 1 min, batch 200, lease 10 min). 1,000 recordings (rows plus two 64-byte objects,
 * written through the db and store modules while the service runs) get deadlines spread at
 * random (seeded) over 10 minutes, starting `lead` after the rows went in; the benchmark then
 * follows the deletion log (polled every 100 ms) until every recording is in it.
 *
 * Per scenario — fs + SQLite (1 instance), MinIO + PostgreSQL (1 instance), MinIO +
 * PostgreSQL (3 instances on the same database and bucket) — it reports deadline → deletion
 * p50 and p99, where deletion is the moment the log entry was seen committed (the objects are
 * gone and verified by then); the note adds min/max and the same figures for the entry's
 * `deleted_at` (the sweep's start). Every recording must be logged exactly once, its row and
 * objects gone, and the log must verify.
 *
 * Knobs (environment of `npm run bench`), for a short smoke run:
 *   BENCH_DEADLINES           number of recordings (default 1000)
 *   BENCH_DEADLINE_SPREAD     window the deadlines fall in (default 10m)
 *   BENCH_DEADLINE_LEAD       from the rows' insertion to the first deadline (default 75s: more
 *                             than one sweep interval, so that the service has seen them)
 *   BENCH_DEADLINE_SCENARIOS  comma list of fs, minio, minio-3 (default all three)
 * (not CALLREC_*: those name the service's settings only, see test/unit/readme.test.ts)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Config } from '../src/config.js';
import { loadConfig, parseDuration } from '../src/config.js';
import { loadCheckpointKey } from '../src/audit/checkpoint-key.js';
import { verifyDeletionLog } from '../src/audit/verify.js';
import { createDb } from '../src/db/db.js';
import type { Db } from '../src/db/db.js';
import type { RecordingRow } from '../src/db/recordings.js';
import { createObjectStore } from '../src/storage/create-store.js';
import type { ObjectStore } from '../src/storage/object-store.js';
import { setupBucket } from '../src/storage/setup-bucket.js';
import { buildRecordingRow } from '../test/support/recordings.js';
import { pgDatabase } from './retention.js';
import { startService } from './service.js';
import type { ServiceProcess } from './service.js';
import { rowFromRuns, seededRandom } from './spread.js';
import type { Bench, BenchContext, ResultRow } from './types.js';

const DAY_MS = 86_400_000;
const POLL_MS = 100;
const TARGET_P99_S = 5;

interface Scenario {
  name: 'fs' | 'minio' | 'minio-3';
  store: 'fs' | 'minio';
  instances: number;
}

const SCENARIOS: Scenario[] = [
  { name: 'fs', store: 'fs', instances: 1 },
  { name: 'minio', store: 'minio', instances: 1 },
  { name: 'minio-3', store: 'minio', instances: 3 },
];

function quantile(sorted: number[], q: number): number {
  if (!sorted.length) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

function durationKnob(env: BenchContext['env'], name: string, fallback: string): number {
  const ms = parseDuration(env[name] ?? fallback);
  if (ms === undefined) throw new Error(`${name} expects a duration such as 90s or 10m`);
  return ms;
}

function knobs(env: BenchContext['env']) {
  const count = Number(env.BENCH_DEADLINES ?? 1000);
  if (!Number.isInteger(count) || count < 1) throw new Error('BENCH_DEADLINES expects a whole number ≥ 1');
  const spreadMs = durationKnob(env, 'BENCH_DEADLINE_SPREAD', '10m');
  const leadMs = durationKnob(env, 'BENCH_DEADLINE_LEAD', '75s');
  const names = (env.BENCH_DEADLINE_SCENARIOS ?? 'fs,minio,minio-3').split(',').map((s) => s.trim());
  const scenarios = names.map((n) => {
    const found = SCENARIOS.find((s) => s.name === n);
    if (!found) throw new Error(`unknown scenario ${n}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
    return found;
  });
  return { count, spreadMs, leadMs, scenarios };
}

interface Setup {
  /** The service's configuration: the benchmark writes and checks through the same db, store and key. */
  config: Config;
  db: Db;
  store: ObjectStore;
  serverEnv: Record<string, string>;
  dispose(): Promise<void>;
}

async function setUp(ctx: BenchContext, scenario: Scenario): Promise<Setup> {
  // Several instances share the data dir, as they must share the checkpoint key (and, on fs, the objects).
  const dataDir = fs.mkdtempSync(path.join(ctx.tmpDir, `data-${scenario.name}-`));
  const serverEnv: Record<string, string> = { CALLREC_DATA_DIR: dataDir, CALLREC_HOST: '127.0.0.1', CALLREC_PORT: '0' };
  let drop = async () => undefined as void;
  if (scenario.store === 'minio') {
    const env = ctx.env;
    if (!env.CALLREC_TEST_S3_ENDPOINT || !env.CALLREC_TEST_PG_URL)
      throw new Error('CALLREC_TEST_S3_* / CALLREC_TEST_PG_URL are not set (run through `npm run bench`)');
    const database = await pgDatabase(env, `callrec_bench_deadlines_${scenario.instances}`);
    drop = () => database.drop();
    Object.assign(serverEnv, {
      CALLREC_DB_URL: database.config.client === 'pg' ? database.config.url : '',
      CALLREC_STORE: 's3',
      CALLREC_S3_ENDPOINT: env.CALLREC_TEST_S3_ENDPOINT,
      CALLREC_S3_BUCKET: `callrec-bench-deadlines-${Date.now().toString(36)}`,
      CALLREC_S3_ACCESS_KEY_ID: env.CALLREC_TEST_S3_ACCESS_KEY_ID ?? '',
      CALLREC_S3_SECRET_ACCESS_KEY: env.CALLREC_TEST_S3_SECRET_ACCESS_KEY ?? '',
    });
  }
  const config = loadConfig(serverEnv);
  if (config.store.kind === 's3') await setupBucket(config.store, { retentionDays: 30 });
  const db = createDb(config.db);
  const store = await createObjectStore(config.store);
  return {
    config,
    db,
    store,
    serverEnv,
    async dispose() {
      await store.close();
      await db.close();
      await drop();
    },
  };
}

async function scenarioFigures(
  ctx: BenchContext,
  scenario: Scenario,
  k: ReturnType<typeof knobs>,
): Promise<ResultRow[]> {
  const label = `${scenario.store === 'fs' ? 'fs, sqlite' : 'minio, pg'}, ${scenario.instances} instance${scenario.instances > 1 ? 's' : ''}`;
  const setup = await setUp(ctx, scenario);
  const servers: ServiceProcess[] = [];
  const loadBefore = os.loadavg()[0]!;
  try {
    await setup.db.migrate();

    // 1. The service, as in production (several instances on the same database and bucket).
    for (let i = 0; i < scenario.instances; i++) {
      ctx.progress(`${label}: starting instance ${i + 1}`);
      servers.push(await startService(ctx, setup.serverEnv, { name: `deadlines-${scenario.name}-${i}` }));
    }

    // 2. Objects, then rows (as ingest does), the deadlines from `lead` after the rows are in:
    //    the running service learns of them at its next sweep, as of recordings ingested a month
    //    before their deadline, so the lead must exceed one interval (+10 % jitter).
    const random = seededRandom(ctx.seed);
    const offsets = Array.from({ length: k.count }, () => Math.floor(random.next() * k.spreadMs)).sort((a, b) => a - b);
    const writeStart = Date.now();
    const built = offsets.map(() => buildRecordingRow({ started_at: writeStart - DAY_MS, created_at: writeStart }).row);
    const body = Buffer.alloc(64, 1);
    let written = 0;
    await mapLimit(built, 16, async (row) => {
      for (const key of [row.original_key, row.playback_key]) {
        await setup.store.put(key, Readable.from([body]), {
          contentType: 'application/octet-stream',
          contentLength: body.length,
          tags: { retention: '30d' },
        });
      }
      if (++written % 100 === 0) ctx.progress(`${label}: ${written}/${k.count} recordings written`);
    });
    const firstDeadline = Date.now() + k.leadMs;
    const rows: RecordingRow[] = built.map((row, i) => ({ ...row, expires_at: firstDeadline + offsets[i]! }));
    for (let i = 0; i < rows.length; i += 500) await setup.db.knex('recordings').insert(rows.slice(i, i + 500));
    const known = Date.now() + 1.1 * setup.config.sweep.intervalMs;
    if (known > firstDeadline) {
      throw new Error(
        `the rows went in ${((firstDeadline - Date.now()) / 1000).toFixed(0)} s before the first deadline, less than one sweep interval: raise BENCH_DEADLINE_LEAD`,
      );
    }
    ctx.progress(`${label}: first deadline in ${((firstDeadline - Date.now()) / 1000).toFixed(0)} s`);

    // 3. Follow the log until every recording is in it.
    const expiresAt = new Map(rows.map((r) => [r.id, r.expires_at]));
    const seenAt = new Map<string, number>();
    const loggedAt = new Map<string, number>();
    const entriesPerRecording = new Map<string, number>();
    let lastSeq = 0;
    const giveUpAt = firstDeadline + k.spreadMs + 5 * 60_000;
    while (seenAt.size < k.count) {
      if (Date.now() > giveUpAt)
        throw new Error(`${k.count - seenAt.size} recording(s) not deleted 5 min after the last deadline`);
      const entries = (await setup.db
        .knex('deletion_log')
        .where('seq', '>', lastSeq)
        .orderBy('seq', 'asc')
        .select('seq', 'recording_id', 'deleted_at')) as Array<{
        seq: number | string;
        recording_id: string;
        deleted_at: number | string;
      }>;
      const now = Date.now();
      for (const e of entries) {
        lastSeq = Number(e.seq);
        entriesPerRecording.set(e.recording_id, (entriesPerRecording.get(e.recording_id) ?? 0) + 1);
        if (!seenAt.has(e.recording_id)) {
          seenAt.set(e.recording_id, now);
          loggedAt.set(e.recording_id, Number(e.deleted_at));
        }
      }
      const due = rows.filter((r) => r.expires_at <= now).length;
      ctx.progress(`${label}: ${seenAt.size}/${k.count} deleted, ${due} due`, seenAt.size / k.count);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }

    // 4. Checks: exactly once, nothing left, the log verifies.
    const unknown = [...entriesPerRecording.keys()].filter((id) => !expiresAt.has(id));
    const twice = [...entriesPerRecording.values()].filter((n) => n !== 1).length;
    if (unknown.length || twice)
      throw new Error(`deletion log: ${twice} recording(s) logged more than once, ${unknown.length} unknown`);
    const left = Number(((await setup.db.knex('recordings').count({ n: '*' }).first()) as { n: number | string }).n);
    if (left) throw new Error(`${left} row(s) left after every recording was logged`);
    for (const row of rows.slice(0, 50)) {
      for (const key of [row.original_key, row.playback_key])
        if (await setup.store.exists(key)) throw new Error(`object still present: ${key}`);
    }
    const key = loadCheckpointKey(setup.config.audit.checkpointKeyFile);
    const verdict = await verifyDeletionLog(setup.db, { publicKey: key.publicKey });
    if (!verdict.ok || verdict.count !== k.count)
      throw new Error(`the deletion log does not verify: ${JSON.stringify(verdict)}`);
    const early = [...loggedAt].filter(([id, at]) => at < expiresAt.get(id)!).length;
    if (early) throw new Error(`${early} recording(s) deleted before their deadline`);

    const seen = [...seenAt].map(([id, at]) => (at - expiresAt.get(id)!) / 1000).sort((a, b) => a - b);
    const logged = [...loggedAt].map(([id, at]) => (at - expiresAt.get(id)!) / 1000).sort((a, b) => a - b);
    const loadAfter = os.loadavg()[0]!;
    const what = `${k.count} deadlines over ${Math.round(k.spreadMs / 1000)} s`;
    const note =
      `entry seen committed (polled every ${POLL_MS} ms): min ${seen[0]!.toFixed(2)} s, max ${seen.at(-1)!.toFixed(2)} s; ` +
      `by the entry's deleted_at (the sweep's start): p50 ${quantile(logged, 0.5).toFixed(2)} s, p99 ${quantile(logged, 0.99).toFixed(2)} s, max ${logged.at(-1)!.toFixed(2)} s; ` +
      `each recording logged once; 1-min load average ${loadBefore.toFixed(1)} → ${loadAfter.toFixed(1)}`;
    const p50 = quantile(seen, 0.5);
    const p99 = quantile(seen, 0.99);
    return [
      rowFromRuns({
        name: `deadline → deletion p50 (${label}, ${what})`,
        unit: 's',
        samples: [p50],
        note: 'one run (it takes the whole spread window)',
      }),
      rowFromRuns({
        name: `deadline → deletion p99 (${label}, ${what})`,
        unit: 's',
        samples: [p99],
        target: `≤ ${TARGET_P99_S} s`,
        note,
      }),
    ];
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await setup.dispose();
  }
}

export const retentionDeadlinesBench: Bench = {
  name: 'retention-deadlines',
  async run(ctx) {
    const k = knobs(ctx.env);
    const figures: ResultRow[] = [];
    for (const scenario of k.scenarios) figures.push(...(await scenarioFigures(ctx, scenario, k)));
    return figures;
  },
};
