/**
 * Crash safety of S3 drop buckets: a real importer (test/crash/s3-drop-child.ts) is SIGKILLed
 * right after it fetched a recording, after the recording was stored, and after the source
 * objects were deleted; a restarted importer (crash recovery first, as the service starts)
 * finishes the job. Each recording is then stored exactly once, its audio and sidecar are gone
 * from the drop bucket, the import says `imported`, and no object without a row, no in-flight
 * marker and no temp file remains. On SQLite × fs and PostgreSQL × MinIO (the drop bucket on MinIO).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { StoreConfig } from '../../src/config.js';
import { createDb } from '../../src/db/db.js';
import type { Db } from '../../src/db/db.js';
import type { DropStep } from '../../src/ingest/adapters/s3-drop.js';
import { createFsStore } from '../../src/storage/fs-store.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { dbBackends, storeBackends, storeKeys, tempDir } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { addDropSourceRow, createDropBucket, dropSourceRow } from '../support/drop-bucket.js';
import type { DropBucketFixture } from '../support/drop-bucket.js';
import { audioFixtureBytes } from '../support/fixtures.js';
import { tempLeftovers } from '../support/owners.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 's3-drop-child.ts');
const STEPS: DropStep[] = ['fetched', 'stored', 'sourceDeleted'];

function runChild(
  env: Record<string, string>,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('CALLREC_')) base[k] = v;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--no-warnings', CHILD], {
      env: { ...base, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const COMBOS = [
  { name: 'sqlite+fs', db: undefined, store: undefined },
  {
    name: 'postgres+minio',
    db: dbBackends.find((b) => b.name === 'postgres')!,
    store: storeBackends.find((b) => b.name === 'minio')!,
  },
];

for (const combo of COMBOS) {
  describe(`S3 drop bucket crash safety (${combo.name})`, function () {
    this.timeout(180_000);
    let dataDir: string;
    let tdb: TestDb | undefined;
    let tstore: TestStore | undefined;
    let bucket: DropBucketFixture;
    let db: Db;
    let store: ObjectStore;
    let env: Record<string, string>;

    before(async () => {
      dataDir = tempDir('callrec-drop-crash-');
      bucket = await createDropBucket();
      env = { CALLREC_DATA_DIR: dataDir, CALLREC_IMPORT_S3_CREDENTIALS: bucket.credentialsEnv };
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
        store = createFsStore({ root: path.join(dataDir, 'objects') });
      }
    });
    after(async () => {
      if (tdb) await tdb.dispose();
      else await db?.close();
      await tstore?.dispose();
      await bucket?.dispose();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    for (const step of STEPS) {
      it(`when the importer is killed -9 right after the step "${step}", then after a restart the recording is stored once and its source objects are gone`, async () => {
        const source = await addDropSourceRow(db, dropSourceRow(bucket, { prefix: `${step}/` }));
        const callId = `crash-${step}-${Date.now()}`;
        const key = `${step}/${callId}.wav`;
        await bucket.put(key, await audioFixtureBytes('ulaw-mono'));
        await bucket.put(
          `${key}.json`,
          JSON.stringify({ callId, startedAt: new Date(Date.now() - 60_000).toISOString() }),
        );
        const childEnv = { ...env, CALLREC_TEST_DROP_SOURCE: source.name };

        const killed = await runChild({ ...childEnv, CALLREC_TEST_FAILPOINT: step });
        expect(killed.signal, killed.stderr).to.equal('SIGKILL');
        const restarted = await runChild(childEnv);
        expect(restarted.code, restarted.stderr).to.equal(0);

        expect(await db.knex('recordings').where({ call_id: callId }).select('id'), 'stored once').to.have.length(1);
        const all = (await db.knex('recordings').select('original_key', 'playback_key')) as Array<{
          original_key: string;
          playback_key: string;
        }>;
        expect((await storeKeys(store, 'recordings/')).sort(), 'objects = those of rows').to.deep.equal(
          all.flatMap((r) => [r.original_key, r.playback_key]).sort(),
        );
        expect(await db.knex('ingest_inflight').select('recording_id'), 'in-flight markers').to.deep.equal([]);
        expect(await bucket.keys(`${step}/`), 'left in the drop bucket').to.deep.equal([]);
        const imports = (await db
          .knex('s3_imports')
          .where({ source: source.name })
          .select('status', 'claimed_by')) as Array<{
          status: string;
          claimed_by: string | null;
        }>;
        expect(imports).to.deep.equal([{ status: 'imported', claimed_by: null }]);
        expect(tempLeftovers(path.join(dataDir, 'tmp')), 'temp files').to.deep.equal([]);
      });
    }
  });
}
