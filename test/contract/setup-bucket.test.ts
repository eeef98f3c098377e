/**
 * Bucket bootstrap on every S3 server of the tests (MinIO, SeaweedFS): lifecycle rules read back,
 * idempotence, merging with foreign rules, versioned buckets (refused, or every version deleted),
 * and the CLI command. Where the servers differ, their capabilities (test/support/backends.ts)
 * say what each does.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetBucketLifecycleConfigurationCommand,
  ListObjectVersionsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { StoreUnavailableError } from '../../src/storage/object-store.js';
import { VersionedBucketError, createS3Client, createS3Store } from '../../src/storage/s3-store.js';
import type { S3StoreConfig } from '../../src/storage/s3-store.js';
import { ABORT_MULTIPART_RULE_ID, checkBucket, retentionRuleId, setupBucket } from '../../src/storage/setup-bucket.js';
import { destroyBucket, minioStoreConfig, s3Servers, tempDir, uniqueName } from '../support/backends.js';
import { rejection } from '../support/rejection.js';

const run = promisify(execFile);
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

for (const server of s3Servers) {
  describe(`setupBucket on ${server.label}`, function () {
    let client: S3Client;
    const buckets: S3StoreConfig[] = [];

    /** A fresh bucket name (not created) with config overrides; destroyed after the test. */
    function bucketConfig(overrides: Partial<S3StoreConfig> = {}): S3StoreConfig {
      const config = { ...server.storeConfig(uniqueName('callrec-setup-')), ...overrides };
      buckets.push(config);
      return config;
    }

    async function createVersionedBucket(config: S3StoreConfig): Promise<void> {
      await client.send(new CreateBucketCommand({ Bucket: config.bucket }));
      await client.send(
        new PutBucketVersioningCommand({ Bucket: config.bucket, VersioningConfiguration: { Status: 'Enabled' } }),
      );
    }

    async function versionsOf(config: S3StoreConfig, key: string): Promise<number> {
      const out = await client.send(new ListObjectVersionsCommand({ Bucket: config.bucket, Prefix: key }));
      return [...(out.Versions ?? []), ...(out.DeleteMarkers ?? [])].filter((v) => v.Key === key).length;
    }

    before(function () {
      client = createS3Client(server.storeConfig('unused'));
    });

    afterEach(async function () {
      for (const config of buckets.splice(0)) await destroyBucket(config);
    });

    after(function () {
      client.destroy();
    });

    const abortRule = server.capabilities.abortIncompleteMultipartRule;
    it(`when the bucket is missing, then it is created with a retention rule that reads back as tag retention=30d → 31 days, and the abort-multipart rule ${abortRule ? 'is installed' : 'is reported unsupported'}`, async function () {
      const config = bucketConfig();
      const report = await setupBucket(config, { retentionDays: 30 });
      expect(report).to.include({
        bucket: config.bucket,
        created: true,
        lifecycle: 'installed',
        versioning: 'Disabled',
      });
      // MinIO refuses an AbortIncompleteMultipartUpload-only rule; the report says so.
      expect(report.abortIncompleteMultipart).to.equal(abortRule ? 'installed' : 'unsupported');
      const rules =
        (await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: config.bucket }))).Rules ?? [];
      const rule = rules.find((r) => r.ID === retentionRuleId(30));
      expect(rule, 'retention rule').to.not.equal(undefined);
      expect(rule!.Status).to.equal('Enabled');
      expect(rule!.Filter?.Tag).to.deep.equal({ Key: 'retention', Value: '30d' });
      expect(rule!.Expiration?.Days).to.equal(31);
      const abort = rules.find((r) => r.ID === ABORT_MULTIPART_RULE_ID);
      expect(report.rules).to.deep.equal(
        abortRule ? [retentionRuleId(30), ABORT_MULTIPART_RULE_ID] : [retentionRuleId(30)],
      );
      if (abortRule) expect(abort?.AbortIncompleteMultipartUpload?.DaysAfterInitiation).to.equal(1);
      else expect(abort, 'no abort-multipart rule').to.equal(undefined);
    });

    it('when setup runs twice, then the second run changes nothing and reports so', async function () {
      const config = bucketConfig();
      await setupBucket(config, { retentionDays: 30 });
      const before = (await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: config.bucket }))).Rules;
      const second = await setupBucket(config, { retentionDays: 30 });
      expect(second).to.include({ created: false, lifecycle: 'unchanged' });
      const after = (await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: config.bucket }))).Rules;
      expect(after).to.deep.equal(before);
    });

    it('when the bucket has rules of others or of an older retention, then they are kept beside the new rule', async function () {
      const config = bucketConfig();
      await client.send(new CreateBucketCommand({ Bucket: config.bucket }));
      await client.send(
        new PutBucketLifecycleConfigurationCommand({
          Bucket: config.bucket,
          LifecycleConfiguration: {
            Rules: [{ ID: 'other-app', Status: 'Enabled', Filter: { Prefix: 'other/' }, Expiration: { Days: 400 } }],
          },
        }),
      );
      await setupBucket(config, { retentionDays: 30 });
      const report = await setupBucket(config, { retentionDays: 7 });
      expect(report).to.include({ created: false, lifecycle: 'installed' });
      const rules =
        (await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: config.bucket }))).Rules ?? [];
      const abortIds = abortRule ? [ABORT_MULTIPART_RULE_ID] : [];
      expect(rules.map((r) => r.ID).sort()).to.deep.equal(
        [...abortIds, 'callrec-retention-30d', 'callrec-retention-7d', 'other-app'].sort(),
      );
      expect(rules.find((r) => r.ID === 'callrec-retention-7d')!.Expiration?.Days).to.equal(8);
    });

    it('when retentionDays is not a whole positive number, then setup refuses before touching the bucket', async function () {
      const config = bucketConfig();
      await rejection(setupBucket(config, { retentionDays: 0 }));
      const error = await rejection(checkBucket(config));
      expect(error).to.be.instanceOf(StoreUnavailableError);
      expect(error.message).to.contain('does not exist');
    });

    it('when the bucket is versioned and CALLREC_S3_VERSIONED=refuse, then setup, checkBucket and delete refuse naming the setting', async function () {
      const config = bucketConfig({ versionedBucket: 'refuse' });
      await createVersionedBucket(config);
      for (const attempt of [() => setupBucket(config, { retentionDays: 30 }), () => checkBucket(config)]) {
        const error = await rejection(attempt());
        expect(error).to.be.instanceOf(VersionedBucketError);
        expect(error.message).to.contain('CALLREC_S3_VERSIONED');
      }
      const store = createS3Store(config);
      try {
        await store.put('v/a.bin', Readable.from([Buffer.from('x')]), { contentType: 'audio/ogg', tags: {} });
        expect(await rejection(store.delete('v/a.bin'))).to.be.instanceOf(VersionedBucketError);
        const result = await store.deleteMany(['v/a.bin']);
        expect(result.deleted).to.deep.equal([]);
        expect(result.failed[0]!.error).to.be.instanceOf(VersionedBucketError);
        expect(await store.exists('v/a.bin')).to.equal(true);
      } finally {
        await store.close();
      }
    });

    it('when the bucket is versioned and CALLREC_S3_VERSIONED=delete-versions, then delete removes every version and delete marker', async function () {
      const config = bucketConfig({ versionedBucket: 'delete-versions' });
      await createVersionedBucket(config);
      const report = await setupBucket(config, { retentionDays: 30 });
      expect(report.versioning).to.equal('Enabled');
      const store = createS3Store(config);
      try {
        for (const key of ['v/one.bin', 'v/many-1.bin', 'v/many-2.bin']) {
          await store.put(key, Readable.from([Buffer.from('first')]), {
            contentType: 'audio/ogg',
            tags: { retention: '30d' },
          });
          await store.put(key, Readable.from([Buffer.from('second')]), {
            contentType: 'audio/ogg',
            tags: { retention: '30d' },
          });
        }
        // A plain delete leaves a delete marker: the object is hidden, but its versions remain.
        await client.send(new DeleteObjectCommand({ Bucket: config.bucket, Key: 'v/one.bin' }));
        expect(await versionsOf(config, 'v/one.bin')).to.equal(3);
        expect(await store.exists('v/one.bin'), 'versions and a marker are a trace').to.equal(true);

        await store.delete('v/one.bin');
        expect(await versionsOf(config, 'v/one.bin')).to.equal(0);
        expect(await store.exists('v/one.bin')).to.equal(false);

        const result = await store.deleteMany(['v/many-1.bin', 'v/many-2.bin', 'v/missing.bin']);
        expect(result.failed).to.deep.equal([]);
        expect(await versionsOf(config, 'v/many-1.bin')).to.equal(0);
        expect(await versionsOf(config, 'v/many-2.bin')).to.equal(0);
        expect(await store.exists('v/many-2.bin')).to.equal(false);
      } finally {
        await store.close();
      }
    });

    it('when a key sharing a prefix with the deleted one has versions, then those survive', async function () {
      const config = bucketConfig({ versionedBucket: 'delete-versions' });
      await createVersionedBucket(config);
      await client.send(new PutObjectCommand({ Bucket: config.bucket, Key: 'p/a', Body: 'a' }));
      await client.send(new PutObjectCommand({ Bucket: config.bucket, Key: 'p/ab', Body: 'ab' }));
      const store = createS3Store(config);
      try {
        await store.delete('p/a');
        expect(await versionsOf(config, 'p/a')).to.equal(0);
        expect(await versionsOf(config, 'p/ab')).to.equal(1);
      } finally {
        await store.close();
      }
    });

    describe('callrec setup-bucket', function () {
      function cliEnv(config: S3StoreConfig, dataDir: string): NodeJS.ProcessEnv {
        return {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          CALLREC_DATA_DIR: dataDir,
          CALLREC_STORE: 's3',
          CALLREC_S3_ENDPOINT: config.endpoint,
          CALLREC_S3_BUCKET: config.bucket,
          CALLREC_S3_ACCESS_KEY_ID: config.accessKeyId,
          CALLREC_S3_SECRET_ACCESS_KEY: config.secretAccessKey,
          CALLREC_S3_VERSIONED: config.versionedBucket,
          CALLREC_RETENTION: '14d',
        };
      }

      async function cli(config: S3StoreConfig): Promise<{ code: number; stdout: string; stderr: string }> {
        const dataDir = tempDir();
        try {
          const out = await run('npx', ['tsx', 'src/cli/main.ts', 'setup-bucket'], {
            cwd: REPO_ROOT,
            env: cliEnv(config, dataDir),
            timeout: 60_000,
          });
          return { code: 0, stdout: out.stdout, stderr: out.stderr };
        } catch (error) {
          const e = error as { code?: number; stdout?: string; stderr?: string };
          return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
        } finally {
          fs.rmSync(dataDir, { recursive: true, force: true });
        }
      }

      it('when run against a new bucket, then it exits 0, creates it with the configured retention and says so on stderr only', async function () {
        const config = bucketConfig();
        const result = await cli(config);
        expect(result.code, result.stderr).to.equal(0);
        expect(result.stdout).to.equal('');
        expect(result.stderr).to.contain(`bucket ${config.bucket}: created`);
        expect(result.stderr).to.contain('callrec-retention-14d');
        const rules =
          (await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: config.bucket }))).Rules ?? [];
        expect(rules.map((r) => r.ID)).to.include('callrec-retention-14d');
      });

      it('when the bucket is versioned under refuse, then it exits 1 naming CALLREC_S3_VERSIONED', async function () {
        const config = bucketConfig({ versionedBucket: 'refuse' });
        await createVersionedBucket(config);
        const result = await cli(config);
        expect(result.code).to.equal(1);
        expect(result.stderr).to.contain('CALLREC_S3_VERSIONED');
        expect(result.stderr).to.not.contain(config.secretAccessKey!);
      });
    });
  });
}

describe('checkBucket without the right to list versions', function () {
  it('when the service may not list object versions (no s3:ListBucketVersions), then checkBucket refuses naming it', async function () {
    // An S3 endpoint whose policy allows HeadBucket and GetBucketVersioning but denies ListObjectVersions.
    const requests: string[] = [];
    const server = http.createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      req.resume();
      const url = new URL(req.url ?? '/', 'http://x');
      res.setHeader('content-type', 'application/xml');
      if (req.method === 'HEAD') res.writeHead(200).end();
      else if (url.searchParams.has('versioning'))
        res.writeHead(200).end('<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>');
      else
        res
          .writeHead(403)
          .end('<Error><Code>AccessDenied</Code><Message>Access Denied.</Message><RequestId>1</RequestId></Error>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const config = {
        ...minioStoreConfig('callrec-denied'),
        endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      };
      const error = await rejection(checkBucket(config));
      expect(error).to.be.instanceOf(StoreUnavailableError);
      expect(error.message).to.contain('s3:ListBucketVersions').and.contain('AccessDenied');
      expect(requests.some((r) => r.includes('versions'))).to.equal(true);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
