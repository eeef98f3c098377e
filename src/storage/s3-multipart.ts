/**
 * Aborting incomplete multipart uploads of ours (S3 only): those of uploads that are no longer
 * in flight (a killed process leaves its multipart upload open, and its parts hold audio), and
 * any other one under `recordings/` initiated long ago. MinIO ignores the bucket's
 * AbortIncompleteMultipartUpload rule, so this is what removes them there. The listing carries
 * no Prefix and filters keys itself: MinIO lists multipart uploads for a prefix only when the
 * prefix is an exact object key.
 */
import { AbortMultipartUploadCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import type { StoreConfig } from '../config.js';
import { createS3Client, isNotFound, mapS3Error } from './s3-store.js';
import { RECORDINGS_PREFIX } from './keys.js';
import type { PendingUpload } from './object-store.js';

export type MultipartUpload = PendingUpload;

/**
 * Lists the multipart uploads under `recordings/` page by page, hands each page to `select`,
 * and aborts the uploads it returns (an upload that finished or was aborted meanwhile counts as
 * gone). `found` counts the uploads selected.
 */
export async function abortUploads(
  config: Extract<StoreConfig, { kind: 's3' }>,
  options: {
    select: (uploads: MultipartUpload[]) => Promise<MultipartUpload[]> | MultipartUpload[];
    dryRun?: boolean;
    signal?: AbortSignal;
  },
): Promise<{ aborted: number; found: number; keys: string[] }> {
  const client = createS3Client(config);
  let aborted = 0;
  let found = 0;
  const keys: string[] = [];
  try {
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const page = await client
        .send(
          new ListMultipartUploadsCommand({
            Bucket: config.bucket,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadIdMarker,
          }),
          {
            abortSignal: options.signal,
          },
        )
        .catch((error: unknown) => {
          throw mapS3Error(error, 'list multipart uploads');
        });
      const ours: MultipartUpload[] = [];
      for (const upload of page.Uploads ?? []) {
        if (!upload.Key?.startsWith(RECORDINGS_PREFIX) || !upload.UploadId || !upload.Initiated) continue;
        ours.push({ key: upload.Key, uploadId: upload.UploadId, initiated: upload.Initiated });
      }
      const selected = ours.length ? await options.select(ours) : [];
      for (const upload of selected) {
        found += 1;
        keys.push(upload.key);
        if (options.dryRun) continue;
        try {
          await client.send(
            new AbortMultipartUploadCommand({ Bucket: config.bucket, Key: upload.key, UploadId: upload.uploadId }),
            { abortSignal: options.signal },
          );
        } catch (error) {
          if (!isNotFound(error)) throw mapS3Error(error, 'abort multipart upload', upload.key);
        }
        aborted += 1;
      }
      if (!page.IsTruncated) break;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
  } finally {
    client.destroy();
  }
  return { aborted, found, keys };
}

/** Aborts the uploads under `recordings/` initiated more than `olderThanMs` before `now`. */
export async function abortStaleUploads(
  config: Extract<StoreConfig, { kind: 's3' }>,
  options: { now: number; olderThanMs: number; dryRun?: boolean; signal?: AbortSignal },
): Promise<{ aborted: number; found: number }> {
  const { aborted, found } = await abortUploads(config, {
    select: (uploads) => uploads.filter((u) => options.now - u.initiated.getTime() >= options.olderThanMs),
    dryRun: options.dryRun,
    signal: options.signal,
  });
  return { aborted, found };
}
