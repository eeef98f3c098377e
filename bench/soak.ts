/**
 * Soak: several instances of the service, as `npm start` runs it (src/main.ts through tsx,
 * test/support/process.ts `startMain`, log level info with the request log, background jobs
 * on), on one PostgreSQL database and one MinIO bucket, for a bounded time:
 * - uploads at a steady rate through the signed hook (small generated audio fixtures, round
 *   robin over the instances; a 503 is retried after its Retry-After on the next instance, up
 *   to 6 attempts, keeping the call's start as a PBX would, so a long retry can end in 422
 *   retention_elapsed: both outcomes are counted, neither is a violation);
 * - listeners seeking: each loops over the accepted recordings with 64 KiB ranged GETs of the
 *   audio at random offsets, with a short pause between (a request that fails on a reused
 *   keep-alive socket is sent once more on a new one, and counted);
 * - the sweeper deleting at the same time: the retention is short, so recordings fall due
 *   while the load runs.
 * At the end (load stopped, the recordings due by then given time to be deleted, instances
 * stopped with SIGTERM) it checks, and throws listing every violation:
 * - no 5xx other than 503 with Retry-After, no connection error, every instance exits 0;
 * - every accepted upload stored once: one recording row or one deletion-log entry per call,
 *   the remaining ones with both objects in the bucket;
 * - every recording due by the end of the load deleted and logged exactly once; the log holds
 *   nothing else, is gapless and verifies (hash chain, checkpoint signatures);
 * - the RSS of each instance (VmRSS from /proc every 5 s) flat: the last minute's maximum at
 *   most 1.1 × the second minute's;
 * - nothing left behind: no object under recordings/ without its row, no upload marker, no
 *   file under the data dir's tmp/.
 * A summary goes to stderr, with each instance's RSS and, beside it, its V8 heap used and committed and its
 * external (Buffer) memory from its /metrics (what the RSS is made of; the live heap, heap used at its lowest in
 * a minute, is reported beside the RSS check as context: a leak raises it, uncollected garbage does not); the figures (upload and seek latency, RSS per instance, deletion
 * lag) are returned as spread rows (min / median / max) through the adapter of scale.ts.
 *
 * Knobs (environment of `npm run bench`):
 *   BENCH_SOAK_SECONDS     load duration (default 600)
 *   BENCH_SOAK_INSTANCES   service instances (default 3)
 *   BENCH_SOAK_UPLOAD_RATE uploads per second (default 5)
 *   BENCH_SOAK_LISTENERS   concurrent listeners (default 50)
 *   BENCH_SOAK_RETENTION   the service's CALLREC_RETENTION (default 2m)
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { loadCheckpointKey } from '../src/audit/checkpoint-key.js';
import { verifyDeletionLog } from '../src/audit/verify.js';
import { loadConfig, parseDuration } from '../src/config.js';
import { createDb } from '../src/db/db.js';
import { createObjectStore } from '../src/storage/create-store.js';
import { setupBucket } from '../src/storage/setup-bucket.js';
import { storeKeys } from '../test/support/backends.js';
import { audioFixtureBytes } from '../test/support/fixtures.js';
import { startMain } from '../test/support/process.js';
import { signedUpload } from '../test/support/upload.js';
import { parseExposition } from '../test/support/prometheus.js';
import { createTestUser } from '../test/support/users.js';
import { percentile } from './http-client.js';
import { pgDatabase } from './retention.js';
import { spreadOf } from './spread.js';
import type { SpreadRow } from './scale.js';
import { MAIN_READY } from './server-process.js';
import type { Bench, BenchContext } from './types.js';

const RSS_SAMPLE_MS = 5_000;
const SOURCE = 'soak-pbx';
const SECRET = `soak-${randomBytes(16).toString('hex')}`;
const SEEK_BYTES = 64 * 1024;

function knobs(env: BenchContext['env']) {
  const whole = (name: string, fallback: number) => {
    const value = Number(env[name] ?? fallback);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} expects a number > 0`);
    return value;
  };
  const retention = env.BENCH_SOAK_RETENTION ?? '2m';
  const retentionMs = parseDuration(retention);
  if (retentionMs === undefined) throw new Error('BENCH_SOAK_RETENTION expects a duration such as 1m');
  return {
    seconds: whole('BENCH_SOAK_SECONDS', 600),
    instances: Math.round(whole('BENCH_SOAK_INSTANCES', 3)),
    uploadRate: whole('BENCH_SOAK_UPLOAD_RATE', 5),
    listeners: Math.round(whole('BENCH_SOAK_LISTENERS', 50)),
    retention,
    retentionMs,
  };
}

interface Instance {
  name: string;
  base: string;
  pid: number;
  child: ChildProcessWithoutNullStreams;
  exit: Promise<number | null>;
  /** [elapsed ms since the load started, VmRSS bytes] */
  rss: Array<[number, number]>;
  /** [elapsed ms, V8 heap used, V8 heap committed, external memory (Buffers)] from the instance's /metrics. */
  heap: Array<[number, number, number, number]>;
  logLines: number;
  tail: string[];
}

/** Starts one instance; its output is counted and only a tail kept (bounded memory over a long run). */
async function startInstance(name: string, env: Record<string, string>): Promise<Instance> {
  const child = startMain(env);
  const instance: Instance = {
    name,
    base: '',
    pid: child.pid!,
    child,
    exit: new Promise((r) => child.once('exit', (code) => r(code))),
    rss: [],
    heap: [],
    logLines: 0,
    tail: [],
  };
  const keep = (chunk: Buffer) => {
    const lines = chunk.toString('utf8').split('\n').filter(Boolean);
    instance.logLines += lines.length;
    instance.tail.push(...lines);
    if (instance.tail.length > 40) instance.tail.splice(0, instance.tail.length - 40);
  };
  child.stderr.on('data', keep);
  let head = '';
  instance.base = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      head += chunk.toString('utf8');
      const m = MAIN_READY.exec(head);
      if (m) {
        child.stdout.off('data', onData);
        child.stdout.on('data', keep);
        resolve(`http://127.0.0.1:${m[1]}`);
      } else if (head.length > 1_000_000) head = head.slice(-10_000);
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${name} exited ${code} before listening: ${head.slice(-2000)}`)));
  });
  return instance;
}

function vmRssBytes(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** V8's heap used and committed, and the external (Buffer) memory, as the instance's process metrics report them. */
async function heapBytes(base: string): Promise<[number, number, number] | undefined> {
  try {
    const { samples } = parseExposition(await (await fetch(`${base}/metrics`)).text());
    const value = (name: string) => samples.find((s) => s.name === name)?.value ?? Number.NaN;
    const used = value('callrec_process_nodejs_heap_size_used_bytes');
    const total = value('callrec_process_nodejs_heap_size_total_bytes');
    const external = value('callrec_process_nodejs_external_memory_bytes');
    return [used, total, external].every(Number.isFinite) ? [used, total, external] : undefined;
  } catch {
    return undefined;
  }
}

/** A GET that reads the whole body: status, Retry-After, bytes, or the connection error. */
function get(
  agent: http.Agent,
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; retryAfter?: string; bytes: number; error?: string; reusedSocket?: boolean }> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent, headers }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], bytes }));
      res.on('error', (e) => resolve({ status: 0, bytes, error: e.message }));
    });
    req.on('error', (e) => resolve({ status: 0, bytes: 0, error: e.message, reusedSocket: req.reusedSocket }));
  });
}

interface Accepted {
  id: string;
  callId: string;
  expiresAt: number;
  playbackSize: number;
}

/** `min / median / max` of `values`, one decimal. */
function spreadText(values: number[]): string {
  if (values.length === 0) return 'unknown (no sample)';
  const s = spreadOf(values);
  return [s.min, s.median, s.max].map((v) => v.toFixed(1)).join(' / ');
}

/** Rows in the format of the reworked report; judged rows carry `met`. */
function row(name: string, unit: string, values: number[], extra: Partial<SpreadRow> = {}): SpreadRow {
  return { name, unit, ...spreadOf(values), ...extra };
}

export const soakBench: Bench = {
  name: 'soak',
  async run(ctx) {
    const k = knobs(ctx.env);
    const env = ctx.env;
    if (!env.CALLREC_TEST_S3_ENDPOINT || !env.CALLREC_TEST_PG_URL)
      throw new Error('CALLREC_TEST_S3_* / CALLREC_TEST_PG_URL are not set (run through `npm run bench`)');
    const database = await pgDatabase(env, 'callrec_bench_soak');
    const dataDir = fs.mkdtempSync(path.join(ctx.tmpDir, 'soak-data-'));
    const serviceEnv: Record<string, string> = {
      CALLREC_DATA_DIR: dataDir,
      CALLREC_HOST: '127.0.0.1',
      CALLREC_PORT: '0',
      CALLREC_LOG_LEVEL: 'info',
      CALLREC_DB_URL: database.config.client === 'pg' ? database.config.url : '',
      CALLREC_STORE: 's3',
      CALLREC_S3_ENDPOINT: env.CALLREC_TEST_S3_ENDPOINT,
      CALLREC_S3_BUCKET: `callrec-bench-soak-${Date.now().toString(36)}`,
      CALLREC_S3_ACCESS_KEY_ID: env.CALLREC_TEST_S3_ACCESS_KEY_ID ?? '',
      CALLREC_S3_SECRET_ACCESS_KEY: env.CALLREC_TEST_S3_SECRET_ACCESS_KEY ?? '',
      CALLREC_INGEST_SOURCES: `${SOURCE}:${SECRET}`,
      CALLREC_RETENTION: k.retention,
    };
    const config = loadConfig(serviceEnv);
    if (config.store.kind === 's3') await setupBucket(config.store, { retentionDays: config.retention.days });
    const db = createDb(config.db);
    const store = await createObjectStore(config.store);
    const instances: Instance[] = [];
    const violations: string[] = [];
    let sampler: NodeJS.Timeout | undefined;
    try {
      await db.migrate();
      const { token } = await createTestUser(db, { role: 'admin' });
      const auth = { authorization: `Bearer ${token}` };
      for (let i = 0; i < k.instances; i++) {
        ctx.progress(`starting instance ${i + 1}/${k.instances}`);
        instances.push(await startInstance(`instance-${i + 1}`, serviceEnv));
      }
      const fixtures = [await audioFixtureBytes('ulaw-mono'), await audioFixtureBytes('alaw-mono')];

      // ---- load ----------------------------------------------------------------------------
      const loadStart = Date.now();
      const loadEndAt = loadStart + k.seconds * 1000;
      sampler = setInterval(() => {
        for (const inst of instances) {
          const at = Date.now() - loadStart;
          const rss = vmRssBytes(inst.pid);
          if (rss !== undefined) inst.rss.push([at, rss]);
          void heapBytes(inst.base).then((h) => h && inst.heap.push([at, ...h]));
        }
      }, RSS_SAMPLE_MS);
      const statuses = new Map<string, number>();
      const count = (what: string, status: number) =>
        statuses.set(`${what} ${status}`, (statuses.get(`${what} ${status}`) ?? 0) + 1);
      const judge = (what: string, r: { status: number; retryAfter?: string | string[]; error?: string }) => {
        count(what, r.status);
        if (r.error) violations.push(`${what}: connection error ${r.error}`);
        else if (r.status >= 500 && !(r.status === 503 && r.retryAfter))
          violations.push(`${what}: ${r.status}${r.status === 503 ? ' without Retry-After' : ''}`);
      };
      const accepted: Accepted[] = [];
      const uploadMs: number[] = [];
      const seekMs: number[] = [];
      let retried = 0;
      let gaveUp = 0;
      let elapsedRefusals = 0;
      let resetRetries = 0;

      const upload = async (i: number) => {
        const callId = `soak-${loadStart}-${i}`;
        const fields = {
          callId,
          startedAt: new Date(Date.now() - 4_000).toISOString(),
          agentId: `agent-${i % 40}`,
          queue: `queue-${i % 7}`,
          direction: i % 3 ? 'inbound' : 'outbound',
          callerNumber: `+3161${String(randomInt(0, 10_000_000)).padStart(7, '0')}`,
          calleeNumber: '+31205550100',
        };
        for (let attempt = 0; attempt < 6; attempt++) {
          const inst = instances[(i + attempt) % instances.length]!;
          const t = performance.now();
          let res;
          try {
            res = await signedUpload({
              url: inst.base,
              source: SOURCE,
              secret: SECRET,
              fields,
              audio: fixtures[i % fixtures.length],
            });
          } catch (error) {
            judge('upload', { status: 0, error: (error as Error).message });
            return;
          }
          judge('upload', { status: res.status, retryAfter: res.headers['retry-after'] });
          if (res.status === 200 || res.status === 201) {
            uploadMs.push(performance.now() - t);
            const body = res.body as { id: string; expiresAt: string; playback: { sizeBytes: number } };
            accepted.push({
              id: body.id,
              callId,
              expiresAt: Date.parse(body.expiresAt),
              playbackSize: body.playback.sizeBytes,
            });
            return;
          }
          if (res.status === 422 && (res.body as { code?: string } | undefined)?.code === 'retention_elapsed') {
            // Retried past its deadline (the call's start is kept, as a PBX keeps it): refused, rightly.
            elapsedRefusals++;
            return;
          }
          if (res.status !== 503) {
            violations.push(`upload ${callId}: unexpected ${res.status} ${res.text.slice(0, 200)}`);
            return;
          }
          retried++;
          await new Promise((r) => setTimeout(r, Math.min(10, Number(res.headers['retry-after']) || 1) * 1000));
        }
        gaveUp++;
      };

      const uploads: Array<Promise<void>> = [];
      const uploader = (async () => {
        for (let i = 0; Date.now() < loadEndAt; i++) {
          uploads.push(upload(i));
          const next = loadStart + ((i + 1) * 1000) / k.uploadRate;
          await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
          if (i % 25 === 0)
            ctx.progress(
              `load: ${accepted.length} uploads accepted, ${seekMs.length} seeks`,
              (Date.now() - loadStart) / (k.seconds * 1000),
            );
        }
      })();

      const listener = async (n: number) => {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        try {
          while (Date.now() < loadEndAt) {
            const rec = accepted.length ? accepted[randomInt(0, accepted.length)]! : undefined;
            if (!rec) {
              await new Promise((r) => setTimeout(r, 200));
              continue;
            }
            const inst = instances[(n + seekMs.length) % instances.length]!;
            const start = randomInt(0, Math.max(1, rec.playbackSize));
            const t = performance.now();
            const url = `${inst.base}/v1/recordings/${rec.id}/audio`;
            const headers = { ...auth, range: `bytes=${start}-${start + SEEK_BYTES - 1}` };
            let res = await get(agent, url, headers);
            if (res.reusedSocket && res.error) {
              // The server closed an idle keep-alive socket as this request went out on it: send
              // it again on a new one, as browsers and Node's docs do (counted in the summary).
              resetRetries++;
              res = await get(agent, url, headers);
            }
            judge('seek', res);
            if (res.status === 206 || res.status === 200) seekMs.push(performance.now() - t);
            else if (!res.error && res.status !== 404 && res.status !== 410 && res.status !== 503)
              violations.push(`seek ${rec.id}: unexpected ${res.status}`);
            await new Promise((r) => setTimeout(r, 100 + randomInt(0, 200)));
          }
        } finally {
          agent.destroy();
        }
      };
      await Promise.all([uploader, ...Array.from({ length: k.listeners }, (_, n) => listener(n))]);
      await Promise.all(uploads);
      const loadEnd = Date.now();
      clearInterval(sampler);
      sampler = undefined;

      // ---- the recordings due by the end of the load get deleted -----------------------------
      const due = accepted.filter((a) => a.expiresAt <= loadEnd);
      const giveUpAt = Date.now() + 2 * config.sweep.intervalMs + 60_000;
      let logged = new Map<string, number>();
      for (;;) {
        const entries = (await db.knex('deletion_log').select('recording_id')) as Array<{ recording_id: string }>;
        logged = new Map();
        for (const e of entries) logged.set(e.recording_id, (logged.get(e.recording_id) ?? 0) + 1);
        const missing = due.filter((a) => !logged.has(a.id)).length;
        ctx.progress(`after the load: ${due.length - missing}/${due.length} due recordings deleted`);
        if (missing === 0) break;
        if (Date.now() > giveUpAt) {
          violations.push(
            `${missing} recording(s) due by the end of the load not deleted ${Math.round((Date.now() - loadEnd) / 1000)} s later`,
          );
          break;
        }
        await new Promise((r) => setTimeout(r, 1000));
      }

      // ---- stop the instances, then check a quiet system ---------------------------------------
      for (const inst of instances) inst.child.kill('SIGTERM');
      const codes = await Promise.all(instances.map((i) => i.exit));
      codes.forEach((code, i) => {
        if (code !== 0)
          violations.push(
            `${instances[i]!.name} exited ${code} on SIGTERM; last output:\n${instances[i]!.tail.slice(-10).join('\n')}`,
          );
      });

      const log = (await db
        .knex('deletion_log')
        .orderBy('seq', 'asc')
        .select('seq', 'recording_id', 'call_id', 'expires_at', 'deleted_at')) as Array<{
        seq: number;
        recording_id: string;
        call_id: string;
        expires_at: number;
        deleted_at: number;
      }>;
      const rows = (await db.knex('recordings').select('id', 'call_id', 'original_key', 'playback_key')) as Array<{
        id: string;
        call_id: string;
        original_key: string;
        playback_key: string;
      }>;
      const acceptedIds = new Map(accepted.map((a) => [a.id, a]));
      const perCall = new Map<string, number>();
      for (const r of [...rows, ...log]) perCall.set(r.call_id, (perCall.get(r.call_id) ?? 0) + 1);
      const notOnce = accepted.filter((a) => perCall.get(a.callId) !== 1);
      if (notOnce.length)
        violations.push(
          `${notOnce.length} accepted upload(s) not stored exactly once (rows + log entries per call), e.g. ${notOnce[0]!.callId}: ${perCall.get(notOnce[0]!.callId) ?? 0}`,
        );
      const unknownRows = rows.filter((r) => !acceptedIds.has(r.id));
      if (unknownRows.length) violations.push(`${unknownRows.length} recording row(s) of no accepted upload`);
      const loggedTwice = [
        ...log.reduce((m, e) => m.set(e.recording_id, (m.get(e.recording_id) ?? 0) + 1), new Map<string, number>()),
      ].filter(([, n]) => n > 1);
      if (loggedTwice.length) violations.push(`${loggedTwice.length} recording(s) logged more than once`);
      const unknownLogged = log.filter((e) => !acceptedIds.has(e.recording_id));
      if (unknownLogged.length) violations.push(`${unknownLogged.length} log entr(y/ies) of no accepted upload`);
      const dueMissing = due.filter((a) => !log.some((e) => e.recording_id === a.id));
      if (dueMissing.length) violations.push(`${dueMissing.length} due recording(s) not in the deletion log`);
      const early = log.filter((e) => e.deleted_at < e.expires_at);
      if (early.length) violations.push(`${early.length} recording(s) deleted before their deadline`);
      const gaps = log.filter((e, i) => Number(e.seq) !== i + 1);
      if (gaps.length)
        violations.push(`deletion log not gapless: seq ${gaps[0]!.seq} at position ${log.indexOf(gaps[0]!) + 1}`);
      const key = loadCheckpointKey(config.audit.checkpointKeyFile);
      const verdict = await verifyDeletionLog(db, { publicKey: key.publicKey });
      if (!verdict.ok || verdict.count !== log.length)
        violations.push(`the deletion log does not verify: ${JSON.stringify(verdict).slice(0, 300)}`);

      const liveKeys = new Set(rows.flatMap((r) => [r.original_key, r.playback_key]));
      const objects = await storeKeys(store, 'recordings/');
      const orphans = objects.filter((o) => !liveKeys.has(o));
      if (orphans.length)
        violations.push(`${orphans.length} object(s) under recordings/ without a row, e.g. ${orphans[0]}`);
      const missingObjects = [...liveKeys].filter((o) => !objects.includes(o));
      if (missingObjects.length)
        violations.push(`${missingObjects.length} object(s) of stored recordings missing, e.g. ${missingObjects[0]}`);
      const markers = Number(
        ((await db.knex('ingest_inflight').count({ n: '*' }).first()) as { n: number | string }).n,
      );
      if (markers) violations.push(`${markers} upload marker(s) left in ingest_inflight`);
      const tmpRoot = path.join(dataDir, 'tmp');
      const leftFiles = fs.existsSync(tmpRoot)
        ? fs.readdirSync(tmpRoot, { recursive: true, withFileTypes: true }).filter((d) => !d.isDirectory())
        : [];
      if (leftFiles.length) violations.push(`${leftFiles.length} temp file(s) left under ${tmpRoot}`);

      // RSS: the last minute's maximum against the second minute's.
      const rssRows: SpreadRow[] = [];
      const durationMs = loadEnd - loadStart;
      for (const inst of instances) {
        const maxIn = (from: number, to: number) =>
          Math.max(...inst.rss.filter(([t]) => t >= from && t < to).map(([, b]) => b));
        const second = maxIn(60_000, 120_000);
        const last = maxIn(durationMs - 60_000, durationMs + 1);
        const ratio = last / second;
        if (!Number.isFinite(ratio))
          violations.push(`${inst.name}: too few RSS samples (load shorter than 2 minutes?)`);
        else if (ratio > 1.1)
          violations.push(
            `${inst.name}: RSS grew, last minute max ${(last / 2 ** 20).toFixed(0)} MiB > 1.1 × second minute max ${(second / 2 ** 20).toFixed(0)} MiB`,
          );
        // Context for the RSS check: the live heap, i.e. V8's heap used at its lowest in a minute (right after a
        // full collection), and the heap V8 keeps committed; a leak raises the first, garbage awaiting collection
        // only the second and the RSS.
        const lowestHeap = (from: number, to: number) =>
          Math.min(...inst.heap.filter(([t]) => t >= from && t < to).map(([, used]) => used));
        const liveRatio = lowestHeap(durationMs - 60_000, durationMs + 1) / lowestHeap(60_000, 120_000);
        const mib = inst.rss.map(([, b]) => b / 2 ** 20);
        rssRows.push(
          row(`RSS ${inst.name} (MiB over the run)`, 'MiB', mib, {
            note: `second minute max ${(second / 2 ** 20).toFixed(1)}, last minute max ${(last / 2 ** 20).toFixed(1)}: ${ratio.toFixed(3)}×; ${inst.logLines} log lines`,
          }),
          row(`RSS growth ${inst.name} (last minute / second minute, max)`, '×', [ratio], {
            target: '≤ 1.1×',
            met: ratio <= 1.1,
          }),
          row(`live heap growth ${inst.name} (last minute / second minute, lowest heap used)`, '×', [liveRatio], {
            note: `context for the RSS check: heap used at its lowest in each minute (after a full collection); heap committed over the run ${spreadText(inst.heap.map(([, , c]) => c / 2 ** 20))} MiB`,
          }),
        );
      }

      // ---- summary ----------------------------------------------------------------------------
      const lag = log.map((e) => (e.deleted_at - e.expires_at) / 1000).sort((a, b) => a - b);
      uploadMs.sort((a, b) => a - b);
      seekMs.sort((a, b) => a - b);
      const byStatus = [...statuses]
        .sort()
        .map(([s, n]) => `${s}: ${n}`)
        .join(', ');
      const summary = [
        `soak: ${k.instances} instance(s), ${Math.round(durationMs / 1000)} s, uploads at ${k.uploadRate}/s, ${k.listeners} listeners, retention ${k.retention}`,
        `  uploads accepted ${accepted.length} (${retried} retries after 503; given up after 6 × 503: ${gaveUp}; refused as past their deadline after retries: ${elapsedRefusals}), seeks ${seekMs.length} (${resetRetries} resent after a keep-alive reset); statuses: ${byStatus}`,
        `  upload p50 ${percentile(uploadMs, 50)?.toFixed(0)} ms p99 ${percentile(uploadMs, 99)?.toFixed(0)} ms; seek p50 ${percentile(seekMs, 50)?.toFixed(1)} ms p99 ${percentile(seekMs, 99)?.toFixed(1)} ms`,
        `  deleted ${log.length} (${due.length} due by the end of the load), ${rows.length} still stored; deadline → deleted_at p50 ${percentile(lag, 50)?.toFixed(1)} s, max ${lag.at(-1)?.toFixed(1)} s; log verifies: ${verdict.ok}`,
        ...instances.map(
          (inst) =>
            `  ${inst.name}: RSS ${inst.rss.map(([t, b]) => `${Math.round(t / 1000)}s=${Math.round(b / 2 ** 20)}`).join(' ')} MiB\n` +
            `  ${inst.name}: heap used/committed/external ${inst.heap.map(([t, h, c, x]) => `${Math.round(t / 1000)}s=${[h, c, x].map((b) => Math.round(b / 2 ** 20)).join('/')}`).join(' ')} MiB`,
        ),
        violations.length
          ? `  VIOLATIONS (${violations.length}):\n    ${violations.slice(0, 30).join('\n    ')}`
          : '  no violation',
      ];
      process.stderr.write(`\n${summary.join('\n')}\n`);
      if (violations.length)
        throw new Error(`soak: ${violations.length} violation(s): ${violations.slice(0, 5).join('; ')}`);

      const rowsOut: SpreadRow[] = [
        row(`soak upload latency p50 (${k.instances} instances, ${k.uploadRate}/s)`, 'ms', [percentile(uploadMs, 50)]),
        row(`soak upload latency p99 (${k.instances} instances, ${k.uploadRate}/s)`, 'ms', [percentile(uploadMs, 99)]),
        row(`soak seek p50 (${k.listeners} listeners, 64 KiB)`, 'ms', [percentile(seekMs, 50)]),
        row(`soak seek p99 (${k.listeners} listeners, 64 KiB)`, 'ms', [percentile(seekMs, 99)]),
        row('soak deadline → deleted_at', 's', lag, {
          note: `${log.length} deletions, retention ${k.retention}, sweep interval ${config.sweep.intervalMs / 1000} s`,
        }),
        ...rssRows,
      ];
      return rowsOut;
    } finally {
      if (sampler) clearInterval(sampler);
      for (const inst of instances) if (inst.child.exitCode === null) inst.child.kill('SIGKILL');
      await Promise.all(instances.map((i) => i.exit));
      await store.close();
      await db.close();
      await database.drop();
    }
  },
};
