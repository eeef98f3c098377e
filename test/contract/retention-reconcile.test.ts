/**
 * The reconciler on every database × store: crash recovery, orphans, lifecycle-expired rows,
 * partly missing rows, missing tags, multipart uploads of no upload in flight (S3), dry run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
} from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { ulid } from 'ulid';
import { verifyDeletionLog } from '../../src/audit/verify.js';
import type { StoreConfig } from '../../src/config.js';
import { insertInflight } from '../../src/db/ingest-inflight.js';
import { OWNER_LEASE_MS, currentOwner, formatOwner } from '../../src/process-owner.js';
import type { ProcessOwner } from '../../src/process-owner.js';
import { reconcile } from '../../src/retention/reconcile.js';
import { FS_STORE_TMP_DIR } from '../../src/storage/fs-store.js';
import { recordingKey, recordingPrefix } from '../../src/storage/keys.js';
import { createS3Client } from '../../src/storage/s3-store.js';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { createStoredRecording } from '../support/recordings.js';
import { LEASE, deletionDeps } from '../support/retention.js';
import { testConfig } from '../support/app.js';
import { deadOwner, tempLeftovers, writeOwnedDir } from '../support/owners.js';

const HOUR = 3_600_000;

for (const dbBackend of dbBackends) {
  for (const storeBackend of storeBackends) {
    describe(`reconcile (${dbBackend.name}, ${storeBackend.name})`, function () {
      let tdb: TestDb;
      let tstore: TestStore;
      const config = testConfig();
      after(() => fs.rmSync(config.dataDir, { recursive: true, force: true }));

      beforeEach(async () => {
        tdb = await dbBackend.create();
        tstore = await storeBackend.create();
      });
      afterEach(async () => {
        await tstore?.dispose();
        await tdb?.dispose();
      });

      /** The application log lines of the runs so far. */
      let logs: string[] = [];
      beforeEach(() => {
        logs = [];
      });
      const run = (options: { now?: number; dryRun?: boolean } = {}) => {
        const deps = deletionDeps(tdb.db, tstore.store);
        logs = deps.logs;
        return reconcile(
          {
            ...deps,
            config: {
              sweep: { leaseMs: LEASE, batchSize: 10, intervalMs: 60_000 },
              retention: config.retention,
              store: tstore.config,
              dataDir: config.dataDir,
            },
          },
          { now: options.now ?? Date.now() + 2 * HOUR, dryRun: options.dryRun },
        );
      };

      const putOrphan = async (id = ulid()) => {
        const key = recordingKey({ id, startedAt: new Date(), name: 'original', ext: 'wav' });
        await tstore.store.put(key, Readable.from([Buffer.from('orphan')]), {
          contentType: 'audio/wav',
          tags: { retention: '30d' },
        });
        return key;
      };

      /** The marker of an upload in flight (by `owner`, lease until `leaseExpiresAt`) for a fresh recording id. */
      const markInFlight = async (options: { leaseExpiresAt: number; owner?: ProcessOwner }) => {
        const id = ulid();
        await insertInflight(tdb.db.knex, {
          recording_id: id,
          object_prefix: recordingPrefix(id, new Date()),
          owner: formatOwner(options.owner ?? currentOwner(), 'ingest-test'),
          created_at: Date.now(),
          lease_expires_at: options.leaseExpiresAt,
        });
        return id;
      };

      it('when an object under recordings/ has no row and belongs to no upload in flight, then it is deleted at once, however fresh; one of an upload in flight stays', async () => {
        const kept = await createStoredRecording({ db: tdb.db, store: tstore.store });
        const orphan = await putOrphan();
        const now = Date.now();
        const uploading = await putOrphan(await markInFlight({ leaseExpiresAt: now + OWNER_LEASE_MS }));

        const result = await run({ now });
        expect(result.orphans).to.deep.equal({ found: 1, deleted: 1 });
        expect(await tstore.store.exists(orphan)).to.equal(false);
        expect(await tstore.store.exists(uploading)).to.equal(true);
        expect(logs.filter((l) => l.includes('orphan object deleted')).join('\n'))
          .to.contain(orphan)
          .and.not.contain(uploading);
        for (const key of kept.keys) expect(await tstore.store.exists(key)).to.equal(true);
        expect(await tdb.db.knex('deletion_log')).to.have.length(0);
      });

      it("when an upload's process was killed (or its lease ran out), then its objects and marker are removed and reported; a live one stays", async () => {
        const now = Date.now();
        const killed = await putOrphan(
          await markInFlight({ leaseExpiresAt: now + OWNER_LEASE_MS, owner: await deadOwner() }),
        );
        const lapsed = await putOrphan(
          await markInFlight({ leaseExpiresAt: now - 1, owner: { ...currentOwner(), machine: 'another-host' } }),
        );
        const liveId = await markInFlight({ leaseExpiresAt: now + OWNER_LEASE_MS });
        const live = await putOrphan(liveId);

        const dry = await run({ now, dryRun: true });
        expect(dry.crashRecovery.uploads).to.include({ found: 2, objects: 2 });
        expect(await tstore.store.exists(killed)).to.equal(true);

        const result = await run({ now });
        expect(result.crashRecovery.uploads).to.include({ found: 2, objects: 2 });
        expect(result.orphans.found).to.equal(0);
        expect(await tstore.store.exists(killed)).to.equal(false);
        expect(await tstore.store.exists(lapsed)).to.equal(false);
        expect(await tstore.store.exists(live)).to.equal(true);
        expect(
          (await tdb.db.knex('ingest_inflight').select('recording_id')).map(
            (m: { recording_id: string }) => m.recording_id,
          ),
        ).to.deep.equal([liveId]);
        expect(result.errors).to.equal(0);
        // What went is logged by key (keys hold no personal data), the live upload is not.
        const removed = logs.filter((l) => l.includes('crash recovery')).join('\n');
        for (const key of [killed, lapsed]) expect(removed).to.contain(key);
        expect(removed).not.to.contain(live);
      });

      it('when a killed process left ingest temp folders (and partial objects in an fs store), then reconcile reports and removes them', async () => {
        const tmp = path.join(config.dataDir, 'tmp');
        const dead = await deadOwner();
        writeOwnedDir(tmp, dead, { files: { 'ingest-a/original': 'call audio', 'ingest-a/playback': 'rendition' } });
        const storeTmp = tstore.config.kind === 'fs' ? path.join(tstore.config.root, FS_STORE_TMP_DIR) : undefined;
        if (storeTmp) writeOwnedDir(storeTmp, dead, { files: { 'x.part': 'partial object' } });

        const dry = await run({ now: Date.now(), dryRun: true });
        expect(dry.crashRecovery.ingestTemp.removed).to.equal(1);
        expect(tempLeftovers(tmp)).to.have.length(2);

        const result = await run({ now: Date.now() });
        expect(result.crashRecovery.ingestTemp).to.deep.equal({
          removed: 1,
          bytes: dry.crashRecovery.ingestTemp.bytes,
        });
        expect(result.crashRecovery.ingestTemp.bytes).to.be.at.least('call audio'.length + 'rendition'.length);
        expect(tempLeftovers(tmp)).to.deep.equal([]);
        if (storeTmp) {
          expect(result.crashRecovery.storeTemp.removed).to.equal(1);
          expect(tempLeftovers(storeTmp)).to.deep.equal([]);
        }
      });

      it('when every object of a row is gone, then the row is deleted and logged as lifecycle_expired; a row missing one object is only reported', async () => {
        const gone = await createStoredRecording({
          db: tdb.db,
          store: tstore.store,
          overrides: { writeObjects: false },
        });
        const partly = await createStoredRecording({ db: tdb.db, store: tstore.store });
        await tstore.store.delete(partly.row.playback_key);
        const whole = await createStoredRecording({ db: tdb.db, store: tstore.store });

        const result = await run();
        expect(result.lifecycleExpired).to.deep.equal({ found: 1, deleted: [gone.row.id] });
        expect(result.partlyMissing).to.deep.equal([partly.row.id]);
        const entries = await tdb.db.knex('deletion_log');
        expect(entries).to.have.length(1);
        expect(entries[0]).to.include({ recording_id: gone.row.id, reason: 'lifecycle_expired', actor: 'reconciler' });
        expect(await tdb.db.knex('recordings').where({ id: gone.row.id }).first()).to.equal(undefined);
        expect(await tdb.db.knex('recordings').where({ id: partly.row.id }).first()).to.not.equal(undefined);
        expect(await tdb.db.knex('recordings').where({ id: whole.row.id }).first()).to.not.equal(undefined);
        expect((await verifyDeletionLog(tdb.db)).ok).to.equal(true);
      });

      it('when an object lacks its retention tag, then it is re-tagged and keeps its other tags', async () => {
        const rec = await createStoredRecording({
          db: tdb.db,
          store: tstore.store,
          overrides: { tags: { purpose: 'training' } },
        });
        const result = await run();
        expect(result.retagged).to.equal(2);
        for (const key of rec.keys) {
          const tags = await tstore.store.getTags(key);
          expect(tags).to.include({ retention: config.retention.tag, purpose: 'training' });
          expect(tags['expires-at']).to.equal(new Date(rec.row.expires_at).toISOString().slice(0, 10));
        }
        expect((await run()).retagged).to.equal(0);
      });

      it('when it is a dry run, then it reports the same findings and changes nothing', async () => {
        const orphan = await putOrphan();
        const gone = await createStoredRecording({
          db: tdb.db,
          store: tstore.store,
          overrides: { writeObjects: false },
        });
        const untagged = await createStoredRecording({ db: tdb.db, store: tstore.store, overrides: { tags: {} } });
        const result = await run({ dryRun: true });
        expect(result).to.deep.include({ dryRun: true, retagged: 2 });
        expect(result.orphans).to.deep.equal({ found: 1, deleted: 0 });
        expect(result.lifecycleExpired).to.deep.equal({ found: 1, deleted: [] });
        expect(await tstore.store.exists(orphan)).to.equal(true);
        expect(await tdb.db.knex('recordings').where({ id: gone.row.id }).first()).to.not.equal(undefined);
        expect(await tstore.store.getTags(untagged.row.original_key)).to.deep.equal({});
        expect(await tdb.db.knex('deletion_log')).to.have.length(0);
      });

      if (storeBackend.name === 'minio') {
        it('when a multipart upload belongs to no upload in flight, then it is aborted at once; one of an upload in flight stays until its process is gone', async () => {
          const s3 = tstore.config as Extract<StoreConfig, { kind: 's3' }>;
          const client = createS3Client(s3);
          const uploadIds: Array<{ Key: string; UploadId: string }> = [];
          try {
            const now = Date.now();
            const start = async (id: string) => {
              const Key = recordingKey({ id, startedAt: new Date(), name: 'original', ext: 'wav' });
              const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key }));
              uploadIds.push({ Key, UploadId: UploadId! });
              return Key;
            };
            const abandoned = await start(ulid());
            const inFlight = await start(await markInFlight({ leaseExpiresAt: now + OWNER_LEASE_MS }));
            const list = async () =>
              ((await client.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket }))).Uploads ?? []).map(
                (u) => u.Key,
              );
            expect((await list()).sort()).to.deep.equal([abandoned, inFlight].sort());

            const result = await run({ now });
            expect(result.uploads).to.deep.equal({ found: 1, aborted: 1 });
            expect(await list()).to.deep.equal([inFlight]);

            // Its lease runs out (its process stopped renewing it): crash recovery aborts it.
            const later = await run({ now: now + OWNER_LEASE_MS + 1 });
            expect(later.crashRecovery.uploads).to.include({ found: 1, multipartAborted: 1 });
            expect(await list()).to.deep.equal([]);
          } finally {
            for (const id of uploadIds)
              await client.send(new AbortMultipartUploadCommand({ Bucket: s3.bucket, ...id })).catch(() => undefined);
            client.destroy();
          }
        });
      }
    });
  }
}
