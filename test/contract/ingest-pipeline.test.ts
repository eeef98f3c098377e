/**
 * The one ingest pipeline (src/ingest/ingest.ts) as any transport adapter calls it: typed call
 * metadata and an audio file, no wire fields. On SQLite × fs and PostgreSQL × MinIO.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import type { Config } from '../../src/config.js';
import { findRecordingById } from '../../src/db/recordings.js';
import { createIngestRuntime } from '../../src/ingest/service.js';
import type { IngestRuntime } from '../../src/ingest/service.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { createManualClock } from '../../src/clock.js';
import { StoreUnavailableError } from '../../src/storage/object-store.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { testConfig } from '../support/app.js';
import { dbBackends, storeBackends, storeKeys, tempDir } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { audioFixture } from '../support/fixtures.js';
import { ingestFile } from '../support/pipeline.js';
import { rejection } from '../support/rejection.js';

const run = promisify(execFile);

/** Two seconds of tone as WebM (Opus), as browsers' MediaRecorder and WebRTC recorders write it. */
async function webmFixture(): Promise<string> {
  const file = path.join(tempDir('callrec-webm-'), 'call.webm');
  await run('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:duration=2:sample_rate=16000',
    '-c:a',
    'libopus',
    '-b:a',
    '24k',
    '-f',
    'webm',
    file,
  ]);
  return file;
}

const COMBOS = [
  { db: dbBackends.find((b) => b.name === 'sqlite')!, store: storeBackends.find((b) => b.name === 'fs')! },
  { db: dbBackends.find((b) => b.name === 'postgres')!, store: storeBackends.find((b) => b.name === 'minio')! },
];

for (const combo of COMBOS) {
  describe(`ingest pipeline (${combo.db.name} × ${combo.store.name})`, function () {
    this.timeout(60_000);
    let tdb: TestDb;
    let tstore: TestStore;
    let config: Config;

    before(async () => {
      tdb = await combo.db.create();
      tstore = await combo.store.create();
      config = testConfig();
    });
    afterEach(async () => {
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

    const runtimeOver = (store: ObjectStore, overrides: Partial<Config> = {}): IngestRuntime =>
      createIngestRuntime({
        config: { ...config, ...overrides },
        db: tdb.db,
        store,
        logger: createLogger({ level: 'silent' }),
        clock: createManualClock(Date.now()),
        metrics: createMetrics(),
      });

    it('when an adapter hands typed metadata and an audio file, then the row holds that metadata and both objects exist', async () => {
      const runtime = runtimeOver(tstore.store);
      const startedAt = Date.now() - 120_000;
      const outcome = await ingestFile(runtime, {
        audioPath: await audioFixture('ulaw-mono'),
        meta: {
          callId: 'typed-1',
          startedAt,
          agentId: 'agent 7',
          queue: 'sales',
          direction: 'inbound',
          callerNumber: '+31612345678',
        },
      });
      expect(outcome.created).to.equal(true);
      const row = await findRecordingById(tdb.db.knex, outcome.recording!.id);
      expect(row).to.include({
        call_id: 'typed-1',
        started_at: startedAt,
        agent_id: 'agent 7',
        queue: 'sales',
        direction: 'inbound',
        caller_number: '+31612345678',
      });
      expect((await storeKeys(tstore.store, 'recordings/')).sort()).to.deep.equal(
        [row!.original_key, row!.playback_key].sort(),
      );
      expect(await tdb.db.knex('ingest_inflight').select('*')).to.deep.equal([]);
      await runtime.temp.release();
    });

    it('when the store refuses the rendition, then the pipeline fails once with 503 and leaves no object, marker or row', async () => {
      const real = tstore.store;
      const runtime = runtimeOver({
        ...real,
        put: async (key, body, options) => {
          if (key.includes('/playback.')) throw new StoreUnavailableError('refused by test');
          return real.put(key, body, options);
        },
      });
      const error = await rejection(ingestFile(runtime, { audioPath: await audioFixture('ulaw-mono') }));
      expect(error).to.include({ code: 'store_unavailable', status: 503 });
      expect(await storeKeys(real, 'recordings/')).to.deep.equal([]);
      expect(await tdb.db.knex('ingest_inflight').select('*')).to.deep.equal([]);
      expect(await tdb.db.knex('recordings').select('id')).to.deep.equal([]);
      await runtime.temp.release();
    });

    it('when the original is WebM, then it is stored as original.webm with type audio/webm, not original.bin', async () => {
      const runtime = runtimeOver(tstore.store);
      const outcome = await ingestFile(runtime, { audioPath: await webmFixture() });
      const row = await findRecordingById(tdb.db.knex, outcome.recording!.id);
      expect(row!.original_key).to.match(/\/original\.webm$/);
      expect(row!.original_content_type).to.equal('audio/webm');
      await runtime.temp.release();
    });
  });
}
