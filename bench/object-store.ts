/**
 * ObjectStore overhead: time to put and to read back a 16 MiB object through each driver,
 * beside the raw operation measured in the same run (fs: writeFile + fsync / createReadStream;
 * s3: one PutObject of the same buffer / GetObject). Runs alternate which goes first; the figure
 * is min / median / max over BENCH_RUNS runs. The machine is shared, so single figures are noisy (±2×).
 * Random data from the seeded PRNG (BENCH_SEED).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { StoreConfig } from '../src/config.js';
import { createFsStore } from '../src/storage/fs-store.js';
import type { ObjectStore } from '../src/storage/object-store.js';
import { createS3Client, createS3Store } from '../src/storage/s3-store.js';
import { setupBucket } from '../src/storage/setup-bucket.js';
import { rowFromRuns, seededRandom } from './spread.js';
import type { Bench, BenchContext, ResultRow } from './types.js';

const SIZE = 16 * 1024 * 1024;

async function timed(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** The body as an upload arrives: 64 KiB chunks. */
function* slices(data: Buffer) {
  for (let offset = 0; offset < data.length; offset += 64 * 1024) yield data.subarray(offset, offset + 64 * 1024);
}
const inChunks = (data: Buffer) => Readable.from(slices(data));

const drain = () =>
  new Writable({
    write(_chunk, _enc, callback) {
      callback();
    },
  });

interface Pair {
  store: number[];
  raw: number[];
  rawName: string;
}

function figure(name: string, pair: Pair, target: number, note: string): ResultRow {
  return rowFromRuns({
    name,
    unit: 'ms',
    samples: pair.store,
    baseline: { name: pair.rawName, samples: pair.raw },
    target: `≤ ${target}×`,
    note,
  });
}

function figures(driver: 'fs' | 's3/MinIO', put: Pair, get: Pair): ResultRow[] {
  return driver === 'fs'
    ? [
        figure(
          'store put 16 MiB in 64 KiB chunks (fs)',
          put,
          2.5,
          'includes sha256 of every byte (the ETag, ~9 ms per 16 MiB here), sidecar, rename, folder fsync',
        ),
        figure('store get 16 MiB (fs)', get, 1.5, 'open + fstat + sidecar read before streaming'),
      ]
    : [
        figure(
          'store put 16 MiB in 64 KiB chunks (s3/MinIO)',
          put,
          2,
          'above 8 MiB the store uploads multipart (bounded memory) and HEADs for the info; the baseline is one PUT of a buffer',
        ),
        figure('store get 16 MiB (s3/MinIO)', get, 1.5, 'same GetObject; differences are noise on a shared machine'),
      ];
}

async function measure(
  ctx: BenchContext,
  driver: string,
  store: ObjectStore,
  raw: { put(key: string, data: Buffer): Promise<void>; get(key: string): Promise<Readable> },
) {
  const data = seededRandom(ctx.seed).bytes(SIZE);
  const RUNS = ctx.runs;
  const putStore: number[] = [];
  const putRaw: number[] = [];
  const getStore: number[] = [];
  const getRaw: number[] = [];
  // Run -1 is the warm-up of both sides (connections, JIT, the folders); it is not counted.
  for (let i = -1; i < RUNS; i++) {
    ctx.progress(i < 0 ? `${driver} warm-up` : `${driver} run ${i + 1}/${RUNS}`, Math.max(0, i) / RUNS);
    const sink = <T>(into: T[]) => (i < 0 ? [] : into);
    const steps = [
      async () =>
        sink(putStore).push(
          await timed(() =>
            store
              .put(`bench/s${i}`, inChunks(data), {
                contentType: 'application/octet-stream',
                contentLength: SIZE,
                tags: { retention: '1d' },
              })
              .then(() => undefined),
          ),
        ),
      async () => sink(putRaw).push(await timed(() => raw.put(`bench/r${i}`, data))),
    ];
    const reads = [
      async () =>
        sink(getStore).push(await timed(async () => pipeline((await store.get(`bench/s${i}`)).body, drain()))),
      async () => sink(getRaw).push(await timed(async () => pipeline(await raw.get(`bench/r${i}`), drain()))),
    ];
    // Alternate which goes first, so neither always meets a cold or a warm cache.
    if (i % 2 !== 0) {
      steps.reverse();
      reads.reverse();
    }
    for (const step of [...steps, ...reads]) await step();
  }
  await store.deleteMany(Array.from({ length: RUNS + 1 }, (_, i) => [`bench/s${i - 1}`, `bench/r${i - 1}`]).flat());
  return { putStore, putRaw, getStore, getRaw };
}

export const objectStoreBench: Bench = {
  name: 'object-store',
  async run(ctx) {
    const out: ResultRow[] = [];

    const root = path.join(ctx.tmpDir, 'objects');
    const fsStore = createFsStore({ root });
    const fsResult = await measure(ctx, 'fs', fsStore, {
      async put(key, data) {
        const file = path.join(root, ...key.split('/'));
        await fsp.mkdir(path.dirname(file), { recursive: true });
        const handle = await fsp.open(file, 'w');
        try {
          await handle.writeFile(data);
          await handle.sync();
        } finally {
          await handle.close();
        }
      },
      async get(key) {
        return fs.createReadStream(path.join(root, ...key.split('/')));
      },
    });
    out.push(
      ...figures(
        'fs',
        { store: fsResult.putStore, raw: fsResult.putRaw, rawName: 'writeFile + fsync' },
        { store: fsResult.getStore, raw: fsResult.getRaw, rawName: 'createReadStream' },
      ),
    );

    const endpoint = ctx.env.CALLREC_TEST_S3_ENDPOINT;
    if (endpoint) {
      const config: Extract<StoreConfig, { kind: 's3' }> = {
        kind: 's3',
        endpoint,
        bucket: `callrec-bench-${Date.now().toString(36)}`,
        region: 'us-east-1',
        accessKeyId: ctx.env.CALLREC_TEST_S3_ACCESS_KEY_ID,
        secretAccessKey: ctx.env.CALLREC_TEST_S3_SECRET_ACCESS_KEY,
        forcePathStyle: true,
        versionedBucket: 'refuse',
      };
      await setupBucket(config, { retentionDays: 1 });
      const client = createS3Client(config);
      const s3Store = createS3Store(config);
      try {
        const s3Result = await measure(ctx, 's3', s3Store, {
          async put(key, data) {
            await client.send(
              new PutObjectCommand({ Bucket: config.bucket, Key: key, Body: data, ContentLength: data.length }),
            );
          },
          async get(key) {
            return (await client.send(new GetObjectCommand({ Bucket: config.bucket, Key: key }))).Body as Readable;
          },
        });
        out.push(
          ...figures(
            's3/MinIO',
            { store: s3Result.putStore, raw: s3Result.putRaw, rawName: 'PutObject of the buffer' },
            { store: s3Result.getStore, raw: s3Result.getRaw, rawName: 'GetObject' },
          ),
        );
      } finally {
        await s3Store.close();
        client.destroy();
      }
    }
    return out;
  },
};
