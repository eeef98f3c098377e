/**
 * CALLREC_S3_SSE: every put (one PutObject, and a multipart upload) asks for the configured
 * server-side encryption, as a HEAD of the stored object shows. On a PRIVATE MinIO started with a
 * single-key KMS (MINIO_KMS_SECRET_KEY), on 127.0.0.1 like the shared one.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import type { S3Sse, StoreConfig } from '../../src/config.js';
import { loadConfig } from '../../src/config.js';
import { PART_SIZE, createS3Client, createS3Store } from '../../src/storage/s3-store.js';
import { setupBucket } from '../../src/storage/setup-bucket.js';
import { tempDir } from '../support/backends.js';
import { PrivateMinio, freePort } from '../support/private-minio.js';
import { seededBytes } from '../support/random.js';

const KMS_KEY = 'callrec-test-key';
const USER = 'sse-test';
const PASSWORD = 'sse-test-password-123';

describe('S3 server-side encryption (CALLREC_S3_SSE) on MinIO with a single-key KMS', function () {
  this.timeout(120_000);
  let minio: PrivateMinio;
  let base: Extract<StoreConfig, { kind: 's3' }>;

  before(async () => {
    minio = new PrivateMinio(
      await freePort(),
      path.join(tempDir('callrec-minio-kms-'), 'data'),
      { user: USER, password: PASSWORD },
      { MINIO_KMS_SECRET_KEY: `${KMS_KEY}:${randomBytes(32).toString('base64')}` },
    );
    await minio.start();
    base = {
      kind: 's3',
      endpoint: minio.endpoint,
      bucket: 'callrec-sse',
      region: 'us-east-1',
      accessKeyId: USER,
      secretAccessKey: PASSWORD,
      forcePathStyle: true,
      versionedBucket: 'refuse',
    };
    await setupBucket(base, { retentionDays: 30 });
  });
  after(async () => {
    await minio?.stop();
  });

  const head = async (key: string) => {
    const client = createS3Client(base);
    try {
      return await client.send(new HeadObjectCommand({ Bucket: base.bucket, Key: key }));
    } finally {
      client.destroy();
    }
  };

  const cases: Array<{ sse: S3Sse; expected: string | undefined; kmsKey?: RegExp }> = [
    { sse: { mode: 'none' }, expected: undefined },
    { sse: { mode: 'AES256' }, expected: 'AES256' },
    { sse: { mode: 'aws:kms', kmsKeyId: KMS_KEY }, expected: 'aws:kms', kmsKey: new RegExp(KMS_KEY) },
  ];
  for (const { sse, expected, kmsKey } of cases) {
    it(`when CALLREC_S3_SSE=${sse.mode}, then a single PutObject and a multipart upload are both stored ${expected ? `with ServerSideEncryption ${expected}` : 'without server-side encryption'} and read back unchanged`, async function () {
      const store = createS3Store({ ...base, sse });
      try {
        const small = seededBytes(`sse-small-${sse.mode}`, 4096);
        const large = seededBytes(`sse-large-${sse.mode}`, PART_SIZE + 4096);
        const smallKey = `recordings/2026/11/30/SSE${sse.mode.replace(/\W/g, '')}/original.wav`;
        const largeKey = `recordings/2026/11/30/SSE${sse.mode.replace(/\W/g, '')}/playback.opus`;
        await store.put(smallKey, small, { contentType: 'audio/wav', tags: { retention: '30d' } });
        await store.put(largeKey, Readable.from([large.subarray(0, PART_SIZE), large.subarray(PART_SIZE)]), {
          contentType: 'audio/ogg',
          contentLength: large.length,
          tags: { retention: '30d' },
        });
        for (const [key, body] of [
          [smallKey, small],
          [largeKey, large],
        ] as const) {
          const info = await head(key);
          expect(info.ServerSideEncryption, key).to.equal(expected);
          if (kmsKey) expect(info.SSEKMSKeyId, key).to.match(kmsKey);
          expect((await buffer((await store.get(key)).body)).equals(body), key).to.equal(true);
        }
      } finally {
        await store.close();
      }
    });
  }

  it('when CALLREC_S3_SSE and its key id are configured, then the store config carries them; a key id without aws:kms is refused', function () {
    const env = {
      CALLREC_DATA_DIR: tempDir('callrec-data-'),
      CALLREC_STORE: 's3',
      CALLREC_S3_BUCKET: 'callrec-sse',
    };
    expect(loadConfig(env).store).to.deep.include({ sse: { mode: 'none' } });
    expect(loadConfig({ ...env, CALLREC_S3_SSE: 'AES256' }).store).to.deep.include({ sse: { mode: 'AES256' } });
    expect(loadConfig({ ...env, CALLREC_S3_SSE: 'aws:kms', CALLREC_S3_SSE_KMS_KEY_ID: KMS_KEY }).store).to.deep.include(
      { sse: { mode: 'aws:kms', kmsKeyId: KMS_KEY } },
    );
    expect(() => loadConfig({ ...env, CALLREC_S3_SSE_KMS_KEY_ID: KMS_KEY })).to.throw(/CALLREC_S3_SSE_KMS_KEY_ID/);
    expect(() => loadConfig({ ...env, CALLREC_S3_SSE: 'aws:kms:dsse' })).to.throw(/CALLREC_S3_SSE/);
  });
});
