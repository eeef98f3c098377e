/**
 * Card data kept out of recordings at ingest (issue #18), through the signed upload hook against
 * real databases and stores: DTMF tones keyed in (16 digits + 3) are silenced in the stored
 * original and rendition, as checked by an independent decoder (multimon-ng), which hears every
 * digit in the upload itself; pause spans from the telephony are silenced (at the start, the
 * end, overlapping, on a 3-hour call) and refused when out of range.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { expect } from 'chai';
import type { Config } from '../../src/config.js';
import { findRecordingById } from '../../src/db/recordings.js';
import { createSpool } from '../../src/ingest/adapters/spool.js';
import { createIngestRuntime } from '../../src/ingest/service.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { createManualClock } from '../../src/clock.js';
import { startTestApp, testConfig } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { dbBackends, storeBackends, storeKeys, tempDir } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { buildDtmfCallSpec, decodeDtmf, dtmfCall } from '../support/dtmf-calls.js';
import { signedUpload } from '../support/upload.js';

const run = promisify(execFile);

const COMBOS = [
  { db: dbBackends.find((b) => b.name === 'sqlite')!, store: storeBackends.find((b) => b.name === 'fs')! },
  { db: dbBackends.find((b) => b.name === 'postgres')!, store: storeBackends.find((b) => b.name === 'minio')! },
];

let seq = 0;
function fieldsFor(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    callId: `card-${Date.now()}-${++seq}`,
    startedAt: new Date(Date.now() - 60_000).toISOString(),
    ...overrides,
  };
}

/**
 * Peak absolute sample (of 32768) per 10 ms frame of `file`'s channels mixed to one, decoded by
 * ffmpeg at 8 kHz: enough to tell silence from sound at a span's edges.
 */
async function framePeaks(
  file: string,
  window: { fromMs: number; toMs: number } | undefined = undefined,
): Promise<number[]> {
  const seek = window ? ['-ss', String(window.fromMs / 1000), '-t', String((window.toMs - window.fromMs) / 1000)] : [];
  const { stdout } = await run(
    'ffmpeg',
    [
      '-v',
      'error',
      '-nostdin',
      ...seek,
      '-i',
      file,
      '-ac',
      '1',
      '-ar',
      '8000',
      '-f',
      's16le',
      '-c:a',
      'pcm_s16le',
      '-',
    ],
    { encoding: 'buffer', maxBuffer: 512 * 1024 * 1024 },
  );
  const pcm = stdout as unknown as Buffer;
  const peaks: number[] = [];
  for (let i = 0; i + 1 < pcm.length; i += 160) {
    let peak = 0;
    for (let j = i; j + 1 < Math.min(i + 160, pcm.length); j += 2) peak = Math.max(peak, Math.abs(pcm.readInt16LE(j)));
    peaks.push(peak);
  }
  return peaks;
}

for (const combo of COMBOS) {
  describe(`ingest keeps card data out (${combo.db.name} × ${combo.store.name})`, function () {
    this.timeout(120_000);
    let tdb: TestDb;
    let tstore: TestStore;
    let config: Config;
    let app: TestApp;
    let work: string;

    before(async () => {
      tdb = await combo.db.create();
      tstore = await combo.store.create();
      config = testConfig();
      app = await startTestApp({ db: tdb.db, store: tstore.store, config });
      work = tempDir('callrec-card-');
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
      fs.rmSync(work, { recursive: true, force: true });
    });

    /** The stored original and rendition of recording `id`, copied to files. */
    const storedFiles = async (id: string): Promise<{ original: string; playback: string }> => {
      const row = (await findRecordingById(tdb.db.knex, id))!;
      const copy = async (key: string, name: string) => {
        const file = path.join(work, `${id}-${name}${path.extname(key)}`);
        const { body } = await tstore.store.get(key);
        await pipeline(body, fs.createWriteStream(file));
        return file;
      };
      return { original: await copy(row.original_key, 'original'), playback: await copy(row.playback_key, 'playback') };
    };

    for (const channel of ['right', 'left', 'mono'] as const) {
      it(`when a caller keys a card number and its code (${channel === 'mono' ? 'mono call' : `${channel} channel`}), then multimon-ng hears every digit in the upload and none in the stored original or rendition`, async () => {
        const call = await dtmfCall(work, buildDtmfCallSpec({ channel, seed: `card-${channel}` }));
        const heard = await decodeDtmf(call.path);
        expect(heard.join(''), 'the upload holds the digits (the check can fail)').to.equal(call.digits);

        const res = await signedUpload({ url: app.url, fields: fieldsFor(), audio: call.path });
        expect(res.status, res.text).to.equal(201);
        const stored = await storedFiles(res.body.id);
        for (const file of [stored.original, stored.playback]) {
          expect((await decodeDtmf(file)).join(''), path.basename(file)).to.equal('');
        }
        const dtmf = (res.body.redactions as Array<Record<string, unknown>>).filter((r) => r.kind === 'dtmf');
        expect(dtmf.length).to.be.within(2, 19);
        for (const r of dtmf) expect(Object.keys(r).sort()).to.deep.equal(['endMs', 'kind', 'startMs']);
        // The original keeps its codec and container; its digest is that of the stored bytes.
        expect(res.body.original.codec).to.equal('pcm_mulaw');
        expect(path.extname((await findRecordingById(tdb.db.knex, res.body.id))!.original_key)).to.equal('.wav');
        const got = await app.deps.store.stat((await findRecordingById(tdb.db.knex, res.body.id))!.original_key);
        expect(got.size).to.equal(res.body.original.sizeBytes);
        // The listing shows the same spans.
        const replay = await signedUpload({
          url: app.url,
          fields: { ...fieldsFor(), callId: res.body.callId },
          audio: call.path,
        });
        expect(replay.status, 'the same upload again is a replay').to.equal(200);
        expect(replay.body.redactions).to.deep.equal(res.body.redactions);
      });
    }

    it('when DTMF masking is off (CALLREC_MASK_DTMF=off), then the digits are stored as keyed and no span is listed', async () => {
      const offConfig = testConfig({ CALLREC_MASK_DTMF: 'off' });
      const offApp = await startTestApp({ db: tdb.db, store: tstore.store, config: offConfig });
      try {
        const call = await dtmfCall(work, buildDtmfCallSpec({ channel: 'mono', seed: 'card-off' }));
        const res = await signedUpload({ url: offApp.url, fields: fieldsFor(), audio: call.path });
        expect(res.status, res.text).to.equal(201);
        expect(res.body.redactions).to.deep.equal([]);
        const stored = await storedFiles(res.body.id);
        expect((await decodeDtmf(stored.original)).join('')).to.equal(call.digits);
      } finally {
        await offApp.close();
        fs.rmSync(offConfig.dataDir, { recursive: true, force: true });
      }
    });

    it('when pauses lie at the start, at the end (past it) and overlap, then exactly those spans are silent in the original and the rendition and are listed, cut at the end and joined', async () => {
      const call = await dtmfCall(work, buildDtmfCallSpec({ channel: 'mono', groups: ['', ''], seed: 'card-pauses' }));
      const d = call.durationMs;
      const pauses = [
        { startMs: 0, endMs: 1500 },
        { startMs: 3000, endMs: 4000 },
        { startMs: 3500, endMs: 5000 },
        { startMs: d - 1000, endMs: d + 60_000 },
      ];
      const original = await framePeaks(call.path);
      expect(Math.max(...original.slice(0, 150)), 'the upload speaks in the first pause').to.be.greaterThan(1000);
      const res = await signedUpload({
        url: app.url,
        fields: fieldsFor({ pauses: JSON.stringify(pauses) }),
        audio: call.path,
      });
      expect(res.status, res.text).to.equal(201);
      expect(res.body.redactions).to.deep.equal([
        { startMs: 0, endMs: 1500, kind: 'pause' },
        { startMs: 3000, endMs: 5000, kind: 'pause' },
        { startMs: d - 1000, endMs: res.body.durationMs, kind: 'pause' },
      ]);
      const stored = await storedFiles(res.body.id);
      // The original (μ-law) is silent to the sample; the Opus rendition smears the sound just
      // outside a span up to 40 ms into it (its overlapping windows), never the span's own content.
      for (const [file, edgeMs] of [
        [stored.original, 0],
        [stored.playback, 40],
      ] as const) {
        const peaks = await framePeaks(file);
        const inside = (from: number, to: number) =>
          Math.max(...peaks.slice(Math.ceil((from + edgeMs) / 10), Math.floor((to - edgeMs) / 10)));
        expect(inside(0, 1500), `${path.basename(file)} start`).to.be.lessThan(50);
        expect(inside(3000, 5000), `${path.basename(file)} overlap`).to.be.lessThan(50);
        expect(inside(d - 1000, d), `${path.basename(file)} end`).to.be.lessThan(50);
        expect(inside(1600, 2900), `${path.basename(file)} between`).to.be.greaterThan(1000);
      }
    });

    it('when pauses are out of range (negative, end not after start, not whole ms, not JSON, past the audio), then 400 invalid_metadata names each, and nothing is kept', async () => {
      const call = await dtmfCall(work, buildDtmfCallSpec({ channel: 'mono', groups: [], seed: 'card-range' }));
      const cases: Array<[string, string[]]> = [
        [JSON.stringify([{ startMs: -1, endMs: 10 }]), ['pauses[0].startMs']],
        [
          JSON.stringify([
            { startMs: 0, endMs: 10 },
            { startMs: 20, endMs: 20 },
          ]),
          ['pauses[1].endMs'],
        ],
        [JSON.stringify([{ startMs: 0.5, endMs: 10 }]), ['pauses[0].startMs']],
        [JSON.stringify([{ startMs: 0, endMs: 10, digits: '4929' }]), ['pauses[0]']],
        [JSON.stringify({ startMs: 0, endMs: 10 }), ['pauses']],
        ['[{"startMs": 0,', ['pauses']],
        [
          JSON.stringify([
            { startMs: 0, endMs: 10 },
            { startMs: call.durationMs + 500, endMs: call.durationMs + 900 },
          ]),
          ['pauses[1].startMs'],
        ],
      ];
      for (const [pauses, fields] of cases) {
        const res = await signedUpload({ url: app.url, fields: fieldsFor({ pauses }), audio: call.path });
        expect(res.status, `${pauses}: ${res.text}`).to.equal(400);
        expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
        expect(res.body.code).to.equal('invalid_metadata');
        expect(
          res.body.fields.map((f: { field: string }) => f.field),
          pauses,
        ).to.deep.equal(fields);
      }
      expect(await storeKeys(tstore.store, 'recordings/')).to.deep.equal([]);
      expect(await tdb.db.knex('recordings').select('id')).to.deep.equal([]);
    });

    it('when a spool pair sends pauses (a JSON array in its metadata file), then they are silenced and listed as from the hook', async () => {
      const spoolDir = tempDir('callrec-card-spool-');
      const clock = createManualClock(Date.now());
      const runtime = createIngestRuntime({
        config,
        db: tdb.db,
        store: tstore.store,
        logger: createLogger({ level: 'silent' }),
        clock,
        metrics: createMetrics(),
      });
      const spool = createSpool(runtime, { dir: spoolDir, source: 'spool-card', intervalMs: 5_000 });
      try {
        const call = await dtmfCall(work, buildDtmfCallSpec({ channel: 'mono', groups: ['', ''], seed: 'card-spool' }));
        fs.copyFileSync(call.path, path.join(spoolDir, 'pay-1.wav'));
        const fields = { ...fieldsFor(), pauses: [{ startMs: 1000, endMs: 2500 }] };
        fs.writeFileSync(path.join(spoolDir, 'pay-1.json'), JSON.stringify(fields));
        await spool.pass();
        expect(await spool.pass()).to.include({ stored: 1 });
        const row = (await tdb.db.knex('recordings').where({ source: 'spool-card' }).first()) as { id: string };
        const stored = await findRecordingById(tdb.db.knex, row.id);
        expect(JSON.parse(stored!.redactions!)).to.deep.equal([{ startMs: 1000, endMs: 2500, kind: 'pause' }]);
        const peaks = await framePeaks((await storedFiles(row.id)).original);
        expect(Math.max(...peaks.slice(100, 250))).to.be.lessThan(50);
      } finally {
        await spool.stop({ drainMs: 0 });
        fs.rmSync(spoolDir, { recursive: true, force: true });
      }
    });

    // Minutes of Opus encoding: once (SQLite × fs) is enough, the spans do not depend on the backends.
    if (combo.store.name === 'fs')
      it('when a 3-hour call has pauses near its start, middle and end, then each is silent in the stored original and listed', async function () {
        this.timeout(600_000);
        const offConfig = testConfig({ CALLREC_MASK_DTMF: 'off' });
        const offApp = await startTestApp({ db: tdb.db, store: tstore.store, config: offConfig });
        try {
          // Cheap to make and to move: a 300 Hz tone at 1 kHz, 8-bit PCM (10.8 MB for 3 hours).
          const file = path.join(work, 'three-hours.wav');
          const hours3 = 3 * 3_600_000;
          await run('ffmpeg', [
            '-v',
            'error',
            '-y',
            '-f',
            'lavfi',
            '-i',
            `sine=f=300:r=1000:d=${hours3 / 1000}`,
            '-c:a',
            'pcm_u8',
            file,
          ]);
          const pauses = [
            { startMs: 60_000, endMs: 90_000 },
            { startMs: 5_400_000, endMs: 5_460_000 },
            { startMs: hours3 - 30_000, endMs: hours3 },
          ];
          const res = await signedUpload({
            url: offApp.url,
            fields: fieldsFor({ pauses: JSON.stringify(pauses) }),
            audio: file,
          });
          expect(res.status, res.text).to.equal(201);
          expect(res.body.durationMs).to.be.within(hours3 - 100, hours3 + 100);
          expect(res.body.redactions).to.deep.equal(
            pauses.map((p) => ({ ...p, endMs: Math.min(p.endMs, res.body.durationMs), kind: 'pause' })),
          );
          const { original } = await storedFiles(res.body.id);
          for (const p of pauses) {
            const around = await framePeaks(original, { fromMs: p.startMs - 1000, toMs: p.endMs + 1000 });
            expect(Math.max(...around.slice(0, 90)), `${p.startMs}: sound before`).to.be.greaterThan(1000);
            expect(Math.max(...around.slice(101, around.length - 101)), `${p.startMs}: silent inside`).to.be.lessThan(
              50,
            );
          }
        } finally {
          await offApp.close();
          fs.rmSync(offConfig.dataDir, { recursive: true, force: true });
        }
      });
  });
}
