/**
 * Retention: (1) sweeper deletions/s over 10,000 expired recordings (2 objects each) beside
 * raw deletes of the same keys in the same run — MinIO (PostgreSQL rows): DeleteObjects in
 * batches of 1,000; fs (SQLite rows, the embedded default): unlinking each object file and
 * its sidecar. The sweeper's figure includes claiming, deleting, verifying absence (a stat per
 * key on fs; on S3, one contiguous version listing per day folder of each batch, which sees
 * every version and delete marker, see `verifyByListing`) and one
 * transaction per 100 recordings appending the hash-chained entries.
 * (2) Time to verify a deletion log of 1,000,000 entries on SQLite and PostgreSQL: the time of
 * `GET /v1/deletions/verify` of the production service (bench/service.ts) on that database and
 * store (worker threads over seq ranges, the checkpoint key, the published checkpoints). The seeded log carries
 * signed checkpoints every 1,000 entries, written the way production writes them
 * (`maybeCheckpoint` with CALLREC_CHECKPOINT_EVERY=1000: a row in deletion_checkpoints and
 * an object under checkpoints/), so the verify also checks 1,000 signatures and matches
 * 2,000 checkpoints (stored and published) against the chain.
 *
 * Each figure: min / median / max over its runs (sweeper: BENCH_SWEEP_RUNS, default 3;
 * verify: BENCH_RUNS). Knobs: BENCH_SWEEP_RECORDINGS (10,000), BENCH_VERIFY_ENTRIES
 * (1,000,000), BENCH_CHECKPOINT_EVERY (1,000).
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { DeleteObjectsCommand } from '@aws-sdk/client-s3';
import pg from 'pg';
import { GENESIS_HASH, hashRow } from '../src/audit/deletion-log.js';
import { canonicalJson } from '../src/audit/canonical-json.js';
import { maybeCheckpoint } from '../src/audit/checkpoints.js';
import type { CheckpointDeps } from '../src/audit/checkpoints.js';
import { verifyDeletionLog } from '../src/audit/verify.js';
import type { VerifyResult } from '../src/audit/verify.js';
import type { DbConfig, StoreConfig } from '../src/config.js';
import { createDb } from '../src/db/db.js';
import type { Db } from '../src/db/db.js';
import type { DeletionLogRow } from '../src/db/deletion-log.js';
import type { RecordingRow } from '../src/db/recordings.js';
import { createLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import { verifyModeFor } from '../src/retention/delete-core.js';
import type { VerifyMode } from '../src/retention/delete-core.js';
import { sweepAll } from '../src/retention/sweep.js';
import { createObjectStore } from '../src/storage/create-store.js';
import type { ObjectStore } from '../src/storage/object-store.js';
import { createS3Client } from '../src/storage/s3-store.js';
import { setupBucket } from '../src/storage/setup-bucket.js';
import { buildRecordingRow } from '../test/support/recordings.js';
import { asDatabaseOwner } from '../test/support/tamper.js';
import { createTestUser } from '../test/support/users.js';
import { startService } from './service.js';
import { intKnob, rowFromRuns } from './spread.js';
import type { Bench, BenchContext, ResultRow } from './types.js';

const NOW = Date.UTC(2026, 6, 1);
/** One verify may take this long before the bench gives up on it. */
const VERIFY_TIMEOUT_MS = 10 * 60_000;

async function mapLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

/** A fresh PostgreSQL database on the benchmark server (dropped first if left over); `drop()` removes it. */
export async function pgDatabase(
  env: BenchContext['env'],
  name: string,
): Promise<{ config: DbConfig; drop(): Promise<void> }> {
  const adminUrl = env.CALLREC_TEST_PG_URL;
  if (!adminUrl) throw new Error('CALLREC_TEST_PG_URL is not set (run through `npm run bench`)');
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    config: { client: 'pg', url: url.toString() },
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

async function putObjects(ctx: BenchContext, store: ObjectStore, rows: RecordingRow[], label: string): Promise<void> {
  const RECORDINGS = rows.length;
  let done = 0;
  const body = Buffer.from('x'.repeat(64));
  await mapLimit(rows, 16, async (row) => {
    for (const key of [row.original_key, row.playback_key]) {
      await store.put(key, Readable.from([body]), {
        contentType: 'application/octet-stream',
        contentLength: body.length,
        tags: { retention: '30d' },
      });
    }
    if (++done % 500 === 0) ctx.progress(`${label}: ${done}/${RECORDINGS} recordings written`, done / RECORDINGS);
  });
}

async function sweeperFigure(
  ctx: BenchContext,
  options: {
    driver: 'minio' | 'fs';
    db: Db;
    store: ObjectStore;
    rawDelete: (keys: string[]) => Promise<void>;
    rawName: string;
    verify: VerifyMode;
    recordings: number;
    runs: number;
  },
): Promise<ResultRow> {
  const RECORDINGS = options.recordings;
  const sweeperRates: number[] = [];
  const rawRates: number[] = [];
  for (let run = 0; run < options.runs; run++) {
    const label = `${options.driver} run ${run + 1}/${options.runs}`;
    const rows = Array.from({ length: RECORDINGS }, () => buildRecordingRow({ expires_at: NOW - 1000 }).row);
    const keys = rows.flatMap((r) => [r.original_key, r.playback_key]);

    await putObjects(ctx, options.store, rows, `${label} (raw)`);
    ctx.progress(`${label}: raw delete of ${keys.length} keys`);
    const rawStart = performance.now();
    await options.rawDelete(keys);
    rawRates.push(RECORDINGS / ((performance.now() - rawStart) / 1000));

    await putObjects(ctx, options.store, rows, `${label} (sweeper)`);
    for (let i = 0; i < rows.length; i += 500) await options.db.knex('recordings').insert(rows.slice(i, i + 500));
    ctx.progress(`${label}: sweeping ${RECORDINGS} recordings`);
    const deps = {
      db: options.db,
      store: options.store,
      logger: createLogger({ level: 'silent' }),
      metrics: createMetrics(),
    };
    const sweepStart = performance.now();
    const summary = await sweepAll(deps, {
      verify: options.verify,
      now: NOW,
      batchSize: 500,
      leaseMs: 600_000,
      onPass: (_p, s) => ctx.progress(`${label}: ${s.deleted}/${RECORDINGS} deleted`, s.deleted / RECORDINGS),
    });
    sweeperRates.push(RECORDINGS / ((performance.now() - sweepStart) / 1000));
    if (summary.deleted !== RECORDINGS || summary.failed.length)
      throw new Error(`sweeper deleted ${summary.deleted}, failed ${summary.failed.length}`);
    const verdict = await verifyDeletionLog(options.db);
    if (!verdict.ok || verdict.count !== RECORDINGS * (run + 1))
      throw new Error('the deletion log does not verify after the sweep');
  }
  return rowFromRuns({
    name: `sweeper deletions (${options.driver}, ${options.db.client}, ${RECORDINGS} recordings × 2 objects)`,
    unit: 'recordings/s',
    samples: sweeperRates,
    baseline: { name: options.rawName, samples: rawRates },
    target: '≥ 0.5×',
    note: "sweepAll in this process (the sweeper's own code, log silent); it also verifies absence of every key and appends the chained log",
  });
}

/**
 * Writes a valid chain of `count` entries with raw multi-row INSERTs (values are generated, hex
 * and ids only), and after every `checkpoints.config.audit.checkpointEvery` entries a signed
 * checkpoint as production writes it (`maybeCheckpoint`: row and published object).
 */
async function seedLog(ctx: BenchContext, db: Db, count: number, checkpoints: CheckpointDeps): Promise<void> {
  const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
  const batch = checkpoints.config.audit.checkpointEvery;
  let prev = GENESIS_HASH;
  const bool = (b: boolean) => (db.client === 'pg' ? (b ? 'true' : 'false') : b ? '1' : '0');
  for (let start = 1; start <= count; start += batch) {
    const values: string[] = [];
    for (let seq = start; seq < Math.min(start + batch, count + 1); seq++) {
      const id = `R${seq.toString().padStart(25, '0')}`;
      const row: DeletionLogRow = {
        seq,
        recording_id: id,
        source: 'pbx-bench',
        call_id: `call-${seq}`,
        reason: 'retention_expired',
        actor: 'sweeper',
        reference: null,
        started_at: NOW - 31 * 86_400_000 + seq,
        expires_at: NOW - 86_400_000 + seq,
        deleted_at: NOW + seq,
        objects: canonicalJson([
          { key: `recordings/2026/06/01/${id}/original.wav`, sha256: 'ab'.repeat(32), sizeBytes: 160_000 },
          { key: `recordings/2026/06/01/${id}/playback.opus`, sha256: 'cd'.repeat(32), sizeBytes: 24_000 },
        ]),
        verified: true,
        prev_hash: prev,
        hash: '',
      };
      row.hash = hashRow(row);
      prev = row.hash;
      values.push(
        `(${seq},${quote(row.recording_id)},${quote(row.source)},${quote(row.call_id)},${quote(row.reason)},${quote(row.actor)},NULL,${row.started_at},${row.expires_at},${row.deleted_at},${quote(row.objects)},${bool(true)},${quote(row.prev_hash)},${quote(row.hash)})`,
      );
    }
    await db.knex.raw(
      `insert into deletion_log (seq, recording_id, source, call_id, reason, actor, reference, started_at, expires_at, deleted_at, objects, verified, prev_hash, hash) values ${values.join(',')}`,
    );
    const size = Math.min(start + batch - 1, count);
    if (size % batch === 0) {
      const signed = await maybeCheckpoint(checkpoints, { now: NOW + size });
      if (signed?.size !== size) throw new Error(`no checkpoint was signed at ${size} entries`);
    }
    if ((start - 1) % 50_000 < batch)
      ctx.progress(`${db.client}: seeding log ${start - 1}/${count}`, (start - 1) / count);
  }
}

/**
 * Seeds the log (with its checkpoints), then times `GET /v1/deletions/verify` of the production
 * service (bench/service.ts) on the same database, store and checkpoint key, with an auditor's
 * token: exactly what an auditor waits for.
 */
async function verifyFigure(
  ctx: BenchContext,
  options: { db: Db; store: ObjectStore; entries: number; every: number; serviceEnv: Record<string, string> },
): Promise<ResultRow> {
  const { db, store, entries } = options;
  // The log is append-only in the database; the benchmark resets it the way only the owner can.
  await asDatabaseOwner(db, async (knex) => {
    await knex('deletion_log').del();
    await knex('deletion_checkpoints').del();
  });
  const keyFile = path.join(ctx.tmpDir, `checkpoint-key-${db.client}.pem`);
  const checkpoints: CheckpointDeps = {
    db,
    store,
    logger: createLogger({ level: 'silent' }),
    config: {
      audit: {
        checkpointEvery: options.every,
        checkpointIntervalMs: 365 * 86_400_000,
        checkpointKeyFile: keyFile,
        checkpointLock: { mode: 'GOVERNANCE', retainMs: 86_400_000 },
      },
    },
  };
  await seedLog(ctx, db, entries, checkpoints);
  const { token } = await createTestUser(db, { role: 'auditor' });
  const service = await startService(
    ctx,
    { ...options.serviceEnv, CALLREC_CHECKPOINT_KEY_FILE: keyFile, CALLREC_CHECKPOINT_EVERY: String(options.every) },
    { name: `verify-${db.client}` },
  );
  const seconds: number[] = [];
  let last: VerifyResult | undefined;
  try {
    for (let run = 0; run < ctx.runs; run++) {
      ctx.progress(`${db.client}: GET /v1/deletions/verify of ${entries} entries, run ${run + 1}/${ctx.runs}`);
      const start = performance.now();
      const res = await fetch(`${service.base}/v1/deletions/verify`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(VERIFY_TIMEOUT_MS),
      });
      const body = (await res.json()) as VerifyResult;
      seconds.push((performance.now() - start) / 1000);
      last = body;
      const expected = Math.floor(entries / options.every);
      if (
        res.status !== 200 ||
        !body.ok ||
        body.count !== entries ||
        body.checkpoints.verified !== expected ||
        body.external?.matched !== expected
      ) {
        throw new Error(`verify of the seeded log failed (${res.status}): ${JSON.stringify(body)}`);
      }
    }
  } finally {
    await service.stop();
  }
  return rowFromRuns({
    name: `verify deletion log of ${entries.toLocaleString('en')} entries with a checkpoint every ${options.every.toLocaleString('en')} (${db.client})`,
    unit: 's',
    samples: seconds,
    target: entries === 1_000_000 ? '≤ 10 s' : undefined,
    note: `GET /v1/deletions/verify of ${service.entry} (worker threads over seq ranges from 200,000 entries, the checkpoint key, the published checkpoints); recomputes every hash, checks seq, links, time order, ${last!.checkpoints.verified} signatures and ${last!.external?.count ?? 0} published checkpoints`,
  });
}

export const retentionBench: Bench = {
  name: 'retention',
  async run(ctx) {
    const figures: ResultRow[] = [];
    const silent = createLogger({ level: 'silent' });
    const sizing = {
      recordings: intKnob(ctx.env, 'BENCH_SWEEP_RECORDINGS', 10_000),
      runs: intKnob(ctx.env, 'BENCH_SWEEP_RUNS', Math.min(3, ctx.runs)),
    };
    const entries = intKnob(ctx.env, 'BENCH_VERIFY_ENTRIES', 1_000_000);
    const every = intKnob(ctx.env, 'BENCH_CHECKPOINT_EVERY', 1000);

    // MinIO + PostgreSQL
    {
      const env = ctx.env;
      const s3: Extract<StoreConfig, { kind: 's3' }> = {
        kind: 's3',
        endpoint: env.CALLREC_TEST_S3_ENDPOINT,
        bucket: `callrec-bench-retention-${Date.now().toString(36)}`,
        region: 'us-east-1',
        accessKeyId: env.CALLREC_TEST_S3_ACCESS_KEY_ID,
        secretAccessKey: env.CALLREC_TEST_S3_SECRET_ACCESS_KEY,
        forcePathStyle: true,
        versionedBucket: 'refuse',
      };
      await setupBucket(s3, { retentionDays: 30 });
      const store = await createObjectStore(s3, { logger: silent });
      const client = createS3Client(s3);
      const database = await pgDatabase(env, 'callrec_bench_retention');
      const db = createDb(database.config);
      try {
        await db.migrate();
        figures.push(
          await sweeperFigure(ctx, {
            driver: 'minio',
            verify: verifyModeFor(store),
            db,
            store,
            rawName: 'DeleteObjects, batches of 1,000',
            ...sizing,
            rawDelete: async (keys) => {
              for (let i = 0; i < keys.length; i += 1000) {
                await client.send(
                  new DeleteObjectsCommand({
                    Bucket: s3.bucket,
                    Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true },
                  }),
                );
              }
            },
          }),
        );
        figures.push(
          await verifyFigure(ctx, {
            db,
            store,
            entries,
            every,
            serviceEnv: {
              CALLREC_DATA_DIR: path.join(ctx.tmpDir, 'pg-service'),
              CALLREC_DB_URL: database.config.client === 'pg' ? database.config.url : '',
              CALLREC_STORE: 's3',
              CALLREC_S3_ENDPOINT: s3.endpoint ?? '',
              CALLREC_S3_BUCKET: s3.bucket,
              CALLREC_S3_ACCESS_KEY_ID: s3.accessKeyId ?? '',
              CALLREC_S3_SECRET_ACCESS_KEY: s3.secretAccessKey ?? '',
            },
          }),
        );
      } finally {
        client.destroy();
        await store.close();
        await db.close();
        await database.drop();
      }
    }

    // fs + SQLite (embedded default)
    {
      const root = path.join(ctx.tmpDir, 'objects');
      const store = await createObjectStore({ kind: 'fs', root });
      const dbConfig: DbConfig = { client: 'sqlite', filename: path.join(ctx.tmpDir, 'bench.sqlite') };
      const db = createDb(dbConfig);
      try {
        await db.migrate();
        figures.push(
          await sweeperFigure(ctx, {
            driver: 'fs',
            verify: 'exists',
            db,
            store,
            rawName: 'unlink object + sidecar per key',
            ...sizing,
            rawDelete: async (keys) => {
              for (const key of keys) {
                const file = path.join(root, ...key.split('/'));
                await fsp.rm(file, { force: true });
                await fsp.rm(path.join(path.dirname(file), `.${path.basename(file)}.meta.json`), { force: true });
              }
            },
          }),
        );
        figures.push(
          await verifyFigure(ctx, {
            db,
            store,
            entries,
            every,
            serviceEnv: { CALLREC_DATA_DIR: ctx.tmpDir, CALLREC_DB_URL: `sqlite:${dbConfig.filename}` },
          }),
        );
      } finally {
        await store.close();
        await db.close();
      }
    }
    return figures;
  },
};
