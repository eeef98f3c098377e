/**
 * Encryption at rest (issue #14): what the encrypting store costs, in one run.
 *
 * - Decrypt throughput of the format (src/storage/encrypted-format.ts): BENCH_ENC_MIB MiB of
 *   distinct sealed 64 KiB segments (as a long read meets them, not one cache-hot buffer)
 *   opened (authenticated and decrypted) on one core, in GB/s, beside
 *   `openssl speed -evp aes-256-gcm -bytes 65536` measured in the same run (one core too; it
 *   encrypts one 64 KiB buffer in place, `-decrypt` is in the note). Beside it, bare node:crypto
 *   calls (createDecipheriv, setAAD, setAuthTag, update, final) over the very same segments, in
 *   turn with the format: the floor the format is built on, so format ÷ bare is its overhead.
 *   Node's cipher API writes every update into a new buffer (no in-place call as openssl's), so
 *   the gap to openssl is Node's, not the format's.
 * - Ranged 64 KiB reads through the API (production service, its own process, encryption on):
 *   BENCH_ENC_READS seeded random ranges per run of a 16 MiB encrypted rendition and, in turn,
 *   of the same bytes stored in plaintext (a recording without a data key, as before
 *   encryption), p50 and p99 of each; fs and MinIO. The plaintext reads go through the same
 *   decorator (one key lookup and a header probe to refuse a shredded object), so the ratio is
 *   the cost of decryption, not of the whole feature against a build without it.
 * - Store puts of a 16 MiB body (the ingest's write) through the encrypting store vs the driver
 *   alone, in this process; fs and MinIO. Every put makes and wraps a data key, as ingest does.
 *   Context for the next figure, whose target it is not: a bare put has nothing else to hide
 *   the cipher behind.
 * - Ingest with encryption vs without (the figure, target ≤ 1.05×): the same generated
 *   call (BENCH_ENC_INGEST_SECONDS of 8 kHz μ-law, 300 by default, as bench/ingest.ts) uploaded
 *   through the real upload hook of two production services (bench/service.ts), one with
 *   CALLREC_ENCRYPTION=on (the default) and one with CALLREC_ENCRYPTION=off (a documented
 *   production setting: new recordings stored in plaintext), each with its own data folder
 *   (database, keyring) and store (folder or bucket); the whole ingest (signature, validation,
 *   transcode, both puts, rows) per call, in turn between the two, BENCH_ENC_INGEST_CALLS calls
 *   per run (5); the median per run, min / median / max over runs; fs and MinIO.
 *
 * Nothing is cached or skipped to look faster: every read unwraps its recording's key anew.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createDecipheriv, randomBytes } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import { loadConfig } from '../src/config.js';
import { createDb } from '../src/db/db.js';
import { encryptingStore } from '../src/keys/data-keys.js';
import { createObjectStore } from '../src/storage/create-store.js';
import {
  DEFAULT_SEGMENT_SIZE,
  TAG_SIZE,
  newHeader,
  openSegment,
  sealSegment,
  segmentContext,
} from '../src/storage/encrypted-format.js';
import type { SegmentContext } from '../src/storage/encrypted-format.js';
import { recordingKey } from '../src/storage/keys.js';
import { setupBucket } from '../src/storage/setup-bucket.js';
import { createStoredRecording } from '../test/support/recordings.js';
import { audioFixture } from '../test/support/fixtures.js';
import { TEST_SECRET, TEST_SOURCE, signedUpload } from '../test/support/upload.js';
import { createTestUser } from '../test/support/users.js';
import { httpGet } from './http-client.js';
import type { ServiceProcess } from './service.js';
import { startService } from './service.js';
import { intKnob, listKnob, percentile, rowFromRuns, seededRandom } from './spread.js';
import type { Bench, BenchContext, ResultRow } from './types.js';

const RANGE_BYTES = 64 * 1024;
const RENDITION_MIB = 16;
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

/** GB/s of `openssl speed -evp aes-256-gcm` (with `-decrypt`: decryption) on 64 KiB blocks (one process, one core). */
function opensslGcmGBps(options: { decrypt?: boolean } = {}): number {
  const args = [...(options.decrypt ? ['-decrypt'] : []), '-evp', 'aes-256-gcm', '-bytes', '65536', '-seconds', '1'];
  const out = execFileSync('openssl', ['speed', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const line = out.split('\n').find((l) => /^aes-256-gcm\s/i.test(l));
  const k = line ? Number(/([\d.]+)k\s*$/.exec(line)?.[1]) : NaN;
  if (!Number.isFinite(k)) throw new Error('openssl speed printed no aes-256-gcm figure');
  return (k * 1000) / 1e9;
}

/** `mib` MiB of distinct sealed 64 KiB segments (one plaintext, a nonce per index) and their context. */
function sealedSegments(mib: number): { ctx: SegmentContext; sealed: Buffer[] } {
  const header = newHeader({ kekId: 'kbench' });
  const ctx = segmentContext(randomBytes(32), header, { recordingId: 'BENCH', role: 'playback' });
  const n = (mib * 1024 * 1024) / DEFAULT_SEGMENT_SIZE;
  const plain = randomBytes(DEFAULT_SEGMENT_SIZE);
  return { ctx, sealed: Array.from({ length: n }, (_, i) => sealSegment(ctx, i, i === n - 1, plain)) };
}

/** GB/s of opening (authenticating and decrypting) the segments with the format's openSegment. */
function formatDecryptGBps({ ctx, sealed }: ReturnType<typeof sealedSegments>): number {
  const n = sealed.length;
  const start = performance.now();
  let bytes = 0;
  for (let i = 0; i < n; i++) bytes += openSegment(ctx, i, i === n - 1, sealed[i]!).length;
  return bytes / 1e9 / ((performance.now() - start) / 1000);
}

/** GB/s of the bare node:crypto calls that open the same segments (no format: no checks, a nonce per call). */
function nodeGcmGBps({ ctx, sealed }: ReturnType<typeof sealedSegments>): number {
  const n = sealed.length;
  const nonces = sealed.map((_, i) => {
    const nonce = Buffer.alloc(12);
    ctx.header.noncePrefix.copy(nonce, 0);
    nonce.writeUInt32BE(i, 7);
    nonce[11] = i === n - 1 ? 1 : 0;
    return nonce;
  });
  const start = performance.now();
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const segment = sealed[i]!;
    const decipher = createDecipheriv('aes-256-gcm', ctx.key, nonces[i]!);
    decipher.setAAD(ctx.aad);
    decipher.setAuthTag(segment.subarray(segment.length - TAG_SIZE));
    bytes += decipher.update(segment.subarray(0, segment.length - TAG_SIZE)).length;
    decipher.final();
  }
  return bytes / 1e9 / ((performance.now() - start) / 1000);
}

async function throughputRows(ctx: BenchContext): Promise<ResultRow[]> {
  const mib = intKnob(ctx.env, 'BENCH_ENC_MIB', 256);
  const format: number[] = [];
  const openssl: number[] = [];
  const opensslDecrypt: number[] = [];
  const node: number[] = [];
  const segments = sealedSegments(mib);
  for (let run = 0; run < ctx.runs; run++) {
    ctx.progress(`encryption: decrypt throughput, run ${run + 1}/${ctx.runs}`, run / ctx.runs);
    // Which goes first alternates, so neither always meets the other's garbage.
    if (run % 2) node.push(nodeGcmGBps(segments));
    format.push(formatDecryptGBps(segments));
    if (run % 2 === 0) node.push(nodeGcmGBps(segments));
    openssl.push(opensslGcmGBps());
    opensslDecrypt.push(opensslGcmGBps({ decrypt: true }));
  }
  const median = (xs: number[]) => percentile(sorted(xs), 50);
  return [
    rowFromRuns({
      name: 'format decrypt throughput (64 KiB segments, 1 core)',
      unit: 'GB/s',
      samples: format,
      baseline: { name: 'openssl speed -evp aes-256-gcm (64 KiB)', samples: openssl },
      target: '≥ 1',
      note:
        `${mib} MiB of distinct segments per run; ratio is format ÷ openssl; openssl speed -decrypt: ` +
        `${median(opensslDecrypt).toFixed(2)} GB/s (median); format ÷ bare node:crypto on the same segments: ` +
        `${(median(format) / median(node)).toFixed(3)}`,
    }),
    rowFromRuns({
      name: 'node:crypto AES-256-GCM decrypt of the same segments, no format (1 core)',
      unit: 'GB/s',
      samples: node,
      baseline: { name: 'openssl speed -evp aes-256-gcm (64 KiB)', samples: openssl },
      note:
        "what the format is built on, in turn with it: the gap to openssl is Node's cipher objects (a new " +
        'output buffer per update, a new cipher per segment), not the format',
    }),
  ];
}

/** A side of the ingest figure: a production service with encryption on or off. */
interface IngestSide {
  encryption: 'on' | 'off';
  service: ServiceProcess;
  walls: number[];
}

/**
 * Ingest per call with encryption on vs off: two services over their own data folder and store,
 * the same call uploaded to each in turn (which goes first alternates).
 */
async function ingestRows(
  ctx: BenchContext,
  options: { name: string; storeEnv: (side: string) => Promise<Record<string, string>>; call: string },
): Promise<ResultRow[]> {
  const calls = intKnob(ctx.env, 'BENCH_ENC_INGEST_CALLS', 5);
  const audio = await fs.promises.readFile(options.call);
  const sides: IngestSide[] = [];
  try {
    for (const encryption of ['on', 'off'] as const) {
      const env = {
        CALLREC_DATA_DIR: path.join(ctx.tmpDir, `encryption-ingest-${options.name}-${encryption}`),
        CALLREC_INGEST_SOURCES: `${TEST_SOURCE}:${TEST_SECRET}`,
        CALLREC_ENCRYPTION: encryption,
        ...(await options.storeEnv(`ingest-${encryption}`)),
      };
      const service = await startService(ctx, env, { name: `encryption-ingest-${options.name}-${encryption}` });
      sides.push({ encryption, service, walls: [] });
    }
    let n = 0;
    const ingest = async (side: IngestSide) => {
      const start = performance.now();
      const res = await signedUpload({
        url: side.service.base,
        fields: {
          callId: `bench-enc-${side.encryption}-${n++}`,
          startedAt: new Date(Date.now() - 60_000).toISOString(),
        },
        audio,
      });
      if (res.status !== 201) throw new Error(`ingest answered ${res.status}: ${res.text.slice(0, 200)}`);
      return performance.now() - start;
    };
    for (const side of sides) await ingest(side); // warm-up: the first call of each service
    const medians = { on: [] as number[], off: [] as number[] };
    for (let run = 0; run < ctx.runs; run++) {
      ctx.progress(`encryption ${options.name}: ingest on vs off, run ${run + 1}/${ctx.runs}`);
      const walls = { on: [] as number[], off: [] as number[] };
      for (let i = 0; i < calls; i++) {
        const order = (run * calls + i) % 2 ? [...sides].reverse() : sides;
        for (const side of order) walls[side.encryption].push(await ingest(side));
      }
      medians.on.push(percentile(sorted(walls.on), 50));
      medians.off.push(percentile(sorted(walls.off), 50));
    }
    return [
      rowFromRuns({
        name: `ingest per call, encrypted (${options.name})`,
        unit: 'ms',
        samples: medians.on,
        baseline: { name: 'the same service with CALLREC_ENCRYPTION=off', samples: medians.off },
        target: '≤ 1.05×',
        note:
          `median of ${calls} calls per run, in turn with the other service; a ${path.basename(options.call)} ` +
          `(${(audio.length / 1e6).toFixed(1)} MB) through the upload hook: validation, transcode, original and ` +
          `rendition, rows; service: ${sides[0]!.service.entry}`,
      }),
    ];
  } finally {
    for (const side of sides) await side.service.stop();
  }
}

async function runTarget(ctx: BenchContext, name: string, storeEnv: Record<string, string>): Promise<ResultRow[]> {
  const reads = intKnob(ctx.env, 'BENCH_ENC_READS', 300);
  const puts = intKnob(ctx.env, 'BENCH_ENC_PUTS', 5);
  const env = { CALLREC_DATA_DIR: path.join(ctx.tmpDir, `encryption-${name}`), ...storeEnv };
  const config = loadConfig(env);
  const db = createDb(config.db);
  await db.migrate();
  const raw = await createObjectStore(config.store);
  const store = await encryptingStore({ config, db, store: raw });
  const random = seededRandom(ctx.seed);
  const rows: ResultRow[] = [];
  let service: ServiceProcess | undefined;
  try {
    // Store puts of a 16 MiB body: encrypting store vs the driver, in turn.
    const body = random.bytes(RENDITION_MIB * 1024 * 1024);
    const putMs = { enc: [] as number[], raw: [] as number[] };
    for (let run = 0; run < ctx.runs; run++) {
      ctx.progress(`encryption ${name}: puts, run ${run + 1}/${ctx.runs}`, run / ctx.runs / 2);
      const sample = { enc: [] as number[], raw: [] as number[] };
      for (let i = 0; i < puts; i++) {
        for (const which of ['enc', 'raw'] as const) {
          const id = `BENCH${which.toUpperCase()}${run}X${i}`;
          const key = recordingKey({ id, startedAt: new Date(), name: 'playback', ext: 'opus' });
          const target = which === 'enc' ? store : raw;
          const start = performance.now();
          await target.put(key, Readable.from([body]), {
            contentType: 'audio/ogg',
            contentLength: body.length,
            tags: { retention: '30d' },
          });
          sample[which].push(performance.now() - start);
          await raw.delete(key);
        }
      }
      putMs.enc.push(percentile(sorted(sample.enc), 50));
      putMs.raw.push(percentile(sorted(sample.raw), 50));
    }
    rows.push(
      rowFromRuns({
        name: `store put of ${RENDITION_MIB} MiB, encrypted (${name})`,
        unit: 'ms',
        samples: putMs.enc,
        baseline: { name: 'the driver alone', samples: putMs.raw },
        note:
          `context, no target: median of ${puts} puts per run; the ingest's write alone (every byte sealed), ` +
          `not the whole ingest, which is the issue's figure (ingest per call, below)`,
      }),
    );

    // Ranged reads through the API: an encrypted rendition and the same bytes in plaintext.
    const startedAt = Date.now() - 3_600_000;
    const encrypted = await createStoredRecording({
      db,
      store,
      overrides: { playbackBody: body, started_at: startedAt },
    });
    const plaintext = await createStoredRecording({
      db,
      store: raw,
      overrides: { playbackBody: body, started_at: startedAt },
    });
    const token = (await createTestUser(db, { role: 'trainer' })).token;
    await db.close();
    service = await startService(ctx, env, { name: `encryption-${name}` });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const headers = (start: number) => ({
      authorization: `Bearer ${token}`,
      range: `bytes=${start}-${start + RANGE_BYTES - 1}`,
    });
    const urlOf = (id: string) => `${service!.base}/v1/recordings/${id}/audio`;
    const read = async (id: string, start: number) => {
      const t = performance.now();
      const res = await httpGet(agent, urlOf(id), headers(start));
      if (res.status !== 206 || res.bytes !== RANGE_BYTES) throw new Error(`ranged read answered ${res.status}`);
      return performance.now() - t;
    };
    for (let i = 0; i < 50; i++) {
      await read(encrypted.row.id, 0);
      await read(plaintext.row.id, 0);
    }
    const p = { enc50: [] as number[], enc99: [] as number[], raw50: [] as number[], raw99: [] as number[] };
    for (let run = 0; run < ctx.runs; run++) {
      ctx.progress(`encryption ${name}: API reads, run ${run + 1}/${ctx.runs}`, 0.5 + run / ctx.runs / 2);
      const enc: number[] = [];
      const plain: number[] = [];
      for (let i = 0; i < reads; i++) {
        const start = Math.floor(random.next() * (body.length - RANGE_BYTES));
        // Alternate which goes first, so neither always follows the other.
        if (i % 2 === 0) {
          enc.push(await read(encrypted.row.id, start));
          plain.push(await read(plaintext.row.id, start));
        } else {
          plain.push(await read(plaintext.row.id, start));
          enc.push(await read(encrypted.row.id, start));
        }
      }
      p.enc50.push(percentile(sorted(enc), 50));
      p.enc99.push(percentile(sorted(enc), 99));
      p.raw50.push(percentile(sorted(plain), 50));
      p.raw99.push(percentile(sorted(plain), 99));
    }
    agent.destroy();
    for (const q of [50, 99] as const) {
      rows.push(
        rowFromRuns({
          name: `API ranged 64 KiB read p${q}, encrypted (${name})`,
          unit: 'ms',
          samples: q === 50 ? p.enc50 : p.enc99,
          baseline: { name: 'the same bytes stored in plaintext', samples: q === 50 ? p.raw50 : p.raw99 },
          target: '≤ 1.10×',
          note: `${reads} seeded random ranges per run, in turn with the plaintext read`,
        }),
      );
    }
    return rows;
  } finally {
    await service?.stop();
    await store.close();
    await db.close().catch(() => undefined);
  }
}

/** The store settings of a target; each `side` its own bucket on MinIO (set up, as a deployment does). */
async function storeEnvOf(ctx: BenchContext, target: 'fs' | 'minio', side: string): Promise<Record<string, string>> {
  if (target === 'fs') return {};
  const env = {
    CALLREC_STORE: 's3',
    CALLREC_S3_ENDPOINT: ctx.env.CALLREC_TEST_S3_ENDPOINT ?? '',
    CALLREC_S3_BUCKET: `callrec-bench-enc-${side}-${Date.now().toString(36)}`,
    CALLREC_S3_ACCESS_KEY_ID: ctx.env.CALLREC_TEST_S3_ACCESS_KEY_ID ?? '',
    CALLREC_S3_SECRET_ACCESS_KEY: ctx.env.CALLREC_TEST_S3_SECRET_ACCESS_KEY ?? '',
  };
  const config = loadConfig(env);
  if (config.store.kind === 's3') await setupBucket(config.store, { retentionDays: 30 });
  return env;
}

export const encryptionBench: Bench = {
  name: 'encryption',
  async run(ctx) {
    const targets = listKnob(ctx.env, 'BENCH_ENC_STORES', ['fs', 'minio'] as const);
    const seconds = intKnob(ctx.env, 'BENCH_ENC_INGEST_SECONDS', 300);
    const rows = await throughputRows(ctx);
    ctx.progress(`encryption: generating a ${seconds}-second μ-law call`);
    const call = await audioFixture('ulaw-mono', { seconds });
    for (const target of targets) {
      rows.push(...(await runTarget(ctx, target, await storeEnvOf(ctx, target, 'reads'))));
      rows.push(...(await ingestRows(ctx, { name: target, storeEnv: (side) => storeEnvOf(ctx, target, side), call })));
    }
    return rows;
  },
};
