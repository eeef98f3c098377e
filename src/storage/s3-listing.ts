/**
 * Listing of the S3 driver (see ./s3-store.ts): `list` (ListObjectsV2), and every trace of keys:
 * `listVersions` and `exists` (ListObjectVersions, every page, whatever the bucket's versioning is
 * thought to be), the bucket's versioning and Object Lock status.
 */
import {
  GetBucketVersioningCommand,
  GetObjectLockConfigurationCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import type { ObjectIdentifier, S3Client } from '@aws-sdk/client-s3';
import { assertValidKey, assertValidPrefix } from './keys.js';
import { StoreUnavailableError } from './object-store.js';
import type { ListOptions, ListPage, SignalOption, VersionItem, VersionPage } from './object-store.js';
import { mapS3Error, sdkName, sdkStatus } from './s3-client.js';
import type { S3Context } from './s3-client.js';
import { isAbortError, listLimit, throwIfAborted } from './store-helpers.js';

export type VersioningStatus = 'Disabled' | 'Enabled' | 'Suspended';

export async function getVersioningStatus(
  client: S3Client,
  bucket: string,
  signal?: AbortSignal,
): Promise<VersioningStatus> {
  try {
    const out = await client.send(
      new GetBucketVersioningCommand({ Bucket: bucket }),
      signal ? { abortSignal: signal } : {},
    );
    return out.Status === 'Enabled' || out.Status === 'Suspended' ? out.Status : 'Disabled';
  } catch (error) {
    throw mapS3Error(error, 'reading bucket versioning');
  }
}

/**
 * Whether Object Lock is enabled on the bucket (GetObjectLockConfiguration). A bucket without
 * a lock configuration answers false; so does one whose configuration this principal may not
 * read (then a locked put could not be relied on anyway). Other failures throw.
 */
export async function getObjectLockEnabled(client: S3Client, bucket: string, signal?: AbortSignal): Promise<boolean> {
  try {
    const out = await client.send(
      new GetObjectLockConfigurationCommand({ Bucket: bucket }),
      signal ? { abortSignal: signal } : {},
    );
    return out.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled';
  } catch (error) {
    if (isAbortError(error)) throw error;
    const name = sdkName(error);
    const status = sdkStatus(error);
    if (
      name === 'ObjectLockConfigurationNotFoundError' ||
      name === 'AccessDenied' ||
      (status === 404 && name !== 'NoSuchBucket') ||
      status === 403
    )
      return false;
    throw mapS3Error(error, 'reading the object lock configuration');
  }
}

/** One page of ListObjectVersions: versions and delete markers merged in key order, each key's newest first. */
async function versionsPage(
  client: S3Client,
  input: { bucket: string; prefix: string; keyMarker?: string; versionIdMarker?: string; limit?: number },
  signal?: AbortSignal,
): Promise<{ items: VersionItem[]; next?: { keyMarker: string; versionIdMarker?: string } }> {
  const out = await client.send(
    new ListObjectVersionsCommand({
      Bucket: input.bucket,
      Prefix: input.prefix || undefined,
      KeyMarker: input.keyMarker,
      VersionIdMarker: input.keyMarker === undefined ? undefined : input.versionIdMarker,
      MaxKeys: input.limit,
    }),
    signal ? { abortSignal: signal } : {},
  );
  const entry =
    (deleteMarker: boolean) =>
    (v: { Key?: string; VersionId?: string; IsLatest?: boolean; LastModified?: Date }): VersionItem => ({
      key: v.Key!,
      versionId: v.VersionId ?? 'null',
      deleteMarker,
      latest: v.IsLatest === true,
      lastModified: v.LastModified ?? new Date(0),
    });
  const items = [
    ...(out.Versions ?? []).filter((v) => v.Key !== undefined).map(entry(false)),
    ...(out.DeleteMarkers ?? []).filter((v) => v.Key !== undefined).map(entry(true)),
  ].sort(
    (a, b) =>
      compareBytes(a.key, b.key) ||
      Number(b.latest) - Number(a.latest) ||
      b.lastModified.getTime() - a.lastModified.getTime(),
  );
  if (!out.IsTruncated) return { items };
  // A truncated page without a marker cannot be followed; ending there would prove absence falsely.
  if (!out.NextKeyMarker) throw new StoreUnavailableError('s3 store: a truncated version listing named no next marker');
  // The markers are opaque (MinIO appends its own state to NextKeyMarker): handed back as they are.
  return {
    items,
    next: {
      keyMarker: out.NextKeyMarker,
      ...(out.NextVersionIdMarker ? { versionIdMarker: out.NextVersionIdMarker } : {}),
    },
  };
}

/** Byte order of keys (S3's order); valid keys are ASCII, where it is JavaScript's string order. */
function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Every version id and delete marker id of exactly `key`, asked of the bucket (every page, until
 * the listing passes `key`): whatever its versioning is, an empty answer means no trace is left.
 */
export async function listKeyVersions(
  client: S3Client,
  bucket: string,
  key: string,
  signal?: AbortSignal,
): Promise<ObjectIdentifier[]> {
  const found: ObjectIdentifier[] = [];
  let marker: { keyMarker: string; versionIdMarker?: string } | undefined;
  for (;;) {
    const page = await versionsPage(client, { bucket, prefix: key, ...marker }, signal);
    for (const v of page.items) if (v.key === key) found.push({ Key: key, VersionId: v.versionId });
    // Listed in key order: once a longer key sharing the prefix shows, nothing more of `key` follows.
    // (Not judged from NextKeyMarker, which MinIO extends with its own state.)
    if (!page.next || page.items.some((v) => v.key > key)) return found;
    marker = page.next;
  }
}

/** The `listVersions` cursor: the opaque markers of the next page. */
function encodeVersionCursor(next: { keyMarker: string; versionIdMarker?: string }): string {
  return Buffer.from(JSON.stringify([next.keyMarker, next.versionIdMarker ?? null])).toString('base64url');
}

function decodeVersionCursor(cursor: string): { keyMarker: string; versionIdMarker?: string } {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && typeof value[0] === 'string' && (value[1] === null || typeof value[1] === 'string')) {
      return { keyMarker: value[0], ...(typeof value[1] === 'string' ? { versionIdMarker: value[1] } : {}) };
    }
  } catch {
    // fall through
  }
  throw new StoreUnavailableError('s3 store: invalid listVersions cursor');
}

/** `list`, `listVersions` and `exists` of an S3 store. */
export function s3Listing(ctx: S3Context) {
  const { client, Bucket, sendOpts } = ctx;
  return {
    async list(prefix: string, opts: ListOptions = {}): Promise<ListPage> {
      assertValidPrefix(prefix);
      throwIfAborted(opts.signal);
      const limit = listLimit(opts.limit);
      try {
        const out = await client.send(
          new ListObjectsV2Command({
            Bucket,
            Prefix: prefix || undefined,
            MaxKeys: limit,
            ContinuationToken: opts.cursor,
            StartAfter: opts.cursor ? undefined : opts.startAfter || undefined,
          }),
          sendOpts(opts.signal),
        );
        const items = (out.Contents ?? [])
          .filter((o) => o.Key !== undefined)
          .map((o) => ({ key: o.Key!, size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) }));
        return out.IsTruncated && out.NextContinuationToken
          ? { items, nextCursor: out.NextContinuationToken }
          : { items };
      } catch (error) {
        throw mapS3Error(error, 'list');
      }
    },

    async listVersions(prefix: string, opts: ListOptions = {}): Promise<VersionPage> {
      assertValidPrefix(prefix);
      throwIfAborted(opts.signal);
      const limit = listLimit(opts.limit);
      const after = opts.cursor ? undefined : opts.startAfter || undefined;
      // MinIO refuses a key marker outside the prefix (NotImplemented); one before every key
      // under the prefix changes nothing, one after all of them leaves nothing.
      if (after !== undefined && !after.startsWith(prefix) && after > prefix) return { items: [] };
      const marker = opts.cursor
        ? decodeVersionCursor(opts.cursor)
        : after !== undefined && after.startsWith(prefix)
          ? { keyMarker: after }
          : undefined;
      try {
        const page = await versionsPage(client, { bucket: Bucket, prefix, limit, ...marker }, opts.signal);
        // KeyMarker alone lists keys after it (S3, MinIO); kept exact here whatever the server does.
        const items = after === undefined ? page.items : page.items.filter((v) => v.key > after);
        return page.next ? { items, nextCursor: encodeVersionCursor(page.next) } : { items };
      } catch (error) {
        throw mapS3Error(error, 'listing versions');
      }
    },

    async exists(key: string, opts: SignalOption = {}): Promise<boolean> {
      assertValidKey(key);
      throwIfAborted(opts.signal);
      // One listing of the key's versions and delete markers (the current object is one of
      // them): true while any trace is left, on any bucket, without trusting its status.
      try {
        return (await listKeyVersions(client, Bucket, key, opts.signal)).length > 0;
      } catch (error) {
        throw mapS3Error(error, 'listing versions');
      }
    },
  };
}
