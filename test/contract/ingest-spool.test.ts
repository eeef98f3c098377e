/**
 * The spool folder adapter (src/ingest/adapters/spool.ts) on SQLite × fs and PostgreSQL × MinIO:
 * pairs are taken only once stable, stored once and removed; refused pairs go to failed/ with
 * their problem; transient failures stay claimed and are retried after a backoff.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { createManualClock } from '../../src/clock.js';
import type { Config } from '../../src/config.js';
import { SPOOL_CLAIM_DIR, SPOOL_FAILED_DIR, createSpool } from '../../src/ingest/adapters/spool.js';
import type { Spool, SpoolStep } from '../../src/ingest/adapters/spool.js';
import { createIngestRuntime } from '../../src/ingest/service.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { StoreUnavailableError } from '../../src/storage/object-store.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { testConfig } from '../support/app.js';
import { dbBackends, storeBackends, storeKeys, tempDir } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { audioFixtureBytes, rawAudioFixture } from '../support/fixtures.js';

const COMBOS = [
  { db: dbBackends.find((b) => b.name === 'sqlite')!, store: storeBackends.find((b) => b.name === 'fs')! },
  { db: dbBackends.find((b) => b.name === 'postgres')!, store: storeBackends.find((b) => b.name === 'minio')! },
];
const INTERVAL_MS = 5_000;
const UPLOAD_SCRIPT = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'scripts',
  'upload-recording',
);
const run = promisify(execFile);

let seq = 0;
/** Writes a pair as a PBX does (audio first, the JSON last); returns its name. */
async function dropPair(
  dir: string,
  overrides: { name?: string; fields?: Record<string, unknown>; audio?: Buffer; ext?: string } = {},
): Promise<string> {
  const name = overrides.name ?? `call-${Date.now()}-${++seq}`;
  fs.writeFileSync(
    path.join(dir, `${name}.${overrides.ext ?? 'wav'}`),
    overrides.audio ?? (await audioFixtureBytes('ulaw-mono')),
  );
  const fields = {
    callId: name,
    startedAt: new Date(Date.now() - 60_000).toISOString(),
    callerNumber: 'anonymous',
    ...overrides.fields,
  };
  fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(fields));
  return name;
}

/** Every file under `dir` (relative), folders left out. */
function filesUnder(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => fs.statSync(path.join(dir, f)).isFile())
    .sort();
}

for (const combo of COMBOS) {
  describe(`spool folder (${combo.db.name} × ${combo.store.name})`, function () {
    this.timeout(60_000);
    let tdb: TestDb;
    let tstore: TestStore;
    let config: Config;
    let spoolDir: string;
    const clock = createManualClock(Date.now());
    const spools: Spool[] = [];
    /** The PBX side's folders of the upload-recording tests. */
    const pbxDirs: string[] = [];

    before(async () => {
      tdb = await combo.db.create();
      tstore = await combo.store.create();
      config = testConfig();
    });
    beforeEach(() => {
      spoolDir = tempDir('callrec-spool-');
      clock.set(Date.now());
    });
    afterEach(async () => {
      for (const spool of spools.splice(0)) await spool.stop({ drainMs: 0 });
      await tdb.db.knex('recordings').del();
      await tdb.db.knex('ingest_inflight').del();
      const keys = await storeKeys(tstore.store, 'recordings/');
      if (keys.length) await tstore.store.deleteMany(keys);
      fs.rmSync(spoolDir, { recursive: true, force: true });
      for (const dir of pbxDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
    });
    after(async () => {
      await tstore?.dispose();
      await tdb?.dispose();
      fs.rmSync(config.dataDir, { recursive: true, force: true });
    });

    const spoolOver = (
      store: ObjectStore = tstore.store,
      failpoint?: (step: SpoolStep) => void | Promise<void>,
    ): Spool => {
      const runtime = createIngestRuntime({
        config,
        db: tdb.db,
        store,
        logger: createLogger({ level: 'silent' }),
        clock,
        metrics: createMetrics(),
      });
      const spool = createSpool(runtime, { dir: spoolDir, source: 'spool-test', intervalMs: INTERVAL_MS, failpoint });
      spools.push(spool);
      return spool;
    };
    const rows = async () =>
      (await tdb.db.knex('recordings').select('call_id', 'source', 'caller_number', 'caller_number_kind')) as Array<
        Record<string, unknown>
      >;

    it('when a pair is dropped, then it is taken on the second scan that sees it unchanged, stored once under the spool source, and removed', async () => {
      const spool = spoolOver();
      const name = await dropPair(spoolDir);
      expect(await spool.pass()).to.include({ stored: 0, waiting: 1 });
      expect(await rows()).to.deep.equal([]);
      expect(await spool.pass()).to.include({ stored: 1, waiting: 0 });
      expect(await rows()).to.deep.equal([
        { call_id: name, source: 'spool-test', caller_number: null, caller_number_kind: 'withheld' },
      ]);
      expect(filesUnder(spoolDir)).to.deep.equal([]);
      expect(await storeKeys(tstore.store, 'recordings/')).to.have.length(2);
    });

    it('when pairs are dropped while a batch longer than the interval is ingested, then they are proven stable and stored in that same pass', async () => {
      let late: string | undefined;
      let stored = 0;
      const spool = spoolOver(tstore.store, async (step) => {
        if (step !== 'stored') return;
        stored += 1;
        if (stored === 1) late = await dropPair(spoolDir, { name: 'call-z-late' });
        clock.advance(INTERVAL_MS); // each pair of the batch takes an interval
      });
      const early = [await dropPair(spoolDir, { name: 'call-a' }), await dropPair(spoolDir, { name: 'call-b' })];
      await dropPair(spoolDir, { name: 'call-c' });
      expect(await spool.pass()).to.include({ stored: 0, waiting: 3 });
      expect(await spool.pass()).to.include({ stored: 4, waiting: 0 });
      expect((await rows()).map((r) => r.call_id).sort()).to.deep.equal([...early, 'call-c', late].sort());
      expect(filesUnder(spoolDir)).to.deep.equal([]);
    });

    it('when the batch is quicker than the interval, then a pair dropped during it waits for the next pass', async () => {
      const spool = spoolOver(tstore.store, async (step) => {
        if (step === 'stored' && !fs.existsSync(path.join(spoolDir, 'call-z-late.json')))
          await dropPair(spoolDir, { name: 'call-z-late' });
      });
      await dropPair(spoolDir, { name: 'call-a' });
      await dropPair(spoolDir, { name: 'call-b' });
      await spool.pass();
      expect(await spool.pass()).to.include({ stored: 2 });
      expect(await spool.pass()).to.include({ stored: 0, waiting: 1 });
      expect(await spool.pass()).to.include({ stored: 1, waiting: 0 });
    });

    it('when the audio still grows between scans, then the pair is not read until it looked the same twice', async () => {
      const spool = spoolOver();
      const audio = await audioFixtureBytes('ulaw-mono');
      const name = await dropPair(spoolDir, { audio: audio.subarray(0, 1000) });
      expect(await spool.pass()).to.include({ waiting: 1 });
      fs.appendFileSync(path.join(spoolDir, `${name}.wav`), audio.subarray(1000, 5000));
      expect(await spool.pass()).to.include({ waiting: 1, stored: 0, failed: 0 });
      fs.appendFileSync(path.join(spoolDir, `${name}.wav`), audio.subarray(5000));
      expect(await spool.pass()).to.include({ waiting: 1, stored: 0, failed: 0 });
      expect(await spool.pass()).to.include({ stored: 1 });
      expect(filesUnder(spoolDir)).to.deep.equal([]);
    });

    it('when a pair is refused for good (an unknown field), then it moves to failed/ beside its problem+json, and nothing is stored', async () => {
      const spool = spoolOver();
      const name = await dropPair(spoolDir, { fields: { linkedid: '1700000000.1' } });
      await spool.pass();
      expect(await spool.pass()).to.include({ failed: 1 });
      const failed = path.join(spoolDir, SPOOL_FAILED_DIR);
      expect(filesUnder(spoolDir)).to.deep.equal([
        `${SPOOL_FAILED_DIR}/${name}.error.json`,
        `${SPOOL_FAILED_DIR}/${name}.json`,
        `${SPOOL_FAILED_DIR}/${name}.wav`,
      ]);
      const problem = JSON.parse(fs.readFileSync(path.join(failed, `${name}.error.json`), 'utf8')) as {
        status: number;
        code: string;
        fields: Array<{ field: string }>;
      };
      expect(problem).to.include({ status: 400, code: 'invalid_metadata' });
      expect(problem.fields.map((f) => f.field)).to.deep.equal(['linkedid']);
      expect(await rows()).to.deep.equal([]);
      expect(await storeKeys(tstore.store, 'recordings/')).to.deep.equal([]);
    });

    it('when the store is down, then the pair stays claimed and is retried only after its backoff, then stored and removed', async () => {
      const real = tstore.store;
      let down = true;
      const spool = spoolOver({
        ...real,
        put: async (key, body, options) => {
          if (down) throw new StoreUnavailableError('down in test');
          return real.put(key, body, options);
        },
      });
      const name = await dropPair(spoolDir);
      await spool.pass();
      expect(await spool.pass()).to.include({ retrying: 1 });
      expect(filesUnder(spoolDir)).to.deep.equal([`${SPOOL_CLAIM_DIR}/${name}.json`, `${name}.wav`]);
      expect(await storeKeys(real, 'recordings/')).to.deep.equal([]);
      down = false;
      expect(await spool.pass(), 'before the backoff ran out').to.include({ retrying: 1, stored: 0 });
      clock.advance(INTERVAL_MS);
      expect(await spool.pass()).to.include({ stored: 1 });
      expect(filesUnder(spoolDir)).to.deep.equal([]);
      expect(await rows()).to.have.length(1);
    });

    it('when the same pair comes again after it was stored, then it is answered as stored (one row) and removed', async () => {
      const spool = spoolOver();
      const audio = await audioFixtureBytes('ulaw-mono');
      const name = await dropPair(spoolDir, { audio });
      await spool.pass();
      expect(await spool.pass()).to.include({ stored: 1 });
      await dropPair(spoolDir, { name, audio });
      await spool.pass();
      expect(await spool.pass()).to.include({ replayed: 1 });
      expect(await rows()).to.have.length(1);
      expect(filesUnder(spoolDir)).to.deep.equal([]);
    });

    it('when headerless audio is spooled as Asterisk names it (.sln16, .gsm, .ulaw) without audioFormat, then its extension names the format: stored with exact durations and removed', async () => {
      const spool = spoolOver();
      for (const ext of ['sln16', 'gsm', 'ulaw'] as const)
        await dropPair(spoolDir, { ext, audio: fs.readFileSync(await rawAudioFixture(ext)) });
      await spool.pass();
      expect(await spool.pass()).to.include({ stored: 3, failed: 0 });
      const stored = (await tdb.db.knex('recordings').select('original_codec', 'original_sample_rate', 'duration_ms'))
        .map(
          (r: Record<string, unknown>) =>
            `${String(r.original_codec)}/${String(r.original_sample_rate)}/${String(r.duration_ms)}`,
        )
        .sort();
      expect(stored).to.deep.equal(['gsm/8000/3000', 'pcm_mulaw/8000/3000', 'pcm_s16le/16000/3000']);
      expect(filesUnder(spoolDir)).to.deep.equal([]);
    });

    it('when a spooled audioFormat disagrees with the extension, or the bytes cannot be the format, then the pair moves to failed/ with invalid_metadata or audio_format_mismatch, and nothing is stored', async () => {
      const spool = spoolOver();
      const ulaw = fs.readFileSync(await rawAudioFixture('ulaw'));
      const disagreeing = await dropPair(spoolDir, { ext: 'ulaw', audio: ulaw, fields: { audioFormat: 'alaw' } });
      const wavAsUlaw = await dropPair(spoolDir, { ext: 'ulaw', audio: await audioFixtureBytes('ulaw-mono') });
      await spool.pass();
      expect(await spool.pass()).to.include({ failed: 2, stored: 0 });
      const problemOf = (name: string) =>
        (
          JSON.parse(fs.readFileSync(path.join(spoolDir, SPOOL_FAILED_DIR, `${name}.error.json`), 'utf8')) as {
            code: string;
          }
        ).code;
      expect(problemOf(disagreeing)).to.equal('invalid_metadata');
      expect(problemOf(wavAsUlaw)).to.equal('audio_format_mismatch');
      expect(await rows()).to.deep.equal([]);
      expect(await storeKeys(tstore.store, 'recordings/')).to.deep.equal([]);
      expect(await tdb.db.knex('ingest_inflight').select('recording_id')).to.deep.equal([]);
    });

    it('when upload-recording --spool-dir writes a recording, then the spool takes the pair (audio renamed in first, metadata last) and stores it once with its fields', async () => {
      const spool = spoolOver();
      const pbxDir = tempDir('callrec-pbx-');
      pbxDirs.push(pbxDir);
      const source = path.join(pbxDir, 'call.wav');
      fs.writeFileSync(source, await audioFixtureBytes('ulaw-mono'));
      const { stdout } = await run('bash', [
        ...[UPLOAD_SCRIPT, '--spool-dir', spoolDir, '--call-id', '1700000000.42', '--caller', ''],
        ...['--queue', 'support', '--agent', '1001', '--call-group', '1700000000.40', '--delete-after-upload', source],
      ]);
      expect(stdout.trim()).to.equal('1700000000.42');
      expect(fs.existsSync(source), 'moved, not copied').to.equal(false);
      expect(filesUnder(spoolDir)).to.deep.equal(['1700000000.42.json', '1700000000.42.wav']);
      await spool.pass();
      expect(await spool.pass()).to.include({ stored: 1, failed: 0 });
      const row = (await tdb.db.knex('recordings').first()) as Record<string, unknown>;
      expect(row).to.include({
        call_id: '1700000000.42',
        queue: 'support',
        agent_id: '1001',
        call_group_id: '1700000000.40',
        caller_number_kind: 'withheld',
      });
      expect(filesUnder(spoolDir)).to.deep.equal([]);
      const again = await run('bash', [
        UPLOAD_SCRIPT,
        '--spool-dir',
        spoolDir,
        '--call-id',
        'x',
        '--audio-format',
        'sln16',
        await rawAudioFixture('sln16'),
      ]);
      expect(again.stdout.trim()).to.equal('x');
      expect(filesUnder(spoolDir)).to.deep.equal(['x.json', 'x.sln16']);
    });

    it("when upload-recording's temp files are in the folder (a copy in progress, or a crash mid-copy), then the spool neither takes nor counts them", async () => {
      const spool = spoolOver();
      fs.writeFileSync(
        path.join(spoolDir, '.1700000000.43.wav.4242.tmp'),
        (await audioFixtureBytes('ulaw-mono')).subarray(0, 100),
      );
      fs.writeFileSync(path.join(spoolDir, '.1700000000.43.json.4242.tmp'), '{"callId":');
      await spool.pass();
      expect(await spool.pass()).to.deep.equal({ stored: 0, replayed: 0, failed: 0, retrying: 0, waiting: 0 });
      expect(await rows()).to.deep.equal([]);
    });

    it('when upload-recording --spool-dir finds a pair of the same name still waiting, then it exits 1 and leaves the waiting pair alone', async () => {
      const name = await dropPair(spoolDir);
      const before = filesUnder(spoolDir).map((f) => fs.readFileSync(path.join(spoolDir, f)).toString('base64'));
      const pbxDir = tempDir('callrec-pbx-');
      pbxDirs.push(pbxDir);
      const source = path.join(pbxDir, 'other.wav');
      fs.writeFileSync(source, await audioFixtureBytes('alaw-mono'));
      const result = await run('bash', [UPLOAD_SCRIPT, '--spool-dir', spoolDir, '--call-id', name, source]).then(
        () => ({ code: 0 }),
        (error: { code: number }) => ({ code: error.code }),
      );
      expect(result.code).to.equal(1);
      expect(filesUnder(spoolDir).map((f) => fs.readFileSync(path.join(spoolDir, f)).toString('base64'))).to.deep.equal(
        before,
      );
    });
  });
}
