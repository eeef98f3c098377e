/**
 * Manual redaction (issue #18, item 3) through the HTTP API against real databases and stores,
 * with the encrypting store the service uses: a span holding DTMF digits that ingest did not mask
 * (CALLREC_MASK_DTMF=off) is silenced in the stored original and rendition (multimon-ng hears
 * the digits before and none after; the span's RMS is ~0 while the rest is not), the old objects
 * are gone, one `redaction` deletion-log entry names the span and the old digests and the chain
 * still verifies, the access log has a `redact` entry; bad input is refused and leaves nothing
 * behind; a playback that began on the old rendition never continues with new bytes.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { scanDtmf } from '../../src/audio/dtmf.js';
import type { Config } from '../../src/config.js';
import { findRecordingById } from '../../src/db/recordings.js';
import { encryptingStore } from '../../src/keys/data-keys.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { startTestApp, testConfig } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { dbBackends, storeBackends, storeKeys, tempDir } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { buildDtmfCallSpec, decodeDtmf, dtmfCall } from '../support/dtmf-calls.js';
import type { DtmfCall } from '../support/dtmf-calls.js';
import { audioFixture } from '../support/fixtures.js';
import { createStoredRecording } from '../support/recordings.js';
import { signedUpload } from '../support/upload.js';
import { createTestUser } from '../support/users.js';

const run = promisify(execFile);

const COMBOS = [
  { db: dbBackends.find((b) => b.name === 'sqlite')!, store: storeBackends.find((b) => b.name === 'fs')! },
  { db: dbBackends.find((b) => b.name === 'postgres')!, store: storeBackends.find((b) => b.name === 'minio')! },
];

/** RMS (of 32768) of `file` mixed to mono at 8 kHz over [fromMs, toMs). */
async function rms(file: string, window: { fromMs: number; toMs: number }): Promise<number> {
  const { stdout } = await run(
    'ffmpeg',
    [
      '-v',
      'error',
      '-nostdin',
      '-i',
      file,
      '-ss',
      String(window.fromMs / 1000),
      '-t',
      String((window.toMs - window.fromMs) / 1000),
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
    { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
  );
  const pcm = stdout as unknown as Buffer;
  let sum = 0;
  const n = Math.floor(pcm.length / 2);
  for (let i = 0; i < n; i++) sum += pcm.readInt16LE(i * 2) ** 2;
  return n ? Math.sqrt(sum / n) : 0;
}

let seq = 0;

for (const combo of COMBOS) {
  describe(`manual redaction (${combo.db.name} × ${combo.store.name})`, function () {
    this.timeout(180_000);
    let tdb: TestDb;
    let tstore: TestStore;
    let store: ObjectStore;
    let config: Config;
    let app: TestApp;
    let work: string;
    let privacy: string;
    let auditor: string;
    let call: DtmfCall;

    before(async () => {
      tdb = await combo.db.create();
      tstore = await combo.store.create();
      work = tempDir('callrec-redact-');
      config = testConfig({ CALLREC_MASK_DTMF: 'off', CALLREC_KEYRING_FILE: path.join(work, 'keyring') });
      store = await encryptingStore({ config, db: tdb.db, store: tstore.store });
      app = await startTestApp({ db: tdb.db, store, config });
      privacy = (await createTestUser(tdb.db, { role: 'privacy' })).token;
      auditor = (await createTestUser(tdb.db, { role: 'auditor' })).token;
      call = await dtmfCall(work, buildDtmfCallSpec({ channel: 'right', seed: 'redact-right' }));
    });
    after(async () => {
      await app?.close();
      await tstore?.dispose();
      await tdb?.dispose();
      fs.rmSync(config.dataDir, { recursive: true, force: true });
      fs.rmSync(work, { recursive: true, force: true });
    });

    const upload = async (audio: string = call.path) => {
      const res = await signedUpload({
        url: app.url,
        fields: { callId: `redact-${Date.now()}-${++seq}`, startedAt: new Date(Date.now() - 60_000).toISOString() },
        audio,
      });
      expect(res.status, JSON.stringify(res.body)).to.equal(201);
      return (res.body as { id: string }).id;
    };
    const redact = (id: string, body: unknown, token = privacy) =>
      fetch(`${app.url}/v1/recordings/${id}/redactions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const copy = async (key: string, name: string) => {
      const file = path.join(work, `${name}-${++seq}${path.extname(key)}`);
      await pipeline((await store.get(key)).body, fs.createWriteStream(file));
      return file;
    };
    /** Request folders left in the service's temp folders (each process folder holds `ingest-*` ones). */
    const tempLeft = () => {
      const root = path.join(config.dataDir, 'tmp');
      if (!fs.existsSync(root)) return [];
      return fs
        .readdirSync(root, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .flatMap((d) => fs.readdirSync(path.join(root, d.name)).filter((name) => name.startsWith('ingest-')));
    };
    const snapshot = async () => ({
      keys: await storeKeys(tstore.store, 'recordings/'),
      log: await tdb.db.knex('deletion_log').count({ n: '*' }).first(),
      access: await tdb.db.knex('access_log').where({ action: 'redact' }).count({ n: '*' }).first(),
      markers: await tdb.db.knex('ingest_inflight').select('recording_id'),
      rows: await tdb.db.knex('recordings').select('id', 'original_key', 'playback_key', 'redactions'),
      temp: tempLeft(),
    });

    it('when a privacy officer redacts the span of keyed-in digits, then the stored original and rendition hold silence there (no digit recovered) and sound elsewhere, the old objects are gone, and the deletion and access logs record it', async () => {
      const id = await upload();
      const before = (await findRecordingById(tdb.db.knex, id))!;
      const original = await copy(before.original_key, 'before');
      expect((await decodeDtmf(original)).join(''), 'the test can fail: digits in the stored upload').to.equal(
        call.digits,
      );
      const tones = await scanDtmf(original, { timeoutMs: 60_000, channels: before.original_channels });
      const span = {
        startMs: Math.max(0, Math.floor(tones[0]!.startMs) - 100),
        endMs: Math.ceil(tones.at(-1)!.endMs) + 100,
      };

      const res = await redact(id, { ...span, reason: 'card number keyed in during the call' });
      expect(res.status).to.equal(201);
      const body = (await res.json()) as { redactions: unknown[]; original: { sha256: string } };
      expect(body.redactions).to.deep.equal([{ ...span, kind: 'manual' }]);

      const after = (await findRecordingById(tdb.db.knex, id))!;
      expect(after.original_key).to.not.equal(before.original_key);
      expect(after.playback_key).to.not.equal(before.playback_key);
      expect(body.original.sha256).to.equal(after.original_sha256);
      for (const [key, name] of [
        [after.original_key, 'original'],
        [after.playback_key, 'playback'],
      ] as const) {
        const file = await copy(key, name);
        expect((await decodeDtmf(file)).join(''), name).to.equal('');
        expect(
          await rms(file, { fromMs: span.startMs + 20, toMs: span.endMs - 20 }),
          `${name} in the span`,
        ).to.be.below(2);
        expect(await rms(file, { fromMs: 0, toMs: Math.max(500, span.startMs - 50) }), `${name} before it`).to.be.above(
          100,
        );
      }
      // Only the new objects remain: the old ones are deleted, no version or marker is left.
      expect(await storeKeys(tstore.store, 'recordings/')).to.have.members([after.original_key, after.playback_key]);
      expect(await tstore.store.exists(before.original_key)).to.equal(false);
      expect(await tstore.store.exists(before.playback_key)).to.equal(false);
      expect(await tdb.db.knex('ingest_inflight').select('recording_id')).to.deep.equal([]);

      const deletions = await fetch(`${app.url}/v1/deletions?reason=redaction`, {
        headers: { authorization: `Bearer ${auditor}` },
      });
      const entries = ((await deletions.json()) as { items: Array<Record<string, unknown>> }).items;
      expect(entries).to.have.length(1);
      expect(entries[0]).to.include({ recordingId: id, reason: 'redaction', verified: true });
      expect(entries[0]!.span).to.deep.equal(span);
      expect(entries[0]!.objects).to.deep.equal([
        { key: before.original_key, sha256: before.original_sha256, sizeBytes: Number(before.original_size) },
        { key: before.playback_key, sha256: before.playback_sha256, sizeBytes: Number(before.playback_size) },
      ]);
      const verify = await fetch(`${app.url}/v1/deletions/verify`, { headers: { authorization: `Bearer ${auditor}` } });
      expect(await verify.json()).to.include({ ok: true, problem: null });
      const csv = await fetch(`${app.url}/v1/deletions?reason=redaction&format=csv`, {
        headers: { authorization: `Bearer ${auditor}` },
      });
      expect(await csv.text()).to.include(`"{""endMs"":${span.endMs},""startMs"":${span.startMs}}"`);

      const access = await fetch(`${app.url}/v1/access-log?action=redact&recordingId=${id}`, {
        headers: { authorization: `Bearer ${auditor}` },
      });
      const accessItems = ((await access.json()) as { items: Array<Record<string, unknown>> }).items;
      expect(accessItems).to.have.length(1);
      expect(accessItems[0]).to.include({ action: 'redact', recordingId: id });
      expect(accessItems[0]!.detail).to.equal(`${span.startMs}-${span.endMs} ms: card number keyed in during the call`);

      // The recording is still deleted at the end of its retention: a second, ordinary entry is allowed.
      const erased = await fetch(`${app.url}/v1/recordings/${id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${privacy}`, 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'erasure_request', reference: 'TICKET-1' }),
      });
      expect(erased.status).to.equal(200);
      const verifyAgain = await fetch(`${app.url}/v1/deletions/verify`, {
        headers: { authorization: `Bearer ${auditor}` },
      });
      expect(await verifyAgain.json()).to.include({ ok: true, count: 2 });
    });

    it('when the body or the span is wrong, the reason holds a phone number or the recording is unknown, then 400/404 problem+json come back and nothing changes', async () => {
      const id = await upload();
      const before = await snapshot();
      const cases: Array<[unknown, number, string, string | undefined]> = [
        [{ startMs: 2000, endMs: 1000, reason: 'x' }, 400, 'invalid_request', 'endMs'],
        [{ startMs: 1000, endMs: 1000, reason: 'x' }, 400, 'invalid_request', 'endMs'],
        [{ startMs: -1, endMs: 1000, reason: 'x' }, 400, 'invalid_request', 'startMs'],
        [{ startMs: 0, endMs: 1000, reason: '   ' }, 400, 'invalid_request', 'reason'],
        [{ startMs: 0, endMs: 1000 }, 400, 'invalid_request', 'reason'],
        [{ startMs: 0, endMs: 1000, reason: 'caller +31 6 12345678 read it out' }, 400, 'invalid_request', 'reason'],
        [{ startMs: 0, endMs: call.durationMs + 5000, reason: 'x' }, 400, 'invalid_request', 'endMs'],
        [{ startMs: 0.5, endMs: 1000, reason: 'x' }, 400, 'invalid_request', 'startMs'],
      ];
      for (const [body, status, code, field] of cases) {
        const res = await redact(id, body);
        expect(res.status, JSON.stringify(body)).to.equal(status);
        expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
        const problem = (await res.json()) as { code: string; fields?: Array<{ field: string }> };
        expect(problem.code).to.equal(code);
        if (field) expect(problem.fields?.map((f) => f.field)).to.include(field);
      }
      const unknown = await redact('01JAAAAAAAAAAAAAAAAAAAAAAA', { startMs: 0, endMs: 1000, reason: 'x' });
      expect(unknown.status).to.equal(404);
      expect(((await unknown.json()) as { code: string }).code).to.equal('not_found');
      expect(await snapshot()).to.deep.equal(before);
    });

    it('when the stored audio cannot be decoded, then 415 unsupported_audio comes back and nothing is left: no new object, marker, temp file or log entry', async () => {
      const rec = await createStoredRecording({ db: tdb.db, store, overrides: { duration_ms: 4000 } });
      const before = await snapshot();
      const res = await redact(rec.row.id, { startMs: 0, endMs: 1000, reason: 'card number read out' });
      expect(res.status).to.equal(415);
      expect(((await res.json()) as { code: string }).code).to.equal('unsupported_audio');
      expect(await snapshot()).to.deep.equal(before);
    });

    it('when the store fails to take the new rendition, then 503 comes back, the new original is deleted again and the recording is unchanged', async () => {
      const id = await upload();
      const failing: ObjectStore = {
        ...store,
        put: (key, body, options) =>
          /\/r[0-9A-Z]{26}\/playback\./.test(key)
            ? Promise.reject(Object.assign(new Error('store down'), { code: 'store_unavailable' }))
            : store.put(key, body, options),
      };
      const failingApp = await startTestApp({ db: tdb.db, store: failing, config });
      try {
        const before = await snapshot();
        const res = await fetch(`${failingApp.url}/v1/recordings/${id}/redactions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${privacy}`, 'content-type': 'application/json' },
          body: JSON.stringify({ startMs: 0, endMs: 1000, reason: 'card number read out' }),
        });
        expect(res.status).to.equal(503);
        expect(await snapshot()).to.deep.equal(before);
      } finally {
        await failingApp.close();
      }
    });

    it('when two redactions of one recording race, then each one answered 201 has its own deletion-log entry, the other is 409, and the log verifies', async () => {
      const id = await upload();
      const statuses = (
        await Promise.all([
          redact(id, { startMs: 0, endMs: 500, reason: 'first' }),
          redact(id, { startMs: 600, endMs: 900, reason: 'second' }),
        ])
      ).map((r) => r.status);
      expect(statuses.filter((s) => s === 201)).to.have.length.within(1, 2);
      expect(statuses.filter((s) => s !== 201)).to.satisfy((rest: number[]) => rest.every((s) => s === 409));
      const entries = await tdb.db.knex('deletion_log').where({ reason: 'redaction', recording_id: id });
      expect(entries).to.have.length(statuses.filter((s) => s === 201).length);
      const row = (await findRecordingById(tdb.db.knex, id))!;
      expect(await storeKeys(tstore.store, `recordings/`)).to.include.members([row.original_key, row.playback_key]);
      expect(JSON.parse(row.redactions!)).to.have.length(entries.length);
      expect(await tdb.db.knex('ingest_inflight').select('recording_id')).to.deep.equal([]);
      const verify = await fetch(`${app.url}/v1/deletions/verify`, { headers: { authorization: `Bearer ${auditor}` } });
      expect(await verify.json()).to.include({ ok: true });
    });

    it('when the recording is under legal hold or being deleted, then 409 comes back and nothing changes', async () => {
      const held = await upload();
      await tdb.db.knex('recordings').where({ id: held }).update({ legal_hold: true, hold_reason: 'court' });
      const deleting = await upload();
      await tdb.db.knex('recordings').where({ id: deleting }).update({ status: 'deleting' });
      const before = await snapshot();
      const onHold = await redact(held, { startMs: 0, endMs: 1000, reason: 'x' });
      expect(onHold.status).to.equal(409);
      expect(((await onHold.json()) as { code: string }).code).to.equal('legal_hold');
      const beingDeleted = await redact(deleting, { startMs: 0, endMs: 1000, reason: 'x' });
      expect(beingDeleted.status).to.equal(409);
      expect(((await beingDeleted.json()) as { code: string }).code).to.equal('conflict');
      expect(await snapshot()).to.deep.equal(before);
      await tdb.db.knex('recordings').whereIn('id', [held, deleting]).update({ legal_hold: false, status: 'stored' });
    });

    it('when a playback response is streaming while the recording is redacted, then its body is the old rendition exactly or it ends early, never old bytes continued with new ones', async () => {
      const id = await upload(await audioFixture('ulaw-mono', { seconds: 120 }));
      const before = (await findRecordingById(tdb.db.knex, id))!;
      const oldBytes = Buffer.concat(await (await store.get(before.playback_key)).body.toArray());
      // The service's store, except that a read of the old rendition passes its first chunk and then
      // waits for the gate: the response is provably mid-stream while the redaction runs and deletes it.
      let openGate!: () => void;
      const gate = new Promise<void>((resolve) => (openGate = resolve));
      let gatedReads = 0;
      const gated: ObjectStore = {
        ...store,
        get: async (key, options) => {
          const got = await store.get(key, options);
          if (key !== before.playback_key) return got;
          gatedReads += 1;
          const body = Readable.from(
            (async function* () {
              let first = true;
              for await (const chunk of got.body) {
                if (!first) await gate;
                first = false;
                yield chunk as Buffer;
              }
            })(),
          );
          return { ...got, body };
        },
      };
      const playApp = await startTestApp({ db: tdb.db, store: gated, config });
      try {
        const res = await fetch(`${playApp.url}/v1/recordings/${id}/audio`, {
          headers: { authorization: `Bearer ${privacy}` },
        });
        expect(res.status).to.equal(200);
        const reader = res.body!.getReader();
        const chunks: Buffer[] = [];
        const first = await reader.read();
        if (first.value) chunks.push(Buffer.from(first.value));
        expect(Buffer.concat(chunks).length, 'only the first chunk has left').to.be.below(oldBytes.length);
        const redacted = await redact(id, { startMs: 500, endMs: 1500, reason: 'card number read out' });
        expect(redacted.status).to.equal(201);
        expect(await tstore.store.exists(before.playback_key), 'the old rendition is deleted').to.equal(false);
        openGate();
        let aborted = false;
        try {
          for (;;) {
            const next = await reader.read();
            if (next.done) break;
            chunks.push(Buffer.from(next.value));
          }
        } catch {
          aborted = true;
        }
        const body = Buffer.concat(chunks);
        expect(gatedReads).to.equal(1);
        expect(oldBytes.subarray(0, body.length).equals(body), 'every byte served is the old rendition’s').to.equal(
          true,
        );
        if (!aborted) expect(body.length, 'a complete body is the whole old rendition').to.equal(oldBytes.length);
        const after = (await findRecordingById(tdb.db.knex, id))!;
        const newBytes = Buffer.concat(await (await store.get(after.playback_key)).body.toArray());
        expect(newBytes.equals(oldBytes)).to.equal(false);
        const again = await fetch(`${playApp.url}/v1/recordings/${id}/audio`, {
          headers: { authorization: `Bearer ${privacy}`, range: 'bytes=0-', 'if-range': `"${before.playback_sha256}"` },
        });
        expect(again.status, 'If-Range with the old ETag: the whole new object').to.equal(200);
        expect(Buffer.from(await again.arrayBuffer()).equals(newBytes)).to.equal(true);
      } finally {
        await playApp.close();
      }
    });
  });
}
