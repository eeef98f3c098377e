/**
 * The real backends every contract suite runs against. `npm test` (scripts/test)
 * starts PostgreSQL, MinIO and SeaweedFS and exports CALLREC_TEST_*; a missing variable is
 * an error, never a skip.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { DbConfig, StoreConfig } from '../../src/config.js';
import { createDb } from '../../src/db/db.js';
import type { Db } from '../../src/db/db.js';
import { createObjectStore } from '../../src/storage/create-store.js';
import type { ObjectStore } from '../../src/storage/object-store.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: run the tests with \`npm test\` (or \`bash scripts/test <spec>\`), which starts PostgreSQL, MinIO and SeaweedFS`,
    );
  }
  return value;
}

export function tempDir(prefix = 'callrec-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function uniqueName(prefix: string): string {
  return `${prefix}${randomBytes(6).toString('hex')}`;
}

export interface TestDb {
  db: Db;
  config: DbConfig;
  /** Closes the handle and drops the database (PostgreSQL) or file (SQLite). */
  dispose(): Promise<void>;
}

export interface DbBackend {
  name: 'sqlite' | 'postgres';
  create(): Promise<TestDb>;
}

/** A fresh, migrated database per call. */
export const dbBackends: DbBackend[] = [
  {
    name: 'sqlite',
    async create() {
      const dir = tempDir();
      const config: DbConfig = { client: 'sqlite', filename: path.join(dir, 'test.sqlite') };
      const db = createDb(config);
      await db.migrate();
      return {
        db,
        config,
        async dispose() {
          await db.close();
          fs.rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'postgres',
    async create() {
      const adminUrl = required('CALLREC_TEST_PG_URL');
      const name = uniqueName('callrec_test_');
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      await admin.end();
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      const config: DbConfig = { client: 'pg', url: url.toString() };
      const db = createDb(config);
      await db.migrate();
      return {
        db,
        config,
        async dispose() {
          await db.close();
          const client = new pg.Client({ connectionString: adminUrl });
          await client.connect();
          await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          await client.end();
        },
      };
    },
  },
];

export interface TestStore {
  store: ObjectStore;
  config: StoreConfig;
  dispose(): Promise<void>;
}

export type S3ServerName = 'minio' | 'seaweedfs';

export interface StoreBackend {
  name: 'fs' | S3ServerName;
  create(): Promise<TestStore>;
}

type S3StoreConfig = Extract<StoreConfig, { kind: 's3' }>;

/**
 * Where the S3 servers of the tests differ, as each one behaves at its pinned version
 * (scripts/lib/system.sh). Tests state their expectation per server from here instead of
 * assuming one server's behaviour.
 */
export interface S3Capabilities {
  /** Whether PutBucketLifecycleConfiguration accepts a rule whose only action is AbortIncompleteMultipartUpload. */
  abortIncompleteMultipartRule: boolean;
  /** The error code of a PutObject whose x-amz-checksum-sha256 names other bytes (its signed payload hash being right). */
  checksumMismatchCode: string;
  /** The error code of a DeleteObject of a version under GOVERNANCE retention, without the bypass. */
  lockedVersionDeleteCode: string;
}

/** An S3 server the tests run against, started by scripts/test. */
export interface S3Server {
  name: S3ServerName;
  /** For test titles. */
  label: string;
  capabilities: S3Capabilities;
  /** A store config for `bucket` on this server (the bucket is not created). */
  storeConfig(bucket: string): S3StoreConfig;
}

/** A store config for `bucket` on the server whose endpoint and keys are in CALLREC_TEST_<prefix>_*. */
function s3StoreConfig(prefix: string, bucket: string): S3StoreConfig {
  return {
    kind: 's3',
    endpoint: required(`CALLREC_TEST_${prefix}_ENDPOINT`),
    bucket,
    region: 'us-east-1',
    accessKeyId: required(`CALLREC_TEST_${prefix}_ACCESS_KEY_ID`),
    secretAccessKey: required(`CALLREC_TEST_${prefix}_SECRET_ACCESS_KEY`),
    forcePathStyle: true,
    versionedBucket: 'refuse',
  };
}

export const minio: S3Server = {
  name: 'minio',
  label: 'MinIO',
  capabilities: {
    // MinIO cleans stale uploads itself and refuses the rule (InvalidArgument).
    abortIncompleteMultipartRule: false,
    checksumMismatchCode: 'XAmzContentChecksumMismatch',
    // "Object is WORM protected and cannot be overwritten".
    lockedVersionDeleteCode: 'InvalidRequest',
  },
  storeConfig: (bucket) => s3StoreConfig('S3', bucket),
};

export const seaweedfs: S3Server = {
  name: 'seaweedfs',
  label: 'SeaweedFS',
  capabilities: {
    abortIncompleteMultipartRule: true,
    // With a message about Content-MD5, though the header was x-amz-checksum-sha256.
    checksumMismatchCode: 'BadDigest',
    // As AWS answers.
    lockedVersionDeleteCode: 'AccessDenied',
  },
  storeConfig: (bucket) => s3StoreConfig('SEAWEEDFS_S3', bucket),
};

/** Every S3 server of the tests: the store-level suites run on each. */
export const s3Servers: readonly S3Server[] = [minio, seaweedfs];

export function minioStoreConfig(bucket: string): S3StoreConfig {
  return minio.storeConfig(bucket);
}

const fsBackend: StoreBackend = {
  name: 'fs',
  async create() {
    const dir = tempDir();
    const config: StoreConfig = { kind: 'fs', root: path.join(dir, 'objects') };
    const store = await createObjectStore(config);
    return {
      store,
      config,
      async dispose() {
        await store.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

/** A backend whose every store is a new bucket on `server`, set up as `callrec setup-bucket` does. */
export function s3Backend(server: S3Server): StoreBackend {
  return {
    name: server.name,
    async create() {
      return setUpS3Store(server.storeConfig(uniqueName('callrec-test-')));
    },
  };
}

/**
 * A fresh, empty store per call: a temp folder, or a new bucket on the test MinIO. The suites
 * of features above the store run on these; S3 servers differ below the ObjectStore contract,
 * which `contractStoreBackends` checks on each of them.
 */
export const storeBackends: StoreBackend[] = [fsBackend, s3Backend(minio)];

/** fs and a bucket on every S3 server: for the suites of the store itself (its contract, the absence proof). */
export const contractStoreBackends: StoreBackend[] = [fsBackend, ...s3Servers.map(s3Backend)];

/**
 * A fresh bucket on `server` created with Object Lock enabled (which also turns versioning on, so
 * the store deletes every version: CALLREC_S3_VERSIONED=delete-versions), set up like the
 * others. Tests lock objects in GOVERNANCE mode only, so that `dispose` can still remove them.
 */
export async function createLockedS3Store(server: S3Server): Promise<TestStore> {
  const config: S3StoreConfig = {
    ...server.storeConfig(uniqueName('callrec-lock-')),
    versionedBucket: 'delete-versions',
  };
  const { CreateBucketCommand } = await import('@aws-sdk/client-s3');
  const { createS3Client } = await import('../../src/storage/s3-store.js');
  const client = createS3Client(config);
  try {
    await client.send(new CreateBucketCommand({ Bucket: config.bucket, ObjectLockEnabledForBucket: true }));
  } finally {
    client.destroy();
  }
  return setUpS3Store(config);
}

/** A fresh MinIO bucket created with Object Lock: `createLockedS3Store(minio)`. */
export function createLockedMinioStore(): Promise<TestStore> {
  return createLockedS3Store(minio);
}

/** Sets up an existing or new bucket as `callrec setup-bucket` does and opens the store; dispose removes the bucket. */
async function setUpS3Store(config: S3StoreConfig): Promise<TestStore> {
  const { setupBucket } = await import('../../src/storage/setup-bucket.js');
  await setupBucket(config, { retentionDays: 30 });
  const store = await createObjectStore(config);
  return {
    store,
    config,
    async dispose() {
      await store.close();
      await destroyBucket(config);
    },
  };
}

/**
 * Empties a test bucket (every version, delete marker and incomplete multipart upload) and
 * deletes it. A missing bucket is fine.
 */
export async function destroyBucket(config: Extract<StoreConfig, { kind: 's3' }>): Promise<void> {
  const s3 = await import('@aws-sdk/client-s3');
  const { createS3Client } = await import('../../src/storage/s3-store.js');
  const client = createS3Client(config);
  const Bucket = config.bucket;
  try {
    try {
      await client.send(new s3.HeadBucketCommand({ Bucket }));
    } catch {
      return;
    }
    for (;;) {
      const uploads = await client.send(new s3.ListMultipartUploadsCommand({ Bucket }));
      for (const u of uploads.Uploads ?? []) {
        await client.send(new s3.AbortMultipartUploadCommand({ Bucket, Key: u.Key!, UploadId: u.UploadId! }));
      }
      if (!uploads.IsTruncated) break;
    }
    for (;;) {
      const page = await client.send(new s3.ListObjectVersionsCommand({ Bucket, MaxKeys: 1000 }));
      const ids = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((v) => ({
        Key: v.Key!,
        VersionId: v.VersionId,
      }));
      if (ids.length === 0) break;
      // Objects locked in GOVERNANCE mode (tests never use COMPLIANCE) go with the bypass.
      await client.send(
        new s3.DeleteObjectsCommand({ Bucket, Delete: { Objects: ids, Quiet: true }, BypassGovernanceRetention: true }),
      );
    }
    await client.send(new s3.DeleteBucketCommand({ Bucket }));
  } finally {
    client.destroy();
  }
}

/** Every key under `prefix` in the store, following every page. */
export async function storeKeys(store: ObjectStore, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list(prefix, { cursor, limit: 1000 });
    keys.push(...page.items.map((i) => i.key));
    cursor = page.nextCursor;
  } while (cursor);
  return keys;
}
