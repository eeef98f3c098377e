/**
 * Playback benchmark, fs store and MinIO, SQLite. The server runs in a process of
 * its own (bench/ingest-server.ts), as in production, so that the client's work
 * is not billed to the API; the store baseline is read from this process.
 *
 * - 1,000 random 64 KiB ranged reads of a 16 MiB playback object through the API
 *   (`GET /v1/recordings/:id/audio`, Bearer token: authentication, object-level
 *   check, access-log session check, store read, HTTP) beside the same ranges read
 *   directly from the store (`store.get` with the range) in the same run, interleaved.
 *   Figures: p50 and p99 latency and their ratio API / store (target ≤ 1.3×).
 * - Time to first byte with 100 concurrent listeners (`Range: bytes=0-`, each reads
 *   its first chunk and hangs up), 5 rounds, p50 and p99, beside 100 concurrent direct
 *   store reads (first chunk) as the baseline.
 * - The floor of any HTTP API here: the same ranges through a bare node:http server that pipes
 *   `store.get` (bench/proxy-floor-server.ts: no routing, authentication, checks or logging), read
 *   in turn with the other two (every order), p50 beside the store's and beside the API's.
 * - For context, the HTTP floor measured with the same clients: GET /healthz (sequential, and
 *   100 concurrent). On the fs store a 64 KiB read from the page cache costs about as much as
 *   one bare HTTP round trip, so the API / store ratio there mostly measures HTTP itself.
 * - Diagnostic: CPU time (user + system, /proc) the server process spends per ranged read,
 *   beside the CPU time this process spends per direct store read of the same ranges. On a
 *   machine whose cores are all busy, latency follows CPU time, so this shows how much work
 *   the API adds to the store read itself.
 */
import { randomBytes, randomInt } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { createDb } from '../src/db/db.js';
import { createObjectStore } from '../src/storage/create-store.js';
import type { ObjectStore } from '../src/storage/object-store.js';
import { setupBucket } from '../src/storage/setup-bucket.js';
import { createStoredRecording } from '../test/support/recordings.js';
import { createTestUser } from '../test/support/users.js';
import { httpGet, percentile } from './http-client.js';
import { processCpuMs, startServerProcess } from './server-process.js';
import type { ServerProcess } from './server-process.js';
import type { Bench, BenchContext, Figure } from './types.js';

const OBJECT_BYTES = 16 * 1024 * 1024;
const RANGE_BYTES = 64 * 1024;
const READS = 1000;
const LISTENERS = 100;
const ROUNDS = 5;

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

/** CPU time of this process so far, in ms. */
function ownCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

async function runTarget(ctx: BenchContext, name: string, storeEnv: Record<string, string>): Promise<Figure[]> {
  const env = { CALLREC_DATA_DIR: path.join(ctx.tmpDir, name), CALLREC_LOG_LEVEL: 'warn', ...storeEnv };
  const config = loadConfig(env);
  const db = createDb(config.db);
  await db.migrate();
  if (config.store.kind === 's3') await setupBucket(config.store, { retentionDays: 30 });
  const store = await createObjectStore(config.store);
  let server: ServerProcess | undefined;
  let proxy: ServerProcess | undefined;
  try {
    const { token } = await createTestUser(db, { role: 'trainer' });
    const headers = { authorization: `Bearer ${token}` };
    const rec = await createStoredRecording({ db, store, overrides: { playbackBody: randomBytes(OBJECT_BYTES), started_at: Date.now() - 3_600_000 } });
    server = await startServerProcess(env);
    proxy = await startServerProcess(env, { script: 'proxy-floor-server.ts', args: [rec.row.playback_key] });
    const base = server.base;
    const url = `${base}/v1/recordings/${rec.row.id}/audio`;
    const key = rec.row.playback_key;

    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    // Warm-up (connections, JIT, the listening session's access-log entry).
    for (let i = 0; i < 20; i++) {
      await (await fetch(url, { headers: { ...headers, range: 'bytes=0-65535' } })).arrayBuffer();
      await drain((await store.get(key, { range: { start: 0, end: 65535 } })).body);
      await httpGet(agent, proxy.base, { range: 'bytes=0-65535' });
    }

    const api: number[] = [];
    const direct: number[] = [];
    const bare: number[] = [];
    // The server does nothing but the API reads meanwhile; this process's CPU is counted around the direct reads only.
    const serverCpuBefore = processCpuMs(server.pid);
    let directCpu = 0;
    for (let i = 0; i < READS; i++) {
      const start = randomInt(0, OBJECT_BYTES - RANGE_BYTES);
      const end = start + RANGE_BYTES - 1;
      const viaApi = async () => {
        const t = performance.now();
        const { status, bytes } = await httpGet(agent, url, { ...headers, range: `bytes=${start}-${end}` });
        if (status !== 206 || bytes !== RANGE_BYTES) throw new Error(`API answered ${status} with ${bytes} bytes`);
        api.push(performance.now() - t);
      };
      const viaStore = async () => {
        const cpu = ownCpuMs();
        const t = performance.now();
        const bytes = await drain((await store.get(key, { range: { start, end } })).body);
        if (bytes !== RANGE_BYTES) throw new Error(`store served ${bytes} bytes`);
        direct.push(performance.now() - t);
        directCpu += ownCpuMs() - cpu;
      };
      const viaProxy = async () => {
        const t = performance.now();
        const { status, bytes } = await httpGet(agent, proxy!.base, { range: `bytes=${start}-${end}` });
        if (status !== 206 || bytes !== RANGE_BYTES) throw new Error(`proxy answered ${status} with ${bytes} bytes`);
        bare.push(performance.now() - t);
      };
      // Every order of the three reads in turn, so that none always follows the same one.
      const orders = [
        [viaApi, viaStore, viaProxy],
        [viaStore, viaProxy, viaApi],
        [viaProxy, viaApi, viaStore],
        [viaApi, viaProxy, viaStore],
        [viaStore, viaApi, viaProxy],
        [viaProxy, viaStore, viaApi],
      ];
      for (const read of orders[i % orders.length]!) await read();
      if (i % 50 === 0) ctx.progress(`${name}: ranged reads ${i}/${READS}`, i / READS / 2);
    }
    const serverCpuPerRead = (processCpuMs(server.pid) - serverCpuBefore) / READS;
    const directCpuPerRead = directCpu / READS;
    // The HTTP floor: the same client on a route that does nothing (GET /healthz), for context.
    const floor: number[] = [];
    for (let i = 0; i < 300; i++) {
      const t = performance.now();
      await httpGet(agent, `${base}/healthz`, {});
      floor.push(performance.now() - t);
    }
    floor.sort((a, b) => a - b);
    agent.destroy();
    api.sort((a, b) => a - b);
    direct.sort((a, b) => a - b);
    bare.sort((a, b) => a - b);

    const ttfbApi: number[] = [];
    const ttfbStore: number[] = [];
    const ttfbFloor: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      ctx.progress(`${name}: ${LISTENERS} concurrent listeners, round ${round + 1}/${ROUNDS}`, 0.5 + round / ROUNDS / 2);
      ttfbStore.push(...(await Promise.all(Array.from({ length: LISTENERS }, () => firstChunkFromStore(store, key)))));
      ttfbApi.push(...(await Promise.all(Array.from({ length: LISTENERS }, () => firstChunkFromApi(url, headers)))));
      ttfbFloor.push(...(await Promise.all(Array.from({ length: LISTENERS }, () => firstChunkFromApi(`${base}/healthz`, {})))));
    }
    ttfbApi.sort((a, b) => a - b);
    ttfbStore.sort((a, b) => a - b);
    ttfbFloor.sort((a, b) => a - b);

    const figure = (label: string, value: number, baseline: number, baselineName: string, target?: number): Figure => ({
      name: `${label} (${name})`,
      value,
      unit: 'ms',
      baseline: { name: baselineName, value: baseline },
      ratio: value / baseline,
      ...(target === undefined ? {} : { target: `≤ ${target}×`, met: value / baseline <= target }),
    });
    return [
      figure('64 KiB ranged read p50', percentile(api, 50), percentile(direct, 50), 'store.get same range p50', 1.3),
      figure('64 KiB ranged read p99', percentile(api, 99), percentile(direct, 99), 'store.get same range p99', 1.3),
      figure('64 KiB ranged read p50 through a bare proxy', percentile(bare, 50), percentile(direct, 50), 'store.get same range p50'),
      figure('64 KiB ranged read p50 vs a bare proxy', percentile(api, 50), percentile(bare, 50), 'bare node:http proxy of store.get p50'),
      figure('64 KiB ranged read p50 vs the HTTP floor', percentile(api, 50), percentile(floor, 50), 'GET /healthz p50, same client'),
      figure('server CPU per 64 KiB ranged read', serverCpuPerRead, directCpuPerRead, 'CPU per store.get of the same range, this process'),
      figure(`TTFB p50, ${LISTENERS} concurrent listeners`, percentile(ttfbApi, 50), percentile(ttfbStore, 50), `store first chunk p50, ${LISTENERS} concurrent`),
      figure(`TTFB p99, ${LISTENERS} concurrent listeners`, percentile(ttfbApi, 99), percentile(ttfbStore, 99), `store first chunk p99, ${LISTENERS} concurrent`),
      figure(`TTFB p50, ${LISTENERS} concurrent listeners vs the HTTP floor`, percentile(ttfbApi, 50), percentile(ttfbFloor, 50), `GET /healthz first byte p50, ${LISTENERS} concurrent`),
    ];
  } finally {
    await proxy?.stop();
    await server?.stop();
    await store.close();
    await db.close();
  }
}

export const playbackBench: Bench = {
  name: 'playback',
  async run(ctx) {
    const figures = await runTarget(ctx, 'fs', { CALLREC_STORE: 'fs' });
    const endpoint = ctx.env.CALLREC_TEST_S3_ENDPOINT;
    if (endpoint) {
      figures.push(
        ...(await runTarget(ctx, 'minio', {
          CALLREC_STORE: 's3',
          CALLREC_S3_ENDPOINT: endpoint,
          CALLREC_S3_BUCKET: `callrec-bench-playback-${randomBytes(4).toString('hex')}`,
          CALLREC_S3_ACCESS_KEY_ID: ctx.env.CALLREC_TEST_S3_ACCESS_KEY_ID ?? '',
          CALLREC_S3_SECRET_ACCESS_KEY: ctx.env.CALLREC_TEST_S3_SECRET_ACCESS_KEY ?? '',
        })),
      );
    }
    return figures;
  },
};
