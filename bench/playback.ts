/**
 * Playback benchmark, fs store and MinIO (SQLite rows). The service is the production
 * service in its own process (bench/service.ts: log level info with the request log,
 * metrics, background jobs). Its baseline is what is physically there: the same store read
 * behind a bare node:http proxy (bench/proxy-floor-server.ts: no routing, authentication,
 * checks or logging), also in a process of its own, read by the same client in turn with
 * the API. Target: API ≤ 1.3× the bare proxy, p50 and p99.
 *
 * - Warm: one trainer token and one 16 MiB rendition, BENCH_PLAYBACK_READS random (seeded)
 *   64 KiB ranges per run through `GET /v1/recordings/:id/audio`, through the bare proxy and
 *   straight from `store.get` in this process (for context), in every order in turn.
 * - Cold: BENCH_PLAYBACK_TOKENS fresh trainer tokens × BENCH_PLAYBACK_RECORDINGS recordings,
 *   each (token, recording) pair read once per run in a seeded random order, so every API read
 *   is the first of its listener on that recording (authentication, object check, a new
 *   listening session in the access log); the proxy reads the same key and range in turn.
 *   Each run has its own tokens. (The OS page cache is not dropped: that would disturb the
 *   other work on a shared machine.)
 * - Context: time to first byte with BENCH_PLAYBACK_LISTENERS concurrent listeners beside as
 *   many concurrent direct store reads; CPU the service spends per warm ranged read; the three
 *   reads every API read makes afresh (token, row with restriction, data key), timed in this
 *   process, and the API against the bare proxy plus them: the floor once the guarantees are in.
 * Recordings are stored as the service stores them (encryption on, its default), so the API reads
 * header and segments and decrypts; the bare proxy and the direct read take the same range of the
 * stored object.
 *
 * Each figure is min / median / max over BENCH_RUNS runs of its percentile.
 */
import http from 'node:http';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { sha256Hex } from '../src/auth/accounts.js';
import { findActiveToken } from '../src/db/api-tokens.js';
import { createDb } from '../src/db/db.js';
import { readRecordingKey } from '../src/db/recording-keys.js';
import { findPlaybackRowById } from '../src/db/recordings.js';
import type { RecordingRow } from '../src/db/recordings.js';
import { encryptingStore } from '../src/keys/data-keys.js';
import { createObjectStore } from '../src/storage/create-store.js';
import type { ObjectStore } from '../src/storage/object-store.js';
import { setupBucket } from '../src/storage/setup-bucket.js';
import { createStoredRecording } from '../test/support/recordings.js';
import { createTestUser } from '../test/support/users.js';
import { httpGet } from './http-client.js';
import { processCpuMs, startServerProcess } from './server-process.js';
import type { ServerProcess } from './server-process.js';
import { startService } from './service.js';
import type { ServiceProcess } from './service.js';
import { intKnob, listKnob, percentile, rowFromRuns, seededRandom } from './spread.js';
import type { Bench, BenchContext, ResultRow } from './types.js';

const RANGE_BYTES = 64 * 1024;

async function drain(body: NodeJS.ReadableStream): Promise<number> {
  let n = 0;
  for await (const chunk of body) n += (chunk as Buffer).length;
  return n;
}

async function firstChunkFromStore(store: ObjectStore, key: string): Promise<number> {
  const start = performance.now();
  const controller = new AbortController();
  const got = await store.get(key, { range: { start: 0 }, signal: controller.signal });
  await new Promise<void>((resolve, reject) => {
    got.body.once('data', () => resolve());
    got.body.once('error', reject);
  });
  const ms = performance.now() - start;
  controller.abort();
  got.body.destroy();
  return ms;
}

/** A new listener: a fresh connection, the first chunk of the body, then hang up. */
function firstChunkFromApi(url: string, headers: Record<string, string>): Promise<number> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers: { ...headers, range: 'bytes=0-' } }, (res) => {
      res.once('data', () => {
        resolve(performance.now() - start);
        req.destroy();
      });
      res.once('error', () => undefined);
    });
    req.on('error', reject);
  });
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

interface Knobs {
  reads: number;
  tokens: number;
  recordings: number;
  warmMib: number;
  coldMib: number;
  listeners: number;
}

async function runTarget(
  ctx: BenchContext,
  name: string,
  storeEnv: Record<string, string>,
  k: Knobs,
): Promise<ResultRow[]> {
  const env = { CALLREC_DATA_DIR: path.join(ctx.tmpDir, name), ...storeEnv };
  const config = loadConfig(env);
  const db = createDb(config.db);
  await db.migrate();
  if (config.store.kind === 's3') await setupBucket(config.store, { retentionDays: 30 });
  const store = await createObjectStore(config.store);
  // Stored as the service stores them (encryption on, the default): the API's reads take the production path.
  const sealing = await encryptingStore({ config, db, store });
  const random = seededRandom(ctx.seed);
  let service: ServiceProcess | undefined;
  let proxy: ServerProcess | undefined;
  let freshDb: ReturnType<typeof createDb> | undefined;
  try {
    ctx.progress(`${name}: storing recordings`);
    const startedAt = Date.now() - 3_600_000;
    const warmBytes = k.warmMib * 1024 * 1024;
    const coldBytes = k.coldMib * 1024 * 1024;
    const warmRec = await createStoredRecording({
      db,
      store: sealing,
      overrides: { playbackBody: random.bytes(warmBytes), started_at: startedAt },
    });
    const coldBody = random.bytes(coldBytes);
    const coldRecs: RecordingRow[] = [];
    for (let i = 0; i < k.recordings; i++)
      coldRecs.push(
        (
          await createStoredRecording({
            db,
            store: sealing,
            overrides: { playbackBody: coldBody, started_at: startedAt },
          })
        ).row,
      );
    const warmToken = (await createTestUser(db, { role: 'trainer' })).token;
    // Every run gets tokens of its own, created before the service starts (one SQLite writer at a time).
    const coldTokens: string[][] = [];
    for (let run = 0; run < ctx.runs; run++) {
      const tokens: string[] = [];
      for (let t = 0; t < k.tokens; t++) tokens.push((await createTestUser(db, { role: 'trainer' })).token);
      coldTokens.push(tokens);
    }
    await db.close();

    service = await startService(ctx, env, { name: `playback-${name}` });
    proxy = await startServerProcess(env, { script: 'proxy-floor-server.ts' });
    const base = service.base;
    const warmUrl = `${base}/v1/recordings/${warmRec.row.id}/audio`;
    const warmHeaders = { authorization: `Bearer ${warmToken}` };
    const warmKey = warmRec.row.playback_key;
    // What every API read must ask the database afresh (revocation, erasure, hold and shredding take effect at the
    // next request): the token, the row with its restriction, the data key. Timed here, on a connection of this
    // process, as the floor that the guarantees add to the bare proxy.
    freshDb = createDb(config.db);
    const readFresh = async (token: string, id: string, into: number[]) => {
      const t = performance.now();
      const found = await findActiveToken(freshDb!.knex, sha256Hex(token));
      const row = await findPlaybackRowById(freshDb!.knex, id);
      const key = await readRecordingKey(freshDb!.knex, id);
      if (!found || !row || !key) throw new Error('the fresh reads found no token, row or data key');
      into.push(performance.now() - t);
    };
    const proxyUrl = (key: string) => `${proxy!.base}/${encodeURIComponent(key)}`;

    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    // Warm-up of all three (connections, JIT, the warm listener's access-log session).
    for (let i = 0; i < 50; i++) {
      await httpGet(agent, warmUrl, { ...warmHeaders, range: `bytes=0-${RANGE_BYTES - 1}` });
      await httpGet(agent, proxyUrl(warmKey), { range: `bytes=0-${RANGE_BYTES - 1}` });
      await drain((await store.get(warmKey, { range: { start: 0, end: RANGE_BYTES - 1 } })).body);
    }

    const readApi = async (url: string, headers: Record<string, string>, start: number, into: number[]) => {
      const t = performance.now();
      const { status, bytes } = await httpGet(agent, url, {
        ...headers,
        range: `bytes=${start}-${start + RANGE_BYTES - 1}`,
      });
      if (status !== 206 || bytes !== RANGE_BYTES) throw new Error(`API answered ${status} with ${bytes} bytes`);
      into.push(performance.now() - t);
    };
    const readProxy = async (key: string, start: number, into: number[]) => {
      const t = performance.now();
      const { status, bytes } = await httpGet(agent, proxyUrl(key), {
        range: `bytes=${start}-${start + RANGE_BYTES - 1}`,
      });
      if (status !== 206 || bytes !== RANGE_BYTES) throw new Error(`proxy answered ${status} with ${bytes} bytes`);
      into.push(performance.now() - t);
    };
    const readStore = async (key: string, start: number, into: number[]) => {
      const t = performance.now();
      const bytes = await drain((await store.get(key, { range: { start, end: start + RANGE_BYTES - 1 } })).body);
      if (bytes !== RANGE_BYTES) throw new Error(`store served ${bytes} bytes`);
      into.push(performance.now() - t);
    };

    const warm = {
      api50: [] as number[],
      api99: [] as number[],
      proxy50: [] as number[],
      proxy99: [] as number[],
      store50: [] as number[],
      store99: [] as number[],
      fresh50: [] as number[],
      fresh99: [] as number[],
      cpu: [] as number[],
    };
    const cold = { api50: [] as number[], api99: [] as number[], proxy50: [] as number[], proxy99: [] as number[] };
    const ttfb = { api50: [] as number[], api99: [] as number[], store50: [] as number[], store99: [] as number[] };
    const steps = ctx.runs * 3;
    for (let run = 0; run < ctx.runs; run++) {
      // Warm: one listener, one recording.
      ctx.progress(`${name}: warm ranged reads, run ${run + 1}/${ctx.runs}`, (run * 3) / steps);
      const api: number[] = [];
      const bare: number[] = [];
      const direct: number[] = [];
      const fresh: number[] = [];
      const cpuBefore = processCpuMs(service.pid);
      for (let i = 0; i < k.reads; i++) {
        const start = random.int(0, warmBytes - RANGE_BYTES);
        const reads = [
          () => readApi(warmUrl, warmHeaders, start, api),
          () => readProxy(warmKey, start, bare),
          () => readStore(warmKey, start, direct),
        ];
        // Every order of the three in turn, so that none always follows the same one.
        const order = [
          [0, 1, 2],
          [1, 2, 0],
          [2, 0, 1],
          [0, 2, 1],
          [1, 0, 2],
          [2, 1, 0],
        ][i % 6]!;
        for (const j of order) await reads[j]!();
      }
      warm.cpu.push((processCpuMs(service.pid) - cpuBefore) / k.reads);
      // After the timed reads (their CPU figure is the service's alone), as many times.
      for (let i = 0; i < k.reads; i++) await readFresh(warmToken, warmRec.row.id, fresh);
      warm.fresh50.push(percentile(sorted(fresh), 50));
      warm.fresh99.push(percentile(sorted(fresh), 99));
      for (const [into, xs] of [
        [warm.api50, api],
        [warm.proxy50, bare],
        [warm.store50, direct],
      ] as const)
        into.push(percentile(sorted(xs), 50));
      for (const [into, xs] of [
        [warm.api99, api],
        [warm.proxy99, bare],
        [warm.store99, direct],
      ] as const)
        into.push(percentile(sorted(xs), 99));

      // Cold: every (token, recording) pair once, in a seeded random order.
      ctx.progress(
        `${name}: cold reads (${k.tokens} tokens × ${k.recordings} recordings), run ${run + 1}/${ctx.runs}`,
        (run * 3 + 1) / steps,
      );
      const pairs = random.shuffle(
        coldTokens[run]!.flatMap((token) =>
          coldRecs.map((rec) => ({ token, rec, start: random.int(0, coldBytes - RANGE_BYTES) })),
        ),
      );
      const coldApi: number[] = [];
      const coldBare: number[] = [];
      for (const [i, { token, rec, start }] of pairs.entries()) {
        const viaApi = () =>
          readApi(`${base}/v1/recordings/${rec.id}/audio`, { authorization: `Bearer ${token}` }, start, coldApi);
        const viaProxy = () => readProxy(rec.playback_key, start, coldBare);
        if (i % 2) {
          await viaApi();
          await viaProxy();
        } else {
          await viaProxy();
          await viaApi();
        }
      }
      cold.api50.push(percentile(sorted(coldApi), 50));
      cold.api99.push(percentile(sorted(coldApi), 99));
      cold.proxy50.push(percentile(sorted(coldBare), 50));
      cold.proxy99.push(percentile(sorted(coldBare), 99));

      // Concurrent listeners: time to first byte.
      ctx.progress(`${name}: ${k.listeners} concurrent listeners, run ${run + 1}/${ctx.runs}`, (run * 3 + 2) / steps);
      const fromStore = sorted(
        await Promise.all(Array.from({ length: k.listeners }, () => firstChunkFromStore(store, warmKey))),
      );
      const fromApi = sorted(
        await Promise.all(Array.from({ length: k.listeners }, () => firstChunkFromApi(warmUrl, warmHeaders))),
      );
      ttfb.api50.push(percentile(fromApi, 50));
      ttfb.api99.push(percentile(fromApi, 99));
      ttfb.store50.push(percentile(fromStore, 50));
      ttfb.store99.push(percentile(fromStore, 99));
    }
    agent.destroy();
    if (service.requestLines() === 0) throw new Error('the service wrote no request log line');

    const PROXY = 'bare node:http proxy of the same store read';
    const note = `service: ${service.entry}, log level info; percentile per run, spread over ${ctx.runs} runs`;
    const row = (
      label: string,
      samples: number[],
      baseline: { name: string; samples: number[] },
      target?: string,
      extra?: string,
    ) =>
      rowFromRuns({
        name: `${label} (${name})`,
        unit: 'ms',
        samples,
        baseline,
        ...(target ? { target } : {}),
        note: extra ? `${note}; ${extra}` : note,
      });
    return [
      row(
        '64 KiB ranged read p50, warm',
        warm.api50,
        { name: `${PROXY} p50`, samples: warm.proxy50 },
        '≤ 1.3×',
        `${k.reads} reads per run of one ${k.warmMib} MiB rendition, one token`,
      ),
      row('64 KiB ranged read p99, warm', warm.api99, { name: `${PROXY} p99`, samples: warm.proxy99 }, '≤ 1.3×'),
      row(
        `64 KiB ranged read p50, cold (${k.tokens} tokens × ${k.recordings} recordings)`,
        cold.api50,
        { name: `${PROXY} p50`, samples: cold.proxy50 },
        '≤ 1.3×',
        'every API read is the first of its token on its recording (new listening session); fresh tokens per run',
      ),
      row(
        `64 KiB ranged read p99, cold (${k.tokens} tokens × ${k.recordings} recordings)`,
        cold.api99,
        { name: `${PROXY} p99`, samples: cold.proxy99 },
        '≤ 1.3×',
      ),
      row(
        '64 KiB ranged read p50, warm, vs the store read',
        warm.api50,
        { name: 'store.get of the same range p50, this process', samples: warm.store50 },
        undefined,
        'context: no HTTP at all',
      ),
      row('64 KiB ranged read p99, warm, vs the store read', warm.api99, {
        name: 'store.get of the same range p99, this process',
        samples: warm.store99,
      }),
      row(
        '64 KiB ranged read p50, warm, vs the bare proxy plus the fresh reads',
        warm.api50,
        {
          name: 'bare proxy p50 + token, row and data-key reads p50 (this process)',
          samples: warm.proxy50.map((p, i) => p + warm.fresh50[i]!),
        },
        undefined,
        'context: the floor once the guarantees are in (each request reads its token, row and data key afresh)',
      ),
      rowFromRuns({
        name: `the fresh reads of one API read: token, row with restriction, data key, p50 (${name})`,
        unit: 'ms',
        samples: warm.fresh50,
        note: `three queries in sequence on a connection of this process, ${k.reads} per run after the warm reads`,
      }),
      rowFromRuns({
        name: `the fresh reads of one API read, p99 (${name})`,
        unit: 'ms',
        samples: warm.fresh99,
      }),
      row(
        'bare proxy 64 KiB ranged read p50 vs the store read',
        warm.proxy50,
        { name: 'store.get of the same range p50, this process', samples: warm.store50 },
        undefined,
        'context: what HTTP alone adds here',
      ),
      rowFromRuns({
        name: `service CPU per warm 64 KiB ranged read (${name})`,
        unit: 'ms',
        samples: warm.cpu,
        note: 'user + system of the service process (/proc) over the warm reads, background jobs included',
      }),
      row(`TTFB p50, ${k.listeners} concurrent listeners`, ttfb.api50, {
        name: `store first chunk p50, ${k.listeners} concurrent`,
        samples: ttfb.store50,
      }),
      row(`TTFB p99, ${k.listeners} concurrent listeners`, ttfb.api99, {
        name: `store first chunk p99, ${k.listeners} concurrent`,
        samples: ttfb.store99,
      }),
    ];
  } finally {
    await freshDb?.close();
    await proxy?.stop();
    await service?.stop();
    await store.close();
    await db.close().catch(() => undefined);
  }
}

export const playbackBench: Bench = {
  name: 'playback',
  async run(ctx) {
    const k: Knobs = {
      reads: intKnob(ctx.env, 'BENCH_PLAYBACK_READS', 500),
      tokens: intKnob(ctx.env, 'BENCH_PLAYBACK_TOKENS', 8),
      recordings: intKnob(ctx.env, 'BENCH_PLAYBACK_RECORDINGS', 50),
      warmMib: intKnob(ctx.env, 'BENCH_PLAYBACK_WARM_MIB', 16),
      coldMib: intKnob(ctx.env, 'BENCH_PLAYBACK_COLD_MIB', 1),
      listeners: intKnob(ctx.env, 'BENCH_PLAYBACK_LISTENERS', 100),
    };
    const figures: ResultRow[] = [];
    for (const store of listKnob(ctx.env, 'BENCH_STORES', ['fs', 'minio'] as const)) {
      if (store === 'fs') {
        figures.push(...(await runTarget(ctx, 'fs', { CALLREC_STORE: 'fs' }, k)));
        continue;
      }
      const endpoint = ctx.env.CALLREC_TEST_S3_ENDPOINT;
      if (!endpoint)
        throw new Error('CALLREC_TEST_S3_ENDPOINT is not set (run through `npm run bench`, or BENCH_STORES=fs)');
      const storeEnv = {
        CALLREC_STORE: 's3',
        CALLREC_S3_ENDPOINT: endpoint,
        CALLREC_S3_BUCKET: `callrec-bench-playback-${Date.now().toString(36)}`,
        CALLREC_S3_ACCESS_KEY_ID: ctx.env.CALLREC_TEST_S3_ACCESS_KEY_ID ?? '',
        CALLREC_S3_SECRET_ACCESS_KEY: ctx.env.CALLREC_TEST_S3_SECRET_ACCESS_KEY ?? '',
      };
      figures.push(...(await runTarget(ctx, 'minio', storeEnv, k)));
    }
    return figures;
  },
};
