/**
 * S3 drop buckets (src/ingest/adapters/s3-drop.ts) on SQLite × fs and PostgreSQL × MinIO, with
 * the drop bucket a real MinIO bucket: each layout's recordings are stored once and deleted at
 * the source (proven gone); refused objects stay with their reason in the imports list;
 * transient failures are retried after a backoff; the listing cursor pages through the bucket.
 */
import { expect } from 'chai';
import { createManualClock } from '../../src/clock.js';
import type { Config } from '../../src/config.js';
import { createS3Drop } from '../../src/ingest/adapters/s3-drop.js';
import type { S3Drop } from '../../src/ingest/adapters/s3-drop.js';
import { listDropImports } from '../../src/ingest/drop-sources.js';
import { createIngestRuntime } from '../../src/ingest/service.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { StoreUnavailableError } from '../../src/storage/object-store.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { testConfig } from '../support/app.js';
import { dbBackends, storeBackends, storeKeys } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { addDropSourceRow, connectKey, createDropBucket, dropSourceRow } from '../support/drop-bucket.js';
import type { DropBucketFixture } from '../support/drop-bucket.js';
import { audioFixtureBytes } from '../support/fixtures.js';

const COMBOS = [
  { db: dbBackends.find((b) => b.name === 'sqlite')!, store: storeBackends.find((b) => b.name === 'fs')! },
  { db: dbBackends.find((b) => b.name === 'postgres')!, store: storeBackends.find((b) => b.name === 'minio')! },
];
const POLL_MS = 10_000;

let seq = 0;
const callName = () => `call-${Date.now()}-${++seq}`;
const hookFields = (overrides: Record<string, unknown> = {}) => ({
  callId: callName(),
  startedAt: new Date(Date.now() - 60_000).toISOString(),
  callerNumber: '+31612345678',
  ...overrides,
});

for (const combo of COMBOS) {
  describe(`S3 drop bucket (${combo.db.name} × ${combo.store.name}, drop bucket on MinIO)`, function () {
    this.timeout(60_000);
    let tdb: TestDb;
    let tstore: TestStore;
    let bucket: DropBucketFixture;
    let config: Config;
    const clock = createManualClock(Date.now());
    const drops: S3Drop[] = [];

    before(async () => {
      tdb = await combo.db.create();
      tstore = await combo.store.create();
      bucket = await createDropBucket();
      config = testConfig({ CALLREC_IMPORT_S3_CREDENTIALS: bucket.credentialsEnv });
    });
    beforeEach(() => clock.set(Date.now()));
    afterEach(async () => {
      for (const drop of drops.splice(0)) await drop.stop({ drainMs: 0 });
      await tdb.db.knex('s3_imports').del();
      await tdb.db.knex('import_sources').del();
      await tdb.db.knex('recordings').del();
      const keys = await storeKeys(tstore.store, 'recordings/');
      if (keys.length) await tstore.store.deleteMany(keys);
      const left = await bucket.keys();
      for (const key of left)
        await bucket.client.send(
          new (await import('@aws-sdk/client-s3')).DeleteObjectCommand({ Bucket: bucket.bucket, Key: key }),
        );
    });
    after(async () => {
      await bucket?.dispose();
      await tstore?.dispose();
      await tdb?.dispose();
    });

    const dropOver = (options: { store?: ObjectStore; pageSize?: number } = {}): S3Drop => {
      const runtime = createIngestRuntime({
        config,
        db: tdb.db,
        store: options.store ?? tstore.store,
        logger: createLogger({ level: 'silent' }),
        clock,
        metrics: createMetrics(),
      });
      const drop = createS3Drop(runtime, { pollIntervalMs: POLL_MS, pageSize: options.pageSize });
      drops.push(drop);
      return drop;
    };
    const rows = async (source: string) =>
      (await tdb.db
        .knex('recordings')
        .where({ source })
        .select('call_id', 'started_at', 'agent_channel', 'caller_number', 'queue')
        .orderBy('call_id')) as Array<Record<string, unknown>>;

    it('when Amazon Connect writes a recording, then it is stored under the contact id and key time (agent on the right), deleted at the source and listed as imported', async () => {
      const source = await addDropSourceRow(
        tdb.db,
        dropSourceRow(bucket, { layout: 'amazon-connect', prefix: 'connect/' }),
      );
      const started = new Date(Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000);
      const { key, contactId } = connectKey(started);
      await bucket.put(key, await audioFixtureBytes('pcm-stereo'));
      await bucket.put('connect/acme/Reports/2026/report.csv', 'not a recording');

      const pass = await dropOver().passSource(source.name);

      expect(pass).to.include({ stored: 1, failed: 0 });
      const stored = await rows(source.name);
      expect(stored).to.have.length(1);
      expect(stored[0]).to.include({ call_id: contactId, agent_channel: 'right' });
      expect(Number(stored[0]!.started_at)).to.equal(started.getTime());
      expect(await bucket.exists(key), 'the recording at the source').to.equal(false);
      expect(await bucket.keys(), 'what is not a recording stays').to.deep.equal([
        'connect/acme/Reports/2026/report.csv',
      ]);
      const imports = await listDropImports(tdb.db, { source: source.name });
      expect(imports).to.have.length(1);
      expect(imports[0]).to.include({
        adapter: 's3-drop',
        externalId: key,
        status: 'imported',
        attempts: 0,
        lastErrorCode: null,
      });
      expect(imports[0]!.recordingId).to.be.a('string');
    });

    it('when a Connect recording has a sidecar, then its fields are added and the sidecar is deleted with it', async () => {
      const source = await addDropSourceRow(tdb.db, dropSourceRow(bucket, { layout: 'amazon-connect' }));
      const { key, contactId } = connectKey(new Date(Date.now() - 600_000));
      await bucket.put(key, await audioFixtureBytes('pcm-stereo'));
      await bucket.put(
        `${key}.json`,
        JSON.stringify({ queue: 'billing', callerNumber: '0612345678', agentChannel: 'left' }),
      );

      expect(await dropOver().passSource(source.name)).to.include({ stored: 1 });
      expect(await rows(source.name)).to.deep.equal([
        {
          call_id: contactId,
          started_at: (await rows(source.name))[0]!.started_at,
          agent_channel: 'left',
          caller_number: '+31612345678',
          queue: 'billing',
        },
      ]);
      expect(await bucket.keys()).to.deep.equal([]);
    });

    it('when a sidecar-json audio arrives before its sidecar, then it waits; once the sidecar is there, both are imported and deleted', async () => {
      const source = await addDropSourceRow(tdb.db, dropSourceRow(bucket, { prefix: 'exports/' }));
      const fields = hookFields();
      await bucket.put('exports/2026/a.wav', await audioFixtureBytes('ulaw-mono'));
      const drop = dropOver();
      expect(await drop.passSource(source.name)).to.include({ stored: 0, waiting: 1 });
      await bucket.put('exports/2026/a.wav.json', JSON.stringify(fields));
      expect(await drop.passSource(source.name)).to.include({ stored: 1 });
      expect((await rows(source.name)).map((r) => r.call_id)).to.deep.equal([fields.callId]);
      expect(await bucket.keys()).to.deep.equal([]);
    });

    it('when a sidecar holds a field the hook does not know, then the object stays, the import is failed with the reason, and it is not retried until the sidecar changes', async () => {
      const source = await addDropSourceRow(tdb.db, dropSourceRow(bucket));
      const fields = hookFields();
      await bucket.put('b.wav', await audioFixtureBytes('ulaw-mono'));
      await bucket.put('b.wav.json', JSON.stringify({ ...fields, linkedid: '1700000000.1' }));
      const drop = dropOver();

      expect(await drop.passSource(source.name)).to.include({ failed: 1, stored: 0 });
      expect(await bucket.keys()).to.deep.equal(['b.wav', 'b.wav.json']);
      const [failed] = await listDropImports(tdb.db, { source: source.name });
      expect(failed).to.include({
        status: 'failed',
        attempts: 1,
        lastErrorCode: 'invalid_metadata',
        recordingId: null,
      });
      expect((failed!.lastError as { fields: Array<{ field: string }> }).fields.map((f) => f.field)).to.deep.equal([
        'linkedid',
      ]);
      expect(JSON.stringify(failed), 'no number in the reason').not.to.include('612345678');

      expect(await drop.passSource(source.name), 'unchanged: not retried').to.include({ failed: 0, stored: 0 });
      await bucket.put('b.wav.json', JSON.stringify(fields));
      expect(await drop.passSource(source.name)).to.include({ stored: 1 });
      expect(await bucket.keys()).to.deep.equal([]);
    });

    it('when the store is down, then the object stays and is retried only after its backoff, then stored and deleted at the source', async () => {
      const real = tstore.store;
      let down = true;
      const drop = dropOver({
        store: {
          ...real,
          put: async (key, body, options) => {
            if (down) throw new StoreUnavailableError('down in test');
            return real.put(key, body, options);
          },
        },
      });
      const source = await addDropSourceRow(tdb.db, dropSourceRow(bucket));
      await bucket.put('c.wav', await audioFixtureBytes('ulaw-mono'));
      await bucket.put('c.wav.json', JSON.stringify(hookFields()));

      expect(await drop.passSource(source.name)).to.include({ retrying: 1 });
      expect((await listDropImports(tdb.db, { source: source.name }))[0]).to.include({
        status: 'queued',
        attempts: 1,
        lastErrorCode: 'store_unavailable',
      });
      down = false;
      expect(await drop.passSource(source.name), 'before the backoff ran out').to.include({ stored: 0, waiting: 1 });
      clock.advance(POLL_MS);
      expect(await drop.passSource(source.name)).to.include({ stored: 1 });
      expect(await bucket.keys()).to.deep.equal([]);
      expect(await storeKeys(real, 'recordings/')).to.have.length(2);
    });

    it('when the same recording is dropped again after its import, then it is answered as stored (one row) and deleted again', async () => {
      const source = await addDropSourceRow(tdb.db, dropSourceRow(bucket));
      const audio = await audioFixtureBytes('ulaw-mono');
      const fields = JSON.stringify(hookFields());
      const drop = dropOver();
      await bucket.put('d.wav', audio);
      await bucket.put('d.wav.json', fields);
      expect(await drop.passSource(source.name)).to.include({ stored: 1 });
      await bucket.put('d.wav', audio);
      await bucket.put('d.wav.json', fields);
      expect(await drop.passSource(source.name)).to.include({ replayed: 1 });
      expect(await rows(source.name)).to.have.length(1);
      expect(await bucket.keys()).to.deep.equal([]);
    });

    it('when the source keeps its objects, then each is imported once and left in place', async () => {
      const source = await addDropSourceRow(tdb.db, dropSourceRow(bucket, { delete_source: false }));
      await bucket.put('e.wav', await audioFixtureBytes('ulaw-mono'));
      await bucket.put('e.wav.json', JSON.stringify(hookFields()));
      const drop = dropOver();
      expect(await drop.passSource(source.name)).to.include({ stored: 1 });
      expect(await drop.passSource(source.name)).to.include({ stored: 0, replayed: 0, waiting: 0 });
      expect(await bucket.keys()).to.deep.equal(['e.wav', 'e.wav.json']);
      expect(await rows(source.name)).to.have.length(1);
    });

    it('when the bucket holds more than a listing page, then the pass pages through it with its cursor (a sidecar on the next page included) and ends with the cursor reset', async () => {
      const source = await addDropSourceRow(tdb.db, dropSourceRow(bucket));
      const audio = await audioFixtureBytes('ulaw-mono');
      for (const name of ['f1', 'f2', 'f3']) {
        await bucket.put(`${name}.wav`, audio);
        await bucket.put(`${name}.wav.json`, JSON.stringify(hookFields()));
      }
      expect(await dropOver({ pageSize: 3 }).passSource(source.name)).to.include({ stored: 3, failed: 0 });
      expect(await bucket.keys()).to.deep.equal([]);
      const row = (await tdb.db.knex('import_sources').where({ name: source.name }).first()) as {
        list_cursor: string | null;
        last_pass_error: string | null;
      };
      expect(row).to.include({ list_cursor: null, last_pass_error: null });
    });

    it('when the sidecar was deleted but the audio not (a stop between the two deletes), then the stored recording is not imported again and its audio is deleted', async () => {
      let stopAfterStore = true;
      const runtime = createIngestRuntime({
        config,
        db: tdb.db,
        store: tstore.store,
        logger: createLogger({ level: 'silent' }),
        clock,
        metrics: createMetrics(),
      });
      const drop = createS3Drop(runtime, {
        pollIntervalMs: POLL_MS,
        failpoint: (step) => {
          if (step === 'stored' && stopAfterStore) throw new Error('stopped in test after the store');
        },
      });
      drops.push(drop);
      const source = await addDropSourceRow(tdb.db, dropSourceRow(bucket));
      await bucket.put('s.wav', await audioFixtureBytes('ulaw-mono'));
      await bucket.put('s.wav.json', JSON.stringify(hookFields()));
      expect(await drop.passSource(source.name)).to.include({ retrying: 1 });
      expect((await listDropImports(tdb.db, { source: source.name }))[0]).to.include({ status: 'stored' });
      const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
      await bucket.client.send(new DeleteObjectCommand({ Bucket: bucket.bucket, Key: 's.wav.json' }));
      stopAfterStore = false;
      clock.advance(POLL_MS);

      expect(await drop.passSource(source.name)).to.include({ replayed: 1, waiting: 0 });
      expect(await bucket.keys()).to.deep.equal([]);
      expect(await rows(source.name)).to.have.length(1);
      expect((await listDropImports(tdb.db, { source: source.name }))[0]).to.include({ status: 'imported' });
    });

    it('when the drop bucket keeps versions, then every version of the imported audio and sidecar is deleted (no delete marker alone)', async () => {
      const { PutBucketVersioningCommand, ListObjectVersionsCommand } = await import('@aws-sdk/client-s3');
      const versioned = await createDropBucket();
      try {
        await versioned.client.send(
          new PutBucketVersioningCommand({ Bucket: versioned.bucket, VersioningConfiguration: { Status: 'Enabled' } }),
        );
        const source = await addDropSourceRow(tdb.db, dropSourceRow(versioned));
        await versioned.put('v.wav', await audioFixtureBytes('ulaw-mono'));
        await versioned.put('v.wav', await audioFixtureBytes('ulaw-mono'));
        await versioned.put('v.wav.json', JSON.stringify(hookFields()));
        expect(await dropOver().passSource(source.name)).to.include({ stored: 1 });
        const left = await versioned.client.send(new ListObjectVersionsCommand({ Bucket: versioned.bucket }));
        expect([...(left.Versions ?? []), ...(left.DeleteMarkers ?? [])]).to.deep.equal([]);
      } finally {
        await versioned.dispose();
      }
    });

    it('when the drop bucket cannot be listed, then the pass fails with source_unavailable and the source shows it', async () => {
      const source = await addDropSourceRow(tdb.db, dropSourceRow(bucket, { bucket: 'callrec-no-such-bucket' }));
      let code: string | undefined;
      try {
        await dropOver().passSource(source.name);
      } catch (error) {
        code = (error as { code?: string }).code;
      }
      expect(code).to.equal('source_unavailable');
      const row = (await tdb.db.knex('import_sources').where({ name: source.name }).first()) as {
        last_pass_error: string;
      };
      expect(row.last_pass_error).to.equal('source_unavailable');
    });
  });
}
