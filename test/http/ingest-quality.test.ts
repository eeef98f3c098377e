/**
 * Quality flags at ingest, through the signed hook on real backends: a silent recording and a
 * one-way stereo recording are stored (201) and flagged from the peaks; the list filters by flag.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import type { Config } from '../../src/config.js';
import { startTestApp, testConfig } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { dbBackends, storeBackends, storeKeys, tempDir } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { audioFixtureBytes, silentUlawWav } from '../support/fixtures.js';
import { signedUpload } from '../support/upload.js';
import { createTestUser } from '../support/users.js';

const run = promisify(execFile);
const COMBOS = [
  { db: dbBackends.find((b) => b.name === 'sqlite')!, store: storeBackends.find((b) => b.name === 'fs')! },
  { db: dbBackends.find((b) => b.name === 'postgres')!, store: storeBackends.find((b) => b.name === 'minio')! },
];

/** A stereo 8 kHz PCM WAV: a tone on the left, digital silence on the right (the customer was never heard). */
async function oneWayStereo(): Promise<Buffer> {
  const file = path.join(tempDir('callrec-oneway-'), 'one-way.wav');
  await run('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-y'],
    ...[
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:duration=3:sample_rate=8000',
      '-f',
      'lavfi',
      '-i',
      'anullsrc=r=8000:cl=mono',
      '-t',
      '3',
    ],
    ...['-filter_complex', '[0:a][1:a]amerge=inputs=2[a]', '-map', '[a]', '-c:a', 'pcm_s16le', '-ar', '8000', file],
  ]);
  return fs.readFileSync(file);
}

let seq = 0;
const fieldsFor = () => ({
  callId: `quality-${Date.now()}-${++seq}`,
  startedAt: new Date(Date.now() - 60_000).toISOString(),
});

for (const combo of COMBOS) {
  describe(`ingest quality flags (${combo.db.name} × ${combo.store.name})`, function () {
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
    after(async () => {
      await app?.close();
      const keys = await storeKeys(tstore.store, 'recordings/');
      if (keys.length) await tstore.store.deleteMany(keys);
      await tstore?.dispose();
      await tdb?.dispose();
      fs.rmSync(config.dataDir, { recursive: true, force: true });
    });

    it('when a recording is silent, or one party of a stereo call is never heard, then it is stored and flagged, and the list filters by the flag', async () => {
      const silent = await signedUpload({ url: app.url, fields: fieldsFor(), audio: silentUlawWav(3) });
      expect(silent.status, silent.text).to.equal(201);
      expect(silent.body.qualityFlags).to.deep.equal(['silent']);
      const oneWay = await signedUpload({ url: app.url, fields: fieldsFor(), audio: await oneWayStereo() });
      expect(oneWay.status, oneWay.text).to.equal(201);
      expect(oneWay.body.qualityFlags).to.deep.equal(['one_way']);
      const fine = await signedUpload({
        url: app.url,
        fields: fieldsFor(),
        audio: await audioFixtureBytes('pcm-stereo'),
      });
      expect(fine.status, fine.text).to.equal(201);
      expect(fine.body.qualityFlags).to.deep.equal([]);

      const trainer = await createTestUser(tdb.db, { role: 'trainer' });
      const list = async (flag: string) => {
        const res = await fetch(`${app.url}/v1/recordings?qualityFlag=${flag}`, {
          headers: { authorization: `Bearer ${trainer.token}` },
        });
        return ((await res.json()) as { items: Array<{ id: string }> }).items.map((r) => r.id);
      };
      expect(await list('silent')).to.deep.equal([silent.body.id]);
      expect(await list('one_way')).to.deep.equal([oneWay.body.id]);
    });
  });
}
