/**
 * Crash safety of the Twilio import worker: a real worker process (test/crash/twilio-child.ts)
 * is SIGKILLed right after it fetched the media and Call resource, after the recording was
 * stored, and after the copy at Twilio was deleted; a restarted process (crash recovery first,
 * as the service starts) finishes the job. Each recording is then stored exactly once, the copy
 * at the Twilio stand-in is gone, the job is done, and no object without a row, no in-flight
 * marker and no temp file remains; the media is fetched again only when the kill came before the store. On SQLite × fs and PostgreSQL × MinIO.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { StoreConfig } from '../../src/config.js';
import { createDb } from '../../src/db/db.js';
import type { Db } from '../../src/db/db.js';
import { enqueueTwilioJob, getTwilioJob } from '../../src/db/twilio-jobs.js';
import type { TwilioStep } from '../../src/ingest/adapters/twilio-worker.js';
import { createFsStore } from '../../src/storage/fs-store.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { dbBackends, storeBackends, storeKeys, tempDir } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { audioFixtureBytes } from '../support/fixtures.js';
import { tempLeftovers } from '../support/owners.js';
import { startTwilioStandin } from '../support/twilio-standin.js';
import type { TwilioStandin } from '../support/twilio-standin.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'twilio-child.ts');
const STEPS: TwilioStep[] = ['fetched', 'stored', 'sourceDeleted'];

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
  describe(`Twilio import worker crash safety (${combo.name})`, function () {
    this.timeout(180_000);
    let dataDir: string;
    let tdb: TestDb | undefined;
    let tstore: TestStore | undefined;
    let db: Db;
    let store: ObjectStore;
    let standin: TwilioStandin;
    let env: Record<string, string>;

    before(async () => {
      dataDir = tempDir('callrec-twilio-crash-');
      standin = await startTwilioStandin();
      env = {
        CALLREC_DATA_DIR: dataDir,
        CALLREC_PUBLIC_URL: 'https://callrec.example.test',
        CALLREC_TWILIO_ACCOUNT_SID: standin.accountSid,
        CALLREC_TWILIO_AUTH_TOKEN: standin.authToken,
        CALLREC_TWILIO_API_BASE: standin.origin,
      };
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
      await standin?.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    for (const step of STEPS) {
      it(`when the worker process is killed -9 right after the step "${step}", then after a restart the recording is stored once and the copy at Twilio is gone`, async () => {
        const { recordingSid, callSid } = standin.addRecording({ wav: await audioFixtureBytes('ulaw-mono') });
        const recording = standin.recordings.get(recordingSid)!;
        await enqueueTwilioJob(
          db.knex,
          {
            recording_sid: recordingSid,
            account_sid: standin.accountSid,
            call_sid: callSid,
            recording_url: standin.recordingUrl(recordingSid),
            started_at: recording.startTime,
            duration_s: recording.durationS,
            channels: 1,
          },
          Date.now(),
        );

        const killed = await runChild({ ...env, CALLREC_TEST_FAILPOINT: step });
        expect(killed.signal, killed.stderr).to.equal('SIGKILL');
        const restarted = await runChild(env);
        expect(restarted.code, restarted.stderr).to.equal(0);

        expect(
          await db.knex('recordings').where({ source: 'twilio', call_id: recordingSid }),
          'stored once',
        ).to.have.length(1);
        expect(standin.recordings.has(recordingSid), 'the copy at Twilio').to.equal(false);
        // A recording found stored goes straight to the delete: fetched again only when the kill came before the store.
        const mediaGets = standin.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`${recordingSid}.wav`));
        expect(mediaGets, 'media fetches').to.have.length(step === 'fetched' ? 2 : 1);
        expect(await getTwilioJob(db.knex, recordingSid)).to.include({ status: 'done', claimed_by: null });
        const all = (await db.knex('recordings').select('original_key', 'playback_key')) as Array<{
          original_key: string;
          playback_key: string;
        }>;
        expect((await storeKeys(store, 'recordings/')).sort(), 'objects = those of rows').to.deep.equal(
          all.flatMap((r) => [r.original_key, r.playback_key]).sort(),
        );
        expect(await db.knex('ingest_inflight').select('recording_id'), 'in-flight markers').to.deep.equal([]);
        expect(tempLeftovers(path.join(dataDir, 'tmp')), 'temp files').to.deep.equal([]);
      });
    }
  });
}
