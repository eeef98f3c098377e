/**
 * The auditors' API over HTTP, on both databases: role guard, deletion list with
 * filters, cursor and CSV, verification, checkpoints, access log.
 */
import { createHash, createPublicKey, verify } from 'node:crypto';
import { expect } from 'chai';
import { checkpointText, maybeCheckpoint } from '../../src/audit/checkpoints.js';
import { canonicalJson } from '../../src/audit/canonical-json.js';
import { appendAccess } from '../../src/db/access-log.js';
import { deleteRecording } from '../../src/retention/delete-recording.js';
import { sweepOnce } from '../../src/retention/sweep.js';
import { StoreUnavailableError } from '../../src/storage/object-store.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { startTestApp, testConfig } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { createStoredRecording } from '../support/recordings.js';
import { DAY, LEASE } from '../support/retention.js';
import { createTestUser } from '../support/users.js';
import { asDatabaseOwner, tamperLog } from '../support/tamper.js';

const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);
const fsBackend = storeBackends.find((s) => s.name === 'fs')!;

for (const dbBackend of dbBackends) {
  describe(`audit API (${dbBackend.name})`, function () {
    let tdb: TestDb;
    let tstore: TestStore;
    let app: TestApp;
    let auditor: string;
    let trainer: string;
    let admin: string;
    const ids: string[] = [];

    const get = (path: string, token: string | undefined, headers: Record<string, string> = {}) =>
      fetch(`${app.url}${path}`, { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });

    before(async () => {
      tdb = await dbBackend.create();
      tstore = await fsBackend.create();
      app = await startTestApp({
        db: tdb.db,
        store: tstore.store,
        config: testConfig({ CALLREC_CHECKPOINT_EVERY: '2' }),
      });
      auditor = (await createTestUser(tdb.db, { role: 'auditor' })).token;
      trainer = (await createTestUser(tdb.db, { role: 'trainer' })).token;
      admin = (await createTestUser(tdb.db, { role: 'admin' })).token;
      // Five deletions: four by retention, one erasure with a reference that needs CSV quoting.
      for (let i = 0; i < 4; i++) {
        const rec = await createStoredRecording({
          db: tdb.db,
          store: tstore.store,
          overrides: { expires_at: NOW - DAY + i, call_id: `call,"${i}"` },
        });
        ids.push(rec.row.id);
      }
      await sweepOnce(app.deps, { now: NOW, batchSize: 10, leaseMs: LEASE });
      const erased = await createStoredRecording({
        db: tdb.db,
        store: tstore.store,
        overrides: { expires_at: NOW + 20 * DAY, source: 'twilio' },
      });
      ids.push(erased.row.id);
      await deleteRecording({
        deps: app.deps,
        recordingId: erased.row.id,
        reason: 'erasure_request',
        actor: 'privacy-1',
        reference: 'DSR-7',
        now: NOW + 1000,
      });
      await maybeCheckpoint(app.deps, { now: NOW + 2000 });
      const principal = { userId: null as unknown as string, username: 'trainer-a', role: 'trainer' as const };
      for (let i = 0; i < 3; i++)
        await appendAccess(tdb.db.knex, {
          principal,
          recordingId: ids[i]!,
          action: 'play',
          at: NOW + i * 1000,
          requestId: `req-${i}`,
        });
      await appendAccess(tdb.db.knex, {
        principal: { ...principal, username: 'trainer-b' },
        recordingId: ids[0]!,
        action: 'view',
        at: NOW + 5000,
      });
    });
    after(async () => {
      await app?.close();
      await tstore?.dispose();
      await tdb?.dispose();
    });

    it('when no credentials are sent, then 401; when a trainer asks, then 403; auditors and admins are served', async () => {
      for (const path of ['/v1/deletions', '/v1/deletions/verify', '/v1/deletions/checkpoints', '/v1/access-log']) {
        const anonymous = await get(path, undefined);
        expect(anonymous.status, path).to.equal(401);
        expect((await anonymous.json()).code).to.equal('unauthenticated');
        const forbidden = await get(path, trainer);
        expect(forbidden.status, path).to.equal(403);
        expect((await forbidden.json()).code).to.equal('forbidden');
        expect((await get(path, auditor)).status, path).to.equal(200);
        expect((await get(path, admin)).status, path).to.equal(200);
      }
    });

    it('when the log is listed page by page, then every entry comes once in seq order and each hash recomputes from the entry', async () => {
      const seen: number[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await get(`/v1/deletions?limit=2${cursor ? `&cursor=${cursor}` : ''}`, auditor);
        expect(res.status).to.equal(200);
        const body = (await res.json()) as { items: Array<Record<string, unknown>>; nextCursor: string | null };
        for (const item of body.items) {
          const { hash, ...rest } = item;
          expect(
            createHash('sha256')
              .update(String(rest.prevHash) + canonicalJson(rest))
              .digest('hex'),
          ).to.equal(hash);
          expect(JSON.stringify(item)).to.not.match(/\+31\d+/);
          seen.push(item.seq as number);
        }
        cursor = body.nextCursor;
        pages += 1;
      } while (cursor);
      expect(seen).to.deep.equal([1, 2, 3, 4, 5]);
      expect(pages).to.equal(3);
    });

    it('when filtered by reason and time, then only matching entries are listed', async () => {
      const erasures = (await (await get('/v1/deletions?reason=erasure_request', auditor)).json()) as {
        items: Array<Record<string, unknown>>;
      };
      expect(erasures.items.map((e) => e.recordingId)).to.deep.equal([ids[4]]);
      expect(erasures.items[0]).to.include({ actor: 'privacy-1', reference: 'DSR-7', reason: 'erasure_request' });
      const from = new Date(NOW + 500).toISOString();
      const later = (await (await get(`/v1/deletions?from=${from}`, auditor)).json()) as { items: unknown[] };
      expect(later.items).to.have.length(1);
      const none = (await (await get(`/v1/deletions?to=${new Date(NOW).toISOString()}`, auditor)).json()) as {
        items: unknown[];
      };
      expect(none.items).to.have.length(0);
    });

    it('when filtered by source, then only entries of recordings from that source are listed (CSV too)', async () => {
      const twilio = (await (await get('/v1/deletions?source=twilio', auditor)).json()) as {
        items: Array<Record<string, unknown>>;
      };
      expect(twilio.items.map((e) => [e.recordingId, e.source])).to.deep.equal([[ids[4], 'twilio']]);
      const pbx = (await (await get('/v1/deletions?source=pbx-test', auditor)).json()) as { items: unknown[] };
      expect(pbx.items).to.have.length(4);
      const csv = await (await get('/v1/deletions?source=twilio', auditor, { accept: 'text/csv' })).text();
      expect(csv.trimEnd().split('\r\n')).to.have.length(2);
    });

    it('when format=csv is in the query (a download link, no Accept header), then the answer is the CSV file', async () => {
      for (const path of ['/v1/deletions?format=csv', '/v1/access-log?format=csv']) {
        const res = await get(path, auditor, { accept: 'text/html,*/*;q=0.8' });
        expect(res.status, path).to.equal(200);
        expect(res.headers.get('content-type'), path).to.match(/^text\/csv/);
        expect(res.headers.get('content-disposition'), path).to.match(/^attachment; filename=/);
      }
    });

    it('when CSV is asked for, then a header row and one quoted, escaped row per entry come back', async () => {
      const res = await get('/v1/deletions', auditor, { accept: 'text/csv' });
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/^text\/csv/);
      const text = await res.text();
      const lines = text.trimEnd().split('\r\n');
      expect(lines[0]).to.equal(
        'seq,recordingId,source,callId,reason,actor,reference,startedAt,expiresAt,deletedAt,objects,verified,prevHash,hash,keyShredded,kekId,span',
      );
      expect(lines).to.have.length(6);
      expect(lines[1]).to.match(/^1,[0-9A-Z]{26},pbx-test,"call,""0""",retention_expired,sweeper,,/);
      const paged = await get('/v1/deletions?limit=2', auditor, { accept: 'text/csv' });
      expect((await paged.text()).trimEnd().split('\r\n')).to.have.length(3);
      expect(paged.headers.get('x-next-cursor')).to.be.a('string');
    });

    it('when a query parameter is malformed or unknown, then 400 invalid_query names it', async () => {
      for (const [query, field] of [
        ['from=yesterday', 'from'],
        ['reason=bored', 'reason'],
        ['limit=0', 'limit'],
        ['cursor=%%%', 'cursor'],
        ['colour=red', 'colour'],
      ] as const) {
        const res = await get(`/v1/deletions?${query}`, auditor);
        expect(res.status, query).to.equal(400);
        expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
        const body = (await res.json()) as { code: string; fields: Array<{ field: string }> };
        expect(body.code).to.equal('invalid_query');
        expect(body.fields.map((f) => f.field).join(' '), query).to.include(field);
      }
    });

    it('when the chain is intact, then verify says ok; when an entry is edited, then it names its seq', async () => {
      const ok = (await (await get('/v1/deletions/verify', auditor)).json()) as Record<string, unknown>;
      expect(ok).to.include({ ok: true, count: 5, firstInvalidSeq: null });
      const last = await tdb.db.knex('deletion_log').where({ seq: 5 }).first();
      expect(ok.headHash).to.equal(last.hash);

      await tamperLog(tdb.db, (log) => log.where({ seq: 2 }).update({ source: 'forged' }));
      try {
        const bad = (await (await get('/v1/deletions/verify', auditor)).json()) as Record<string, unknown>;
        expect(bad).to.include({ ok: false, firstInvalidSeq: 2 });
      } finally {
        await tamperLog(tdb.db, (log) => log.where({ seq: 2 }).update({ source: 'pbx-test' }));
      }
    });

    it('when the log is cut at its tail in the database, stored checkpoints included, then verify names the first dropped seq against the checkpoint published in the object store', async () => {
      const intact = (await (await get('/v1/deletions/verify', auditor)).json()) as Record<string, unknown>;
      expect(intact).to.deep.include({ ok: true, count: 5, external: { count: 1, matched: 1, largestSize: 5 } });
      const dropped = await tdb.db.knex('deletion_log').where('seq', '>', 3).orderBy('seq');
      const checkpoints = await tdb.db.knex('deletion_checkpoints').orderBy('id');
      await asDatabaseOwner(tdb.db, async (knex) => {
        await knex('deletion_log').where('seq', '>', 3).del();
        await knex('deletion_checkpoints').del();
      });
      try {
        const cut = (await (await get('/v1/deletions/verify', auditor)).json()) as Record<string, unknown>;
        expect(cut).to.deep.include({
          ok: false,
          count: 3,
          firstInvalidSeq: 4,
          problem: 'truncated',
          external: { count: 1, matched: 0, largestSize: 5 },
        });
      } finally {
        await tdb.db.knex('deletion_log').insert(dropped);
        await tdb.db.knex('deletion_checkpoints').insert(checkpoints);
      }
    });

    it('when the object store cannot be listed, then verify answers 503 store_unavailable instead of a verdict without the published checkpoints', async () => {
      const down: ObjectStore = { ...tstore.store, list: () => Promise.reject(new StoreUnavailableError('down')) };
      const other = await startTestApp({ db: tdb.db, store: down, config: app.deps.config });
      try {
        const res = await fetch(`${other.url}/v1/deletions/verify`, {
          headers: { authorization: `Bearer ${auditor}` },
        });
        expect(res.status).to.equal(503);
        expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
        expect(((await res.json()) as { code: string }).code).to.equal('store_unavailable');
      } finally {
        await other.close();
      }
    });

    it('when checkpoints are listed, then each signature verifies with the published public key', async () => {
      const body = (await (await get('/v1/deletions/checkpoints', auditor)).json()) as {
        publicKey: string;
        keyId: string;
        items: Array<{ size: number; headHash: string; at: string; signature: string; keyId: string }>;
      };
      expect(body.items.length).to.be.greaterThan(0);
      const key = createPublicKey(body.publicKey);
      for (const cp of body.items) {
        expect(cp.keyId).to.equal(body.keyId);
        expect(verify(null, Buffer.from(checkpointText(cp)), key, Buffer.from(cp.signature, 'base64'))).to.equal(true);
      }
      expect(body.items[body.items.length - 1]!.size).to.equal(5);
    });

    it('when the access log is queried by user and paged, then the matching entries come in order; CSV works too', async () => {
      const all = (await (await get('/v1/access-log?user=trainer-a&limit=2', auditor)).json()) as {
        items: Array<Record<string, unknown>>;
        nextCursor: string;
      };
      expect(all.items.map((e) => e.requestId)).to.deep.equal(['req-0', 'req-1']);
      const next = (await (
        await get(`/v1/access-log?user=trainer-a&limit=2&cursor=${all.nextCursor}`, auditor)
      ).json()) as {
        items: Array<Record<string, unknown>>;
        nextCursor: string | null;
      };
      expect(next.items.map((e) => e.requestId)).to.deep.equal(['req-2']);
      expect(next.nextCursor).to.equal(null);
      const byRecording = (await (await get(`/v1/access-log?recordingId=${ids[0]}`, auditor)).json()) as {
        items: Array<Record<string, unknown>>;
      };
      expect(byRecording.items.map((e) => e.username)).to.deep.equal(['trainer-a', 'trainer-b']);
      const csv = await (await get('/v1/access-log', auditor, { accept: 'text/csv' })).text();
      expect(csv.trimEnd().split('\r\n')).to.have.length(5);
    });

    it('when the access-log user filter cannot be a username (a NUL, capitals, spaces), then 400 invalid_query (not a PostgreSQL 500)', async () => {
      for (const user of ['a%00b', 'Trainer-A', 'trainer%20a']) {
        const res = await get(`/v1/access-log?user=${user}`, auditor);
        expect(res.status, user).to.equal(400);
        expect((await res.json()).fields).to.deep.equal([{ field: 'user', message: 'expects a username' }]);
      }
    });

    it('when a cursor lies past every entry (beyond a 32-bit id, and the largest the document allows), then the page is empty, not a 500', async () => {
      for (const path of ['/v1/access-log', '/v1/deletions']) {
        for (const cursor of ['2147483648', '82382167113412', '999999999999999']) {
          const res = await get(`${path}?cursor=${cursor}`, auditor);
          expect(res.status, `${path}?cursor=${cursor}`).to.equal(200);
          expect(await res.json()).to.deep.equal({ items: [], nextCursor: null });
        }
      }
    });
  });
}
