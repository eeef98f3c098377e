/**
 * The upload hook, end to end over HTTP against real databases, real stores
 * (fs and MinIO) and real ffmpeg. Every refusal asserts that nothing stayed
 * behind: no object in the store, no row, no temp file.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { GetObjectTaggingCommand, S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { probeAudio } from '../../src/audio/index.js';
import { createDb } from '../../src/db/db.js';
import type { Config } from '../../src/config.js';
import { removeAbandonedUploads } from '../../src/retention/abandoned.js';
import { createObjectStore } from '../../src/storage/create-store.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { pipeline } from 'node:stream/promises';
import { dbBackends, minioStoreConfig, storeBackends, storeKeys, tempDir, uniqueName } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { createManualClock } from '../../src/clock.js';
import { startTestApp, testConfig } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import {
  AUDIO_FIXTURES,
  audioFixture,
  audioFixtureBytes,
  randomNoise,
  silentUlawWav,
  truncated,
  wavHeader,
  withLyingSizes,
} from '../support/fixtures.js';
import type { AudioFixtureName } from '../support/fixtures.js';
import { tempLeftovers } from '../support/owners.js';
import { TEST_SECRET, TEST_SOURCE, signedStreamUpload, signedUpload, stalledUpload } from '../support/upload.js';
import type { SignedUploadOptions, StalledUpload } from '../support/upload.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DAY_MS = 86_400_000;
const PHONE = '+31612345678';

let callSeq = 0;
/** Builder of valid metadata fields, with overrides. */
function fieldsFor(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  callSeq += 1;
  return {
    callId: `call-${Date.now()}-${callSeq}`,
    startedAt: new Date(Date.now() - 60_000).toISOString(),
    agentId: 'agent-7',
    queue: 'support',
    direction: 'inbound',
    callerNumber: '06 12345678',
    calleeNumber: '+31 20 123 4567',
    ...overrides,
  };
}

async function countRows(testDb: TestDb): Promise<number> {
  const [row] = (await testDb.db.knex('recordings').count({ n: '*' })) as Array<{ n: number | string }>;
  return Number(row!.n);
}

/** What ingest holds in its temp root, inside the per-process folders (their owner files aside). */
function tempEntries(config: Config): string[] {
  return tempLeftovers(path.join(config.dataDir, 'tmp')).map((rel) => rel.slice(rel.indexOf('/') + 1));
}

async function expectNothingBehind(ctx: { db: TestDb; store: ObjectStore; config: Config }): Promise<void> {
  expect(await storeKeys(ctx.store, 'recordings/'), 'objects left in the store').to.deep.equal([]);
  expect(await countRows(ctx.db), 'rows left').to.equal(0);
  expect(await ctx.db.db.knex('ingest_inflight').select('recording_id'), 'in-flight markers left').to.deep.equal([]);
  expect(tempEntries(ctx.config), 'temp files left').to.deep.equal([]);
}

async function wipe(testDb: TestDb, store: ObjectStore): Promise<void> {
  await testDb.db.knex('recordings').del();
  await testDb.db.knex('ingest_inflight').del();
  const keys = await storeKeys(store, 'recordings/');
  if (keys.length) await store.deleteMany(keys);
}

/** Resolves once `check` holds (polling), for effects that follow a disconnect. */
async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for: ${what}`);
}

const FULL = (db: string, store: string) => db === 'sqlite' && store === 'fs';
const FORGED_SECRET = 'made-up-secret-0123456789abcdef';

/** Uploads in flight at `stage` in an app, as its gauge shows them. */
async function inFlight(target: TestApp, stage: 'unverified' | 'admitted'): Promise<number> {
  const gauge = await target.deps.metrics.ingestInFlight.get();
  return gauge.values.find((v) => v.labels.stage === stage)?.value ?? 0;
}

for (const dbBackend of dbBackends) {
  for (const storeBackend of storeBackends) {
    describe(`POST /v1/recordings (${dbBackend.name} × ${storeBackend.name})`, function () {
      this.timeout(120_000);
      let testDb: TestDb;
      let testStore: TestStore;
      let app: TestApp;
      let config: Config;
      const extraApps: TestApp[] = [];
      const upload = (options: Omit<SignedUploadOptions, 'url'> & { url?: string }) =>
        signedUpload({ url: app.url, ...options });
      const ctx = () => ({ db: testDb, store: testStore.store, config });

      before(async function () {
        testDb = await dbBackend.create();
        testStore = await storeBackend.create();
        config = testConfig({ CALLREC_MAX_DURATION: '10m', CALLREC_LOG_LEVEL: 'info' });
        app = await startTestApp({ db: testDb.db, store: testStore.store, config });
      });
      beforeEach(async () => {
        await wipe(testDb, testStore.store);
        app.logs.length = 0;
      });
      after(async () => {
        for (const extra of extraApps) await extra.close();
        await app?.close();
        await testStore?.dispose();
        await testDb?.dispose();
        fs.rmSync(config.dataDir, { recursive: true, force: true });
      });

      /** Another app over the same db and store with other settings. */
      async function appWith(overrides: Record<string, string>, store?: ObjectStore): Promise<TestApp> {
        const other = await startTestApp({
          db: testDb.db,
          store: store ?? testStore.store,
          config: testConfig({ CALLREC_DATA_DIR: config.dataDir, ...overrides }),
        });
        extraApps.push(other);
        return other;
      }

      it('when a signed μ-law WAV arrives, then 201 with the recording, Location, both objects tagged and one row', async () => {
        const fields = fieldsFor();
        const audio = await audioFixtureBytes('ulaw-mono');
        const res = await upload({ fields, audio });
        expect(res.status, res.text).to.equal(201);
        const rec = res.body;
        expect(res.headers.location).to.equal(`/v1/recordings/${rec.id}`);
        expect(rec).to.include({
          source: TEST_SOURCE,
          callId: fields.callId,
          agentId: 'agent-7',
          queue: 'support',
          direction: 'inbound',
        });
        expect(rec.callerNumber).to.equal(PHONE);
        expect(rec.calleeNumber).to.equal('+31201234567');
        expect(rec.startedAt).to.equal(fields.startedAt);
        expect(Date.parse(rec.expiresAt) - Date.parse(rec.startedAt)).to.equal(config.retention.ms);
        expect(rec.durationMs).to.be.within(2900, 3100);
        expect(rec.original).to.include({ sizeBytes: audio.length, codec: 'pcm_mulaw', sampleRate: 8000, channels: 1 });
        expect(rec.original.sha256).to.match(/^[0-9a-f]{64}$/);
        expect(rec.playback.format).to.equal('opus');
        expect(rec.playback.sizeBytes).to.be.greaterThan(0).and.lessThan(audio.length);

        const keys = (await storeKeys(testStore.store, 'recordings/')).sort();
        expect(keys).to.have.length(2);
        for (const key of keys)
          expect(key).to.match(
            new RegExp(`^recordings/\\d{4}/\\d{2}/\\d{2}/${rec.id}/(original\\.wav|playback\\.ogg)$`),
          );
        const expectedTags = {
          retention: config.retention.tag,
          'expires-at': rec.expiresAt.slice(0, 10),
          purpose: 'training',
        };
        for (const key of keys) expect(await testStore.store.getTags(key)).to.deep.equal(expectedTags);
        if (testStore.config.kind === 's3') {
          const s3 = new S3Client({
            endpoint: testStore.config.endpoint,
            region: testStore.config.region,
            forcePathStyle: true,
            credentials: {
              accessKeyId: testStore.config.accessKeyId!,
              secretAccessKey: testStore.config.secretAccessKey!,
            },
          });
          try {
            for (const key of keys) {
              const tagging = await s3.send(new GetObjectTaggingCommand({ Bucket: testStore.config.bucket, Key: key }));
              const tags = Object.fromEntries((tagging.TagSet ?? []).map((t) => [t.Key, t.Value]));
              expect(tags).to.deep.equal(expectedTags);
            }
          } finally {
            s3.destroy();
          }
        }
        const row = await testDb.db.knex('recordings').where({ id: rec.id }).first();
        expect(row.caller_number).to.equal(PHONE);
        // The digests in the row are those of the stored bytes (the rendition's is taken on its way to the store).
        for (const [key, digest] of [
          [row.original_key, row.original_sha256],
          [row.playback_key, row.playback_sha256],
        ]) {
          const stored = await testStore.store.get(key);
          const hash = createHash('sha256');
          await pipeline(stored.body, hash);
          expect(hash.digest('hex'), key).to.equal(digest);
        }
        const waveform = JSON.parse(row.waveform);
        expect(waveform).to.include({ version: 1, channels: 1 });
        expect(waveform.peaks[0].length).to.equal(waveform.length).and.be.greaterThan(100);
        expect(Math.max(...waveform.peaks[0])).to.be.within(0.05, 1);
        expect(tempEntries(config)).to.deep.equal([]);
        const joined = app.logs.join('\n');
        expect(joined).not.to.contain('612345678');
        expect(joined).not.to.contain(TEST_SECRET);
      });

      it('when the same call is uploaded again with the same audio, then 200 with the same recording and nothing new', async () => {
        const fields = fieldsFor();
        const audio = await audioFixtureBytes('alaw-mono');
        const first = await upload({ fields, audio });
        expect(first.status, first.text).to.equal(201);
        const again = await upload({ fields, audio });
        expect(again.status, again.text).to.equal(200);
        expect(again.body.id).to.equal(first.body.id);
        expect(await countRows(testDb)).to.equal(1);
        expect(await storeKeys(testStore.store, 'recordings/')).to.have.length(2);
        expect(tempEntries(config)).to.deep.equal([]);
      });

      it('when the same callId comes with other audio, then 409 duplicate_call_id and the first recording is untouched', async () => {
        const fields = fieldsFor();
        const first = await upload({ fields, audio: await audioFixtureBytes('ulaw-mono') });
        expect(first.status, first.text).to.equal(201);
        const before = (await storeKeys(testStore.store, 'recordings/')).sort();
        const other = await upload({ fields, audio: await audioFixtureBytes('alaw-mono') });
        expect(other.status, other.text).to.equal(409);
        expect(other.body.code).to.equal('duplicate_call_id');
        expect((await storeKeys(testStore.store, 'recordings/')).sort()).to.deep.equal(before);
        expect(await countRows(testDb)).to.equal(1);
        expect(tempEntries(config)).to.deep.equal([]);
      });

      it('when two identical uploads race, then one row, two objects, and both answers name the same recording', async () => {
        const fields = fieldsFor();
        const audio = await audioFixtureBytes('ulaw-mono');
        const answers = await Promise.all([upload({ fields, audio }), upload({ fields, audio })]);
        expect(answers.map((a) => a.status).sort(), answers.map((a) => a.text).join('\n')).to.deep.equal([200, 201]);
        expect(answers[0]!.body.id).to.equal(answers[1]!.body.id);
        expect(await countRows(testDb)).to.equal(1);
        expect(await storeKeys(testStore.store, 'recordings/')).to.have.length(2);
        expect(tempEntries(config)).to.deep.equal([]);
      });

      const refusals: Array<{
        name: string;
        status: number;
        code: string;
        make: () => Promise<Omit<SignedUploadOptions, 'url'>>;
      }> = [
        {
          name: 'the secret is wrong',
          status: 401,
          code: 'invalid_signature',
          make: async () => ({
            fields: fieldsFor(),
            audio: await audioFixtureBytes('ulaw-mono'),
            overrides: { secret: 'another-secret-0123456789abcdef' },
          }),
        },
        {
          name: 'the body was altered after signing',
          status: 401,
          code: 'invalid_signature',
          make: async () => ({
            fields: fieldsFor(),
            audio: await audioFixtureBytes('ulaw-mono'),
            overrides: {
              alterBody: (b: Buffer) => {
                const copy = Buffer.from(b);
                copy[copy.length - 200] = copy[copy.length - 200]! ^ 0xff;
                return copy;
              },
            },
          }),
        },
        {
          name: 'the signature header is missing',
          status: 401,
          code: 'invalid_signature',
          make: async () => ({
            fields: fieldsFor(),
            audio: await audioFixtureBytes('ulaw-mono'),
            overrides: { omit: ['signature'] },
          }),
        },
        {
          name: 'the timestamp is 301 s old',
          status: 401,
          code: 'stale_timestamp',
          make: async () => ({
            fields: fieldsFor(),
            audio: await audioFixtureBytes('ulaw-mono'),
            nowMs: app.deps.clock.now() - 301_000,
          }),
        },
        {
          name: 'the timestamp is 301 s ahead',
          status: 401,
          code: 'stale_timestamp',
          make: async () => ({
            fields: fieldsFor(),
            audio: await audioFixtureBytes('ulaw-mono'),
            nowMs: app.deps.clock.now() + 301_000,
          }),
        },
        {
          name: 'the source is unknown',
          status: 401,
          code: 'unknown_source',
          make: async () => ({
            fields: fieldsFor(),
            audio: await audioFixtureBytes('ulaw-mono'),
            source: 'pbx-nobody',
          }),
        },
        {
          name: 'the source header is missing',
          status: 401,
          code: 'unknown_source',
          make: async () => ({
            fields: fieldsFor(),
            audio: await audioFixtureBytes('ulaw-mono'),
            overrides: { omit: ['source'] },
          }),
        },
        {
          name: 'the audio is random bytes',
          status: 415,
          code: 'unsupported_audio',
          make: async () => ({ fields: fieldsFor(), audio: randomNoise(8192) }),
        },
        {
          name: 'the WAV is cut inside its header',
          status: 415,
          code: 'unsupported_audio',
          make: async () => ({ fields: fieldsFor(), audio: truncated(await audioFixtureBytes('ulaw-mono'), 30) }),
        },
        {
          name: 'the audio part is empty',
          status: 415,
          code: 'unsupported_audio',
          make: async () => ({ fields: fieldsFor(), audio: Buffer.alloc(0) }),
        },
        {
          name: 'the WAV has a header and no samples',
          status: 415,
          code: 'unsupported_audio',
          make: async () => ({ fields: fieldsFor(), audio: wavHeader({ dataBytes: 0 }) }),
        },
        {
          name: 'the call is longer than the maximum duration',
          status: 413,
          code: 'too_large',
          make: async () => ({ fields: fieldsFor(), audio: silentUlawWav(601) }),
        },
        {
          name: 'startedAt + retention has already passed',
          status: 422,
          code: 'retention_elapsed',
          make: async () => ({
            fields: fieldsFor({ startedAt: new Date(Date.now() - 31 * DAY_MS).toISOString() }),
            audio: await audioFixtureBytes('ulaw-mono'),
          }),
        },
        {
          name: 'the multipart body ends without its closing boundary',
          status: 400,
          code: 'invalid_request',
          make: async () => ({
            fields: fieldsFor(),
            audio: await audioFixtureBytes('ulaw-mono'),
            overrides: { signedBody: (b: Buffer) => b.subarray(0, b.length - 60) },
          }),
        },
        {
          name: 'the body is not multipart',
          status: 400,
          code: 'invalid_request',
          make: async () => ({
            fields: fieldsFor(),
            audio: await audioFixtureBytes('ulaw-mono'),
            overrides: { headers: { 'content-type': 'application/octet-stream' } },
          }),
        },
      ];
      for (const refusal of refusals) {
        it(`when ${refusal.name}, then ${refusal.status} ${refusal.code} and nothing stays behind`, async () => {
          const res = await upload(await refusal.make());
          expect(res.status, res.text).to.equal(refusal.status);
          expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
          expect(res.body.code).to.equal(refusal.code);
          await expectNothingBehind(ctx());
          if (refusal.status === 401) {
            const events = app.logs.map((l) => JSON.parse(l)).filter((l) => l.event === 'ingest_auth_failed');
            expect(events, 'a security event').to.have.length(1);
            expect(events[0].requestId).to.be.a('string');
            expect(app.logs.join('\n')).not.to.contain(TEST_SECRET);
            expect(app.logs.join('\n')).not.to.contain('12345678');
          }
        });
      }

      it('when the signature is wrong and the metadata and audio are bad too, then 401: nothing is looked at before the signature', async () => {
        const res = await upload({
          fields: fieldsFor({ callId: 'bad/id', startedAt: new Date(Date.now() - 40 * DAY_MS).toISOString() }),
          audio: randomNoise(4096),
          overrides: { secret: 'another-secret-0123456789abcdef' },
        });
        expect(res.status, res.text).to.equal(401);
        expect(res.body.code).to.equal('invalid_signature');
        expect(app.logs.some((l) => l.includes('upload refused: audio'))).to.equal(false);
        await expectNothingBehind(ctx());
      });

      it('when the metadata is bad, then 400 invalid_metadata lists every field at fault and nothing stays behind', async () => {
        const res = await upload({
          fields: fieldsFor({
            callId: 'bad/id',
            startedAt: 'yesterday',
            direction: 'sideways',
            callerNumber: 'call me maybe',
            agentId: undefined,
          }),
          audio: await audioFixtureBytes('ulaw-mono'),
        });
        expect(res.status, res.text).to.equal(400);
        expect(res.body.code).to.equal('invalid_metadata');
        expect(res.body.fields.map((f: { field: string }) => f.field).sort()).to.deep.equal([
          'callId',
          'callerNumber',
          'direction',
          'startedAt',
        ]);
        expect(res.text).not.to.contain('call me maybe');
        await expectNothingBehind(ctx());
      });

      it('when startedAt lies in the future or the audio part is missing, then 400 naming startedAt and audio', async () => {
        const res = await upload({ fields: fieldsFor({ startedAt: new Date(Date.now() + 3_600_000).toISOString() }) });
        expect(res.status, res.text).to.equal(400);
        expect(res.body.fields.map((f: { field: string }) => f.field).sort()).to.deep.equal(['audio', 'startedAt']);
        await expectNothingBehind(ctx());
      });

      it('when the WAV header claims 1000× the audio present, then the recording is kept with its decoded duration', async () => {
        const lying = withLyingSizes(await audioFixtureBytes('ulaw-mono'), 1000);
        const res = await upload({ fields: fieldsFor(), audio: lying });
        expect(res.status, res.text).to.equal(201);
        expect(res.body.durationMs).to.be.within(2900, 3100);
        expect(tempEntries(config)).to.deep.equal([]);
      });

      it('when the body is larger than CALLREC_MAX_UPLOAD_BYTES, then 413 too_large (declared or streamed) and nothing stays behind', async () => {
        const small = await appWith({ CALLREC_MAX_UPLOAD_BYTES: String(64 * 1024) });
        const big = silentUlawWav(120); // 960 KB
        const declared = await signedUpload({ url: small.url, fields: fieldsFor(), audio: big });
        expect(declared.status, declared.text).to.equal(413);
        expect(declared.body.code).to.equal('too_large');
        // Chunked: no Content-Length, so the limit is only seen while the body streams.
        const streamed = await signedStreamUpload({
          url: small.url,
          fields: fieldsFor(),
          audio: () => Readable.from([big.subarray(0, 500_000), big.subarray(500_000)]),
          chunked: true,
        });
        expect(streamed.status, streamed.text).to.equal(413);
        expect(streamed.body.code).to.equal('too_large');
        await eventually(() => tempEntries(config).length === 0, 'temp dir emptied');
        await expectNothingBehind(ctx());
      });

      it('when the database refuses the insert after the objects were written, then 503 db_unavailable and the objects are deleted', async () => {
        const knex = testDb.db.knex;
        if (testDb.db.client === 'sqlite') {
          await knex.raw(
            `CREATE TRIGGER refuse_insert BEFORE INSERT ON recordings BEGIN SELECT RAISE(ABORT, 'refused by test'); END`,
          );
        } else {
          await knex.raw(
            `CREATE FUNCTION refuse_insert() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused by test'; END $$ LANGUAGE plpgsql`,
          );
          await knex.raw(
            `CREATE TRIGGER refuse_insert BEFORE INSERT ON recordings FOR EACH ROW EXECUTE FUNCTION refuse_insert()`,
          );
        }
        try {
          const res = await upload({ fields: fieldsFor(), audio: await audioFixtureBytes('ulaw-mono') });
          expect(res.status, res.text).to.equal(503);
          expect(res.body.code).to.equal('db_unavailable');
          expect(res.headers['retry-after']).to.match(/^\d+$/);
          expect(res.text).not.to.contain('refused by test');
          await expectNothingBehind(ctx());
        } finally {
          if (testDb.db.client === 'sqlite') await knex.raw('DROP TRIGGER refuse_insert');
          else {
            await knex.raw('DROP TRIGGER refuse_insert ON recordings');
            await knex.raw('DROP FUNCTION refuse_insert()');
          }
        }
      });

      it('when the original changes on its way from the temp file to the store, then the store refuses it: 503 and nothing stays behind', async () => {
        const real = testStore.store;
        // One byte of the original flipped after it was received and hashed (a disk or memory fault).
        async function* flipFirstByte(body: Readable) {
          let first = true;
          for await (const chunk of body) {
            const out = Buffer.from(chunk as Buffer);
            if (first && out.length > 0) {
              out[0] = out[0]! ^ 0xff;
              first = false;
            }
            yield out;
          }
        }
        const corrupting: ObjectStore = {
          ...real,
          put: (key, body, options) => {
            if (!key.includes('/original.')) return real.put(key, body, options);
            if (!Buffer.isBuffer(body)) return real.put(key, Readable.from(flipFirstByte(body)), options);
            const flipped = Buffer.from(body);
            flipped[0] = flipped[0]! ^ 0xff;
            return real.put(key, flipped, options);
          },
        };
        const other = await appWith({}, corrupting);
        const res = await signedUpload({
          url: other.url,
          fields: fieldsFor(),
          audio: await audioFixtureBytes('ulaw-mono'),
        });
        expect(res.status, res.text).to.equal(503);
        expect(res.body.code).to.equal('store_unavailable');
        await expectNothingBehind(ctx());
      });

      if (storeBackend.name === 'minio') {
        it('when the object store is unreachable, then 503 store_unavailable with Retry-After, and only the marker stays, for crash recovery once its lease ran out', async () => {
          const down = await createObjectStore({
            ...minioStoreConfig(testStore.config.kind === 's3' ? testStore.config.bucket : 'x'),
            endpoint: 'http://127.0.0.1:9',
          });
          try {
            const other = await appWith({}, down);
            const res = await signedUpload({
              url: other.url,
              fields: fieldsFor(),
              audio: await audioFixtureBytes('ulaw-mono'),
            });
            expect(res.status, res.text).to.equal(503);
            expect(res.body.code).to.equal('store_unavailable');
            expect(res.headers['retry-after']).to.match(/^\d+$/);
            // Whether the failed put left an object cannot be known while the store is down.
            const [marker, ...more] = (await testDb.db.knex('ingest_inflight').select('*')) as Array<{
              lease_expires_at: number | string;
            }>;
            expect(more).to.deep.equal([]);
            const recovered = await removeAbandonedUploads(
              { ...app.deps, config },
              { now: Number(marker!.lease_expires_at) + 1 },
            );
            expect(recovered.uploads).to.include({ found: 1, objects: 0 });
            await expectNothingBehind(ctx());
          } finally {
            await down.close();
          }
        });
      }

      if (dbBackend.name === 'postgres') {
        it('when the database is unreachable, then 503 db_unavailable and nothing stays behind', async () => {
          const deadDb = createDb({ client: 'pg', url: 'postgres://nobody:nothing@127.0.0.1:9/none' });
          try {
            const other = await startTestApp({
              db: deadDb,
              store: testStore.store,
              config: testConfig({ CALLREC_DATA_DIR: config.dataDir }),
              // The database went down after the start: the start-up's own reads are not what is tested.
              startup: false,
            });
            extraApps.push(other);
            const res = await signedUpload({
              url: other.url,
              fields: fieldsFor(),
              audio: await audioFixtureBytes('ulaw-mono'),
            });
            expect(res.status, res.text).to.equal(503);
            expect(res.body.code).to.equal('db_unavailable');
            await expectNothingBehind(ctx());
          } finally {
            await deadDb.close();
          }
        });
      }

      it('when every slot and queue place is taken, then 503 overloaded with Retry-After; a client that disconnects leaves nothing behind', async () => {
        const tight = await appWith({ CALLREC_TRANSCODE_CONCURRENCY: '1', CALLREC_INGEST_QUEUE: '0' });
        // A genuine v2 client (verified from its headers, so admitted at once) that sends part of its body and stalls.
        const stalled = stalledUpload({ url: tight.url, version: 'v2' });
        await stalled.sent;
        await eventually(
          async () => (await inFlight(tight, 'admitted')) === 1,
          'the stalled upload holds the only place',
        );
        for (const version of ['v1', 'v2'] as const) {
          const refused = await signedUpload({
            url: tight.url,
            version,
            fields: fieldsFor(),
            audio: await audioFixtureBytes('ulaw-mono'),
          });
          expect(refused.status, refused.text).to.equal(503);
          expect(refused.body.code).to.equal('overloaded');
          expect(refused.headers['retry-after']).to.match(/^\d+$/);
        }
        stalled.close();
        await eventually(
          async () => (await inFlight(tight, 'admitted')) === 0 && tempEntries(config).length === 0,
          'the abandoned upload cleaned up',
        );
        await expectNothingBehind(ctx());
        const later = await signedUpload({
          url: tight.url,
          fields: fieldsFor(),
          audio: await audioFixtureBytes('ulaw-mono'),
        });
        expect(later.status, later.text).to.equal(201);
      });

      if (FULL(dbBackend.name, storeBackend.name)) {
        /** Starts `count` forged uploads (a known source, a made-up secret) that stall half-sent, from `addresses` in turn. */
        const forgedStalls = async (target: TestApp, count: number, addresses: string[]): Promise<StalledUpload[]> => {
          const stalls = Array.from({ length: count }, (_, i) =>
            stalledUpload({ url: target.url, secret: FORGED_SECRET, localAddress: addresses[i % addresses.length] }),
          );
          await Promise.all(stalls.map((s) => s.sent));
          // Each one is either being received (unverified) or already answered.
          await eventually(
            async () => (await inFlight(target, 'unverified')) + stalls.filter((s) => s.answered).length === count,
            'the forged uploads are in',
          );
          return stalls;
        };

        it('when 18 forged uploads of a known source stall half-sent from several addresses, then a genuine upload is stored at once and they hold no transcode place', async () => {
          const target = await appWith({
            CALLREC_TRANSCODE_CONCURRENCY: '2',
            CALLREC_INGEST_QUEUE: '16',
            CALLREC_UNVERIFIED_UPLOADS_PER_SOURCE: '16',
            CALLREC_UNVERIFIED_UPLOADS_PER_ADDRESS: '8',
          });
          const stalls = await forgedStalls(target, 18, ['127.0.0.2', '127.0.0.3', '127.0.0.4']);
          try {
            expect(await inFlight(target, 'admitted'), 'transcode slots and queue places taken').to.equal(0);
            expect(await inFlight(target, 'unverified')).to.equal(16);
            const refused = await Promise.all(stalls.filter((s) => s.answered).map((s) => s.answer));
            expect(refused.map((r) => [r?.status, r?.body.code])).to.deep.equal([
              [503, 'too_many_unverified'],
              [503, 'too_many_unverified'],
            ]);
            expect(refused[0]?.headers['retry-after']).to.match(/^\d+$/);

            // The server clock stands still (manual): none of the stalled bodies can have timed out.
            const genuine = await signedUpload({
              url: target.url,
              version: 'v2',
              fields: fieldsFor(),
              audio: await audioFixtureBytes('ulaw-mono'),
            });
            expect(genuine.status, genuine.text).to.equal(201);
            expect(stalls.filter((s) => s.answered)).to.have.length(2);
            const events = target.logs.map((l) => JSON.parse(l)).filter((l) => l.event === 'ingest_unverified_limit');
            expect(events.map((e) => e.bound)).to.deep.equal(['source', 'source']);
          } finally {
            for (const stall of stalls) stall.close();
          }
          await eventually(
            async () => (await inFlight(target, 'unverified')) === 0 && tempEntries(config).length === 0,
            'the forged uploads cleaned up',
          );
          expect(await countRows(testDb)).to.equal(1);
          const refusedTotal = (await target.deps.metrics.ingestTotal.get()).values.find(
            (v) => v.labels.outcome === 'too_many_unverified',
          );
          expect(refusedTotal?.value).to.equal(2);
        });

        it('when one address has its bound of unverified bodies stalled, then its next is refused 503 too_many_unverified and a v1 upload from elsewhere is stored', async () => {
          const target = await appWith({
            CALLREC_UNVERIFIED_UPLOADS_PER_SOURCE: '16',
            CALLREC_UNVERIFIED_UPLOADS_PER_ADDRESS: '8',
          });
          const stalls = await forgedStalls(target, 8, ['127.0.0.2']);
          try {
            expect(await inFlight(target, 'unverified')).to.equal(8);
            const ninth = await signedUpload({
              url: target.url,
              localAddress: '127.0.0.2',
              fields: fieldsFor(),
              audio: await audioFixtureBytes('ulaw-mono'),
            });
            expect(ninth.status, ninth.text).to.equal(503);
            expect(ninth.body.code).to.equal('too_many_unverified');
            expect(ninth.headers['retry-after']).to.match(/^\d+$/);
            const elsewhere = await signedUpload({
              url: target.url,
              localAddress: '127.0.0.1',
              fields: fieldsFor(),
              audio: await audioFixtureBytes('ulaw-mono'),
            });
            expect(elsewhere.status, elsewhere.text).to.equal(201);
            expect(stalls.some((s) => s.answered)).to.equal(false);
          } finally {
            for (const stall of stalls) stall.close();
          }
          await eventually(
            async () => (await inFlight(target, 'unverified')) === 0 && tempEntries(config).length === 0,
            'the forged uploads cleaned up',
          );
        });

        it('when bodies arrive slower than CALLREC_UPLOAD_MIN_RATE past the grace, then 408 request_timeout, their places are freed and nothing stays behind', async () => {
          const target = await appWith({ CALLREC_UPLOAD_MIN_RATE: '32KiB/s', CALLREC_UPLOAD_RATE_GRACE: '10s' });
          const clock = target.deps.clock as ReturnType<typeof createManualClock>;
          const v1 = stalledUpload({ url: target.url, version: 'v1' });
          const v2 = stalledUpload({ url: target.url, version: 'v2' });
          await Promise.all([v1.sent, v2.sent]);
          await eventually(
            async () => (await inFlight(target, 'unverified')) === 1 && (await inFlight(target, 'admitted')) === 1,
            'both are being received',
          );
          clock.advance(9_000);
          // Within the grace: still waiting (the meter ticks at least every second).
          await new Promise((r) => setTimeout(r, 1_500));
          expect(v1.answered || v2.answered, 'refused within the grace').to.equal(false);
          clock.advance(1_001);
          const answers = await Promise.all([v1.answer, v2.answer]);
          for (const answer of answers) {
            expect(answer?.status, answer?.text).to.equal(408);
            expect(answer?.headers['content-type']).to.match(/^application\/problem\+json/);
            expect(answer?.body.code).to.equal('request_timeout');
          }
          expect(await inFlight(target, 'unverified')).to.equal(0);
          expect(await inFlight(target, 'admitted')).to.equal(0);
          await expectNothingBehind(ctx());
          const later = await signedUpload({
            url: target.url,
            version: 'v2',
            fields: fieldsFor(),
            audio: await audioFixtureBytes('ulaw-mono'),
            nowMs: clock.now(),
          });
          expect(later.status, later.text).to.equal(201);
        });

        it('when a v2 upload is signed over its headers, then it is stored; with a v1 entry beside it, v2 decides', async () => {
          const audio = await audioFixtureBytes('ulaw-mono');
          const res = await upload({ version: 'v2', fields: fieldsFor(), audio });
          expect(res.status, res.text).to.equal(201);
          // An old server would check the v1 entry (wrong here); this one checks v2 only.
          const withV1 = await upload({
            version: 'v2',
            fields: fieldsFor(),
            audio: await audioFixtureBytes('alaw-mono'),
            overrides: { signature: (v2) => `v1=${'0'.repeat(64)}, ${v2}` },
          });
          expect(withV1.status, withV1.text).to.equal(201);
        });

        const v2Refusals: Array<{
          name: string;
          status: number;
          code: string;
          reason?: string;
          overrides: SignedUploadOptions['overrides'];
        }> = [
          {
            name: 'the body was altered after signing (same length)',
            status: 401,
            code: 'invalid_signature',
            reason: 'content_digest_mismatch',
            overrides: {
              alterBody: (b: Buffer) => {
                const copy = Buffer.from(b);
                copy[copy.length - 200] = copy[copy.length - 200]! ^ 0xff;
                return copy;
              },
            },
          },
          {
            name: 'the signature covers another Content-Length',
            status: 401,
            code: 'invalid_signature',
            reason: 'signature_mismatch',
            overrides: { signedLength: 12345 },
          },
          {
            name: 'Content-Digest is another than the one signed',
            status: 401,
            code: 'invalid_signature',
            reason: 'signature_mismatch',
            overrides: { contentDigest: `sha-256=:${createHash('sha256').update('other').digest('base64')}:` },
          },
          {
            name: 'Content-Digest is missing',
            status: 401,
            code: 'invalid_signature',
            reason: 'missing_content_digest',
            overrides: { omit: ['content-digest'] },
          },
          {
            name: 'the secret is wrong',
            status: 401,
            code: 'invalid_signature',
            reason: 'signature_mismatch',
            overrides: { secret: FORGED_SECRET },
          },
          {
            name: 'the body is sent chunked, without Content-Length',
            status: 411,
            code: 'length_required',
            overrides: { omit: ['content-length'], headers: { 'transfer-encoding': 'chunked' } },
          },
        ];
        for (const refusal of v2Refusals) {
          it(`when a v2 upload comes and ${refusal.name}, then ${refusal.status} ${refusal.code} and nothing stays behind`, async () => {
            const res = await upload({
              version: 'v2',
              fields: fieldsFor(),
              audio: await audioFixtureBytes('ulaw-mono'),
              overrides: refusal.overrides,
            });
            expect(res.status, res.text).to.equal(refusal.status);
            expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
            expect(res.body.code).to.equal(refusal.code);
            await expectNothingBehind(ctx());
            if (refusal.reason) {
              const events = app.logs.map((l) => JSON.parse(l)).filter((l) => l.event === 'ingest_auth_failed');
              expect(events.map((e) => e.reason)).to.deep.equal([refusal.reason]);
            }
          });
        }

        it('when a forged v2 upload stalls half-sent, then it is refused 401 at once, before its body, holding nothing', async () => {
          const forged = stalledUpload({ url: app.url, version: 'v2', secret: FORGED_SECRET });
          try {
            const answer = await forged.answer;
            expect(answer?.status, answer?.text).to.equal(401);
            expect(answer?.body.code).to.equal('invalid_signature');
            expect(await inFlight(app, 'admitted')).to.equal(0);
            expect(await inFlight(app, 'unverified')).to.equal(0);
            expect(tempEntries(config)).to.deep.equal([]);
          } finally {
            forged.close();
          }
        });
      }

      if (FULL(dbBackend.name, storeBackend.name) || (dbBackend.name === 'postgres' && storeBackend.name === 'minio')) {
        const formats = Object.keys(AUDIO_FIXTURES) as AudioFixtureName[];
        for (const name of formats) {
          const spec = AUDIO_FIXTURES[name];
          it(`when the audio is ${name} (${spec.codec}, ${spec.channels} ch), then it is stored and its rendition keeps ${spec.channels} channel(s)`, async () => {
            const res = await upload({ fields: fieldsFor(), audio: await audioFixture(name) });
            expect(res.status, res.text).to.equal(201);
            expect(res.body.original).to.include({
              codec: spec.codec,
              sampleRate: spec.sampleRate,
              channels: spec.channels,
            });
            expect(res.body.durationMs).to.be.within(2800, 3200);
            const row = await testDb.db.knex('recordings').where({ id: res.body.id }).first();
            const dir = tempDir('callrec-ingest-check-');
            try {
              const file = path.join(dir, 'playback.ogg');
              const { body } = await testStore.store.get(row.playback_key);
              await pipeline(body, fs.createWriteStream(file));
              const probe = await probeAudio(file, { timeoutMs: 10_000 });
              expect(probe).to.include({ codec: 'opus', channels: spec.channels });
              expect(JSON.parse(row.waveform).channels).to.equal(spec.channels);
            } finally {
              fs.rmSync(dir, { recursive: true, force: true });
            }
          });
        }
      }

      if (FULL(dbBackend.name, storeBackend.name)) {
        it('when CALLREC_PLAYBACK_FORMAT=mp3, then the rendition is MP3', async () => {
          const mp3 = await appWith({ CALLREC_PLAYBACK_FORMAT: 'mp3' });
          const res = await signedUpload({
            url: mp3.url,
            fields: fieldsFor(),
            audio: await audioFixtureBytes('pcm-stereo'),
          });
          expect(res.status, res.text).to.equal(201);
          expect(res.body.playback).to.include({ format: 'mp3', contentType: 'audio/mpeg' });
          expect((await storeKeys(testStore.store, 'recordings/')).some((k) => k.endsWith('/playback.mp3'))).to.equal(
            true,
          );
        });

        /** Runs scripts/upload-recording against `url` with the test source; `extra` are further flags. */
        const runScript = (options: { url?: string; secret?: string; callId?: string; extra?: string[] }) =>
          new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
            audioFixture('ulaw-mono').then((file) => {
              const child = spawn(
                'bash',
                [
                  path.join(ROOT, 'scripts', 'upload-recording'),
                  ...[
                    '--url',
                    options.url ?? app.url,
                    '--source',
                    TEST_SOURCE,
                    '--call-id',
                    options.callId ?? uniqueName('script-'),
                    '--started-at',
                    fieldsFor().startedAt!,
                  ],
                  ...[
                    '--agent',
                    'agent-7',
                    '--queue',
                    'sales',
                    '--direction',
                    'outbound',
                    '--caller',
                    '+31612345678',
                    '--callee',
                    '+31201234567',
                  ],
                  ...(options.extra ?? []),
                  file,
                ],
                { env: { PATH: process.env.PATH, CALLREC_SECRET: options.secret ?? TEST_SECRET } },
              );
              let stdout = '';
              let stderr = '';
              child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
              child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
              child.on('close', (code) => resolve({ code, stdout, stderr }));
            }, reject);
          });

        it('when scripts/upload-recording posts a file, then it is stored (signed v2, or v1 with --signature v1), and with a wrong secret it fails with the 401', async () => {
          const callId = uniqueName('script-');
          const ok = await runScript({ callId });
          expect(ok.code, ok.stderr).to.equal(0);
          expect(JSON.parse(ok.stdout)).to.include({
            callId,
            queue: 'sales',
            direction: 'outbound',
            callerNumber: PHONE,
          });
          const v1 = await runScript({ extra: ['--signature', 'v1'] });
          expect(v1.code, v1.stderr).to.equal(0);
          const bad = await runScript({ secret: 'wrong-secret-0123456789abcdef' });
          expect(bad.code).to.not.equal(0);
          expect(bad.stderr).to.contain('401');
          expect(await countRows(testDb)).to.equal(2);
        });

        it('when the unverified places of its address are taken, then scripts/upload-recording still stores (v2 is checked before the body) and --signature v1 is refused 503', async () => {
          const target = await appWith({ CALLREC_UNVERIFIED_UPLOADS_PER_ADDRESS: '1' });
          const stall = stalledUpload({ url: target.url, secret: FORGED_SECRET, localAddress: '127.0.0.1' });
          try {
            await stall.sent;
            await eventually(async () => (await inFlight(target, 'unverified')) === 1, 'the forged upload is in');
            const v2 = await runScript({ url: target.url });
            expect(v2.code, v2.stderr).to.equal(0);
            const v1 = await runScript({ url: target.url, extra: ['--signature', 'v1', '--retries', '0'] });
            expect(v1.code).to.equal(1);
            expect(v1.stderr).to.contain('HTTP 503').and.contain('too_many_unverified');
          } finally {
            stall.close();
          }
        });
      }
    });
  }
}
