/**
 * Notes in the recordings list and across recordings: every list item carries its note count (in the
 * list query itself, no query per item), and `GET /v1/notes` finds notes by text, author and date on
 * the recordings the caller may see, logged as a search.
 */
import { expect } from 'chai';
import { createManualClock } from '../../src/clock.js';
import type { Clock } from '../../src/clock.js';
import { queryAccess } from '../../src/db/access-log.js';
import { insertNote } from '../../src/db/notes.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { createStoredRecording } from '../support/recordings.js';
import type { StoredRecordingOverrides } from '../support/recordings.js';
import { createTestUser } from '../support/users.js';

const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);
const HOUR = 3_600_000;
const fsStore = storeBackends.find((b) => b.name === 'fs')!;

interface FoundNote {
  id: string;
  recordingId: string;
  author: string;
  text: string;
  createdAt: string;
  recording: Record<string, unknown>;
}

for (const dbBackend of dbBackends) {
  describe(`notes: counts in the list and search (${dbBackend.name})`, function () {
    this.timeout(60_000);
    let testDb: TestDb;
    let testStore: TestStore;
    let app: TestApp;
    const clock = createManualClock(NOW);
    before(async () => {
      testDb = await dbBackend.create();
      testStore = await fsStore.create();
      app = await startTestApp({ db: testDb.db, store: testStore.store, clock: clock as Clock });
    });
    after(async () => {
      await app.close();
      await testStore.dispose();
      await testDb.dispose();
    });
    beforeEach(async () => {
      await testDb.db.knex('notes').del();
      await testDb.db.knex('access_log').del();
      await testDb.db.knex('recordings').del();
    });

    const record = (overrides: StoredRecordingOverrides = {}) =>
      createStoredRecording({
        db: testDb.db,
        store: testStore.store,
        overrides: { started_at: NOW - HOUR, expires_at: NOW + 20 * 24 * HOUR, ...overrides },
      });
    const note = (recordingId: string, o: { author?: string; text?: string; at?: number } = {}) =>
      insertNote(testDb.db.knex, {
        recordingId,
        author: o.author ?? 'trainer-a',
        offsetMs: 1000,
        text: o.text ?? 'a note',
        at: o.at ?? NOW - HOUR,
      });
    const get = async (path: string, token: string) => {
      const res = await fetch(`${app.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };

    it('when recordings are listed, then each item carries its number of notes', async () => {
      const { token } = await createTestUser(testDb.db, { role: 'trainer' });
      const three = await record({ started_at: NOW - HOUR });
      const none = await record({ started_at: NOW - 2 * HOUR });
      for (let i = 0; i < 3; i++) await note(three.row.id, { text: `note ${i}`, at: NOW - HOUR + i });
      const { status, body } = await get('/v1/recordings', token);
      expect(status).to.equal(200);
      const items = body.items as { id: string; noteCount: number }[];
      expect(items.map((i) => [i.id, i.noteCount])).to.deep.equal([
        [three.row.id, 3],
        [none.row.id, 0],
      ]);
    });

    it('when a page lists 1 or 20 recordings with notes, then the database sees the same number of queries', async () => {
      const { token } = await createTestUser(testDb.db, { role: 'trainer' });
      const queriesFor = async (limit: number) => {
        let count = 0;
        const onQuery = () => void (count += 1);
        testDb.db.knex.on('query', onQuery);
        try {
          const { body } = await get(`/v1/recordings?limit=${limit}`, token);
          expect((body.items as unknown[]).length).to.equal(limit);
        } finally {
          testDb.db.knex.removeListener('query', onQuery);
        }
        return count;
      };
      for (let i = 0; i < 20; i++) {
        const rec = await record({ started_at: NOW - HOUR - i * 1000 });
        await note(rec.row.id);
      }
      // The token's first use writes its last-used time once: not part of the list.
      await get('/v1/recordings?limit=1', token);
      expect(await queriesFor(20)).to.equal(await queriesFor(1));
    });

    it('when notes are searched by words, author and date, then the matches on visible recordings come newest first, without numbers, and the search is logged without the words', async () => {
      const billing = await record({ queue: 'billing', caller_number: '+31612345678' });
      const sales = await record({ queue: 'sales' });
      const expired = await record({ queue: 'billing', expires_at: NOW - 1000 });
      const older = await note(billing.row.id, {
        author: 'Anna',
        text: 'Kalm gebleven bij de KLACHT',
        at: NOW - 3 * HOUR,
      });
      const newer = await note(billing.row.id, { author: 'bert', text: 'klacht goed samengevat', at: NOW - 2 * HOUR });
      await note(billing.row.id, { author: 'anna', text: 'vriendelijk', at: NOW - 2 * HOUR });
      const onSales = await note(sales.row.id, { author: 'anna', text: 'klacht over de factuur', at: NOW - HOUR });
      await note(expired.row.id, { author: 'anna', text: 'klacht, verlopen opname', at: NOW - HOUR });
      await note(billing.row.id, { text: '100% tevreden', at: NOW - HOUR });
      const scoped = await createTestUser(testDb.db, { role: 'trainer', queues: ['billing'] });
      const all = await createTestUser(testDb.db, { role: 'trainer' });

      const byWords = await get('/v1/notes?q=Klacht', scoped.token);
      expect(byWords.status).to.equal(200);
      const found = byWords.body.items as FoundNote[];
      expect(found.map((n) => n.id)).to.deep.equal([newer.id, older.id]);
      expect(found[0]!.recording).to.deep.equal({
        startedAt: new Date(NOW - HOUR).toISOString(),
        durationMs: billing.row.duration_ms,
        queue: 'billing',
        agentId: billing.row.agent_id,
      });
      expect(JSON.stringify(byWords.body)).to.not.contain('612345678');

      const everyQueue = (await get('/v1/notes?q=klacht', all.token)).body.items as FoundNote[];
      expect(everyQueue.map((n) => n.id)).to.deep.equal([onSales.id, newer.id, older.id]);
      const byAuthor = (await get('/v1/notes?author=ANNA&q=klacht', all.token)).body.items as FoundNote[];
      expect(byAuthor.map((n) => n.id)).to.deep.equal([onSales.id, older.id]);
      const from = new Date(NOW - 2.5 * HOUR).toISOString();
      const to = new Date(NOW - 1.5 * HOUR).toISOString();
      const byDate = (await get(`/v1/notes?q=klacht&from=${from}&to=${to}`, all.token)).body.items as FoundNote[];
      expect(byDate.map((n) => n.id)).to.deep.equal([newer.id]);
      // LIKE wildcards are taken literally.
      const percent = (await get('/v1/notes?q=0%25', all.token)).body.items as FoundNote[];
      expect(percent.map((n) => n.text)).to.deep.equal(['100% tevreden']);
      expect(((await get('/v1/notes?q=_', all.token)).body.items as FoundNote[]).length).to.equal(0);

      const log = await queryAccess(testDb.db.knex, { username: scoped.user.username, limit: 10 });
      expect(log.map((e) => [e.action, e.recordingId, e.detail])).to.deep.equal([['search', null, 'by=notes count=2']]);
    });

    it('when there are more notes than the limit, then the cursor pages through them', async () => {
      const { token } = await createTestUser(testDb.db, { role: 'trainer' });
      const rec = await record();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.unshift((await note(rec.row.id, { at: NOW - HOUR + i })).id);
      const first = await get('/v1/notes?limit=2', token);
      expect((first.body.items as FoundNote[]).map((n) => n.id)).to.deep.equal(ids.slice(0, 2));
      const second = await get(`/v1/notes?limit=2&cursor=${String(first.body.nextCursor)}`, token);
      expect((second.body.items as FoundNote[]).map((n) => n.id)).to.deep.equal(ids.slice(2, 4));
      const third = await get(`/v1/notes?limit=2&cursor=${String(second.body.nextCursor)}`, token);
      expect((third.body.items as FoundNote[]).map((n) => n.id)).to.deep.equal(ids.slice(4));
      expect(third.body.nextCursor).to.equal(null);
    });

    it('when the search query is malformed, then 400 invalid_query names the field', async () => {
      const { token } = await createTestUser(testDb.db, { role: 'trainer' });
      for (const [query, field] of [
        ['q=', 'q'],
        ['q=a%01b', 'q'],
        ['from=yesterday', 'from'],
        ['cursor=abc', 'cursor'],
        ['limit=0', 'limit'],
      ]) {
        const { status, body } = await get(`/v1/notes?${query}`, token);
        expect(status, query).to.equal(400);
        expect(body.code, query).to.equal('invalid_query');
        expect(
          (body.fields as { field: string }[]).map((f) => f.field),
          query,
        ).to.deep.equal([field]);
      }
    });
  });
}
