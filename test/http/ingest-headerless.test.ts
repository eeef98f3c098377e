/**
 * Headerless telephony audio (Asterisk's `.ulaw`, `.alaw`, `.sln`, `.sln16`, `.gsm`, `.g722`)
 * through the signed upload hook against real databases and stores: accepted when the upload
 * names the format (`audioFormat`), stored byte-exact with its own type, transcoded; bytes that
 * cannot be the named format are refused 415 `audio_format_mismatch` and nothing is kept
 * (issue #15, "Formats").
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import type { Config } from '../../src/config.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { startTestApp, testConfig } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { dbBackends, storeBackends, storeKeys, tempDir } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { audioFixtureBytes, randomNoise, rawAudioFixture } from '../support/fixtures.js';
import type { RawFixtureFormat } from '../support/fixtures.js';
import { tempLeftovers } from '../support/owners.js';
import { signedUpload } from '../support/upload.js';

const run = promisify(execFile);

const COMBOS = [
  { db: dbBackends.find((b) => b.name === 'sqlite')!, store: storeBackends.find((b) => b.name === 'fs')! },
  { db: dbBackends.find((b) => b.name === 'postgres')!, store: storeBackends.find((b) => b.name === 'minio')! },
];

/** What each format must come back as: codec and rate as ffmpeg names them, the stored original's type. */
const EXPECTED: Record<RawFixtureFormat, { codec: string; sampleRate: number; ext: string; contentType: string }> = {
  ulaw: { codec: 'pcm_mulaw', sampleRate: 8000, ext: 'ulaw', contentType: 'audio/basic' },
  alaw: { codec: 'pcm_alaw', sampleRate: 8000, ext: 'alaw', contentType: 'audio/PCMA' },
  sln: { codec: 'pcm_s16le', sampleRate: 8000, ext: 'sln', contentType: 'audio/x-sln; rate=8000' },
  sln16: { codec: 'pcm_s16le', sampleRate: 16000, ext: 'sln16', contentType: 'audio/x-sln; rate=16000' },
  gsm: { codec: 'gsm', sampleRate: 8000, ext: 'gsm', contentType: 'audio/gsm' },
  g722: { codec: 'adpcm_g722', sampleRate: 16000, ext: 'g722', contentType: 'audio/G722' },
};

let seq = 0;
function fieldsFor(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    callId: `raw-${Date.now()}-${++seq}`,
    startedAt: new Date(Date.now() - 60_000).toISOString(),
    ...overrides,
  };
}

async function objectBytes(store: ObjectStore, key: string): Promise<Buffer> {
  const { body } = await store.get(key);
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The decoded duration (ms) of an audio file as ffprobe reads it after a full decode. */
async function decodedMs(file: string): Promise<number> {
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-show_entries', 'format=duration', '-of', 'default=nw=1:nk=1', file],
  ]);
  return Math.round(Number(stdout.trim()) * 1000);
}

for (const combo of COMBOS) {
  describe(`ingest headerless audio (${combo.db.name} × ${combo.store.name})`, function () {
    this.timeout(60_000);
    let tdb: TestDb;
    let tstore: TestStore;
    let config: Config;
    let app: TestApp;

    before(async () => {
      tdb = await combo.db.create();
      tstore = await combo.store.create();
      config = testConfig();
      app = await startTestApp({ db: tdb.db, store: tstore.store, config });
    });
    afterEach(async () => {
      await tdb.db.knex('recordings').del();
      const keys = await storeKeys(tstore.store, 'recordings/');
      if (keys.length) await tstore.store.deleteMany(keys);
    });
    after(async () => {
      await app?.close();
      await tstore?.dispose();
      await tdb?.dispose();
      fs.rmSync(config.dataDir, { recursive: true, force: true });
    });

    const expectNothingKept = async () => {
      expect(await storeKeys(tstore.store, 'recordings/'), 'objects').to.deep.equal([]);
      expect(await tdb.db.knex('recordings').select('id'), 'rows').to.deep.equal([]);
      expect(await tdb.db.knex('ingest_inflight').select('recording_id'), 'markers').to.deep.equal([]);
      const temp = tempLeftovers(path.join(config.dataDir, 'tmp')).map((rel) => rel.slice(rel.indexOf('/') + 1));
      expect(temp, 'temp files').to.deep.equal([]);
    };

    for (const format of Object.keys(EXPECTED) as RawFixtureFormat[]) {
      it(`when a headerless .${format} upload names its format, then 201: the original is stored byte-exact with its own type, the duration is exact and the rendition holds the whole call`, async () => {
        const audio = await fs.promises.readFile(await rawAudioFixture(format));
        const res = await signedUpload({ url: app.url, fields: fieldsFor({ audioFormat: format }), audio });
        expect(res.status, res.text).to.equal(201);
        const want = EXPECTED[format];
        expect(res.body.original).to.include({
          sizeBytes: audio.length,
          codec: want.codec,
          sampleRate: want.sampleRate,
          channels: 1,
        });
        expect(res.body.durationMs).to.equal(3000);
        const keys = (await storeKeys(tstore.store, 'recordings/')).sort();
        const originalKey = keys.find((k) => /\/original\.[a-z0-9]+$/.test(k))!;
        expect(originalKey.endsWith(`/original.${want.ext}`), originalKey).to.equal(true);
        expect((await objectBytes(tstore.store, originalKey)).equals(audio)).to.equal(true);
        const row = (await tdb.db.knex('recordings').where({ id: res.body.id }).first()) as Record<string, unknown>;
        expect(row.original_content_type).to.equal(want.contentType);
        const dir = tempDir('callrec-raw-');
        try {
          const rendition = path.join(dir, 'playback.ogg');
          await fs.promises.writeFile(
            rendition,
            await objectBytes(
              tstore.store,
              keys.find((k) => k.includes('/playback.'))!,
            ),
          );
          expect(await decodedMs(rendition)).to.be.within(2900, 3100);
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      });
    }

    it('when a headerless upload sends pauses, then the silenced copy is read with its declared format: 201, the span listed, the call whole', async () => {
      const audio = await fs.promises.readFile(await rawAudioFixture('ulaw'));
      const pauses = JSON.stringify([{ startMs: 500, endMs: 1500 }]);
      const res = await signedUpload({ url: app.url, fields: fieldsFor({ audioFormat: 'ulaw', pauses }), audio });
      expect(res.status, res.text).to.equal(201);
      expect(res.body.redactions).to.deep.equal([{ startMs: 500, endMs: 1500, kind: 'pause' }]);
      expect(res.body.durationMs).to.be.within(2900, 3100);
      const keys = await storeKeys(tstore.store, 'recordings/');
      const originalKey = keys.find((k) => /\/original\.[a-z0-9]+$/.test(k))!;
      expect((await objectBytes(tstore.store, originalKey)).equals(audio), 'the unsilenced bytes').to.equal(false);
    });

    it('when headerless audio comes without audioFormat, then 415 unsupported_audio (nothing guesses its codec) and nothing is kept', async () => {
      const audio = await fs.promises.readFile(await rawAudioFixture('sln16'));
      const res = await signedUpload({ url: app.url, fields: fieldsFor(), audio });
      expect(res.status, res.text).to.equal(415);
      expect(res.body.code).to.equal('unsupported_audio');
      await expectNothingKept();
    });

    it('when the bytes cannot be the declared format (a WAV named ulaw, a half sample of sln16, noise named gsm, a partial GSM frame), then 415 audio_format_mismatch and nothing is kept', async () => {
      const gsm = await fs.promises.readFile(await rawAudioFixture('gsm'));
      const sln16 = await fs.promises.readFile(await rawAudioFixture('sln16'));
      const cases: Array<[string, Buffer]> = [
        ['ulaw', await audioFixtureBytes('ulaw-mono')],
        ['sln16', sln16.subarray(0, sln16.length - 1)],
        ['gsm', randomNoise(33 * 100, 'not-gsm')],
        ['gsm', gsm.subarray(0, gsm.length - 5)],
        ['alaw', await audioFixtureBytes('mp3-mono')],
      ];
      for (const [audioFormat, audio] of cases) {
        const res = await signedUpload({ url: app.url, fields: fieldsFor({ audioFormat }), audio });
        expect(res.status, `${audioFormat}: ${res.text}`).to.equal(415);
        expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
        expect(res.body.code, audioFormat).to.equal('audio_format_mismatch');
        await expectNothingKept();
      }
    });

    it('when audioFormat names no headerless format, then 400 invalid_metadata naming it, and nothing is kept', async () => {
      const audio = await fs.promises.readFile(await rawAudioFixture('ulaw'));
      const res = await signedUpload({ url: app.url, fields: fieldsFor({ audioFormat: 'mp3' }), audio });
      expect(res.status, res.text).to.equal(400);
      expect(res.body.code).to.equal('invalid_metadata');
      expect(res.body.fields.map((f: { field: string }) => f.field)).to.deep.equal(['audioFormat']);
      await expectNothingKept();
    });
  });
}
