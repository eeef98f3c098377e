/**
 * Bucket bootstrap for the s3 store: create the bucket, install the lifecycle safety net,
 * and check versioning.
 *
 * Lifecycle rules (merged into the bucket's existing configuration; rules of others and our
 * rules for earlier retention periods are kept, so objects tagged under an older setting keep
 * their safety net):
 * - `callrec-retention-<N>d`: expire objects tagged `retention=<N>d` after N+1 days. This is the
 *   safety net behind the sweeper, which keeps the exact promise (lifecycle expiry is rounded to
 *   midnight UTC and can lag).
 * - `callrec-abort-incomplete-multipart`: abort multipart uploads after 1 day. MinIO refuses this
 *   rule (it cleans stale uploads itself; the reconciler aborts ours), so when the server rejects
 *   it the retention rule is installed alone and the report says `unsupported`.
 * The configuration is read back and compared; a difference throws.
 *
 * Versioning: a versioned (or suspended) bucket turns a delete into a delete marker. Under
 * CALLREC_S3_VERSIONED=refuse, setup and `checkBucket` throw VersionedBucketError; under
 * `delete-versions` they report it and the store deletes every version. Versioning can also be
 * switched on later, while callrec runs: every delete reads the status anew, and the absence
 * proof lists versions, so `checkBucket` also makes sure this service may list them.
 *
 * Idempotent: running it again changes nothing when everything is in place.
 */
import {
  CreateBucketCommand,
  GetBucketLifecycleConfigurationCommand,
  HeadBucketCommand,
  ListObjectVersionsCommand,
  PutBucketLifecycleConfigurationCommand,
} from '@aws-sdk/client-s3';
import type { LifecycleRule, S3Client } from '@aws-sdk/client-s3';
import type { StoreConfig } from '../config.js';
import { RECORDINGS_PREFIX } from './keys.js';
import { StoreUnavailableError } from './object-store.js';
import { VersionedBucketError, createS3Client, getVersioningStatus, isNotFound, mapS3Error } from './s3-store.js';
import type { VersioningStatus } from './s3-store.js';

export type S3StoreConfig = Extract<StoreConfig, { kind: 's3' }>;

export const RETENTION_TAG = 'retention';
export const ABORT_MULTIPART_RULE_ID = 'callrec-abort-incomplete-multipart';
export const retentionRuleId = (days: number) => `callrec-retention-${days}d`;

export interface SetupBucketReport {
  bucket: string;
  created: boolean;
  /** `installed` when the lifecycle configuration was written, `unchanged` when it already matched. */
  lifecycle: 'installed' | 'unchanged';
  /** `unsupported` when the server refuses the AbortIncompleteMultipartUpload rule (MinIO). */
  abortIncompleteMultipart: 'installed' | 'unsupported';
  /** The ids of callrec's rules now in place. */
  rules: string[];
  versioning: VersioningStatus;
}

export interface BucketCheck {
  bucket: string;
  versioning: VersioningStatus;
}

/** The rules callrec needs for a retention of `retentionDays`. */
export function lifecycleRules(retentionDays: number): LifecycleRule[] {
  if (!Number.isInteger(retentionDays) || retentionDays < 1)
    throw new Error(`retentionDays must be a whole number ≥ 1, got ${retentionDays}`);
  return [
    {
      ID: retentionRuleId(retentionDays),
      Status: 'Enabled',
      Filter: { Tag: { Key: RETENTION_TAG, Value: `${retentionDays}d` } },
      Expiration: { Days: retentionDays + 1 },
    },
    {
      ID: ABORT_MULTIPART_RULE_ID,
      Status: 'Enabled',
      Filter: { Prefix: '' },
      AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
    },
  ];
}

/** The parts of a rule callrec cares about, in a comparable form. */
function ruleSignature(rule: LifecycleRule): string {
  const filter = rule.Filter;
  return JSON.stringify({
    id: rule.ID ?? null,
    status: rule.Status ?? null,
    tag: filter?.Tag ? [filter.Tag.Key ?? null, filter.Tag.Value ?? null] : null,
    andTags: filter?.And?.Tags?.map((t) => [t.Key ?? null, t.Value ?? null]) ?? null,
    prefix: filter?.Prefix || filter?.And?.Prefix || rule.Prefix || '',
    expirationDays: rule.Expiration?.Days ?? null,
    abortDays: rule.AbortIncompleteMultipartUpload?.DaysAfterInitiation ?? null,
  });
}

async function readLifecycle(client: S3Client, bucket: string): Promise<LifecycleRule[]> {
  try {
    const out = await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }));
    return out.Rules ?? [];
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === 'NoSuchLifecycleConfiguration') return [];
    throw mapS3Error(error, 'reading the lifecycle configuration');
  }
}

async function bucketExists(client: S3Client, bucket: string): Promise<boolean> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return true;
  } catch (error) {
    if (isNotFound(error) || (error as { name?: string }).name === 'NoSuchBucket') return false;
    throw mapS3Error(error, 'checking the bucket');
  }
}

function refuseIfVersioned(config: S3StoreConfig, versioning: VersioningStatus): void {
  if (versioning !== 'Disabled' && config.versionedBucket === 'refuse')
    throw new VersionedBucketError(config.bucket, versioning);
}

/**
 * The deletion proof lists versions and delete markers (ListObjectVersions, IAM
 * `s3:ListBucketVersions`) on every bucket: without that right no deletion could be verified.
 */
async function assertCanListVersions(client: S3Client, bucket: string): Promise<void> {
  try {
    await client.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: RECORDINGS_PREFIX, MaxKeys: 1 }));
  } catch (error) {
    const mapped = mapS3Error(error, 'listing object versions');
    throw new StoreUnavailableError(
      `bucket ${bucket}: ${mapped.message}; proving deletions needs s3:ListBucketVersions`,
      { cause: error },
    );
  }
}

/**
 * Checks, without changing anything, that the bucket exists, that its versioning is
 * acceptable under CALLREC_S3_VERSIONED, and that its versions can be listed (the deletion
 * proof). For main.ts before serving.
 */
export async function checkBucket(config: S3StoreConfig, options: { client?: S3Client } = {}): Promise<BucketCheck> {
  const client = options.client ?? createS3Client(config);
  try {
    if (!(await bucketExists(client, config.bucket))) {
      throw new StoreUnavailableError(`bucket ${config.bucket} does not exist: run \`callrec setup-bucket\``);
    }
    const versioning = await getVersioningStatus(client, config.bucket);
    refuseIfVersioned(config, versioning);
    await assertCanListVersions(client, config.bucket);
    return { bucket: config.bucket, versioning };
  } finally {
    if (!options.client) client.destroy();
  }
}

/** Creates the bucket if missing, installs and verifies the lifecycle rules, checks versioning. */
export async function setupBucket(
  config: S3StoreConfig,
  options: { retentionDays: number; client?: S3Client },
): Promise<SetupBucketReport> {
  const wanted = lifecycleRules(options.retentionDays);
  const client = options.client ?? createS3Client(config);
  try {
    let created = false;
    if (!(await bucketExists(client, config.bucket))) {
      try {
        await client.send(new CreateBucketCommand({ Bucket: config.bucket }));
        created = true;
      } catch (error) {
        const name = (error as { name?: string }).name;
        // Another instance created it first: fine.
        if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists')
          throw mapS3Error(error, 'creating the bucket');
      }
    }

    const versioning = await getVersioningStatus(client, config.bucket);
    refuseIfVersioned(config, versioning);

    const existing = await readLifecycle(client, config.bucket);
    const inPlace = (rules: LifecycleRule[], current: LifecycleRule[]) => {
      const byId = new Map(current.map((r) => [r.ID, r]));
      return rules.every((r) => {
        const found = byId.get(r.ID);
        return found !== undefined && ruleSignature(found) === ruleSignature(r);
      });
    };
    const put = async (rules: LifecycleRule[]) => {
      const ids = new Set(rules.map((r) => r.ID));
      const merged = [...existing.filter((r) => !ids.has(r.ID)), ...rules];
      await client.send(
        new PutBucketLifecycleConfigurationCommand({
          Bucket: config.bucket,
          LifecycleConfiguration: { Rules: merged },
        }),
      );
    };

    let lifecycle: SetupBucketReport['lifecycle'] = 'unchanged';
    let abortIncompleteMultipart: SetupBucketReport['abortIncompleteMultipart'] = 'installed';
    let expected = wanted;
    if (!inPlace(wanted, existing)) {
      try {
        await put(wanted);
        lifecycle = 'installed';
      } catch (error) {
        // MinIO refuses a rule whose only action is AbortIncompleteMultipartUpload (it cleans
        // stale uploads itself). Install the retention rule alone, then.
        const name = (error as { name?: string }).name;
        if (name !== 'InvalidArgument' && name !== 'MalformedXML' && name !== 'NotImplemented') {
          throw mapS3Error(error, 'installing the lifecycle configuration');
        }
        abortIncompleteMultipart = 'unsupported';
        expected = wanted.filter((r) => r.ID !== ABORT_MULTIPART_RULE_ID);
        if (!inPlace(expected, existing)) {
          try {
            await put(expected);
          } catch (retryError) {
            throw mapS3Error(retryError, 'installing the lifecycle configuration');
          }
          lifecycle = 'installed';
        }
      }
    }

    const readBack = await readLifecycle(client, config.bucket);
    const byId = new Map(readBack.map((r) => [r.ID, r]));
    for (const rule of expected) {
      const current = byId.get(rule.ID);
      if (!current || ruleSignature(current) !== ruleSignature(rule)) {
        throw new Error(
          `bucket ${config.bucket}: lifecycle rule ${rule.ID} reads back as ` +
            `${current ? ruleSignature(current) : 'missing'}, ` +
            `expected ${ruleSignature(rule)}`,
        );
      }
    }
    return {
      bucket: config.bucket,
      created,
      lifecycle,
      abortIncompleteMultipart,
      rules: expected.map((r) => r.ID!),
      versioning,
    };
  } finally {
    if (!options.client) client.destroy();
  }
}
