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

    const upload = async () => {
      const res = await signedUpload({
        url: app.url,
        fields: { callId: `redact-${Date.now()}-${++seq}`, startedAt: new Date(Date.now() - 60_000).toISOString() },
        audio: call.path,
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
    const snapshot = async () => ({
      keys: await storeKeys(tstore.store, 'recordings/'),
      log: await tdb.db.knex('deletion_log').count({ n: '*' }).first(),
      markers: await tdb.db.knex('ingest_inflight').select('recording_id'),
      rows: await tdb.db.knex('recordings').select('id', 'original_key', 'playback_key', 'redactions'),
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
        body: JSON.stringify({ reference: 'TICKET-1' }),
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
      const id = await upload();
      const before = (await findRecordingById(tdb.db.knex, id))!;
      const oldBytes = Buffer.concat(await (await store.get(before.playback_key)).body.toArray());
      const res = await fetch(`${app.url}/v1/recordings/${id}/audio`, {
        headers: { authorization: `Bearer ${privacy}`, range: 'bytes=0-' },
      });
      expect([200, 206]).to.include(res.status);
      const reader = res.body!.getReader();
      const chunks: Buffer[] = [];
      const first = await reader.read();
      if (first.value) chunks.push(Buffer.from(first.value));
      const redacted = await redact(id, { startMs: 500, endMs: 1500, reason: 'card number read out' });
      expect(redacted.status).to.equal(201);
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
      expect(oldBytes.subarray(0, body.length).equals(body), 'every byte served is the old rendition’s').to.equal(true);
      if (!aborted) expect(body.length).to.be.oneOf([oldBytes.length, Number(res.headers.get('content-length'))]);
      const after = (await findRecordingById(tdb.db.knex, id))!;
      const newBytes = Buffer.concat(await (await store.get(after.playback_key)).body.toArray());
      expect(newBytes.equals(oldBytes)).to.equal(false);
      const again = await fetch(`${app.url}/v1/recordings/${id}/audio`, {
        headers: { authorization: `Bearer ${privacy}`, range: 'bytes=0-', 'if-range': `"${before.playback_sha256}"` },
      });
      expect(again.status, 'If-Range with the old ETag: the whole new object').to.equal(200);
      expect(Buffer.from(await again.arrayBuffer()).equals(newBytes)).to.equal(true);
    });
  });
}
