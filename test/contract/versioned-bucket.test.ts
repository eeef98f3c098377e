/**
 * A bucket whose versioning is switched on while callrec runs, on a real MinIO: the absence
 * proof lists versions and delete markers and never trusts a cached versioning status, so no
 * deletion is logged as verified while a version of its audio remains; under
 * CALLREC_S3_VERSIONED=delete-versions the recording is fully gone (no version, no marker) and
 * logged. Each test first deletes something while the bucket is still unversioned, as a running
 * service would have, and switches versioning on right before the sweep.
 */
import { Readable } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
} from '@aws-sdk/client-s3';
import type { BucketVersioningStatus, S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { verifyDeletionLog } from '../../src/audit/verify.js';
import type { ClaimedRecording } from '../../src/db/recordings.js';
import { isAppError } from '../../src/errors.js';
import { verifyByListing, verifyModeFor } from '../../src/retention/delete-core.js';
import type { DeletionDeps } from '../../src/retention/delete-core.js';
import { deleteRecording } from '../../src/retention/delete-recording.js';
import { sweepOnce } from '../../src/retention/sweep.js';
import type { ObjectStore, VersionItem } from '../../src/storage/object-store.js';
import { VersionedBucketError, createS3Client, createS3Store } from '../../src/storage/s3-store.js';
import type { S3StoreConfig } from '../../src/storage/s3-store.js';
import { setupBucket } from '../../src/storage/setup-bucket.js';
import { dbBackends, destroyBucket, minioStoreConfig, uniqueName } from '../support/backends.js';
import type { TestDb } from '../support/backends.js';
import { createStoredRecording } from '../support/recordings.js';
import type { StoredRecording } from '../support/recordings.js';
import { rejection } from '../support/rejection.js';
import { DAY, LEASE, counterValue, deletionDeps, logRows, rowExists } from '../support/retention.js';

const T0 = Date.UTC(2026, 2, 1, 9);
const sqlite = dbBackends.find((b) => b.name === 'sqlite')!;

describe('a bucket switched to versioning while callrec runs (MinIO)', function () {
  let client: S3Client;
  let config: S3StoreConfig;
  let store: ObjectStore;
  let tdb: TestDb;
  let deps: DeletionDeps & { logs: string[] };

  /** A fresh unversioned bucket (as `setup-bucket` leaves it) and a store on it under `mode`. */
  async function start(mode: S3StoreConfig['versionedBucket']): Promise<void> {
    config = { ...minioStoreConfig(uniqueName('callrec-versions-')), versionedBucket: mode };
    await setupBucket(config, { retentionDays: 30 });
    store = createS3Store(config);
    deps = deletionDeps(tdb.db, store);
  }

  async function setVersioning(Status: BucketVersioningStatus): Promise<void> {
    await client.send(new PutBucketVersioningCommand({ Bucket: config.bucket, VersioningConfiguration: { Status } }));
  }

  /** The oracle: every version and delete marker of `keys`, asked of the bucket directly. */
  async function tracesOf(
    keys: readonly string[],
  ): Promise<Array<{ key: string; versionId: string; deleteMarker: boolean }>> {
    const wanted = new Set(keys);
    const found: Array<{ key: string; versionId: string; deleteMarker: boolean }> = [];
    for (const prefix of new Set(keys.map((k) => k.slice(0, k.lastIndexOf('/') + 1)))) {
      let marker: { KeyMarker?: string; VersionIdMarker?: string } = {};
      for (;;) {
        const out = await client.send(
          new ListObjectVersionsCommand({ Bucket: config.bucket, Prefix: prefix, ...marker }),
        );
        for (const v of out.Versions ?? [])
          if (wanted.has(v.Key!)) found.push({ key: v.Key!, versionId: v.VersionId!, deleteMarker: false });
        for (const m of out.DeleteMarkers ?? [])
          if (wanted.has(m.Key!)) found.push({ key: m.Key!, versionId: m.VersionId!, deleteMarker: true });
        if (!out.IsTruncated) break;
        marker = { KeyMarker: out.NextKeyMarker, VersionIdMarker: out.NextVersionIdMarker };
      }
    }
    return found;
  }

  /** A delete that only added delete markers: what a plain DeleteObjects does on a versioned bucket. */
  async function plainDelete(keys: readonly string[]): Promise<void> {
    await client.send(
      new DeleteObjectsCommand({
        Bucket: config.bucket,
        Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
      }),
    );
  }

  const sweep = (now: number, over: ObjectStore = store) =>
    sweepOnce({ ...deps, store: over }, { now, batchSize: 50, leaseMs: LEASE, verify: verifyModeFor(over) });

  /** Recordings due at `expiresAt`, spread over two day folders. */
  async function dueRecordings(count: number, expiresAt: number): Promise<StoredRecording[]> {
    const recs: StoredRecording[] = [];
    for (let i = 0; i < count; i++) {
      recs.push(
        await createStoredRecording({
          db: tdb.db,
          store,
          overrides: { started_at: T0 - 30 * DAY + (i % 2) * DAY, expires_at: expiresAt },
        }),
      );
    }
    return recs;
  }

  /** callrec has been running: one recording swept while the bucket was still unversioned. */
  async function sweepOneWhileUnversioned(): Promise<void> {
    const [early] = await dueRecordings(1, T0);
    const result = await sweep(T0);
    expect(result.deleted.map((d) => d.recordingId)).to.deep.equal([early!.row.id]);
  }

  before(async function () {
    client = createS3Client(minioStoreConfig('unused'));
  });
  beforeEach(async function () {
    tdb = await sqlite.create();
  });
  afterEach(async function () {
    await store?.close();
    if (config) await destroyBucket(config);
    await tdb?.dispose();
  });
  after(function () {
    client.destroy();
  });

  describe('CALLREC_S3_VERSIONED=refuse', function () {
    beforeEach(async function () {
      await start('refuse');
    });

    it('when versioning is switched on and the sweeper runs at once, then nothing is deleted or logged, each failure counts as versioned_bucket and the audio is intact', async function () {
      await sweepOneWhileUnversioned();
      const recs = await dueRecordings(3, T0 + DAY);
      await setVersioning('Enabled');

      const result = await sweep(T0 + DAY);

      expect(result.deleted).to.deep.equal([]);
      expect(result.failed.map((f) => f.reason)).to.deep.equal([
        'versioned_bucket',
        'versioned_bucket',
        'versioned_bucket',
      ]);
      for (const rec of recs) {
        expect(await logRows(tdb.db, rec.row.id), 'no deletion-log entry').to.deep.equal([]);
        expect(await rowExists(tdb.db, rec.row.id), 'the row stays for a retry').to.equal(true);
      }
      const row = await tdb.db.knex('recordings').where({ id: recs[0]!.row.id }).first();
      expect(row).to.include({ status: 'deleting', last_error: 'versioned_bucket' });
      // Refused before deleting: every object is still its current version, no delete marker was added.
      const traces = await tracesOf(recs.flatMap((r) => r.keys));
      expect(traces.filter((t) => t.deleteMarker)).to.deep.equal([]);
      expect(new Set(traces.map((t) => t.key))).to.deep.equal(new Set(recs.flatMap((r) => r.keys)));
      const failures = (await deps.metrics.sweeperFailures.get()).values;
      expect(failures.find((v) => v.labels.reason === 'versioned_bucket')?.value).to.equal(3);
      expect((await verifyDeletionLog(tdb.db)).ok).to.equal(true);
    });

    it('when a delete only added delete markers (it raced the switch), then the sweep and an erasure log nothing and fail with versions_remain', async function () {
      await sweepOneWhileUnversioned();
      const recs = await dueRecordings(3, T0 + DAY);
      const erased = (await dueRecordings(1, T0 + 10 * DAY))[0]!;
      await setVersioning('Enabled');
      // The store as a delete that read `Disabled` just before the switch leaves it: markers only.
      const racing: ObjectStore = {
        ...store,
        deleteMany: async (keys) => {
          await plainDelete(keys);
          return { deleted: [...keys], failed: [] };
        },
      };

      const result = await sweep(T0 + DAY, racing);
      expect(result.deleted).to.deep.equal([]);
      expect(new Set(result.failed.map((f) => f.reason))).to.deep.equal(new Set(['versions_remain']));
      expect(result.failed).to.have.length(3);
      const error = await rejection(
        deleteRecording({
          deps: { ...deps, store: racing, config: { sweep: { leaseMs: LEASE, intervalMs: 60_000, batchSize: 50 } } },
          recordingId: erased.row.id,
          reason: 'erasure_request',
          actor: 'privacy-1',
          now: T0 + DAY,
        }),
      );
      expect(isAppError(error) && error.status).to.equal(503);

      for (const rec of [...recs, erased]) {
        expect(await logRows(tdb.db, rec.row.id), 'no deletion-log entry').to.deep.equal([]);
        // The full call is still in the bucket, behind a delete marker.
        const [version] = (await tracesOf([rec.row.original_key])).filter((t) => !t.deleteMarker);
        const out = await client.send(
          new GetObjectCommand({ Bucket: config.bucket, Key: rec.row.original_key, VersionId: version!.versionId }),
        );
        expect(Buffer.from(await out.Body!.transformToByteArray()).equals(rec.originalBody)).to.equal(true);
      }
      const row = await tdb.db.knex('recordings').where({ id: erased.row.id }).first();
      expect(row.last_error).to.equal('versions_remain');
      const failures = (await deps.metrics.sweeperFailures.get()).values;
      expect(failures.find((v) => v.labels.reason === 'versions_remain')?.value).to.equal(4);
    });

    for (const [name, tuning] of [
      ['one range per day folder', {}],
      ['pages of one trace', { pageSize: 1 }],
      ['each recording on its own', { pageSize: 1, budget: 0 }],
    ] as const) {
      it(`when only some recordings of a batch kept versions or delete markers (${name}), then exactly those fail with versions_remain`, async function () {
        const recs = await dueRecordings(6, T0 + DAY);
        await setVersioning('Enabled');
        await plainDelete(recs.flatMap((r) => r.keys));
        // Recordings 0, 2, 4: every version and marker removed. 1: only its playback's marker left
        // (no bytes, but a trace). 3 and 5: the audio's versions behind their markers.
        const clean = [recs[0]!, recs[2]!, recs[4]!].flatMap((r) => r.keys);
        const onlyMarker = await tracesOf([recs[1]!.row.playback_key]);
        const toRemove = [
          ...(await tracesOf([...clean, recs[1]!.row.original_key])),
          ...onlyMarker.filter((t) => !t.deleteMarker),
        ];
        await client.send(
          new DeleteObjectsCommand({
            Bucket: config.bucket,
            Delete: { Objects: toRemove.map((t) => ({ Key: t.key, VersionId: t.versionId })), Quiet: true },
          }),
        );

        const failed = new Map<string, string>();
        await verifyByListing(store, recs.map(claimedOf), {
          fail: (id, reason) => failed.set(id, failed.get(id) ?? reason),
          ...tuning,
        });
        expect(failed).to.deep.equal(new Map([recs[1]!, recs[3]!, recs[5]!].map((r) => [r.row.id, 'versions_remain'])));
      });
    }

    it('when versioning is switched on after the store deleted once, then delete refuses at once, and exists and listVersions see what a plain delete left', async function () {
      await store.put('v/warm.bin', Buffer.from('w'), { contentType: 'audio/ogg', tags: {} });
      await store.delete('v/warm.bin');
      await setVersioning('Enabled');
      await store.put('v/a.bin', Buffer.from('first'), { contentType: 'audio/ogg', tags: {} });
      await store.put('v/a.bin', Buffer.from('second'), { contentType: 'audio/ogg', tags: {} });
      await plainDelete(['v/a.bin']);

      expect(await store.exists('v/a.bin'), 'two versions and a marker are a trace').to.equal(true);
      const listed = await listAllVersions(store, 'v/');
      expect(listed.map((v) => [v.key, v.deleteMarker, v.latest])).to.deep.equal([
        ['v/a.bin', true, true],
        ['v/a.bin', false, false],
        ['v/a.bin', false, false],
      ]);
      await store.put('v/b.bin', Buffer.from('b'), { contentType: 'audio/ogg', tags: {} });
      expect(await rejection(store.delete('v/b.bin'))).to.be.instanceOf(VersionedBucketError);
      const result = await store.deleteMany(['v/b.bin']);
      expect(result.failed.map((f) => f.error.name)).to.deep.equal(['VersionedBucketError']);
      expect(await tracesOf(['v/b.bin'])).to.have.length(1);
    });
  });

  describe('CALLREC_S3_VERSIONED=delete-versions', function () {
    beforeEach(async function () {
      await start('delete-versions');
    });

    for (const status of ['Enabled', 'Suspended'] as const) {
      it(`when versioning is switched to ${status} and the sweeper runs at once, then every version and delete marker is gone and each recording is logged once`, async function () {
        await sweepOneWhileUnversioned();
        const recs = await dueRecordings(3, T0 + DAY);
        await setVersioning(status);
        // Versions written after the switch, and a marker left by someone's plain delete.
        await store.put(recs[0]!.row.original_key, Readable.from([Buffer.from('again')]), {
          contentType: 'audio/wav',
          tags: {},
        });
        await plainDelete([recs[1]!.row.playback_key]);
        expect((await tracesOf(recs.flatMap((r) => r.keys))).some((t) => t.deleteMarker)).to.equal(true);

        const result = await sweep(T0 + DAY);

        expect(result.failed).to.deep.equal([]);
        expect(result.deleted.map((d) => d.recordingId).sort()).to.deep.equal(recs.map((r) => r.row.id).sort());
        expect(await tracesOf(recs.flatMap((r) => r.keys)), 'no version, no delete marker').to.deep.equal([]);
        for (const rec of recs) {
          const entries = await logRows(tdb.db, rec.row.id);
          expect(entries).to.have.length(1);
          expect(entries[0]!.verified === true || entries[0]!.verified === 1).to.equal(true);
        }
        expect(await counterValue(deps.metrics.sweeperFailures)).to.equal(0);
        expect((await verifyDeletionLog(tdb.db)).ok).to.equal(true);
      });
    }
  });
});

function claimedOf(rec: StoredRecording): ClaimedRecording {
  return { ...rec.row, delete_reason: 'retention_expired', delete_actor: 'sweeper', delete_reference: null };
}

async function listAllVersions(store: ObjectStore, prefix: string): Promise<VersionItem[]> {
  const items: VersionItem[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listVersions(prefix, { limit: 1, ...(cursor ? { cursor } : {}) });
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}
