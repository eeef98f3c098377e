/**
 * `npm run bench s3-drop`: the import rate from an S3 drop bucket against the signed upload
 * hook's rate on the same files, in the production service (bench/service.ts; fs store, its own
 * SQLite). Per round, `BENCH_DROP_FILES` recordings (a `BENCH_DROP_SECONDS`-second μ-law call
 * each, with a sidecar) are written into a MinIO drop bucket of a `sidecar-json` source with
 * delete-source; the clock starts with the source's event webhook (as MinIO's notification
 * would call it) and stops once the bucket is empty (each object is deleted only after its
 * recording is stored). The hook side uploads the same files, as many at once as the importer
 * works on (twice the transcode concurrency). Rounds alternate which side goes first.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ListObjectsV2Command, PutObjectCommand, S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
import { createDb } from '../src/db/db.js';
import { insertImportSource } from '../src/db/import-sources.js';
import { sha256Hex } from '../src/ingest/adapters/s3-drop.js';
import { audioFixture } from '../test/support/fixtures.js';
import { TEST_SECRET, TEST_SOURCE, signedUpload } from '../test/support/upload.js';
import { startService } from './service.js';
import { intKnob, rowFromRuns } from './spread.js';
import type { Bench, BenchContext, ResultRow } from './types.js';

const SOURCE = 'bench-drop';
const SECRET = 'bench-drop-webhook-secret-0123456789';

async function pool(count: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(count, concurrency) }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

async function dropFigure(ctx: BenchContext): Promise<ResultRow> {
  const endpoint = ctx.env.CALLREC_TEST_S3_ENDPOINT;
  const keyId = ctx.env.CALLREC_TEST_S3_ACCESS_KEY_ID;
  const secretKey = ctx.env.CALLREC_TEST_S3_SECRET_ACCESS_KEY;
  if (!endpoint || !keyId || !secretKey) throw new Error('CALLREC_TEST_S3_* is not set (run through `npm run bench`)');
  const files = intKnob(ctx.env, 'BENCH_DROP_FILES', 8);
  const seconds = intKnob(ctx.env, 'BENCH_DROP_SECONDS', 60);
  const concurrency = intKnob(ctx.env, 'BENCH_DROP_CONCURRENCY', 2);
  const audio = await fs.promises.readFile(await audioFixture('ulaw-mono', { seconds }));
  const bucket = `callrec-bench-drop-${Date.now().toString(36)}`;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: keyId, secretAccessKey: secretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const dataDir = fs.mkdtempSync(path.join(ctx.tmpDir, 'data-drop-'));
  const db = createDb({ client: 'sqlite', filename: path.join(dataDir, 'callrec.sqlite') });
  await db.migrate();
  const now = Date.now();
  await insertImportSource(db.knex, {
    name: SOURCE,
    kind: 's3',
    endpoint,
    region: 'us-east-1',
    force_path_style: true,
    bucket,
    prefix: '',
    layout: 'sidecar-json',
    delete_source: true,
    sidecar_wait_ms: 0,
    secret_sha256: sha256Hex(SECRET),
    list_cursor: null,
    last_pass_at: null,
    last_pass_error: null,
    created_at: now,
    updated_at: now,
  });
  await db.close();
  const service = await startService(
    ctx,
    {
      CALLREC_DATA_DIR: dataDir,
      CALLREC_INGEST_SOURCES: `${TEST_SOURCE}:${TEST_SECRET}`,
      CALLREC_TRANSCODE_CONCURRENCY: String(concurrency),
      CALLREC_STORE: 'fs',
      CALLREC_IMPORT_POLL_INTERVAL: '1h',
      CALLREC_IMPORT_S3_CREDENTIALS: `${endpoint}=${keyId}:${secretKey}`,
    },
    { name: 'drop' },
  );
  const startedAt = () => new Date(Date.now() - 60_000).toISOString();
  const dropRound = async (round: number): Promise<number> => {
    await pool(files, 8, async (i) => {
      const key = `r${round}/call-${i}.wav`;
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: audio }));
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: `${key}.json`,
          Body: JSON.stringify({ callId: `drop-${round}-${i}`, startedAt: startedAt() }),
        }),
      );
    });
    const start = performance.now();
    const res = await fetch(`${service.base}/v1/hooks/s3-events/${SOURCE}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${SECRET}`, 'Content-Type': 'application/json' },
      body: '{}',
    });
    if (res.status !== 204) throw new Error(`the webhook answered ${res.status}`);
    const deadline = Date.now() + 600_000;
    for (;;) {
      const out = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `r${round}/`, MaxKeys: 1 }));
      if ((out.KeyCount ?? 0) === 0) break;
      if (Date.now() > deadline) throw new Error('the drop bucket was not emptied within 10 minutes');
      await new Promise((r) => setTimeout(r, 50));
    }
    return files / ((performance.now() - start) / 1000);
  };
  const hookRound = async (round: number): Promise<number> => {
    const start = performance.now();
    await pool(files, concurrency * 2, async (i) => {
      const res = await signedUpload({
        url: service.base,
        fields: { callId: `hook-${round}-${i}`, startedAt: startedAt() },
        audio,
      });
      if (res.status !== 201) throw new Error(`the hook answered ${res.status}: ${res.text.slice(0, 200)}`);
    });
    return files / ((performance.now() - start) / 1000);
  };
  const dropRates: number[] = [];
  const hookRates: number[] = [];
  try {
    ctx.progress('s3-drop: warm-up');
    await hookRound(-1);
    await dropRound(-1);
    for (let round = 0; round < ctx.runs; round++) {
      const sides = [
        async () => dropRates.push(await dropRound(round)),
        async () => hookRates.push(await hookRound(round)),
      ];
      if (round % 2) sides.reverse();
      for (const side of sides) {
        ctx.progress(`s3-drop: round ${round + 1}/${ctx.runs}`, round / ctx.runs);
        await side();
      }
    }
    const check = createDb({ client: 'sqlite', filename: path.join(dataDir, 'callrec.sqlite') });
    try {
      const notImported = (await check.knex('s3_imports').whereNot({ status: 'imported' }).count({ n: '*' }))[0] as {
        n: number | string;
      };
      if (Number(notImported.n) !== 0) throw new Error(`${String(notImported.n)} drop imports did not finish`);
    } finally {
      await check.close();
    }
  } finally {
    await service.stop();
    client.destroy();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  return rowFromRuns({
    name: `import rate from an S3 drop bucket (${files} × ${seconds}-s calls, fs store, c=${concurrency})`,
    unit: 'recordings/s',
    samples: dropRates,
    baseline: { name: `signed upload hook, same files, ${concurrency * 2} clients`, samples: hookRates },
    target: '≥ 0.8×',
    note: `one sample per round of ${files} recordings (webhook → bucket empty); ratio is drop ÷ hook (medians); service: ${service.entry}; drop bucket on MinIO`,
  });
}

export const s3DropBench: Bench = {
  name: 's3-drop',
  async run(ctx) {
    return [await dropFigure(ctx)];
  },
};
