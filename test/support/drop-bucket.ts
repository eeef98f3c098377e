/**
 * S3 drop buckets for the import tests: a fresh bucket on the test MinIO that the "platform"
 * writes into (PutObject as Connect or an export job would), a source row builder with
 * overrides, and the environment that gives callrec the bucket's credentials.
 */
import { randomUUID } from 'node:crypto';
import { CreateBucketCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Db } from '../../src/db/db.js';
import { insertImportSource } from '../../src/db/import-sources.js';
import type { ImportSourceRow } from '../../src/db/import-sources.js';
import { sha256Hex } from '../../src/ingest/adapters/s3-drop.js';
import { createS3Client } from '../../src/storage/s3-store.js';
import { destroyBucket, minioStoreConfig, uniqueName } from './backends.js';

export interface DropBucketFixture {
  bucket: string;
  endpoint: string;
  client: S3Client;
  /** `CALLREC_IMPORT_S3_CREDENTIALS` for this bucket's endpoint. */
  credentialsEnv: string;
  put(key: string, body: Buffer | string): Promise<void>;
  exists(key: string): Promise<boolean>;
  keys(prefix?: string): Promise<string[]>;
  dispose(): Promise<void>;
}

export async function createDropBucket(): Promise<DropBucketFixture> {
  const config = minioStoreConfig(uniqueName('callrec-drop-'));
  const client = createS3Client(config);
  await client.send(new CreateBucketCommand({ Bucket: config.bucket }));
  return {
    bucket: config.bucket,
    endpoint: config.endpoint!,
    client,
    credentialsEnv: `${config.endpoint}=${config.accessKeyId}:${config.secretAccessKey}`,
    async put(key, body) {
      await client.send(new PutObjectCommand({ Bucket: config.bucket, Key: key, Body: body }));
    },
    async exists(key) {
      try {
        await client.send(new HeadObjectCommand({ Bucket: config.bucket, Key: key }));
        return true;
      } catch (error) {
        if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
        throw error;
      }
    },
    async keys(prefix = '') {
      const out = await client.send(new ListObjectsV2Command({ Bucket: config.bucket, Prefix: prefix || undefined }));
      return (out.Contents ?? []).map((o) => o.Key!).sort();
    },
    async dispose() {
      client.destroy();
      await destroyBucket(config);
    },
  };
}

/** A source row for `bucket`, with overrides; its webhook secret is `secret`. */
export function dropSourceRow(
  bucket: Pick<DropBucketFixture, 'bucket' | 'endpoint'>,
  overrides: Partial<ImportSourceRow> & { secret?: string } = {},
): ImportSourceRow {
  const { secret = 'test-drop-secret-0123456789', ...rest } = overrides;
  const now = Date.now();
  return {
    name: uniqueName('drop-'),
    kind: 's3',
    endpoint: bucket.endpoint,
    region: 'us-east-1',
    force_path_style: true,
    bucket: bucket.bucket,
    prefix: '',
    layout: 'sidecar-json',
    delete_source: true,
    sidecar_wait_ms: 0,
    secret_sha256: sha256Hex(secret),
    list_cursor: null,
    last_pass_at: null,
    last_pass_error: null,
    created_at: now,
    updated_at: now,
    ...rest,
  };
}

export async function addDropSourceRow(db: Db, row: ImportSourceRow): Promise<ImportSourceRow> {
  await insertImportSource(db.knex, row);
  return row;
}

/** An Amazon Connect recording key of a call that started at `startedAt` (UTC, to the minute). */
export function connectKey(startedAt: Date, contactId: string = randomUUID()): { key: string; contactId: string } {
  const iso = startedAt.toISOString();
  const [y, m, d] = [iso.slice(0, 4), iso.slice(5, 7), iso.slice(8, 10)];
  const stamp = `${y}${m}${d}T${iso.slice(11, 16)}`;
  return { key: `connect/acme/CallRecordings/${y}/${m}/${d}/${contactId}_${stamp}_UTC.wav`, contactId };
}
