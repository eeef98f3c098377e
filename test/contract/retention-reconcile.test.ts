/**
 * The reconciler on every database × store: orphans, lifecycle-expired rows,
 * partly missing rows, missing tags, stale multipart uploads (S3), dry run.
 */
import { Readable } from 'node:stream';
import { AbortMultipartUploadCommand, CreateMultipartUploadCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { ulid } from 'ulid';
import { verifyDeletionLog } from '../../src/audit/verify.js';
import type { StoreConfig } from '../../src/config.js';
import { reconcile } from '../../src/retention/reconcile.js';
import { recordingKey } from '../../src/storage/keys.js';
import { createS3Client } from '../../src/storage/s3-store.js';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { createStoredRecording } from '../support/recordings.js';
import { LEASE, deletionDeps } from '../support/retention.js';
import { testConfig } from '../support/app.js';

const HOUR = 3_600_000;

for (const dbBackend of dbBackends) {
  for (const storeBackend of storeBackends) {
    describe(`reconcile (${dbBackend.name}, ${storeBackend.name})`, function () {
      let tdb: TestDb;
      let tstore: TestStore;
      const config = testConfig();

      beforeEach(async () => {
        tdb = await dbBackend.create();
        tstore = await storeBackend.create();
      });
      afterEach(async () => {
        await tstore?.dispose();
        await tdb?.dispose();
      });

      const run = (options: { now?: number; dryRun?: boolean } = {}) =>
        reconcile(
          { ...deletionDeps(tdb.db, tstore.store), config: { sweep: { leaseMs: LEASE, batchSize: 10, intervalMs: 60_000 }, retention: config.retention, store: tstore.config } },
          { now: options.now ?? Date.now() + 2 * HOUR, dryRun: options.dryRun },
        );

      const putOrphan = async () => {
        const key = recordingKey({ id: ulid(), startedAt: new Date(), name: 'original', ext: 'wav' });
        await tstore.store.put(key, Readable.from([Buffer.from('orphan')]), { contentType: 'audio/wav', tags: { retention: '30d' } });
        return key;
      };

      it('when an object under recordings/ has no row and is older than the grace period, then it is deleted; a fresh one is left for its upload to finish', async () => {
        const kept = await createStoredRecording({ db: tdb.db, store: tstore.store });
        const orphan = await putOrphan();
        const fresh = await run({ now: Date.now() });
        expect(fresh.orphans.found).to.equal(0);
        expect(await tstore.store.exists(orphan)).to.equal(true);

        const result = await run();
        expect(result.orphans).to.deep.equal({ found: 1, deleted: 1 });
        expect(await tstore.store.exists(orphan)).to.equal(false);
        for (const key of kept.keys) expect(await tstore.store.exists(key)).to.equal(true);
        expect(await tdb.db.knex('deletion_log')).to.have.length(0);
      });

      it('when every object of a row is gone, then the row is deleted and logged as lifecycle_expired; a row missing one object is only reported', async () => {
        const gone = await createStoredRecording({ db: tdb.db, store: tstore.store, overrides: { writeObjects: false } });
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
        const rec = await createStoredRecording({ db: tdb.db, store: tstore.store, overrides: { tags: { purpose: 'training' } } });
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
        const gone = await createStoredRecording({ db: tdb.db, store: tstore.store, overrides: { writeObjects: false } });
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
        it('when a multipart upload of ours is older than a day, then it is aborted; a recent one is left alone', async () => {
          const s3 = tstore.config as Extract<StoreConfig, { kind: 's3' }>;
          const client = createS3Client(s3);
          try {
            const key = recordingKey({ id: ulid(), startedAt: new Date(), name: 'original', ext: 'wav' });
            const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key: key }));
            const list = async () => (await client.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket }))).Uploads ?? [];
            expect(await list()).to.have.length(1);
            expect((await run({ now: Date.now() + HOUR })).uploads).to.deep.equal({ found: 0, aborted: 0 });
            expect(await list()).to.have.length(1);
            const result = await run({ now: Date.now() + 25 * HOUR });
            expect(result.uploads).to.deep.equal({ found: 1, aborted: 1 });
            expect(await list()).to.have.length(0);
            await client.send(new AbortMultipartUploadCommand({ Bucket: s3.bucket, Key: key, UploadId })).catch(() => undefined);
          } finally {
            client.destroy();
          }
        });
      }
    });
  }
}
