/**
 * Subject (privacy officer) benchmark, against the production service (bench/service.ts:
 * its own process, log level info with the request log, metrics, background jobs):
 *
 * - Search by phone at scale: BENCH_SEARCH_ROWS recordings (rows only) with random (seeded)
 *   numbers on SQLite and PostgreSQL, one subject with 5 recordings (caller and callee).
 *   p50/p99 of `GET /v1/subjects/recordings?phone=<national>` (normalization, auth, query,
 *   access-log write, JSON) beside the bare database query (`findRecordingsByNumber`) from
 *   this process in the same run, interleaved; BENCH_SEARCHES per run. Target: API p99 ≤ 50 ms
 *   (only index lookups can do that at this size).
 * - Export with bounded memory (SQLite, fs store): BENCH_EXPORT_RECORDINGS recordings of
 *   BENCH_EXPORT_MIB MiB each streamed as one zip to a client that drains it; the peak RSS
 *   (VmHWM) of a freshly started service that does only this export (a fresh process per run,
 *   BENCH_EXPORT_RUNS), beside its idle RSS before the export; target: peak ≤ idle + 64 MiB
 *   for a zip several times larger. Throughput beside reading the same objects straight
 *   from the store.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import { loadConfig } from '../src/config.js';
import { createDb } from '../src/db/db.js';
import type { Db } from '../src/db/db.js';
import { findRecordingsByNumber, insertRecording } from '../src/db/recordings.js';
import type { NewRecordingRow } from '../src/db/recordings.js';
import { createObjectStore } from '../src/storage/create-store.js';
import type { ObjectStore } from '../src/storage/object-store.js';
import { buildRecordingRow, createStoredRecording, createStoredRecordings } from '../test/support/recordings.js';
import { createTestUser } from '../test/support/users.js';
import { httpGet } from './http-client.js';
import { startService } from './service.js';
import { intKnob, percentile, rowFromRuns, seededRandom } from './spread.js';
import type { Bench, BenchContext, ResultRow } from './types.js';

const DAY_MS = 86_400_000;
const EXPORT_GROWTH_MIB = 64;

type Random = ReturnType<typeof seededRandom>;

/** Filler callers are +3161…; the subject's own number is +3162… so that no filler can collide with it. */
const dutchMobile = (random: Random, prefix: '61' | '62' = '61') =>
  `+31${prefix}${String(random.int(0, 10_000_000)).padStart(7, '0')}`;

async function searchTarget(
  ctx: BenchContext,
  name: string,
  dbUrl: string | undefined,
  k: { rows: number; searches: number },
): Promise<ResultRow[]> {
  const env: Record<string, string> = {
    CALLREC_DATA_DIR: path.join(ctx.tmpDir, `search-${name}`),
    ...(dbUrl ? { CALLREC_DB_URL: dbUrl } : {}),
  };
  const config = loadConfig(env);
  const db = createDb(config.db);
  const store = await createObjectStore(config.store);
  const random = seededRandom(ctx.seed);
  try {
    await db.migrate();
    const started = Date.now() - DAY_MS;
    const chunk = Math.min(20_000, k.rows);
    for (let done = 0; done < k.rows; done += chunk) {
      ctx.progress(`${name}: inserting rows ${done}/${k.rows}`, (done / k.rows) * 0.5);
      await createStoredRecordings({
        db,
        store,
        count: Math.min(chunk, k.rows - done),
        overrides: () => ({
          writeObjects: false,
          started_at: started,
          caller_number: dutchMobile(random),
          callee_number: dutchMobile(random),
        }),
      });
    }
    const subject = dutchMobile(random, '62');
    for (let i = 0; i < 5; i++) {
      await createStoredRecording({
        db,
        store,
        overrides: {
          writeObjects: false,
          started_at: started,
          ...(i % 2 ? { callee_number: subject } : { caller_number: subject }),
        },
      });
    }
    if (db.client === 'pg') await db.knex.raw('ANALYZE recordings');
    const { token } = await createTestUser(db, { role: 'privacy' });
    const headers = { authorization: `Bearer ${token}` };
    const service = await startService(ctx, env, { name: `search-${name}` });
    try {
      const national = `0${subject.slice(3)}`;
      const url = `${service.base}/v1/subjects/recordings?phone=${encodeURIComponent(national)}`;
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      for (let i = 0; i < 20; i++) {
        await httpGet(agent, url, headers);
        await findRecordingsByNumber(db.knex, { number: subject, limit: 101 });
      }
      const api = { p50: [] as number[], p99: [] as number[] };
      const direct = { p50: [] as number[], p99: [] as number[] };
      for (let run = 0; run < ctx.runs; run++) {
        ctx.progress(`${name}: searches, run ${run + 1}/${ctx.runs}`, 0.5 + (run / ctx.runs) * 0.5);
        const viaApiTimes: number[] = [];
        const viaDbTimes: number[] = [];
        for (let i = 0; i < k.searches; i++) {
          const viaApi = async () => {
            const t = performance.now();
            const res = await httpGet(agent, url, headers);
            if (res.status !== 200) throw new Error(`search answered ${res.status}`);
            viaApiTimes.push(performance.now() - t);
          };
          const viaDb = async () => {
            const t = performance.now();
            const rows = await findRecordingsByNumber(db.knex, { number: subject, limit: 101 });
            if (rows.length !== 5) throw new Error(`query found ${rows.length}`);
            viaDbTimes.push(performance.now() - t);
          };
          if (i % 2) {
            await viaApi();
            await viaDb();
          } else {
            await viaDb();
            await viaApi();
          }
        }
        const a = [...viaApiTimes].sort((x, y) => x - y);
        const d = [...viaDbTimes].sort((x, y) => x - y);
        api.p50.push(percentile(a, 50));
        api.p99.push(percentile(a, 99));
        direct.p50.push(percentile(d, 50));
        direct.p99.push(percentile(d, 99));
      }
      agent.destroy();
      if (service.requestLines() === 0) throw new Error('the service wrote no request log line');
      const figure = (p: 50 | 99) =>
        rowFromRuns({
          name: `subject search p${p}, ${k.rows.toLocaleString('en')} recordings (${name})`,
          unit: 'ms',
          samples: p === 50 ? api.p50 : api.p99,
          baseline: { name: `findRecordingsByNumber p${p}, this process`, samples: p === 50 ? direct.p50 : direct.p99 },
          ...(p === 99 ? { target: '≤ 50 ms' } : {}),
          note: `${k.searches} searches per run; service: ${service.entry}, log level info`,
        });
      return [figure(50), figure(99)];
    } finally {
      await service.stop();
    }
  } finally {
    await store.close();
    await db.close();
  }
}

/**
 * Stores one recording of the subject whose original is written from a generator (64 KiB at a
 * time), so that no large buffer inflates the memory baseline of the export figure.
 */
async function storeStreamed(
  db: Db,
  store: ObjectStore,
  subject: string,
  options: { mib: number; random: Random },
): Promise<string[]> {
  const { row, playbackBody } = buildRecordingRow({
    started_at: Date.now() - DAY_MS,
    caller_number: subject,
    playbackBody: options.random.bytes(256 * 1024),
  });
  const hash = createHash('sha256');
  let size = 0;
  const chunks = function* () {
    for (let i = 0; i < options.mib * 16; i++) {
      const chunk = options.random.bytes(64 * 1024);
      hash.update(chunk);
      size += chunk.length;
      yield chunk;
    }
  };
  await store.put(row.original_key, Readable.from(chunks()), {
    contentType: row.original_content_type,
    tags: { retention: '30d' },
  });
  await store.put(row.playback_key, Readable.from([playbackBody]), {
    contentType: row.playback_content_type,
    tags: { retention: '30d' },
  });
  const insert: Record<string, unknown> = { ...row, original_sha256: hash.digest('hex'), original_size: size };
  for (const column of [
    'status',
    'claimed_by',
    'claim_expires_at',
    'delete_attempts',
    'next_attempt_at',
    'last_error',
    'legal_hold',
    'hold_reason',
    'hold_by',
    'hold_at',
  ]) {
    delete insert[column];
  }
  await insertRecording(db.knex, insert as NewRecordingRow);
  return [row.original_key, row.playback_key];
}

async function exportTarget(
  ctx: BenchContext,
  k: { recordings: number; mib: number; runs: number },
): Promise<ResultRow[]> {
  const env = { CALLREC_DATA_DIR: path.join(ctx.tmpDir, 'export') };
  const config = loadConfig(env);
  const db = createDb(config.db);
  const store = await createObjectStore(config.store);
  const random = seededRandom(ctx.seed);
  try {
    await db.migrate();
    const subject = dutchMobile(random);
    const keys: string[] = [];
    for (let i = 0; i < k.recordings; i++) {
      ctx.progress(`export: storing recording ${i + 1}/${k.recordings}`, (i / k.recordings) * 0.3);
      keys.push(...(await storeStreamed(db, store, subject, { mib: k.mib, random })));
    }
    const { token } = await createTestUser(db, { role: 'privacy' });
    const peaks: number[] = [];
    const idles: number[] = [];
    const exportRates: number[] = [];
    const storeRates: number[] = [];
    let zipBytes = 0;
    let entry = '';
    const mibps = (bytes: number, ms: number) => bytes / 1024 / 1024 / (ms / 1000);
    for (let run = 0; run < k.runs; run++) {
      // Baseline: the same objects read straight from the store, in this process.
      let t = performance.now();
      let storeBytes = 0;
      for (const key of keys) for await (const c of (await store.get(key)).body) storeBytes += (c as Buffer).length;
      storeRates.push(mibps(storeBytes, performance.now() - t));

      ctx.progress(`export: run ${run + 1}/${k.runs}, a fresh service streams the zip`, 0.3 + (run / k.runs) * 0.7);
      const service = await startService(ctx, env, { name: `export-${run}` });
      try {
        entry = service.entry;
        idles.push(service.memoryKb('VmRSS') / 1024);
        t = performance.now();
        const agent = new http.Agent({ keepAlive: false });
        const res = await httpGet(agent, `${service.base}/v1/subjects/export?phone=${encodeURIComponent(subject)}`, {
          authorization: `Bearer ${token}`,
        });
        const ms = performance.now() - t;
        if (res.status !== 200 || res.bytes < storeBytes)
          throw new Error(`export answered ${res.status} with ${res.bytes} bytes`);
        exportRates.push(mibps(res.bytes, ms));
        zipBytes = res.bytes;
        peaks.push(service.memoryKb('VmHWM') / 1024);
      } finally {
        await service.stop();
      }
    }
    const memory = rowFromRuns({
      name: `export peak RSS of the service, ${Math.floor(zipBytes / 1024 / 1024)} MiB zip (fs)`,
      unit: 'MiB',
      samples: peaks,
      baseline: { name: 'the same fresh service idle, before the export (VmRSS)', samples: idles },
      note: `VmHWM (peak RSS since start) of a fresh ${entry} per run that does only this export; target is on the median growth over idle`,
    });
    const growth = memory.median - memory.baseline!.median;
    return [
      { ...memory, target: `≤ idle + ${EXPORT_GROWTH_MIB} MiB`, met: growth <= EXPORT_GROWTH_MIB },
      rowFromRuns({
        name: 'export throughput (fs)',
        unit: 'MiB/s',
        samples: exportRates,
        baseline: { name: 'store.get of the same objects, this process', samples: storeRates },
        note: 'ratio = export / store (higher is better); the export also hashes every byte and writes the zip',
      }),
    ];
  } finally {
    await store.close();
    await db.close();
  }
}

export const subjectsBench: Bench = {
  name: 'subjects',
  async run(ctx) {
    const search = {
      rows: intKnob(ctx.env, 'BENCH_SEARCH_ROWS', 200_000),
      searches: intKnob(ctx.env, 'BENCH_SEARCHES', 200),
    };
    const figures: ResultRow[] = [];
    figures.push(...(await searchTarget(ctx, 'sqlite', undefined, search)));
    const pgUrl = ctx.env.CALLREC_TEST_PG_URL;
    if (pgUrl) {
      const dbName = `callrec_bench_subjects_${seededRandom(ctx.seed)
        .int(0, 2 ** 31)
        .toString(16)}`;
      const { default: pg } = await import('pg');
      const admin = new pg.Client({ connectionString: pgUrl });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${dbName}`);
      const url = new URL(pgUrl);
      url.pathname = `/${dbName}`;
      try {
        figures.push(...(await searchTarget(ctx, 'postgres', url.toString(), search)));
      } finally {
        await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
        await admin.end();
      }
    }
    figures.push(
      ...(await exportTarget(ctx, {
        recordings: intKnob(ctx.env, 'BENCH_EXPORT_RECORDINGS', 12),
        mib: intKnob(ctx.env, 'BENCH_EXPORT_MIB', 16),
        runs: intKnob(ctx.env, 'BENCH_EXPORT_RUNS', Math.min(3, ctx.runs)),
      })),
    );
    return figures;
  },
};
