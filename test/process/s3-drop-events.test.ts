/**
 * The S3 event webhook of a drop-bucket source, driven by MinIO's own bucket notifications: a
 * MinIO started for this test with a webhook target pointing at the service on 127.0.0.1
 * (MINIO_NOTIFY_WEBHOOK_*_<ID>, the source secret as its auth token) and the bucket's
 * notification configuration naming `arn:minio:sqs::<ID>:webhook`. Writing a recording and its
 * sidecar into the bucket imports it at once (no poller runs in this app), and deletes it at the
 * source. A wrong secret and an unknown source get the same 401, logged without the secret.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
  CreateBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { createFsStore } from '../../src/storage/fs-store.js';
import { listDropImports } from '../../src/ingest/drop-sources.js';
import { startTestApp, testConfig } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { dbBackends, tempDir } from '../support/backends.js';
import type { TestDb } from '../support/backends.js';
import { addDropSourceRow, dropSourceRow } from '../support/drop-bucket.js';
import { audioFixtureBytes } from '../support/fixtures.js';

const TARGET_ID = 'CALLREC';
const SECRET = 'webhook-secret-for-the-events-test-0123';
const USER = 'callrec-events-test';
const PASSWORD = 'callrec-events-test-password-0123';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('S3 drop bucket event webhook (MinIO bucket notifications → the service on 127.0.0.1)', function () {
  this.timeout(120_000);
  let tdb: TestDb;
  let app: TestApp;
  let minio: ChildProcess | undefined;
  let minioDir: string;
  let client: S3Client;
  let endpoint: string;
  const bucket = 'callrec-drop-events';
  let sourceName: string;

  before(async () => {
    const bin = process.env.CALLREC_TEST_MINIO_BIN;
    if (!bin) throw new Error('CALLREC_TEST_MINIO_BIN is not set: run the tests with `bash scripts/test`');
    tdb = await dbBackends.find((b) => b.name === 'sqlite')!.create();
    const port = await freePort();
    endpoint = `http://127.0.0.1:${port}`;
    const config = testConfig({ CALLREC_IMPORT_S3_CREDENTIALS: `${endpoint}=${USER}:${PASSWORD}` });
    app = await startTestApp({
      db: tdb.db,
      store: createFsStore({ root: path.join(config.dataDir, 'objects') }),
      config,
    });
    const source = await addDropSourceRow(
      tdb.db,
      dropSourceRow({ bucket, endpoint }, { secret: SECRET, prefix: 'exports/' }),
    );
    sourceName = source.name;

    minioDir = tempDir('callrec-minio-events-');
    minio = spawn(
      bin,
      [
        'server',
        minioDir,
        '--address',
        `127.0.0.1:${port}`,
        '--console-address',
        `127.0.0.1:${await freePort()}`,
        '--quiet',
      ],
      {
        env: {
          ...process.env,
          MINIO_ROOT_USER: USER,
          MINIO_ROOT_PASSWORD: PASSWORD,
          MINIO_BROWSER: 'off',
          MINIO_UPDATE: 'off',
          [`MINIO_NOTIFY_WEBHOOK_ENABLE_${TARGET_ID}`]: 'on',
          [`MINIO_NOTIFY_WEBHOOK_ENDPOINT_${TARGET_ID}`]: `${app.url}/v1/hooks/s3-events/${sourceName}`,
          [`MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_${TARGET_ID}`]: SECRET,
        },
        stdio: 'ignore',
      },
    );
    await waitFor('MinIO to be ready', async () => {
      const ok = await fetch(`${endpoint}/minio/health/ready`).then(
        (r) => r.ok,
        () => false,
      );
      return ok ? true : undefined;
    });
    client = new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: USER, secretAccessKey: PASSWORD },
    });
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    await client.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: bucket,
        NotificationConfiguration: {
          QueueConfigurations: [{ QueueArn: `arn:minio:sqs::${TARGET_ID}:webhook`, Events: ['s3:ObjectCreated:*'] }],
        },
      }),
    );
  });

  after(async () => {
    client?.destroy();
    if (minio && minio.exitCode === null) {
      const exited = new Promise((resolve) => minio!.once('exit', resolve));
      minio.kill('SIGTERM');
      await exited;
    }
    await app?.close();
    await tdb?.dispose();
    fs.rmSync(minioDir, { recursive: true, force: true });
  });

  it('when a recording and its sidecar are written into the bucket, then MinIO notifies the service and the recording is imported and deleted at the source without any poll', async () => {
    const callId = `event-${Date.now()}`;
    await client.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'exports/e1.wav', Body: await audioFixtureBytes('ulaw-mono') }),
    );
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'exports/e1.wav.json',
        Body: JSON.stringify({ callId, startedAt: new Date(Date.now() - 60_000).toISOString() }),
      }),
    );

    const imported = await waitFor('the import', async () => {
      const [row] = await listDropImports(tdb.db, { source: sourceName });
      return row?.status === 'imported' ? row : undefined;
    });
    expect(imported).to.include({ externalId: 'exports/e1.wav', lastErrorCode: null });
    expect(await tdb.db.knex('recordings').where({ source: sourceName, call_id: callId }).select('id')).to.have.length(
      1,
    );
    const left = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    expect(left.Contents ?? []).to.deep.equal([]);
    let status: number | undefined;
    try {
      await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'exports/e1.wav' }));
    } catch (error) {
      status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    }
    expect(status).to.equal(404);
    const source = (await tdb.db.knex('import_sources').where({ name: sourceName }).first()) as {
      last_pass_at: unknown;
    };
    expect(source.last_pass_at, 'a pass ran (triggered by the events)').not.to.equal(null);
  });

  it('when the webhook is called with a wrong secret or for an unknown source, then both get the same 401 and the secret is never logged', async () => {
    const wrong = await fetch(`${app.url}/v1/hooks/s3-events/${sourceName}`, {
      method: 'POST',
      headers: { Authorization: 'Bearer not-the-secret-value', 'Content-Type': 'application/json' },
      body: '{}',
    });
    const unknown = await fetch(`${app.url}/v1/hooks/s3-events/no-such-source`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${SECRET}`, 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(wrong.status).to.equal(401);
    expect(unknown.status).to.equal(401);
    const [a, b] = [(await wrong.json()) as { code: string }, (await unknown.json()) as { code: string }];
    expect(a).to.deep.equal(b);
    expect(a.code).to.equal('unauthenticated');
    expect(app.logs.join('\n')).not.to.include('not-the-secret-value');
    expect(app.logs.join('\n')).not.to.include(SECRET);
    expect(app.logs.some((l) => l.includes('s3 event webhook refused'))).to.equal(true);
  });
});
