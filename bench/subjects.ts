/**
 * Subject (privacy officer) benchmark:
 *
 * - Search by phone at scale: ROWS recordings (rows only) with random numbers on SQLite and
 *   PostgreSQL, one subject with 5 recordings (caller and callee). p50/p99 of
 *   `GET /v1/subjects/recordings?phone=<national>` (normalization, auth, query, access-log
 *   write, JSON) beside the bare database query (`findRecordingsByNumber`) in the same run,
 *   interleaved. Target: API p99 ≤ 50 ms (only index lookups can do that at this size).
 * - Export with bounded memory (SQLite, fs store): EXPORT_RECORDINGS recordings of
 *   EXPORT_MIB MiB each streamed as one zip to a client that drains it; peak RSS growth of the
 *   process (server and client) sampled every 10 ms, target ≤ 64 MiB for a zip several times
 *   larger; throughput beside reading the same objects straight from the store.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import http from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { createApp } from '../src/app.js';
import { systemClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import type { DbConfig } from '../src/config.js';
import { createDb } from '../src/db/db.js';
import type { Db } from '../src/db/db.js';
import { findRecordingsByNumber, insertRecording } from '../src/db/recordings.js';
import type { NewRecordingRow } from '../src/db/recordings.js';
import { createLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import { createObjectStore } from '../src/storage/create-store.js';
import type { ObjectStore } from '../src/storage/object-store.js';
import { buildRecordingRow, createStoredRecording, createStoredRecordings } from '../test/support/recordings.js';
import { createTestUser } from '../test/support/users.js';
import { httpGet, percentile } from './http-client.js';
import type { Bench, BenchContext, Figure } from './types.js';

const ROWS = 200_000;
const SEARCHES = 300;
const EXPORT_RECORDINGS = 12;
const EXPORT_MIB = 16;
const DAY_MS = 86_400_000;

/** Filler callers are +3161…; the subject's own number is +3162… so that no filler can collide with it. */
const dutchMobile = (prefix: '61' | '62' = '61') => `+31${prefix}${String(randomInt(0, 10_000_000)).padStart(7, '0')}`;

async function startApp(ctx: BenchContext, name: string, dbConfig: DbConfig | undefined, store: ObjectStore) {
  const config = loadConfig({ CALLREC_DATA_DIR: path.join(ctx.tmpDir, name), CALLREC_LOG_LEVEL: 'warn' });
  const db = createDb(dbConfig ?? config.db);
  await db.migrate();
  const deps = {
    config,
    db,
    store,
    clock: systemClock,
    metrics: createMetrics(),
    logger: createLogger({ level: 'warn', destination: new Writable({ write: (_c, _e, cb) => cb() }) }),
  };
  const server: Server = createApp(deps).listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { token } = await createTestUser(db, { role: 'privacy' });
  return {
    db,
    base,
    headers: { authorization: `Bearer ${token}` },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await db.close();
    },
  };
}

async function searchTarget(ctx: BenchContext, name: string, dbConfig: DbConfig | undefined, store: ObjectStore): Promise<Figure[]> {
  const app = await startApp(ctx, `search-${name}`, dbConfig, store);
  try {
    const started = Date.now() - DAY_MS;
    const chunk = 20_000;
    for (let done = 0; done < ROWS; done += chunk) {
      ctx.progress(`${name}: inserting rows ${done}/${ROWS}`, (done / ROWS) * 0.5);
      await createStoredRecordings({
        db: app.db,
        store,
        count: chunk,
        overrides: () => ({ writeObjects: false, started_at: started, caller_number: dutchMobile(), callee_number: dutchMobile() }),
      });
    }
    const subject = dutchMobile('62');
    for (let i = 0; i < 5; i++) {
      await createStoredRecording({ db: app.db, store, overrides: { writeObjects: false, started_at: started, ...(i % 2 ? { callee_number: subject } : { caller_number: subject }) } });
    }
    if (app.db.client === 'pg') await app.db.knex.raw('ANALYZE recordings');
    const national = `0${subject.slice(3)}`;
    const url = `${app.base}/v1/subjects/recordings?phone=${encodeURIComponent(national)}`;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 20; i++) await httpGet(agent, url, app.headers);
    const api: number[] = [];
    const direct: number[] = [];
    for (let i = 0; i < SEARCHES; i++) {
      const viaApi = async () => {
        const t = performance.now();
        const res = await httpGet(agent, url, app.headers);
        if (res.status !== 200) throw new Error(`search answered ${res.status}`);
        api.push(performance.now() - t);
      };
      const viaDb = async () => {
        const t = performance.now();
        const rows = await findRecordingsByNumber(app.db.knex, { number: subject, limit: 101 });
        if (rows.length !== 5) throw new Error(`query found ${rows.length}`);
        direct.push(performance.now() - t);
      };
      if (i % 2) {
        await viaApi();
        await viaDb();
      } else {
        await viaDb();
        await viaApi();
      }
      if (i % 50 === 0) ctx.progress(`${name}: searches ${i}/${SEARCHES}`, 0.5 + (i / SEARCHES) * 0.5);
    }
    agent.destroy();
    api.sort((a, b) => a - b);
    direct.sort((a, b) => a - b);
    const figure = (p: number): Figure => ({
      name: `subject search p${p}, ${ROWS / 1000}k recordings (${name})`,
      value: percentile(api, p),
      unit: 'ms',
      baseline: { name: `findRecordingsByNumber p${p}`, value: percentile(direct, p) },
      ratio: percentile(api, p) / percentile(direct, p),
      ...(p === 99 ? { target: '≤ 50 ms', met: percentile(api, p) <= 50 } : {}),
    });
    return [figure(50), figure(99)];
  } finally {
    await app.close();
  }
}

/**
 * Stores one recording of the subject whose original is written from a generator (64 KiB at a
 * time), so that no large buffer inflates the memory baseline of the export figure.
 */
async function storeStreamed(db: Db, store: ObjectStore, subject: string): Promise<string[]> {
  const { row, playbackBody } = buildRecordingRow({ started_at: Date.now() - DAY_MS, caller_number: subject, playbackBody: randomBytes(256 * 1024) });
  const hash = createHash('sha256');
  let size = 0;
  const chunks = function* () {
    for (let i = 0; i < EXPORT_MIB * 16; i++) {
      const chunk = randomBytes(64 * 1024);
      hash.update(chunk);
      size += chunk.length;
      yield chunk;
    }
  };
  await store.put(row.original_key, Readable.from(chunks()), { contentType: row.original_content_type, tags: { retention: '30d' } });
  await store.put(row.playback_key, Readable.from([playbackBody]), { contentType: row.playback_content_type, tags: { retention: '30d' } });
  const insert: Record<string, unknown> = { ...row, original_sha256: hash.digest('hex'), original_size: size };
  for (const column of ['status', 'claimed_by', 'claim_expires_at', 'delete_attempts', 'next_attempt_at', 'last_error', 'legal_hold', 'hold_reason', 'hold_by', 'hold_at']) {
    delete insert[column];
  }
  await insertRecording(db.knex, insert as NewRecordingRow);
  return [row.original_key, row.playback_key];
}

async function exportTarget(ctx: BenchContext): Promise<Figure[]> {
  const store = await createObjectStore({ kind: 'fs', root: path.join(ctx.tmpDir, 'export-objects') });
  const app = await startApp(ctx, 'export', undefined, store);
  try {
    const subject = dutchMobile();
    const keys: string[] = [];
    for (let i = 0; i < EXPORT_RECORDINGS; i++) {
      ctx.progress(`export: storing recording ${i + 1}/${EXPORT_RECORDINGS}`, 0.5 + (i / EXPORT_RECORDINGS) * 0.2);
      keys.push(...(await storeStreamed(app.db, store, subject)));
    }
    // Baseline: the same objects read straight from the store.
    let t = performance.now();
    let storeBytes = 0;
    for (const key of keys) for await (const c of (await store.get(key)).body) storeBytes += (c as Buffer).length;
    const storeMs = performance.now() - t;

    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    ctx.progress('export: streaming the zip', 0.8);
    t = performance.now();
    const agent = new http.Agent({ keepAlive: false });
    const res = await httpGet(agent, `${app.base}/v1/subjects/export?phone=${encodeURIComponent(subject)}`, app.headers);
    const exportMs = performance.now() - t;
    clearInterval(sampler);
    if (res.status !== 200 || res.bytes < storeBytes) throw new Error(`export answered ${res.status} with ${res.bytes} bytes`);
    const growthMiB = (peak - before) / 1024 / 1024;
    const mbps = (bytes: number, ms: number) => bytes / 1024 / 1024 / (ms / 1000);
    return [
      {
        name: `export peak RSS growth, ${((res.bytes / 1024 / 1024) | 0)} MiB zip (fs)`,
        value: growthMiB,
        unit: 'MiB',
        target: '≤ 64 MiB',
        met: growthMiB <= 64,
        note: 'server and client in one process; RSS sampled every 10 ms',
      },
      {
        name: 'export throughput (fs)',
        value: mbps(res.bytes, exportMs),
        unit: 'MiB/s',
        baseline: { name: 'store.get of the same objects', value: mbps(storeBytes, storeMs) },
        ratio: mbps(res.bytes, exportMs) / mbps(storeBytes, storeMs),
        note: 'ratio = export / store (higher is better); the export also hashes every byte and writes the zip',
      },
    ];
  } finally {
    await app.close();
    await store.close();
  }
}

export const subjectsBench: Bench = {
  name: 'subjects',
  async run(ctx) {
    const nullStore = await createObjectStore({ kind: 'fs', root: path.join(ctx.tmpDir, 'search-objects') });
    const figures: Figure[] = [];
    try {
      figures.push(...(await searchTarget(ctx, 'sqlite', undefined, nullStore)));
      const pgUrl = ctx.env.CALLREC_TEST_PG_URL;
      if (pgUrl) {
        const dbName = `callrec_bench_subjects_${randomBytes(4).toString('hex')}`;
        const { default: pg } = await import('pg');
        const admin = new pg.Client({ connectionString: pgUrl });
        await admin.connect();
        await admin.query(`CREATE DATABASE ${dbName}`);
        const url = new URL(pgUrl);
        url.pathname = `/${dbName}`;
        try {
          figures.push(...(await searchTarget(ctx, 'postgres', { client: 'pg', url: url.toString() }, nullStore)));
        } finally {
          await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
          await admin.end();
        }
      }
    } finally {
      await nullStore.close();
    }
    figures.push(...(await exportTarget(ctx)));
    return figures;
  },
};
