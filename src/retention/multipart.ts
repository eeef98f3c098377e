/**
 * Aborting stale multipart uploads of ours (S3 only). MinIO ignores the bucket's
 * AbortIncompleteMultipartUpload rule, so the reconciler aborts uploads under
 * `recordings/` initiated more than `olderThanMs` ago. The listing carries no Prefix and
 * filters keys itself: MinIO lists multipart uploads for a prefix only when the prefix is
 * an exact object key.
 */
import { AbortMultipartUploadCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import type { StoreConfig } from '../config.js';
import { createS3Client, mapS3Error } from '../storage/s3-store.js';
import { RECORDINGS_PREFIX } from '../storage/keys.js';

export async function abortStaleUploads(
  config: Extract<StoreConfig, { kind: 's3' }>,
  options: { now: number; olderThanMs: number; dryRun?: boolean; signal?: AbortSignal },
): Promise<{ aborted: number; found: number }> {
  const client = createS3Client(config);
  let aborted = 0;
  let found = 0;
  try {
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const page = await client
        .send(new ListMultipartUploadsCommand({ Bucket: config.bucket, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }), {
          abortSignal: options.signal,
        })
        .catch((error: unknown) => {
          throw mapS3Error(error, 'list multipart uploads');
        });
      for (const upload of page.Uploads ?? []) {
        if (!upload.Key?.startsWith(RECORDINGS_PREFIX) || !upload.UploadId || !upload.Initiated) continue;
        if (options.now - upload.Initiated.getTime() < options.olderThanMs) continue;
        found += 1;
        if (options.dryRun) continue;
        await client
          .send(new AbortMultipartUploadCommand({ Bucket: config.bucket, Key: upload.Key, UploadId: upload.UploadId }), { abortSignal: options.signal })
          .catch((error: unknown) => {
            throw mapS3Error(error, 'abort multipart upload', upload.Key);
          });
        aborted += 1;
      }
      if (!page.IsTruncated) break;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
  } finally {
    client.destroy();
  }
  return { aborted, found };
}
