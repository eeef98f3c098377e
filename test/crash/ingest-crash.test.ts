/**
 * Crash safety of ingest: the real service (src/main.ts) receives a generated ~50 MB call and is
 * SIGKILLed at a random point of the upload (seeded), 30 times; after each restart (crash
 * recovery runs before the service listens) no ingest temp file, no partial object (fs `.tmp`,
 * S3 multipart upload), no orphan object and no in-flight marker remains, every object belongs
 * to a row that has all its objects, and every 201 the client saw is stored. On SQLite × fs and
 * PostgreSQL × MinIO.
 *
 * Kill points are drawn uniformly from 0 to 1.1 × the duration of an uncut upload measured
 * first, so that they fall in every phase (receiving, transcoding, storing, committing,
 * answering). The random draws are seeded: a failing iteration names its seed and delay.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import type { StoreConfig } from '../../src/config.js';
import { createDb } from '../../src/db/db.js';
import type { Db } from '../../src/db/db.js';
import { FS_STORE_TMP_DIR, createFsStore } from '../../src/storage/fs-store.js';
import { recordingIdOfKey } from '../../src/storage/keys.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { createS3Client } from '../../src/storage/s3-store.js';
import { dbBackends, storeBackends, storeKeys, tempDir } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { largeCallFixture } from '../support/fixtures.js';
import { startService } from '../support/main-process.js';
import type { ServiceProcess } from '../support/main-process.js';
import { tempLeftovers, tempOwners } from '../support/owners.js';
import { TEST_SECRET, TEST_SOURCE, multipartParts, signBody } from '../support/upload.js';

const KILLS = 30;
const SEEDS = { 'sqlite+fs': 20261130, 'postgres+minio': 20261131 } as const;

/** A small deterministic generator, so a failing iteration can be replayed from its seed. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

type Outcome = { status: number; body: { id?: string } | undefined } | { error: string };

/**
 * Signs an upload of `file` (one pass over it), and returns `send`, which streams it and settles
 * with the answer, or with the error when the connection breaks (the service was killed).
 */
async function prepareUpload(file: string, callId: string): Promise<(url: string) => Promise<Outcome>> {
  const parts = multipartParts({ fields: { callId, startedAt: new Date(Date.now() - 60_000).toISOString() } });
  const hash = createHash('sha256').update(parts.head);
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  const bodySha256 = hash.update(parts.tail).digest('hex');
  const timestamp = Math.floor(Date.now() / 1000);
  const size = parts.head.length + fs.statSync(file).size + parts.tail.length;
  return (url) =>
    new Promise<Outcome>((resolve) => {
      const req = http.request(new URL('/v1/recordings', url), {
        method: 'POST',
        headers: {
          'content-type': parts.contentType,
          'content-length': String(size),
          'x-callrec-source': TEST_SOURCE,
          'x-callrec-timestamp': String(timestamp),
          'x-callrec-signature': signBody({ secret: TEST_SECRET, timestamp, bodySha256 }),
        },
      });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as { id?: string }) : undefined }),
        );
        res.on('error', (error) => resolve({ error: error.message }));
      });
      req.on('error', (error) => resolve({ error: error.message }));
      req.write(parts.head);
      const audio = fs.createReadStream(file);
      audio.on('error', (error) => req.destroy(error));
      req.on('close', () => audio.destroy());
      audio.pipe(req, { end: false });
      audio.on('end', () => req.end(parts.tail));
    });
}

const COMBOS = [
  { name: 'sqlite+fs' as const, db: undefined, store: undefined },
  {
    name: 'postgres+minio' as const,
    db: dbBackends.find((b) => b.name === 'postgres')!,
    store: storeBackends.find((b) => b.name === 'minio')!,
  },
];

for (const combo of COMBOS) {
  describe(`crash safety of ingest (${combo.name})`, function () {
    this.timeout(900_000);
    let dataDir: string;
    let tdb: TestDb | undefined;
    let tstore: TestStore | undefined;
    let db: Db;
    let store: ObjectStore;
    let env: Record<string, string>;

    before(async () => {
      dataDir = tempDir('callrec-ingest-crash-');
      env = { CALLREC_DATA_DIR: dataDir, CALLREC_INGEST_SOURCES: `${TEST_SOURCE}:${TEST_SECRET}` };
      if (combo.db && combo.store) {
        tdb = await combo.db.create();
        tstore = await combo.store.create();
        const s3 = tstore.config as Extract<StoreConfig, { kind: 's3' }>;
        Object.assign(env, {
          CALLREC_DB_URL: (tdb.config as { url: string }).url,
          CALLREC_STORE: 's3',
          CALLREC_S3_ENDPOINT: s3.endpoint!,
          CALLREC_S3_BUCKET: s3.bucket,
          CALLREC_S3_REGION: s3.region,
          CALLREC_S3_ACCESS_KEY_ID: s3.accessKeyId!,
          CALLREC_S3_SECRET_ACCESS_KEY: s3.secretAccessKey!,
          CALLREC_S3_FORCE_PATH_STYLE: 'true',
        });
        db = tdb.db;
        store = tstore.store;
      } else {
        db = createDb({ client: 'sqlite', filename: path.join(dataDir, 'callrec.sqlite') });
        await db.migrate();
        // Only read (list, exists): a store that never writes claims no temp folder.
        store = createFsStore({ root: path.join(dataDir, 'objects') });
      }
    });
    after(async () => {
      if (tdb) await tdb.dispose();
      else await db?.close();
      await tstore?.dispose();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    async function multipartUploads(): Promise<string[]> {
      if (!tstore) return [];
      const client = createS3Client(tstore.config as Extract<StoreConfig, { kind: 's3' }>);
      try {
        const out = await client.send(
          new ListMultipartUploadsCommand({ Bucket: (tstore.config as { bucket: string }).bucket }),
        );
        return (out.Uploads ?? []).map((u) => u.Key!);
      } finally {
        client.destroy();
      }
    }

    /** What a restarted service (pid `livePid`, idle) must have left: nothing but stored recordings. */
    async function assertClean(label: string, livePid: number, created: readonly string[]): Promise<void> {
      const tmp = path.join(dataDir, 'tmp');
      expect(tempLeftovers(tmp), `${label}: ingest temp files`).to.deep.equal([]);
      expect(
        tempOwners(tmp).filter((o) => o.pid !== livePid),
        `${label}: temp folders of dead processes`,
      ).to.deep.equal([]);
      if (!tstore) {
        const storeTmp = path.join(dataDir, 'objects', FS_STORE_TMP_DIR);
        // The live service may be creating its own folder right now (mkdir, then its owner file): not a leftover.
        const ownFolder = (rel: string) => rel === `${path.basename(rel)}/` && rel.startsWith(`${livePid}-`);
        expect(
          tempLeftovers(storeTmp).filter((rel) => !ownFolder(rel)),
          `${label}: partial objects`,
        ).to.deep.equal([]);
        expect(
          tempOwners(storeTmp).filter((o) => o.pid !== livePid),
          `${label}: store temp folders of dead processes`,
        ).to.deep.equal([]);
      }
      expect(await multipartUploads(), `${label}: incomplete multipart uploads`).to.deep.equal([]);
      expect(
        await db.knex('ingest_inflight').select('recording_id', 'owner'),
        `${label}: in-flight markers`,
      ).to.deep.equal([]);

      const rows = (await db.knex('recordings').select('id', 'original_key', 'playback_key')) as Array<{
        id: string;
        original_key: string;
        playback_key: string;
      }>;
      const rowKeys = new Set(rows.flatMap((r) => [r.original_key, r.playback_key]));
      const keys = await storeKeys(store, 'recordings/');
      expect(
        keys.filter((k) => !rowKeys.has(k)),
        `${label}: orphan objects`,
      ).to.deep.equal([]);
      expect(
        [...rowKeys].filter((k) => !keys.includes(k)),
        `${label}: rows missing objects`,
      ).to.deep.equal([]);
      const ids = new Set(rows.map((r) => r.id));
      expect(
        created.filter((id) => !ids.has(id)),
        `${label}: 201s not stored`,
      ).to.deep.equal([]);
      expect(
        keys.every((k) => ids.has(recordingIdOfKey(k) ?? '')),
        `${label}: every object under a row's id`,
      ).to.equal(true);
    }

    it(`when the service is SIGKILLed at ${KILLS} random points of uploads of a 50 MB call, then after each restart nothing but stored recordings remains, and every 201 is stored`, async () => {
      const file = await largeCallFixture({ megabytes: 50 });
      const seed = SEEDS[combo.name];
      const random = lcg(seed);
      const created: string[] = [];
      let service: ServiceProcess = startService(env);
      try {
        let url = await service.url();

        // An uncut upload first: it must be stored, and its duration scales the kill points.
        const first = await prepareUpload(file, `crash-${seed}-warmup`);
        const startedAt = performance.now();
        const warmup = await first(url);
        const fullMs = performance.now() - startedAt;
        expect(warmup, JSON.stringify(warmup)).to.include({ status: 201 });
        created.push((warmup as { body: { id: string } }).body.id);

        const kills: string[] = [];
        for (let i = 0; i < KILLS; i++) {
          const delayMs = Math.floor(random() * fullMs * 1.1);
          const label = `seed ${seed} iteration ${i} (kill after ${delayMs} ms of ~${Math.round(fullMs)} ms)`;
          const send = await prepareUpload(file, `crash-${seed}-${i}`);
          const outcome = send(url);
          await new Promise((resolve) => setTimeout(resolve, delayMs));
          service.child.kill('SIGKILL');
          expect((await service.exit).signal, label).to.equal('SIGKILL');
          const seen = await outcome;
          if ('status' in seen && seen.status === 201) created.push(seen.body!.id!);
          kills.push('status' in seen ? String(seen.status) : 'cut');

          service = startService(env);
          url = await service.url();
          await assertClean(label, service.child.pid!, created);
        }
        // The kills fell both before and after answers.
        expect(kills.filter((k) => k === 'cut').length, kills.join(',')).to.be.above(0);

        service.child.kill('SIGTERM');
        expect(await service.exit).to.deep.equal({ code: 0, signal: null });
        expect(tempOwners(path.join(dataDir, 'tmp')), 'the process folder after a clean stop').to.deep.equal([]);
      } finally {
        await service.kill();
      }
    });
  });
}
