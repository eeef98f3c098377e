import { createHash } from 'node:crypto';
import http from 'node:http';
import type { Readable } from 'node:stream';
import { expect } from 'chai';
import { createManualClock } from '../../src/clock.js';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { DbBackend, StoreBackend, TestDb, TestStore } from '../support/backends.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { verifyDeletionLog } from '../../src/audit/verify.js';
import type { Db } from '../../src/db/db.js';
import { recordingsByNumberQuery } from '../../src/db/recordings.js';
import { sweepOnce } from '../../src/retention/sweep.js';
import type { GetOptions } from '../../src/storage/object-store.js';
import { createStoredRecording } from '../support/recordings.js';
import type { StoredRecordingOverrides } from '../support/recordings.js';
import { createTestUser } from '../support/users.js';
import { encryptedRecordingStore } from '../support/encryption.js';
import { accessLogRows, api, deletionLogRows, download, eventually, newPhone, readZip } from './subject-helpers.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const DAY_MS = 86_400_000;

interface Item {
  id: string;
  callerNumber: string | null;
  calleeNumber: string | null;
  expiresAt: string;
  legalHold: { reason: string | null; by: string | null; at: string | null } | null;
}

/** The query plan of the subject search (PostgreSQL: with sequential scans disabled, i.e. can it use the indexes at all). */
async function searchPlan(db: Db): Promise<string> {
  const { sql, bindings } = recordingsByNumberQuery(db.knex, { number: '+31612345678', limit: 101 }).toSQL();
  if (db.client === 'sqlite') {
    const rows = (await db.knex.raw(`EXPLAIN QUERY PLAN ${sql}`, bindings as never)) as Array<{ detail: string }>;
    return rows.map((r) => r.detail).join('\n');
  }
  return db.knex.transaction(async (trx) => {
    await trx.raw('SET LOCAL enable_seqscan = off');
    const result = (await trx.raw(`EXPLAIN ${sql}`, bindings as never)) as { rows: Array<Record<string, string>> };
    return result.rows.map((r) => r['QUERY PLAN']).join('\n');
  });
}

for (const dbBackend of dbBackends) {
  describe(`subject search query (${dbBackend.name})`, () => {
    it('when the search by number is planned, then both the caller and the callee index are used and nothing is scanned whole', async () => {
      const t = await dbBackend.create();
      try {
        const plan = await searchPlan(t.db);
        expect(plan).to.contain('recordings_caller_number_index');
        expect(plan).to.contain('recordings_callee_number_index');
        expect(plan).not.to.match(/Seq Scan|SCAN recordings(?! USING)/);
      } finally {
        await t.dispose();
      }
    });
  });
}

/** Every combination of database and store (sqlite×fs and postgres×minio at least). */
const combos: Array<[DbBackend, StoreBackend, { encrypted?: boolean }?]> = [
  ...dbBackends.flatMap((d) => storeBackends.map((s) => [d, s] as [DbBackend, StoreBackend])),
  // And once behind the encrypting store: export, erasure and search see plaintext as before.
  [dbBackends.find((b) => b.name === 'sqlite')!, storeBackends.find((b) => b.name === 'fs')!, { encrypted: true }],
];

for (const [dbBackend, storeBackend, variant] of combos) {
  describe(`subjects API (${dbBackend.name} + ${variant?.encrypted ? 'encrypted ' : ''}${storeBackend.name})`, function () {
    let db: TestDb;
    let store: TestStore;
    let app: TestApp;
    const clock = createManualClock(Date.now());
    let privacy: { token: string; username: string };
    let admin: { token: string; username: string };
    let trainer: { token: string; username: string };
    let auditor: { token: string; username: string };

    const record = (overrides: StoredRecordingOverrides = {}) =>
      createStoredRecording({
        db: db.db,
        store: store.store,
        overrides: { started_at: clock.now() - DAY_MS, ...overrides },
      });

    before(async () => {
      db = await dbBackend.create();
      store = await storeBackend.create();
      if (variant?.encrypted) store = { ...store, store: encryptedRecordingStore({ db: db.db, store: store.store }) };
      app = await startTestApp({ db: db.db, store: store.store, clock });
      const make = async (role: 'privacy' | 'admin' | 'trainer' | 'auditor') => {
        const u = await createTestUser(db.db, { role });
        return { token: u.token, username: u.user.username };
      };
      privacy = await make('privacy');
      admin = await make('admin');
      trainer = await make('trainer');
      auditor = await make('auditor');
    });
    after(async () => {
      await app.close();
      await store.dispose();
      await db.dispose().catch(() => undefined);
    });

    describe('search', () => {
      it('when a number is the caller of one recording and the callee of another, then national and international queries find both with full numbers', async () => {
        const phone = newPhone();
        const asCaller = await record({ caller_number: phone.e164 });
        const asCallee = await record({ callee_number: phone.e164, direction: 'outbound' });
        const other = await record({ caller_number: newPhone().e164 });

        for (const query of [phone.national, phone.e164, phone.national.replace(' ', '-'), `0031${phone.digits}`]) {
          const res = await api<{ items: Item[]; nextCursor: string | null }>(
            app.url,
            `/v1/subjects/recordings?phone=${encodeURIComponent(query)}`,
            {
              token: privacy.token,
            },
          );
          expect(res.status, query).to.equal(200);
          const ids = res.body.items.map((i) => i.id);
          expect(ids, query).to.have.members([asCaller.row.id, asCallee.row.id]);
          expect(ids).not.to.include(other.row.id);
          const caller = res.body.items.find((i) => i.id === asCaller.row.id)!;
          expect(caller.callerNumber).to.equal(phone.e164);
          expect(caller.legalHold).to.equal(null);
          expect(res.body.items.find((i) => i.id === asCallee.row.id)!.calleeNumber).to.equal(phone.e164);
          expect(res.body.nextCursor).to.equal(null);
        }
      });

      it('when a search is made, then one search entry is logged with the count and without the number', async () => {
        const phone = newPhone();
        await record({ caller_number: phone.e164 });
        const before = (await accessLogRows(db.db)).length;
        const res = await api(app.url, `/v1/subjects/recordings?phone=${encodeURIComponent(phone.e164)}`, {
          token: privacy.token,
        });
        expect(res.status).to.equal(200);
        const added = (await accessLogRows(db.db)).slice(before);
        expect(added).to.have.length(1);
        expect(added[0]).to.include({
          action: 'search',
          username: privacy.username,
          role: 'privacy',
          recording_id: null,
          detail: 'count=1',
        });
        expect(JSON.stringify(added[0])).not.to.contain(phone.digits);
      });

      it('when more recordings match than the page holds, then the cursor walks through all of them once', async () => {
        const phone = newPhone();
        const made = [];
        for (let i = 0; i < 3; i++) made.push((await record({ callee_number: phone.e164 })).row.id);
        const seen: string[] = [];
        let cursor: string | null = null;
        do {
          const q: string = `/v1/subjects/recordings?phone=${encodeURIComponent(phone.e164)}&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
          const res = await api<{ items: Item[]; nextCursor: string | null }>(app.url, q, { token: privacy.token });
          expect(res.status).to.equal(200);
          expect(res.body.items.length).to.be.at.most(2);
          seen.push(...res.body.items.map((i) => i.id));
          cursor = res.body.nextCursor;
        } while (cursor);
        expect(seen).to.have.members(made);
        expect(seen).to.have.length(3);
      });

      it('when the phone query is missing or not a number, then 400 invalid_query and nothing is logged', async () => {
        const before = (await accessLogRows(db.db)).length;
        for (const query of [
          '',
          '?phone=',
          '?phone=abc',
          '?phone=123',
          '?phone=0612345678x',
          `?phone=${'9'.repeat(50)}`,
          '?phone=%2B3161234',
        ]) {
          for (const route of ['/v1/subjects/recordings', '/v1/subjects/export']) {
            const res = await api<{ code: string }>(app.url, `${route}${query}`, { token: privacy.token });
            expect(res.status, `${route}${query}`).to.equal(400);
            expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
            expect(res.body.code).to.equal('invalid_query');
          }
        }
        const bad = await api<{ code: string }>(
          app.url,
          `/v1/subjects/recordings?phone=${encodeURIComponent(newPhone().e164)}&limit=0`,
          { token: privacy.token },
        );
        expect(bad.status).to.equal(400);
        expect(bad.body.code).to.equal('invalid_query');
        expect((await accessLogRows(db.db)).length).to.equal(before);
      });
    });

    describe('export', () => {
      it('when a subject is exported, then the zip holds both files of each recording with digests matching the store, a manifest and a README', async () => {
        const phone = newPhone();
        const a = await record({ caller_number: phone.e164 });
        const b = await record({
          callee_number: phone.e164,
          legal_hold: true,
          hold_reason: 'claim 7',
          hold_by: 'someone',
          hold_at: clock.now(),
        });
        await record({ caller_number: newPhone().e164 });
        // an earlier access by a trainer shows up in the manifest
        await db.db.knex('access_log').insert({
          user_id: null,
          username: 'trainer-x',
          role: 'trainer',
          recording_id: a.row.id,
          action: 'play',
          at: clock.now() - 1000,
          request_id: null,
          detail: null,
        });

        const res = await download(
          app.url,
          `/v1/subjects/export?phone=${encodeURIComponent(phone.national)}`,
          privacy.token,
        );
        expect(res.status).to.equal(200);
        expect(res.headers.get('content-type')).to.equal('application/zip');
        const disposition = res.headers.get('content-disposition') ?? '';
        expect(disposition).to.match(/^attachment; filename="callrec-export-[0-9TZ]+\.zip"$/);
        expect(disposition).not.to.contain(phone.digits);

        const zip = readZip(res.file);
        expect([...zip.keys()]).to.have.members([
          'README.txt',
          `recordings/${a.row.id}/original.wav`,
          `recordings/${a.row.id}/playback.opus`,
          `recordings/${b.row.id}/original.wav`,
          `recordings/${b.row.id}/playback.opus`,
          'manifest.json',
        ]);
        for (const rec of [a, b]) {
          for (const [kind, key] of [
            ['original', rec.row.original_key],
            ['playback', rec.row.playback_key],
          ] as const) {
            const stored = await store.store.get(key);
            const chunks: Buffer[] = [];
            for await (const c of stored.body) chunks.push(c as Buffer);
            const inZip = zip.get(`recordings/${rec.row.id}/${kind}.${key.split('.').pop()}`)!;
            expect(sha256(inZip)).to.equal(sha256(Buffer.concat(chunks)));
          }
        }
        const readme = zip.get('README.txt')!.toString('utf8');
        expect(readme).to.contain('NEDERLANDS').and.to.contain('ENGLISH');

        const manifest = JSON.parse(zip.get('manifest.json')!.toString('utf8')) as {
          exportedBy: string;
          recordingCount: number;
          recordings: Array<{
            id: string;
            callerNumber: string | null;
            calleeNumber: string | null;
            retention: { expiresAt: string; legalHold: { reason: string } | null };
            files: Array<{
              name: string;
              sha256: string;
              sizeBytes: number;
              recordedSha256: string;
              matchesRecorded: boolean;
              missing: boolean;
            }>;
            accessLog: Array<{ user: string; action: string; at: string }>;
          }>;
        };
        expect(manifest.exportedBy).to.equal(privacy.username);
        expect(manifest.recordingCount).to.equal(2);
        const ma = manifest.recordings.find((r) => r.id === a.row.id)!;
        const mb = manifest.recordings.find((r) => r.id === b.row.id)!;
        expect(ma.callerNumber).to.equal(phone.e164);
        expect(mb.calleeNumber).to.equal(phone.e164);
        expect(ma.retention.expiresAt).to.equal(new Date(a.row.expires_at).toISOString());
        expect(ma.retention.legalHold).to.equal(null);
        expect(mb.retention.legalHold?.reason).to.equal('claim 7');
        for (const m of [ma, mb]) {
          expect(m.files).to.have.length(2);
          for (const f of m.files) {
            expect(f.missing).to.equal(false);
            expect(f.sha256).to.equal(sha256(zip.get(f.name)!));
            expect(f.sha256).to.equal(f.recordedSha256);
            expect(f.matchesRecorded).to.equal(true);
            expect(f.sizeBytes).to.equal(zip.get(f.name)!.length);
          }
        }
        expect(ma.accessLog.map((e) => [e.user, e.action])).to.deep.include(['trainer-x', 'play']);
      });

      it('when a subject is exported, then one export entry per recording is logged, without the number', async () => {
        const phone = newPhone();
        const a = await record({ caller_number: phone.e164 });
        const b = await record({ callee_number: phone.e164 });
        const before = (await accessLogRows(db.db)).length;
        const res = await download(
          app.url,
          `/v1/subjects/export?phone=${encodeURIComponent(phone.e164)}`,
          privacy.token,
        );
        expect(res.status).to.equal(200);
        const added = (await accessLogRows(db.db)).slice(before);
        expect(added.map((r) => [r.action, r.recording_id, r.username])).to.have.deep.members([
          ['export', a.row.id, privacy.username],
          ['export', b.row.id, privacy.username],
        ]);
        expect(JSON.stringify(added)).not.to.contain(phone.digits);
      });

      it('when the number has no recordings, then the zip holds the README and a manifest of none, and nothing is logged per recording', async () => {
        const before = (await accessLogRows(db.db)).length;
        const res = await download(
          app.url,
          `/v1/subjects/export?phone=${encodeURIComponent(newPhone().national)}`,
          privacy.token,
        );
        expect(res.status).to.equal(200);
        const zip = readZip(res.file);
        expect([...zip.keys()]).to.have.members(['README.txt', 'manifest.json']);
        const manifest = JSON.parse(zip.get('manifest.json')!.toString('utf8')) as {
          recordingCount: number;
          recordings: unknown[];
        };
        expect(manifest.recordingCount).to.equal(0);
        expect(manifest.recordings).to.deep.equal([]);
        expect((await accessLogRows(db.db)).length).to.equal(before);
      });

      it('when a stored object is missing, then the export still completes and the manifest marks that file missing', async () => {
        const phone = newPhone();
        const a = await record({ caller_number: phone.e164 });
        await store.store.delete(a.row.playback_key);
        const res = await download(
          app.url,
          `/v1/subjects/export?phone=${encodeURIComponent(phone.e164)}`,
          privacy.token,
        );
        expect(res.status).to.equal(200);
        const zip = readZip(res.file);
        expect([...zip.keys()]).to.have.members(['README.txt', `recordings/${a.row.id}/original.wav`, 'manifest.json']);
        const manifest = JSON.parse(zip.get('manifest.json')!.toString('utf8')) as {
          recordings: Array<{ files: Array<{ kind: string; missing: boolean; sha256: string | null }> }>;
        };
        const files = manifest.recordings[0]!.files;
        expect(files.find((f) => f.kind === 'playback')).to.include({
          missing: true,
          sha256: null,
          matchesRecorded: false,
        });
        expect(files.find((f) => f.kind === 'original')).to.include({ missing: false });
      });

      it('when the client disconnects in the middle of an export, then the store read is aborted and the server keeps serving', async () => {
        const phone = newPhone();
        await record({ caller_number: phone.e164, originalBody: Buffer.alloc(16 * 1024 * 1024, 7) });
        // The real store, observed: which signals and bodies the export handed out.
        const reads: Array<{ signal?: AbortSignal; body?: Readable }> = [];
        const observed = new Proxy(store.store, {
          get(target, prop) {
            if (prop === 'get') {
              return async (key: string, options?: GetOptions) => {
                const read: { signal?: AbortSignal; body?: Readable } = { signal: options?.signal };
                reads.push(read);
                const got = await target.get(key, options);
                read.body = got.body;
                return got;
              };
            }
            const value = Reflect.get(target, prop, target) as unknown;
            return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
          },
        });
        const observedApp = await startTestApp({ db: db.db, store: observed, clock });
        try {
          await new Promise<void>((resolve, reject) => {
            const req = http.get(
              `${observedApp.url}/v1/subjects/export?phone=${encodeURIComponent(phone.e164)}`,
              { headers: { authorization: `Bearer ${privacy.token}` } },
              (res) => {
                expect(res.statusCode).to.equal(200);
                // hang up once well into the 16 MiB original (so its store read is surely under way)
                let received = 0;
                res.on('data', (chunk: Buffer) => {
                  received += chunk.length;
                  if (received >= 1024 * 1024 && !req.destroyed) {
                    req.destroy();
                    resolve();
                  }
                });
              },
            );
            req.on('error', (e) => (req.destroyed ? undefined : reject(e)));
          });
          expect(
            await eventually(
              () => observedApp.logs.some((l) => l.includes('subject export aborted by the client')),
              10_000,
            ),
          ).to.equal(true);
          expect(reads.length).to.be.at.least(1);
          const last = reads[reads.length - 1]!;
          expect(last.signal?.aborted).to.equal(true);
          expect(await eventually(() => last.body?.destroyed === true, 5_000)).to.equal(true);
          // only the original of the first recording was opened: the playback file was never read
          expect(reads).to.have.length(1);
          const health = await api(observedApp.url, `/v1/subjects/recordings?phone=${encodeURIComponent(phone.e164)}`, {
            token: privacy.token,
          });
          expect(health.status).to.equal(200);
        } finally {
          await observedApp.close();
        }
      });
    });

    describe('legal hold', () => {
      it('when a privacy officer holds and releases, then the API shows it and the access log has hold and release with reasons', async () => {
        const phone = newPhone();
        const rec = await record({ caller_number: phone.e164 });
        const before = (await accessLogRows(db.db)).length;

        const held = await api<Item>(app.url, `/v1/recordings/${rec.row.id}/hold`, {
          token: privacy.token,
          method: 'PUT',
          body: { reason: 'claim 2026-17' },
        });
        expect(held.status).to.equal(200);
        expect(held.body.legalHold).to.deep.equal({
          reason: 'claim 2026-17',
          by: privacy.username,
          at: new Date(clock.now()).toISOString(),
        });
        const found = await api<{ items: Item[] }>(
          app.url,
          `/v1/subjects/recordings?phone=${encodeURIComponent(phone.e164)}`,
          { token: privacy.token },
        );
        expect(found.body.items[0]!.legalHold?.reason).to.equal('claim 2026-17');
        const row = await db.db.knex('recordings').where({ id: rec.row.id }).first();
        expect(Boolean(row.legal_hold)).to.equal(true);

        const released = await api<Item>(app.url, `/v1/recordings/${rec.row.id}/hold`, {
          token: privacy.token,
          method: 'DELETE',
          body: { reason: 'claim settled' },
        });
        expect(released.status).to.equal(200);
        expect(released.body.legalHold).to.equal(null);
        const again = await api<Item>(app.url, `/v1/recordings/${rec.row.id}/hold`, {
          token: privacy.token,
          method: 'DELETE',
        });
        expect(again.status).to.equal(200);

        const added = (await accessLogRows(db.db)).slice(before).filter((r) => r.action !== 'search');
        expect(added.map((r) => [r.action, r.recording_id, r.detail, r.username])).to.deep.equal([
          ['hold', rec.row.id, 'claim 2026-17', privacy.username],
          ['release', rec.row.id, 'claim settled', privacy.username],
        ]);
      });

      it('when an admin holds and releases, then both are accepted and logged with the admin as actor', async () => {
        const rec = await record({ caller_number: newPhone().e164 });
        const held = await api<Item>(app.url, `/v1/recordings/${rec.row.id}/hold`, {
          token: admin.token,
          method: 'PUT',
          body: { reason: 'litigation' },
        });
        expect(held.status).to.equal(200);
        expect(held.body.legalHold?.by).to.equal(admin.username);
        const released = await api<Item>(app.url, `/v1/recordings/${rec.row.id}/hold`, {
          token: admin.token,
          method: 'DELETE',
        });
        expect(released.status).to.equal(200);
        const rows = (await accessLogRows(db.db)).filter((r) => r.recording_id === rec.row.id);
        expect(rows.map((r) => [r.action, r.role, r.detail])).to.deep.equal([
          ['hold', 'admin', 'litigation'],
          ['release', 'admin', 'litigation'],
        ]);
      });

      it('when many recordings are held, then every hold is kept (no limit)', async () => {
        const recs = [];
        for (let i = 0; i < 12; i++) recs.push(await record({ caller_number: newPhone().e164 }));
        for (const r of recs) {
          const res = await api(app.url, `/v1/recordings/${r.row.id}/hold`, {
            token: privacy.token,
            method: 'PUT',
            body: { reason: 'bulk claim' },
          });
          expect(res.status).to.equal(200);
        }
        const held = await db.db
          .knex('recordings')
          .whereIn(
            'id',
            recs.map((r) => r.row.id),
          )
          .andWhere('legal_hold', true)
          .count({ n: '*' });
        expect(Number(held[0]!.n)).to.equal(12);
      });

      it('when the hold reason is missing, too long or holds a phone number, then 400 and no hold', async () => {
        const phone = newPhone();
        const rec = await record({ caller_number: phone.e164 });
        for (const body of [
          {},
          { reason: '' },
          { reason: 'x'.repeat(501) },
          { reason: `caller ${phone.national}` },
          { reason: 42 },
        ]) {
          const res = await api<{ code: string }>(app.url, `/v1/recordings/${rec.row.id}/hold`, {
            token: privacy.token,
            method: 'PUT',
            body,
          });
          expect(res.status, JSON.stringify(body)).to.equal(400);
          expect(res.body.code).to.equal('invalid_request');
        }
        const row = await db.db.knex('recordings').where({ id: rec.row.id }).first();
        expect(Boolean(row.legal_hold)).to.equal(false);
        expect((await accessLogRows(db.db)).filter((r) => r.recording_id === rec.row.id)).to.have.length(0);
      });

      it('when the recording does not exist, then hold and release answer 404', async () => {
        for (const id of ['01JAAAAAAAAAAAAAAAAAAAAAAA', 'not-an-id']) {
          const put = await api<{ code: string }>(app.url, `/v1/recordings/${id}/hold`, {
            token: privacy.token,
            method: 'PUT',
            body: { reason: 'x' },
          });
          expect(put.status).to.equal(404);
          expect(put.body.code).to.equal('not_found');
          const del = await api<{ code: string }>(app.url, `/v1/recordings/${id}/hold`, {
            token: privacy.token,
            method: 'DELETE',
          });
          expect(del.status).to.equal(404);
        }
      });

      it('when a recording is already claimed for deletion, then a hold is refused with 409', async () => {
        const rec = await record({ caller_number: newPhone().e164, status: 'deleting' });
        const res = await api<{ code: string }>(app.url, `/v1/recordings/${rec.row.id}/hold`, {
          token: privacy.token,
          method: 'PUT',
          body: { reason: 'late' },
        });
        expect(res.status).to.equal(409);
        expect(res.body.code).to.equal('conflict');
      });
    });

    describe('erasure', () => {
      const erasure = (reference = 'DSR-2026-0042') => ({ reason: 'erasure_request', reference });
      const entriesFor = async (id: string) => (await deletionLogRows(db.db)).filter((r) => r.recording_id === id);

      it('when a recording is erased with a reference, then row and objects are gone, exactly one erasure_request entry names actor and reference, and the chain verifies', async () => {
        const rec = await record({ caller_number: newPhone().e164 });
        const res = await api<{
          id: string;
          erased: boolean;
          deletion: { seq: number; reason: string; actor: string; reference: string };
        }>(app.url, `/v1/recordings/${rec.row.id}`, { token: privacy.token, method: 'DELETE', body: erasure() });
        expect(res.status).to.equal(200);
        expect(res.body.deletion).to.include({
          reason: 'erasure_request',
          actor: privacy.username,
          reference: 'DSR-2026-0042',
        });
        expect(await db.db.knex('recordings').where({ id: rec.row.id }).first()).to.equal(undefined);
        for (const key of rec.keys) expect(await store.store.exists(key), key).to.equal(false);
        const entries = await entriesFor(rec.row.id);
        expect(entries).to.have.length(1);
        expect(entries[0]).to.include({
          reason: 'erasure_request',
          actor: privacy.username,
          reference: 'DSR-2026-0042',
        });
        expect(Number(entries[0]!.seq)).to.equal(res.body.deletion.seq);
        const access = (await accessLogRows(db.db)).filter((r) => r.recording_id === rec.row.id);
        expect(access.map((r) => [r.action, r.username, r.detail])).to.deep.equal([
          ['erase', privacy.username, 'DSR-2026-0042'],
        ]);
        const verdict = await verifyDeletionLog(db.db);
        expect(verdict.ok).to.equal(true);
        expect(verdict.count).to.equal((await deletionLogRows(db.db)).length);
      });

      it('when the same recording is erased a second time, then 404 and still exactly one entry', async () => {
        const rec = await record({ caller_number: newPhone().e164 });
        const first = await api(app.url, `/v1/recordings/${rec.row.id}`, {
          token: privacy.token,
          method: 'DELETE',
          body: erasure(),
        });
        expect(first.status).to.equal(200);
        const logBefore = (await deletionLogRows(db.db)).length;
        const second = await api<{ code: string }>(app.url, `/v1/recordings/${rec.row.id}`, {
          token: privacy.token,
          method: 'DELETE',
          body: erasure(),
        });
        expect(second.status).to.equal(404);
        expect(second.body.code).to.equal('not_found');
        expect(await entriesFor(rec.row.id)).to.have.length(1);
        expect((await deletionLogRows(db.db)).length).to.equal(logBefore);
        expect(
          (await accessLogRows(db.db)).filter((r) => r.recording_id === rec.row.id && r.action === 'erase'),
        ).to.have.length(1);
      });

      it('when the body is wrong (reason, missing or long reference, a phone number in it), then 400 and nothing is deleted', async () => {
        const phone = newPhone();
        const rec = await record({ caller_number: phone.e164 });
        const bodies: unknown[] = [
          undefined,
          {},
          { reason: 'retention_expired', reference: 'R-1' },
          { reason: 'erasure_request' },
          { reason: 'erasure_request', reference: '' },
          { reason: 'erasure_request', reference: 'x'.repeat(257) },
          { reason: 'erasure_request', reference: `request from ${phone.national}` },
          { reason: 'erasure_request', reference: `request from ${phone.e164}` },
        ];
        for (const body of bodies) {
          const res = await api<{ code: string }>(app.url, `/v1/recordings/${rec.row.id}`, {
            token: privacy.token,
            method: 'DELETE',
            body,
          });
          expect(res.status, JSON.stringify(body)).to.equal(400);
          expect(res.body.code).to.equal('invalid_request');
        }
        const ok = await api(app.url, `/v1/recordings/${rec.row.id}`, {
          token: privacy.token,
          method: 'DELETE',
          body: erasure('x'.repeat(256)),
        });
        expect(ok.status).to.equal(200);
        expect(await entriesFor(rec.row.id)).to.have.length(1);
      });

      it('when a recording is on legal hold, then erasure answers 409 legal_hold and keeps it; after release the erasure succeeds', async () => {
        const rec = await record({ caller_number: newPhone().e164 });
        const hold = await api(app.url, `/v1/recordings/${rec.row.id}/hold`, {
          token: privacy.token,
          method: 'PUT',
          body: { reason: 'pending lawsuit' },
        });
        expect(hold.status).to.equal(200);
        const refused = await api<{ code: string }>(app.url, `/v1/recordings/${rec.row.id}`, {
          token: privacy.token,
          method: 'DELETE',
          body: erasure(),
        });
        expect(refused.status).to.equal(409);
        expect(refused.body.code).to.equal('legal_hold');
        expect(await db.db.knex('recordings').where({ id: rec.row.id }).first()).to.not.equal(undefined);
        for (const key of rec.keys) expect(await store.store.exists(key)).to.equal(true);
        expect(await entriesFor(rec.row.id)).to.have.length(0);

        const release = await api(app.url, `/v1/recordings/${rec.row.id}/hold`, {
          token: privacy.token,
          method: 'DELETE',
        });
        expect(release.status).to.equal(200);
        const erased = await api(app.url, `/v1/recordings/${rec.row.id}`, {
          token: privacy.token,
          method: 'DELETE',
          body: erasure(),
        });
        expect(erased.status).to.equal(200);
        expect(await entriesFor(rec.row.id)).to.have.length(1);
      });

      it('when all recordings of a subject are erased, then each gets exactly one entry, other subjects stay, and a repeat answers 404', async () => {
        const phone = newPhone();
        const a = await record({ caller_number: phone.e164 });
        const b = await record({ callee_number: phone.e164 });
        const other = await record({ caller_number: newPhone().e164 });
        const res = await api<{ count: number; erased: Array<{ id: string; seq: number }>; pending: string[] }>(
          app.url,
          `/v1/subjects/recordings?phone=${encodeURIComponent(phone.national)}`,
          { token: privacy.token, method: 'DELETE', body: erasure('DSR-7') },
        );
        expect(res.status).to.equal(200);
        expect(res.body.count).to.equal(2);
        expect(res.body.erased.map((e) => e.id)).to.have.members([a.row.id, b.row.id]);
        expect(res.body.pending).to.deep.equal([]);
        for (const rec of [a, b]) {
          const entries = await entriesFor(rec.row.id);
          expect(entries).to.have.length(1);
          expect(entries[0]).to.include({ reason: 'erasure_request', actor: privacy.username, reference: 'DSR-7' });
          for (const key of rec.keys) expect(await store.store.exists(key)).to.equal(false);
        }
        expect(await db.db.knex('recordings').where({ id: other.row.id }).first()).to.not.equal(undefined);
        const again = await api<{ code: string }>(
          app.url,
          `/v1/subjects/recordings?phone=${encodeURIComponent(phone.e164)}`,
          {
            token: privacy.token,
            method: 'DELETE',
            body: erasure('DSR-7'),
          },
        );
        expect(again.status).to.equal(404);
        for (const rec of [a, b]) expect(await entriesFor(rec.row.id)).to.have.length(1);
        expect((await verifyDeletionLog(db.db)).ok).to.equal(true);
      });

      it('when one recording of a subject is held, then the subject erasure is refused naming it and nothing is erased', async () => {
        const phone = newPhone();
        const a = await record({ caller_number: phone.e164 });
        const b = await record({
          callee_number: phone.e164,
          legal_hold: true,
          hold_reason: 'claim',
          hold_by: 'x',
          hold_at: clock.now(),
        });
        const res = await api<{ code: string; heldIds: string[] }>(
          app.url,
          `/v1/subjects/recordings?phone=${encodeURIComponent(phone.e164)}`,
          {
            token: privacy.token,
            method: 'DELETE',
            body: erasure(),
          },
        );
        expect(res.status).to.equal(409);
        expect(res.body.code).to.equal('legal_hold');
        expect(res.body.heldIds).to.deep.equal([b.row.id]);
        for (const rec of [a, b]) {
          expect(await db.db.knex('recordings').where({ id: rec.row.id }).first()).to.not.equal(undefined);
          expect(await entriesFor(rec.row.id)).to.have.length(0);
        }
      });

      it('when the same recording is erased twice at the same time, then one succeeds, the other is refused, and there is one entry', async () => {
        const rec = await record({ caller_number: newPhone().e164 });
        const both = await Promise.all(
          [1, 2].map(() =>
            api(app.url, `/v1/recordings/${rec.row.id}`, { token: privacy.token, method: 'DELETE', body: erasure() }),
          ),
        );
        const statuses = both.map((r) => r.status).sort();
        expect(statuses[0]).to.equal(200);
        expect([404, 409]).to.include(statuses[1]);
        expect(await entriesFor(rec.row.id)).to.have.length(1);
        expect(
          (await accessLogRows(db.db)).filter((r) => r.recording_id === rec.row.id && r.action === 'erase'),
        ).to.have.length(1);
      });

      it('when one recording of a subject is already being deleted elsewhere, then the subject erasure erases the rest and reports it pending', async () => {
        const phone = newPhone();
        const a = await record({ caller_number: phone.e164 });
        const busy = await record({
          callee_number: phone.e164,
          status: 'deleting',
          claimed_by: 'sweeper:other',
          claim_expires_at: clock.now() + 600_000,
        });
        const res = await api<{ count: number; erased: Array<{ id: string }>; pending: string[] }>(
          app.url,
          `/v1/subjects/recordings?phone=${encodeURIComponent(phone.e164)}`,
          { token: privacy.token, method: 'DELETE', body: erasure() },
        );
        expect(res.status).to.equal(200);
        expect(res.body.erased.map((e) => e.id)).to.deep.equal([a.row.id]);
        expect(res.body.pending).to.deep.equal([busy.row.id]);
        expect(await entriesFor(busy.row.id)).to.have.length(0);
        const single = await api<{ code: string }>(app.url, `/v1/recordings/${busy.row.id}`, {
          token: privacy.token,
          method: 'DELETE',
          body: erasure(),
        });
        expect(single.status).to.equal(409);
        expect(single.body.code).to.equal('conflict');
      });

      it('when a hold is placed the day before the deadline, then a sweep past the deadline keeps it, and after release the next sweep deletes it', async () => {
        const rec = await record({ caller_number: newPhone().e164, started_at: clock.now() - 29 * DAY_MS });
        expect(rec.row.expires_at).to.equal(clock.now() + DAY_MS);
        const hold = await api(app.url, `/v1/recordings/${rec.row.id}/hold`, {
          token: privacy.token,
          method: 'PUT',
          body: { reason: 'claim 12' },
        });
        expect(hold.status).to.equal(200);

        const past = rec.row.expires_at + 3_600_000;
        const sweepOptions = { now: past, batchSize: 100, leaseMs: app.deps.config.sweep.leaseMs };
        const first = await sweepOnce(app.deps, sweepOptions);
        expect(first.deleted.map((d) => d.recordingId)).not.to.include(rec.row.id);
        expect(first.held).to.be.at.least(1);
        expect(await db.db.knex('recordings').where({ id: rec.row.id }).first()).to.not.equal(undefined);
        for (const key of rec.keys) expect(await store.store.exists(key)).to.equal(true);
        expect(await entriesFor(rec.row.id)).to.have.length(0);

        const release = await api(app.url, `/v1/recordings/${rec.row.id}/hold`, {
          token: privacy.token,
          method: 'DELETE',
        });
        expect(release.status).to.equal(200);
        const second = await sweepOnce(app.deps, sweepOptions);
        expect(second.deleted.map((d) => d.recordingId)).to.include(rec.row.id);
        expect(await db.db.knex('recordings').where({ id: rec.row.id }).first()).to.equal(undefined);
        for (const key of rec.keys) expect(await store.store.exists(key)).to.equal(false);
        const entries = await entriesFor(rec.row.id);
        expect(entries).to.have.length(1);
        expect(entries[0]!.reason).to.equal('retention_expired');
        expect((await verifyDeletionLog(db.db)).ok).to.equal(true);
      });
    });

    describe('who may call', () => {
      it('when a trainer or an auditor calls any subject route, then 403 and nothing changes', async () => {
        const phone = newPhone();
        const rec = await record({ caller_number: phone.e164 });
        const before = (await accessLogRows(db.db)).length;
        const q = `phone=${encodeURIComponent(phone.e164)}`;
        const routes: Array<[string, string, unknown?]> = [
          ['GET', `/v1/subjects/recordings?${q}`],
          ['GET', `/v1/subjects/export?${q}`],
          ['DELETE', `/v1/subjects/recordings?${q}`, { reason: 'erasure_request', reference: 'R-1' }],
          ['DELETE', `/v1/recordings/${rec.row.id}`, { reason: 'erasure_request', reference: 'R-1' }],
          ['PUT', `/v1/recordings/${rec.row.id}/hold`, { reason: 'x' }],
          ['DELETE', `/v1/recordings/${rec.row.id}/hold`],
        ];
        for (const user of [trainer, auditor]) {
          for (const [method, route, body] of routes) {
            const res = await api<{ code: string }>(app.url, route, { token: user.token, method, body });
            expect(res.status, `${method} ${route}`).to.equal(403);
            expect(res.body.code).to.equal('forbidden');
          }
        }
        for (const [method, route, body] of routes) {
          const res = await api<{ code: string }>(app.url, route, { method, body });
          expect(res.status, `anonymous ${method} ${route}`).to.equal(401);
        }
        expect((await accessLogRows(db.db)).length).to.equal(before);
        const row = await db.db.knex('recordings').where({ id: rec.row.id }).first();
        expect(row).to.not.equal(undefined);
        expect(Boolean(row.legal_hold)).to.equal(false);
        expect(await store.store.exists(rec.row.original_key)).to.equal(true);
      });

      it("when an admin calls search or export, then 403 (subject access is the privacy role's)", async () => {
        const q = `phone=${encodeURIComponent(newPhone().e164)}`;
        for (const route of [`/v1/subjects/recordings?${q}`, `/v1/subjects/export?${q}`]) {
          const res = await api(app.url, route, { token: admin.token });
          expect(res.status, route).to.equal(403);
        }
      });
    });
  });
}
