/**
 * The in-flight marker of an upload (src/ingest/inflight.ts): written before the first object,
 * taken by the row's transaction, removed after a failed upload's objects, left for crash
 * recovery when those objects cannot be deleted, and a takeover by crash recovery keeps the row
 * from being written. On SQLite × fs and PostgreSQL × MinIO, through the real upload hook.
 * Also: the lease of uploads in flight is renewed while they run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { createManualClock } from '../../src/clock.js';
import type { Config } from '../../src/config.js';
import type { InflightRow } from '../../src/db/ingest-inflight.js';
import { takeOverInflight } from '../../src/db/ingest-inflight.js';
import { createInflightTracker } from '../../src/ingest/inflight.js';
import { createLogger } from '../../src/logger.js';
import { OWNER_LEASE_MS, currentOwner, formatOwner, parseOwner } from '../../src/process-owner.js';
import { removeAbandonedUploads } from '../../src/retention/abandoned.js';
import { StoreUnavailableError } from '../../src/storage/object-store.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { startTestApp, testConfig } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { dbBackends, storeBackends, storeKeys } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { audioFixtureBytes } from '../support/fixtures.js';
import { tempLeftovers } from '../support/owners.js';
import { signedUpload } from '../support/upload.js';

const COMBOS = [
  { db: dbBackends.find((b) => b.name === 'sqlite')!, store: storeBackends.find((b) => b.name === 'fs')! },
  { db: dbBackends.find((b) => b.name === 'postgres')!, store: storeBackends.find((b) => b.name === 'minio')! },
];

/** A put that stores everything but the playback rendition (refused as a store outage). */
function refusingPlaybackPut(real: ObjectStore): ObjectStore['put'] {
  return async (key, body, options) => {
    if (key.includes('/playback.')) throw new StoreUnavailableError('refused by test');
    return real.put(key, body, options);
  };
}

let seq = 0;
const fieldsFor = () => ({
  callId: `inflight-${Date.now()}-${++seq}`,
  startedAt: new Date(Date.now() - 60_000).toISOString(),
});

for (const combo of COMBOS) {
  describe(`in-flight markers of uploads (${combo.db.name} × ${combo.store.name})`, function () {
    this.timeout(60_000);
    let tdb: TestDb;
    let tstore: TestStore;
    let config: Config;
    const apps: TestApp[] = [];

    before(async () => {
      tdb = await combo.db.create();
      tstore = await combo.store.create();
      config = testConfig();
    });
    afterEach(async () => {
      for (const app of apps.splice(0)) await app.close();
      await tdb.db.knex('recordings').del();
      await tdb.db.knex('ingest_inflight').del();
      const keys = await storeKeys(tstore.store, 'recordings/');
      if (keys.length) await tstore.store.deleteMany(keys);
    });
    after(async () => {
      await tstore?.dispose();
      await tdb?.dispose();
      fs.rmSync(config.dataDir, { recursive: true, force: true });
    });

    /** An app over the shared db whose store is `store` (a wrapper of the real one). */
    const appOver = async (store: ObjectStore) => {
      const app = await startTestApp({ db: tdb.db, store, config });
      apps.push(app);
      return app;
    };
    const markers = async () => (await tdb.db.knex('ingest_inflight').select('*')) as InflightRow[];
    const rowCount = async () =>
      Number(((await tdb.db.knex('recordings').count({ n: '*' })) as Array<{ n: number | string }>)[0]!.n);
    const upload = async (app: TestApp) =>
      signedUpload({ url: app.url, fields: fieldsFor(), audio: await audioFixtureBytes('ulaw-mono') });
    const recoveryDeps = () => ({ db: tdb.db, store: tstore.store, logger: apps[0]!.deps.logger, config });

    it('when an upload runs, then a marker naming its key prefix and this process exists before its first object, and the stored recording leaves none', async () => {
      const real = tstore.store;
      const seen: Array<{ key: string; markers: InflightRow[] }> = [];
      const app = await appOver({
        ...real,
        put: async (key, body, options) => {
          seen.push({ key, markers: await markers() });
          return real.put(key, body, options);
        },
      });
      const res = await upload(app);
      expect(res.status, res.text).to.equal(201);
      expect(seen).to.have.length(2);
      for (const { key, markers: atPut } of seen) {
        expect(atPut, key).to.have.length(1);
        expect(atPut[0]!.recording_id).to.equal(res.body.id);
        expect(key.startsWith(atPut[0]!.object_prefix), `${key} under ${atPut[0]!.object_prefix}`).to.equal(true);
        expect(parseOwner(atPut[0]!.owner)).to.deep.equal(currentOwner());
        expect(atPut[0]!.lease_expires_at).to.be.above(app.deps.clock.now());
      }
      expect(await markers()).to.deep.equal([]);
    });

    it('when the second object cannot be stored, then 503, and the first object and the marker are gone', async () => {
      const real = tstore.store;
      const app = await appOver({
        ...real,
        put: refusingPlaybackPut(real),
      });
      const res = await upload(app);
      expect(res.status, res.text).to.equal(503);
      expect(await storeKeys(real, 'recordings/')).to.deep.equal([]);
      expect(await markers()).to.deep.equal([]);
      expect(await rowCount()).to.equal(0);
    });

    it('when crash recovery takes the upload over before its row is written, then no row is written: 503 and no object stays', async () => {
      const real = tstore.store;
      const recoverer = formatOwner({ ...currentOwner(), machine: 'recovering-host' }, 'recovery');
      const app = await appOver({
        ...real,
        put: async (key, body, options) => {
          if (key.includes('/playback.')) {
            // What a recovery on another host does once this upload's lease looks lapsed to it.
            const [marker] = await markers();
            expect(
              await takeOverInflight(tdb.db.knex, marker!, {
                owner: recoverer,
                leaseExpiresAt: Date.now() + OWNER_LEASE_MS,
              }),
            ).to.equal(true);
          }
          return real.put(key, body, options);
        },
      });
      const res = await upload(app);
      expect(res.status, res.text).to.equal(503);
      expect(res.body.code).to.equal('db_unavailable');
      expect(await rowCount()).to.equal(0);
      expect(await storeKeys(real, 'recordings/')).to.deep.equal([]);
      // The marker is the recoverer's now; the upload left it to that recovery.
      expect((await markers()).map((m) => m.owner)).to.deep.equal([recoverer]);
    });

    it("when a failed upload's objects cannot be deleted, then its marker stays, and crash recovery deletes them once the lease ran out", async () => {
      const real = tstore.store;
      const app = await appOver({
        ...real,
        put: refusingPlaybackPut(real),
        deleteMany: async (keys) => ({
          deleted: [],
          failed: keys.map((key) => ({ key, error: new StoreUnavailableError('refused by test') })),
        }),
      });
      const res = await upload(app);
      expect(res.status, res.text).to.equal(503);
      const left = await storeKeys(real, 'recordings/');
      expect(left).to.have.length(1);
      const [marker] = await markers();
      expect(marker?.recording_id).to.equal(left[0]!.split('/')[4]);

      // While the lease holds, the upload counts as in flight (its process lives).
      const early = await removeAbandonedUploads(recoveryDeps(), { now: Date.now() });
      expect(early.uploads.found).to.equal(0);
      expect(await storeKeys(real, 'recordings/')).to.deep.equal(left);

      const later = await removeAbandonedUploads(recoveryDeps(), { now: marker!.lease_expires_at + 1 });
      expect(later.uploads).to.include({ found: 1, objects: 1 });
      expect(await storeKeys(real, 'recordings/')).to.deep.equal([]);
      expect(await markers()).to.deep.equal([]);
      expect(tempLeftovers(path.join(config.dataDir, 'tmp'))).to.deep.equal([]);
    });
  });
}

describe('the lease of uploads in flight', function () {
  let tdb: TestDb;
  before(async () => {
    tdb = await dbBackends.find((b) => b.name === 'sqlite')!.create();
  });
  after(async () => {
    await tdb?.dispose();
  });

  it('when an upload runs past a heartbeat, then its lease is renewed from the clock; once it ended, it is no longer renewed', async () => {
    const clock = createManualClock(Date.UTC(2026, 10, 30));
    const tracker = createInflightTracker(
      { db: tdb.db, clock, logger: createLogger({ level: 'silent' }) },
      { heartbeatMs: 20, leaseMs: 1000 },
    );
    const lease = async (id: string) =>
      Number((await tdb.db.knex('ingest_inflight').where({ recording_id: id }).first())?.lease_expires_at);
    await tracker.begin({
      recordingId: 'A0000000000000000000000001',
      objectPrefix: 'recordings/2026/11/30/A0000000000000000000000001/',
    });
    await tracker.begin({
      recordingId: 'A0000000000000000000000002',
      objectPrefix: 'recordings/2026/11/30/A0000000000000000000000002/',
    });
    expect(await lease('A0000000000000000000000001')).to.equal(clock.now() + 1000);
    clock.advance(5000);
    await tracker.end('A0000000000000000000000002', { deleteMarker: false });
    for (let i = 0; i < 200 && (await lease('A0000000000000000000000001')) !== clock.now() + 1000; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(await lease('A0000000000000000000000001')).to.equal(clock.now() + 1000);
    expect(await lease('A0000000000000000000000002'), 'an ended upload keeps its old lease').to.equal(
      clock.now() - 5000 + 1000,
    );
    await tracker.end('A0000000000000000000000001', { deleteMarker: true });
    expect(await tdb.db.knex('ingest_inflight').select('recording_id')).to.deep.equal([
      { recording_id: 'A0000000000000000000000002' },
    ]);
  });
});
