/**
 * Deletion-log checkpoints outside the database: published to the object store and the
 * log output as they are signed, signed on CALLREC_CHECKPOINT_INTERVAL by the background
 * job, and the verifier catching a cut, wiped or re-chained log against the published
 * copies — on every database × store, and on a MinIO bucket with Object Lock.
 */
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { GetObjectRetentionCommand, ListObjectVersionsCommand, DeleteObjectCommand } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { loadCheckpointKey } from '../../src/audit/checkpoint-key.js';
import {
  CHECKPOINTS_PREFIX,
  checkpointObjectKey,
  verifyPublishedCheckpoint,
} from '../../src/audit/checkpoint-publish.js';
import { hashRow } from '../../src/audit/deletion-log.js';
import { maybeCheckpoint } from '../../src/audit/checkpoints.js';
import type { Checkpoint, CheckpointDeps } from '../../src/audit/checkpoints.js';
import { verifyDeletionLog } from '../../src/audit/verify.js';
import { startBackgroundJobs } from '../../src/background.js';
import { createManualClock } from '../../src/clock.js';
import type { StoreConfig } from '../../src/config.js';
import type { Db } from '../../src/db/db.js';
import type { DeletionLogRow } from '../../src/db/deletion-log.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { reconcile } from '../../src/retention/reconcile.js';
import { StoreUnavailableError } from '../../src/storage/object-store.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { createS3Client } from '../../src/storage/s3-store.js';
import { testConfig } from '../support/app.js';
import { createLockedMinioStore, dbBackends, storeBackends, storeKeys, tempDir } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { rejection } from '../support/rejection.js';
import { DAY, LEASE, LOG_T0, appendEntries, checkpointDeps, deletionDeps } from '../support/retention.js';
import { asDatabaseOwner } from '../support/tamper.js';
import { seededBytes } from '../support/random.js';

const T0 = LOG_T0;
const HOUR = 3_600_000;

/** The attacker with the database owner's rights: drops entries above `size` and every checkpoint row above it. */
async function cutTail(db: Db, size: number): Promise<void> {
  await asDatabaseOwner(db, async (knex) => {
    await knex('deletion_log').where('seq', '>', size).del();
    await knex('deletion_checkpoints').where('size', '>', size).del();
  });
}

/** The attacker rewrites entry `seq`, re-chains every later hash, and removes the stored checkpoints that would show it. */
async function rewriteAndRechain(db: Db, seq: number): Promise<void> {
  await asDatabaseOwner(db, async (knex) => {
    const rows = (await knex('deletion_log').orderBy('seq', 'asc')) as DeletionLogRow[];
    let prev = rows[seq - 2]?.hash ?? '0'.repeat(64);
    for (const row of rows.filter((r) => Number(r.seq) >= seq)) {
      const changed = {
        ...row,
        verified: Boolean(row.verified),
        prev_hash: prev,
        reason: Number(row.seq) === seq ? ('lifecycle_expired' as const) : row.reason,
      };
      changed.hash = hashRow(changed);
      await knex('deletion_log')
        .where({ seq: row.seq })
        .update({ reason: changed.reason, prev_hash: changed.prev_hash, hash: changed.hash });
      prev = changed.hash;
    }
    await knex('deletion_checkpoints').del();
  });
}

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

for (const dbBackend of dbBackends) {
  for (const storeBackend of storeBackends) {
    describe(`published checkpoints (${dbBackend.name}, ${storeBackend.name})`, function () {
      let tdb: TestDb;
      let tstore: TestStore;
      let keyFile: string;
      let deps: CheckpointDeps & { logs: string[] };

      beforeEach(async () => {
        tdb = await dbBackend.create();
        tstore = await storeBackend.create();
        keyFile = path.join(tempDir('callrec-key-'), 'checkpoint-key.pem');
        deps = checkpointDeps(tdb.db, tstore.store, { CALLREC_CHECKPOINT_KEY_FILE: keyFile });
      });
      afterEach(async () => {
        await tstore?.dispose();
        await tdb?.dispose();
      });

      const publicKey = () => loadCheckpointKey(keyFile).publicKey;
      const verifyWithStore = () => verifyDeletionLog(tdb.db, { publicKey: publicKey(), store: tstore.store });
      const verifyDatabaseOnly = () => verifyDeletionLog(tdb.db, { publicKey: publicKey() });

      it('when a checkpoint is signed, then it is published under checkpoints/ as the signed document, untagged, and as one log line with size, head hash and signature', async () => {
        await appendEntries(tdb.db, 3);
        const checkpoint = (await maybeCheckpoint(deps, { now: T0 }))!;
        const key = checkpointObjectKey(checkpoint);
        expect(key).to.match(/^checkpoints\/00000000000\/000000000000003-[0-9a-f]{64}\.json$/);
        expect(await storeKeys(tstore.store, CHECKPOINTS_PREFIX)).to.deep.equal([key]);
        expect(await tstore.store.getTags(key)).to.deep.equal({});
        const document = JSON.parse((await buffer((await tstore.store.get(key)).body)).toString('utf8')) as Checkpoint;
        expect(document).to.deep.equal(checkpoint);
        expect(
          await verifyPublishedCheckpoint(
            tstore.store,
            { key, size: 3, headHash: checkpoint.headHash },
            { publicKey: publicKey() },
          ),
        ).to.equal(true);

        const lines = deps.logs.map(
          (l) => JSON.parse(l) as { msg: string; checkpoint?: Record<string, unknown>; published?: boolean },
        );
        const logged = lines.filter((l) => l.msg === 'deletion log checkpoint');
        expect(logged).to.have.length(1);
        const { signature, ...rest } = checkpoint;
        expect(logged[0]!.checkpoint).to.deep.equal({
          ...rest,
          sigHex: Buffer.from(signature, 'base64').toString('hex'),
        });
        expect(logged[0]!.published).to.equal(true);
        expect(await verifyWithStore()).to.deep.include({
          ok: true,
          external: { count: 1, matched: 1, largestSize: 3 },
        });
      });

      it('when the store fails as a checkpoint is signed, then the checkpoint is kept and logged, and the next run publishes it', async () => {
        await appendEntries(tdb.db, 2);
        const down: ObjectStore = { ...tstore.store, put: () => Promise.reject(new StoreUnavailableError('down')) };
        const checkpoint = (await maybeCheckpoint({ ...deps, store: down }, { now: T0 }))!;
        expect(checkpoint).to.include({ size: 2 });
        expect(await storeKeys(tstore.store, CHECKPOINTS_PREFIX)).to.deep.equal([]);
        expect(deps.logs.join('\n'))
          .to.include('not written to the object store')
          .and.include(Buffer.from(checkpoint.signature, 'base64').toString('hex'));

        expect(await maybeCheckpoint(deps, { now: T0 + 1000 })).to.equal(undefined);
        expect(await storeKeys(tstore.store, CHECKPOINTS_PREFIX)).to.deep.equal([checkpointObjectKey(checkpoint)]);
      });

      it('when the reconciler runs long after checkpoints were published, then it leaves them in place', async () => {
        await appendEntries(tdb.db, 2);
        const checkpoint = (await maybeCheckpoint(deps, { now: T0 }))!;
        const config = testConfig();
        const result = await reconcile(
          {
            ...deletionDeps(tdb.db, tstore.store),
            config: {
              sweep: { leaseMs: LEASE, batchSize: 10, intervalMs: 60_000 },
              retention: config.retention,
              store: tstore.config,
              dataDir: config.dataDir,
            },
          },
          { now: Date.now() + 400 * DAY },
        );
        expect(result.orphans.found).to.equal(0);
        expect(await storeKeys(tstore.store, CHECKPOINTS_PREFIX)).to.deep.equal([checkpointObjectKey(checkpoint)]);
      });

      it("when the log's tail is cut and the stored checkpoints beyond it deleted, then only the published copy shows it: truncated from the first dropped seq", async () => {
        await appendEntries(tdb.db, 10);
        await maybeCheckpoint(deps, { now: T0 });
        await appendEntries(tdb.db, 5);
        expect(await maybeCheckpoint(deps, { now: T0 + 2 * HOUR })).to.include({ size: 15 });

        await cutTail(tdb.db, 12);
        expect(await verifyDatabaseOnly(), 'the database alone looks intact').to.include({ ok: true, count: 12 });
        const result = await verifyWithStore();
        expect(result).to.include({ ok: false, count: 12, firstInvalidSeq: 13, problem: 'truncated' });
        expect(result.external).to.deep.equal({ count: 2, matched: 1, largestSize: 15 });
      });

      it('when the log and its checkpoints are wiped in the database, then the published copies show it: truncated from seq 1', async () => {
        await appendEntries(tdb.db, 4);
        await maybeCheckpoint(deps, { now: T0 });
        await cutTail(tdb.db, 0);
        expect(await verifyDatabaseOnly(), 'the database alone looks intact').to.include({ ok: true, count: 0 });
        expect(await verifyWithStore()).to.deep.include({
          ok: false,
          count: 0,
          firstInvalidSeq: 1,
          problem: 'truncated',
          external: { count: 1, matched: 0, largestSize: 4 },
        });
      });

      it('when one entry is rewritten, every later hash re-chained and the stored checkpoints deleted, then the published checkpoint after it no longer matches: checkpoint_mismatch from the last matching one, in one pass and in parallel ranges', async () => {
        await appendEntries(tdb.db, 5);
        await maybeCheckpoint(deps, { now: T0 });
        await appendEntries(tdb.db, 5);
        await maybeCheckpoint(deps, { now: T0 + 2 * HOUR });
        await appendEntries(tdb.db, 3);

        await rewriteAndRechain(tdb.db, 7);
        expect(await verifyDatabaseOnly(), 'the database alone looks intact').to.include({ ok: true, count: 13 });
        const single = await verifyWithStore();
        expect(single).to.deep.include({
          ok: false,
          firstInvalidSeq: 6,
          problem: 'checkpoint_mismatch',
          external: { count: 2, matched: 1, largestSize: 10 },
        });
        const parallel = await verifyDeletionLog(tdb.db, {
          publicKey: publicKey(),
          store: tstore.store,
          dbConfig: tdb.config,
          workers: 3,
          parallelThreshold: 1,
        });
        expect(parallel).to.deep.equal(single);
      });

      it('when an object no key signed is planted under checkpoints/, then verification reports external_checkpoint_signature at its size instead of calling the log truncated', async () => {
        await appendEntries(tdb.db, 4);
        await maybeCheckpoint(deps, { now: T0 });
        const planted = checkpointObjectKey({ size: 9, headHash: seededBytes('checkpoints-1', 32).toString('hex') });
        await tstore.store.put(planted, Buffer.from('{"size":9}'), { contentType: 'application/json', tags: {} });
        expect(await verifyWithStore()).to.deep.include({
          ok: false,
          firstInvalidSeq: 9,
          problem: 'external_checkpoint_signature',
          external: { count: 2, matched: 1, largestSize: 9 },
        });
      });
    });
  }
}

describe('published checkpoints on a MinIO bucket with Object Lock (sqlite)', function () {
  let tdb: TestDb;
  let tstore: TestStore;
  before(async () => {
    tdb = await dbBackends.find((b) => b.name === 'sqlite')!.create();
    tstore = await createLockedMinioStore();
  });
  after(async () => {
    await tstore?.dispose();
    await tdb?.dispose();
  });

  it('when a checkpoint is published, then its object is locked in the configured mode until at + CALLREC_CHECKPOINT_RETAIN, deleting its version is refused, and the log still verifies against it', async () => {
    const keyFile = path.join(tempDir('callrec-key-'), 'checkpoint-key.pem');
    const deps = checkpointDeps(tdb.db, tstore.store, {
      CALLREC_CHECKPOINT_KEY_FILE: keyFile,
      CALLREC_CHECKPOINT_RETAIN: '2d',
    });
    await appendEntries(tdb.db, 3);
    const now = Date.now();
    const checkpoint = (await maybeCheckpoint(deps, { now }))!;
    const key = checkpointObjectKey(checkpoint);
    const logged = deps.logs
      .map((l) => JSON.parse(l) as { msg: string; locked?: boolean })
      .find((l) => l.msg === 'deletion log checkpoint');
    expect(logged?.locked).to.equal(true);

    const config = tstore.config as Extract<StoreConfig, { kind: 's3' }>;
    const client = createS3Client(config);
    try {
      const versionId = (await client.send(new ListObjectVersionsCommand({ Bucket: config.bucket, Prefix: key })))
        .Versions?.[0]?.VersionId;
      const retention = await client.send(
        new GetObjectRetentionCommand({ Bucket: config.bucket, Key: key, VersionId: versionId }),
      );
      expect(retention.Retention?.Mode).to.equal('GOVERNANCE');
      expect(retention.Retention?.RetainUntilDate?.getTime()).to.be.closeTo(now + 2 * DAY, 1000);
      const refused = await rejection(
        client.send(new DeleteObjectCommand({ Bucket: config.bucket, Key: key, VersionId: versionId })),
      );
      expect((refused as { name?: string }).name).to.be.oneOf(['AccessDenied', 'InvalidRequest']);
    } finally {
      client.destroy();
    }
    expect(await rejection(tstore.store.delete(key))).to.be.instanceOf(StoreUnavailableError);
    await cutTail(tdb.db, 0);
    expect(
      await verifyDeletionLog(tdb.db, { publicKey: loadCheckpointKey(keyFile).publicKey, store: tstore.store }),
    ).to.include({
      ok: false,
      firstInvalidSeq: 1,
      problem: 'truncated',
    });
  });
});

for (const dbBackend of dbBackends) {
  describe(`checkpoint job (${dbBackend.name}, fs)`, function () {
    it('when the background jobs run and the log grows, then a checkpoint is signed and published once CALLREC_CHECKPOINT_INTERVAL has passed on the clock, without a sweep', async () => {
      const tdb = await dbBackend.create();
      const tstore = await storeBackends.find((s) => s.name === 'fs')!.create();
      const clock = createManualClock(T0);
      const deps = {
        config: testConfig({ CALLREC_CHECKPOINT_INTERVAL: '200ms', CALLREC_SWEEP_INTERVAL: '1h' }),
        db: tdb.db,
        store: tstore.store,
        logger: createLogger({ level: 'silent' }),
        clock,
        metrics: createMetrics(),
      };
      const sizes = async () =>
        ((await tdb.db.knex('deletion_checkpoints').orderBy('id').select('size')) as Array<{ size: number }>).map((r) =>
          Number(r.size),
        );
      try {
        const jobs = startBackgroundJobs(deps);
        try {
          await appendEntries(tdb.db, 1);
          await until(async () => (await sizes()).length === 1, 'the first checkpoint');
          await appendEntries(tdb.db, 2);
          clock.advance(200);
          await until(
            async () => (await storeKeys(tstore.store, CHECKPOINTS_PREFIX)).length === 2,
            'the checkpoint after the interval, published',
          );
        } finally {
          await jobs.stop();
        }
        expect(await sizes()).to.deep.equal([1, 3]);
        expect(
          (await storeKeys(tstore.store, CHECKPOINTS_PREFIX)).map((k) =>
            k.slice(CHECKPOINTS_PREFIX.length, CHECKPOINTS_PREFIX.length + 27),
          ),
        ).to.deep.equal(['00000000000/000000000000001', '00000000000/000000000000003']);
      } finally {
        await tstore.dispose();
        await tdb.dispose();
      }
    });
  });
}
