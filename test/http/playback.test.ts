import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { expect } from 'chai';
import type { Clock } from '../../src/clock.js';
import { createManualClock } from '../../src/clock.js';
import { queryAccess } from '../../src/db/access-log.js';
import { findRecordingById } from '../../src/db/recordings.js';
import { PLAY_SESSION_MS } from '../../src/playback/listen-log.js';
import type { GetOptions, ObjectStore } from '../../src/storage/object-store.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { dbBackends, storeBackends } from '../support/backends.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { audioFixture } from '../support/fixtures.js';
import { encryptedRecordingStore } from '../support/encryption.js';
import { createStoredRecording } from '../support/recordings.js';
import type { StoredRecordingOverrides } from '../support/recordings.js';
import { createTestUser } from '../support/users.js';
import { seededBytes } from '../support/random.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);

interface Harness {
  app: TestApp;
  testDb: TestDb;
  testStore: TestStore;
  /** The driver beneath the encrypting decorator (encrypted harnesses only). */
  rawStore?: ObjectStore;
  clock: ReturnType<typeof createManualClock>;
  auth(token: string): Record<string, string>;
  record(overrides?: StoredRecordingOverrides): ReturnType<typeof createStoredRecording>;
  close(): Promise<void>;
}

async function harness(
  db: (typeof dbBackends)[number],
  store: (typeof storeBackends)[number],
  options: { encrypted?: boolean } = {},
): Promise<Harness> {
  const testDb = await db.create();
  const plain = await store.create();
  // Encrypted: the service's decorator over the store, data keys in the database (as main.ts assembles it).
  const testStore = options.encrypted
    ? { ...plain, store: encryptedRecordingStore({ db: testDb.db, store: plain.store }) }
    : plain;
  const clock = createManualClock(NOW);
  const app = await startTestApp({ db: testDb.db, store: testStore.store, clock: clock as Clock });
  return {
    app,
    testDb,
    testStore,
    ...(options.encrypted ? { rawStore: plain.store } : {}),
    clock,
    auth: (token) => ({ authorization: `Bearer ${token}` }),
    record: (overrides = {}) =>
      createStoredRecording({
        db: testDb.db,
        store: testStore.store,
        overrides: { started_at: NOW - DAY, ...overrides },
      }),
    async close() {
      await app.close();
      await testStore.dispose();
      await testDb.dispose();
    },
  };
}

const sqlite = dbBackends.find((b) => b.name === 'sqlite')!;
const fsStore = storeBackends.find((b) => b.name === 'fs')!;

/** Plain stores with 2,000 bytes of audio; encrypted ones with audio of several 64 KiB segments, the last one partial. */
const rangeRuns = [
  ...storeBackends.map((backend) => ({ backend, encrypted: false, size: 2000 })),
  ...storeBackends.map((backend) => ({ backend, encrypted: true, size: 3 * 65_536 + 1000 })),
];

for (const { backend: storeBackend, encrypted, size: SIZE } of rangeRuns) {
  describe(`playback audio ranges (${encrypted ? 'encrypted ' : ''}${storeBackend.name} store)`, function () {
    let h: Harness;
    let token: string;
    let body: Buffer;
    let id: string;
    let url: string;

    before(async () => {
      h = await harness(sqlite, storeBackend, { encrypted });
      token = (await createTestUser(h.testDb.db, { role: 'trainer' })).token;
      body = seededBytes('playback-1', SIZE);
      const rec = await h.record({ playbackBody: body });
      id = rec.row.id;
      url = `${h.app.url}/v1/recordings/${id}/audio`;
    });
    after(async () => h?.close());

    const get = (headers: Record<string, string> = {}) => fetch(url, { headers: { ...h.auth(token), ...headers } });

    const cases: Array<{ range: string | undefined; status: number; served?: [number, number] }> = [
      { range: undefined, status: 200 },
      { range: 'bytes=0-0', status: 206, served: [0, 0] },
      { range: 'bytes=-500', status: 206, served: [SIZE - 500, SIZE - 1] },
      { range: 'bytes=500-', status: 206, served: [500, SIZE - 1] },
      { range: 'bytes=100-199', status: 206, served: [100, 199] },
      { range: `bytes=${SIZE - 10}-${SIZE + 3000}`, status: 206, served: [SIZE - 10, SIZE - 1] },
      { range: `bytes=-${SIZE + 3000}`, status: 206, served: [0, SIZE - 1] },
      { range: 'bytes=-0', status: 416 },
      { range: `bytes=${SIZE}-`, status: 416 },
      { range: `bytes=${SIZE + 7000}-${SIZE + 7100}`, status: 416 },
      { range: 'bytes=10-5', status: 200 },
      { range: 'bytes=0-1,2-3', status: 200 },
      { range: 'garbage', status: 200 },
      { range: 'bytes=abc', status: 200 },
      // Across segment boundaries (64 KiB of plaintext each) where the audio has several.
      ...(SIZE > 2 * 65_536
        ? [
            { range: 'bytes=65530-65545', status: 206, served: [65_530, 65_545] as [number, number] },
            { range: 'bytes=65536-131071', status: 206, served: [65_536, 131_071] as [number, number] },
            { range: 'bytes=1000-150000', status: 206, served: [1000, 150_000] as [number, number] },
            { range: 'bytes=-1001', status: 206, served: [SIZE - 1001, SIZE - 1] as [number, number] },
          ]
        : []),
    ];
    for (const c of cases) {
      it(`when Range is ${c.range ?? '(absent)'}, then the answer is ${c.status}${c.served ? ` with bytes ${c.served[0]}-${c.served[1]}` : ''}`, async () => {
        const res = await get(c.range ? { range: c.range } : {});
        const got = Buffer.from(await res.arrayBuffer());
        expect(res.status).to.equal(c.status);
        if (c.status === 416) {
          expect(res.headers.get('content-range')).to.equal(`bytes */${SIZE}`);
          expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
          expect(JSON.parse(got.toString('utf8')).code).to.equal('range_not_satisfiable');
          return;
        }
        expect(res.headers.get('accept-ranges')).to.equal('bytes');
        expect(res.headers.get('cache-control')).to.equal('private, no-store');
        expect(res.headers.get('etag')).to.match(/^"[0-9a-f]{64}"$/);
        expect(res.headers.get('content-type')).to.equal('audio/ogg');
        expect(res.headers.get('content-disposition')).to.equal(`inline; filename="recording-${id}.opus"`);
        if (c.served) {
          const [start, end] = c.served;
          expect(res.headers.get('content-range')).to.equal(`bytes ${start}-${end}/${SIZE}`);
          expect(res.headers.get('content-length')).to.equal(String(end - start + 1));
          expect(got.equals(body.subarray(start, end + 1))).to.equal(true);
        } else {
          expect(res.headers.get('content-range')).to.equal(null);
          expect(got.equals(body)).to.equal(true);
        }
      });
    }

    it('when If-Range carries the current ETag, then the range is served; when it is stale, then the whole object is', async () => {
      const etag = (await get()).headers.get('etag')!;
      const fresh = await get({ range: 'bytes=0-9', 'if-range': etag });
      await fresh.arrayBuffer();
      expect(fresh.status).to.equal(206);
      const stale = await get({ range: 'bytes=0-9', 'if-range': '"0000"' });
      expect(Buffer.from(await stale.arrayBuffer()).equals(body)).to.equal(true);
      expect(stale.status).to.equal(200);
    });
  });
}

for (const storeBackend of storeBackends) {
  describe(`playback of damaged encrypted audio (sqlite, encrypted ${storeBackend.name})`, function () {
    let h: Harness;
    before(async () => {
      h = await harness(sqlite, storeBackend, { encrypted: true });
    });
    after(async () => h?.close());

    it('when a byte of the stored audio is flipped, then every read answers 500 integrity (problem+json, no audio), is logged, and logs no play', async () => {
      const { token } = await createTestUser(h.testDb.db, { role: 'trainer' });
      const body = seededBytes('playback-integrity', 3 * 65_536 + 1000);
      const rec = await h.record({ playbackBody: body });
      // The driver beneath the decorator holds the ciphertext: damage one byte of the second segment.
      const inner = h.rawStore!;
      const ciphertext = Buffer.concat((await (await inner.get(rec.row.playback_key)).body.toArray()) as Buffer[]);
      ciphertext[64 + 65_552 + 10]! ^= 0x01;
      await inner.put(rec.row.playback_key, ciphertext, { contentType: 'audio/ogg', tags: {} });
      for (const range of [undefined, 'bytes=0-', 'bytes=65536-65600']) {
        const res = await fetch(`${h.app.url}/v1/recordings/${rec.row.id}/audio`, {
          headers: { ...h.auth(token), ...(range ? { range } : {}) },
        });
        const text = await res.text();
        expect(res.status, String(range)).to.equal(500);
        expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
        expect(JSON.parse(text).code).to.equal('integrity');
      }
      const ok = await fetch(`${h.app.url}/v1/recordings/${rec.row.id}/audio`, {
        headers: { ...h.auth(token), range: 'bytes=0-99' },
      });
      expect(
        Buffer.from(await ok.arrayBuffer()).equals(body.subarray(0, 100)),
        'an undamaged segment still plays',
      ).to.equal(true);
      expect(h.app.logs.filter((l) => l.includes('"code":"integrity"') && l.includes('request failed'))).to.have.length(
        3,
      );
      expect(
        await queryAccess(h.testDb.db.knex, { recordingId: rec.row.id, action: 'play', limit: 10 }),
      ).to.have.length(1);
    });
  });
}

describe('playback audio: access log, downloads, disconnects (sqlite, fs)', function () {
  let h: Harness;
  beforeEach(async () => {
    h = await harness(sqlite, fsStore);
  });
  afterEach(async () => h?.close());

  it('when a trainer issues many range requests, then exactly one play is logged until the listening session lapses', async () => {
    const { token, user } = await createTestUser(h.testDb.db, { role: 'trainer' });
    const rec = await h.record({ playbackBody: seededBytes('playback-2', 5000) });
    const url = `${h.app.url}/v1/recordings/${rec.row.id}/audio`;
    for (const range of ['bytes=0-', 'bytes=1000-', 'bytes=4000-4999', 'bytes=0-']) {
      const res = await fetch(url, { headers: { ...h.auth(token), range } });
      await res.arrayBuffer();
      expect(res.status).to.equal(206);
    }
    const plays = () => queryAccess(h.testDb.db.knex, { recordingId: rec.row.id, action: 'play', limit: 100 });
    expect((await plays()).map((e) => e.username)).to.deep.equal([user.username]);
    h.clock.advance(PLAY_SESSION_MS + 1);
    await (await fetch(url, { headers: { ...h.auth(token), range: 'bytes=2000-' } })).arrayBuffer();
    expect(await plays()).to.have.length(2);
  });

  it('when the query asks for a download, then it is an attachment and a download is logged', async () => {
    const { token } = await createTestUser(h.testDb.db, { role: 'admin' });
    const rec = await h.record();
    const res = await fetch(`${h.app.url}/v1/recordings/${rec.row.id}/audio?download=1`, { headers: h.auth(token) });
    await res.arrayBuffer();
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-disposition')).to.equal(`attachment; filename="recording-${rec.row.id}.opus"`);
    const entries = await queryAccess(h.testDb.db.knex, { recordingId: rec.row.id, limit: 10 });
    expect(entries.map((e) => e.action)).to.deep.equal(['download']);
  });

  it('when the range is unsatisfiable, then no play is logged', async () => {
    const { token } = await createTestUser(h.testDb.db, { role: 'trainer' });
    const rec = await h.record();
    const res = await fetch(`${h.app.url}/v1/recordings/${rec.row.id}/audio`, {
      headers: { ...h.auth(token), range: 'bytes=999999-' },
    });
    await res.arrayBuffer();
    expect(res.status).to.equal(416);
    expect(await queryAccess(h.testDb.db.knex, { recordingId: rec.row.id, limit: 10 })).to.deep.equal([]);
  });

  it('when the client disconnects mid-stream, then the store read is aborted and the server keeps serving', async () => {
    const { token } = await createTestUser(h.testDb.db, { role: 'trainer' });
    const big = seededBytes('playback-3', 8 * 1024 * 1024);
    const rec = await h.record({ playbackBody: big });
    // The real store, observed: which signal each get() received and which body it returned.
    const reads: Array<{ signal?: AbortSignal; body: Readable }> = [];
    const real = h.testStore.store;
    const observed = new Proxy(real, {
      get(target, prop) {
        if (prop === 'get') {
          return async (key: string, options?: GetOptions) => {
            const got = await target.get(key, options);
            reads.push({ signal: options?.signal, body: got.body });
            return got;
          };
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const app = await startTestApp({ db: h.testDb.db, store: observed, clock: h.clock });
    try {
      const controller = new AbortController();
      const res = await fetch(`${app.url}/v1/recordings/${rec.row.id}/audio`, {
        headers: h.auth(token),
        signal: controller.signal,
      });
      const reader = res.body!.getReader();
      await reader.read();
      controller.abort();
      await reader.cancel().catch(() => undefined);
      for (let i = 0; i < 100 && !(reads[0]?.signal?.aborted && reads[0].body.destroyed); i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(reads).to.have.length(1);
      expect(reads[0]!.signal?.aborted, 'store signal aborted').to.equal(true);
      expect(reads[0]!.body.destroyed, 'store body destroyed').to.equal(true);
      // The next request is answered normally and nothing was logged as a failure.
      const again = await fetch(`${app.url}/v1/recordings/${rec.row.id}/audio`, {
        headers: { ...h.auth(token), range: 'bytes=0-9' },
      });
      expect(Buffer.from(await again.arrayBuffer()).equals(big.subarray(0, 10))).to.equal(true);
      expect(app.logs.filter((l) => /playback stream failed|request failed/.test(l))).to.deep.equal([]);
    } finally {
      await app.close();
    }
  });

  it('when the playback object is missing behind the row, then the answer is 404 and the fault is logged', async () => {
    const { token } = await createTestUser(h.testDb.db, { role: 'trainer' });
    const rec = await h.record({ writeObjects: false });
    const res = await fetch(`${h.app.url}/v1/recordings/${rec.row.id}/audio`, { headers: h.auth(token) });
    expect(res.status).to.equal(404);
    expect((await res.json()).code).to.equal('not_found');
    expect(h.app.logs.some((l) => l.includes('playback object missing'))).to.equal(true);
  });
});

for (const storeBackend of storeBackends) {
  describe(`playback audio: early store reads (${storeBackend.name} store)`, function () {
    let h: Harness;
    let app: TestApp;
    /** Every store read the app made: its key, signal and body (once it resolved). */
    let reads: Array<{ key: string; signal?: AbortSignal; body?: Readable }>;

    beforeEach(async () => {
      h = await harness(sqlite, storeBackend);
      reads = [];
      const real = h.testStore.store;
      const observed = new Proxy(real, {
        get(target, prop) {
          if (prop === 'get') {
            return async (key: string, options?: GetOptions) => {
              const read: (typeof reads)[number] = { key, signal: options?.signal };
              reads.push(read);
              const got = await target.get(key, options);
              read.body = got.body;
              return got;
            };
          }
          const value: unknown = Reflect.get(target, prop, target);
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
      app = await startTestApp({ db: h.testDb.db, store: observed, clock: h.clock });
    });
    afterEach(async () => {
      await app?.close();
      await h?.close();
    });

    const settled = async (check: () => boolean) => {
      for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
    };

    it('when a recording is played again, then each range request reads the store once and serves the right bytes', async () => {
      const { token } = await createTestUser(h.testDb.db, { role: 'trainer' });
      const body = seededBytes('playback-4', 10_000);
      const rec = await h.record({ playbackBody: body });
      const url = `${app.url}/v1/recordings/${rec.row.id}/audio`;
      for (const [start, end] of [
        [0, 99],
        [5000, 5999],
        [9990, 9999],
      ] as const) {
        const res = await fetch(url, { headers: { ...h.auth(token), range: `bytes=${start}-${end}` } });
        expect(res.status).to.equal(206);
        expect(Buffer.from(await res.arrayBuffer()).equals(body.subarray(start, end + 1))).to.equal(true);
      }
      expect(reads.map((r) => r.key)).to.deep.equal([rec.row.playback_key, rec.row.playback_key, rec.row.playback_key]);
    });

    it('when a recording played before is refused now (being deleted, another queue), then 404 without audio or a play entry, and the early read is aborted', async () => {
      const allowed = await createTestUser(h.testDb.db, { role: 'trainer', queues: ['sales'] });
      const scopedOut = await createTestUser(h.testDb.db, { role: 'trainer', queues: ['billing'] });
      const rec = await h.record({ queue: 'sales', playbackBody: seededBytes('playback-5', 200_000) });
      const url = `${app.url}/v1/recordings/${rec.row.id}/audio`;
      const first = await fetch(url, { headers: { ...h.auth(allowed.token), range: 'bytes=0-9' } });
      await first.arrayBuffer();
      expect(first.status).to.equal(206);

      const other = await fetch(url, { headers: h.auth(scopedOut.token) });
      expect(other.status).to.equal(404);
      expect(other.headers.get('content-type')).to.match(/^application\/problem\+json/);
      expect((await other.json()).code).to.equal('not_found');

      await h.testDb.db.knex('recordings').where({ id: rec.row.id }).update({ status: 'deleting' });
      const gone = await fetch(url, { headers: h.auth(allowed.token) });
      expect(gone.status).to.equal(404);
      expect((await gone.json()).code).to.equal('not_found');

      const refused = reads.slice(1);
      expect(refused).to.have.length(2);
      await settled(() => refused.every((r) => r.signal?.aborted && (!r.body || r.body.destroyed)));
      for (const r of refused) {
        expect(r.signal?.aborted, 'early read aborted').to.equal(true);
        if (r.body) expect(r.body.destroyed, 'early body released').to.equal(true);
      }
      const plays = await queryAccess(h.testDb.db.knex, { recordingId: rec.row.id, action: 'play', limit: 10 });
      expect(plays.map((e) => e.username)).to.deep.equal([allowed.user.username]);
    });

    it('when the client of an early read disconnects mid-stream, then that store read is aborted and its body released', async () => {
      const { token } = await createTestUser(h.testDb.db, { role: 'trainer' });
      const rec = await h.record({ playbackBody: seededBytes('playback-6', 8 * 1024 * 1024) });
      const url = `${app.url}/v1/recordings/${rec.row.id}/audio`;
      await (await fetch(url, { headers: { ...h.auth(token), range: 'bytes=0-9' } })).arrayBuffer();
      const controller = new AbortController();
      const res = await fetch(url, { headers: h.auth(token), signal: controller.signal });
      const reader = res.body!.getReader();
      await reader.read();
      controller.abort();
      await reader.cancel().catch(() => undefined);
      await settled(() => Boolean(reads[1]?.signal?.aborted && reads[1].body?.destroyed));
      expect(reads).to.have.length(2);
      expect(reads[1]!.signal?.aborted, 'store signal aborted').to.equal(true);
      expect(reads[1]!.body?.destroyed, 'store body destroyed').to.equal(true);
      expect(app.logs.filter((l) => /playback stream failed|request failed/.test(l))).to.deep.equal([]);
    });

    it("when the row names another object than the one read early, then the early read is discarded and the row's object is served", async () => {
      const { token } = await createTestUser(h.testDb.db, { role: 'trainer' });
      const rec = await h.record({ playbackBody: seededBytes('playback-7', 3000) });
      const url = `${app.url}/v1/recordings/${rec.row.id}/audio`;
      await (await fetch(url, { headers: { ...h.auth(token), range: 'bytes=0-9' } })).arrayBuffer();
      // Another recording's object, swapped in behind the same id.
      const replacement = seededBytes('playback-8', 4000);
      const other = await h.record({ playbackBody: replacement });
      await h.testDb.db.knex('recordings').where({ id: rec.row.id }).update({
        playback_key: other.row.playback_key,
        playback_sha256: other.row.playback_sha256,
        playback_size: other.row.playback_size,
      });
      const res = await fetch(url, { headers: { ...h.auth(token), range: 'bytes=3000-3999' } });
      expect(res.status).to.equal(206);
      expect(res.headers.get('etag')).to.equal(`"${other.row.playback_sha256}"`);
      expect(Buffer.from(await res.arrayBuffer()).equals(replacement.subarray(3000, 4000))).to.equal(true);
      expect(reads.map((r) => r.key)).to.deep.equal([
        rec.row.playback_key,
        rec.row.playback_key,
        other.row.playback_key,
      ]);
      await settled(() => Boolean(reads[1]!.signal?.aborted));
      expect(reads[1]!.signal?.aborted, 'stale early read aborted').to.equal(true);
    });
  });
}

for (const dbBackend of dbBackends) {
  describe(`playback search, detail and notes (${dbBackend.name})`, function () {
    let h: Harness;
    before(async () => {
      h = await harness(dbBackend, fsStore);
    });
    after(async () => h?.close());

    it('when a trainer pages through filtered recordings, then the pages are disjoint, newest first, and filters apply', async () => {
      const { token } = await createTestUser(h.testDb.db, { role: 'trainer' });
      const queue = `q-${seededBytes('playback-9', 3).toString('hex')}`;
      const made = [];
      for (let i = 0; i < 5; i++) {
        made.push(
          (
            await h.record({
              queue,
              started_at: NOW - (i + 1) * HOUR,
              agent_id: i % 2 ? 'agent-odd' : 'agent-even',
              duration_ms: 1000 * (i + 1),
            })
          ).row,
        );
      }
      await h.record({ queue, started_at: NOW - 2 * HOUR, direction: 'outbound' });
      await h.record({ queue, started_at: NOW - 40 * DAY, expires_at: NOW - DAY });
      const ids: string[] = [];
      let cursor: string | null = null;
      do {
        const qs = new URLSearchParams({ queue, direction: 'inbound', limit: '2', ...(cursor ? { cursor } : {}) });
        const res = await fetch(`${h.app.url}/v1/recordings?${qs}`, { headers: h.auth(token) });
        expect(res.status).to.equal(200);
        const page = (await res.json()) as { items: Array<{ id: string }>; nextCursor: string | null };
        expect(page.items.length).to.be.at.most(2);
        ids.push(...page.items.map((r) => r.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(ids).to.deep.equal(made.map((r) => r.id));

      const filtered = await fetch(
        `${h.app.url}/v1/recordings?${new URLSearchParams({ queue, agentId: 'agent-odd', minDurationMs: '2000', maxDurationMs: '3000', from: new Date(NOW - 3 * HOUR).toISOString(), to: new Date(NOW).toISOString() })}`,
        { headers: h.auth(token) },
      );
      expect(((await filtered.json()) as { items: Array<{ id: string }> }).items.map((r) => r.id)).to.deep.equal([
        made[1]!.id,
      ]);
    });

    it('when the query is malformed, then the answer is 400 invalid_query naming the field', async () => {
      const { token } = await createTestUser(h.testDb.db, { role: 'trainer' });
      for (const qs of [
        'limit=0',
        'limit=abc',
        'direction=sideways',
        'from=yesterday',
        'cursor=nonsense',
        'color=red',
      ]) {
        const res = await fetch(`${h.app.url}/v1/recordings?${qs}`, { headers: h.auth(token) });
        const problem = await res.json();
        expect(res.status, qs).to.equal(400);
        expect(problem.code).to.equal('invalid_query');
        expect(problem.fields).to.be.an('array').with.length.greaterThan(0);
      }
    });

    it('when a trainer reads a recording, then the numbers are masked and a view is logged; admin and privacy see them whole', async () => {
      const rec = await h.record({ caller_number: '+31612345678', callee_number: '+31201234567' });
      const trainer = await createTestUser(h.testDb.db, { role: 'trainer' });
      const res = await fetch(`${h.app.url}/v1/recordings/${rec.row.id}`, { headers: h.auth(trainer.token) });
      const body = await res.json();
      expect(res.status).to.equal(200);
      expect(body.callerNumber).to.equal('+31 6 •••• ••78');
      expect(body.calleeNumber).to.equal('+31 2 •••• ••67');
      const listed = await (
        await fetch(`${h.app.url}/v1/recordings?queue=${rec.row.queue}`, { headers: h.auth(trainer.token) })
      ).json();
      expect(JSON.stringify(listed)).not.to.contain('+31612345678');
      for (const role of ['admin', 'privacy'] as const) {
        const other = await createTestUser(h.testDb.db, { role });
        const full = await (
          await fetch(`${h.app.url}/v1/recordings/${rec.row.id}`, { headers: h.auth(other.token) })
        ).json();
        expect(full.callerNumber).to.equal('+31612345678');
      }
      const views = await queryAccess(h.testDb.db.knex, { recordingId: rec.row.id, action: 'view', limit: 10 });
      expect(views.map((v) => v.username)).to.include(trainer.user.username);
    });

    it('when a scoped trainer asks for a recording of another queue, then it is 404 and absent from the list', async () => {
      const rec = await h.record({ queue: 'billing' });
      const scoped = await createTestUser(h.testDb.db, { role: 'trainer', queues: ['sales'] });
      for (const path of ['', '/audio', '/waveform', '/notes']) {
        const res = await fetch(`${h.app.url}/v1/recordings/${rec.row.id}${path}`, { headers: h.auth(scoped.token) });
        expect(res.status, path).to.equal(404);
      }
      const list = await (
        await fetch(`${h.app.url}/v1/recordings?limit=200`, { headers: h.auth(scoped.token) })
      ).json();
      expect(list.items.every((r: { queue: string }) => r.queue === 'sales')).to.equal(true);
    });

    it('when a recording is past its deadline or being deleted, then it is 404 unless on legal hold', async () => {
      const { token } = await createTestUser(h.testDb.db, { role: 'admin' });
      const overdue = await h.record({ expires_at: NOW - 1 });
      const deleting = await h.record({ status: 'deleting' });
      const held = await h.record({
        expires_at: NOW - 1,
        legal_hold: true,
        hold_reason: 'case 1',
        hold_by: 'privacy',
        hold_at: NOW - DAY,
      });
      expect((await fetch(`${h.app.url}/v1/recordings/${overdue.row.id}`, { headers: h.auth(token) })).status).to.equal(
        404,
      );
      expect(
        (await fetch(`${h.app.url}/v1/recordings/${deleting.row.id}`, { headers: h.auth(token) })).status,
      ).to.equal(404);
      const res = await fetch(`${h.app.url}/v1/recordings/${held.row.id}`, { headers: h.auth(token) });
      expect(res.status).to.equal(200);
      expect((await res.json()).legalHold.reason).to.equal('case 1');
    });

    it('when a trainer adds notes, then they list in timeline order with the author; bad notes are refused and leave nothing', async () => {
      const rec = await h.record({ duration_ms: 60_000 });
      const { token, user } = await createTestUser(h.testDb.db, { role: 'trainer' });
      const url = `${h.app.url}/v1/recordings/${rec.row.id}/notes`;
      const post = (body: unknown) =>
        fetch(url, {
          method: 'POST',
          headers: { ...h.auth(token), 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      expect((await post({ offsetMs: 30_000, text: 'good empathy' })).status).to.equal(201);
      const created = await post({ offsetMs: 5_000, text: '  greeting missing  ' });
      expect(created.status).to.equal(201);
      expect((await created.json()).author).to.equal(user.username);
      for (const bad of [
        { offsetMs: -1, text: 'x' },
        { offsetMs: 1, text: '' },
        { offsetMs: 1, text: 'x'.repeat(2001) },
        { offsetMs: 61_000, text: 'x' },
        { offsetMs: 1.5, text: 'x' },
        { text: 'x' },
      ]) {
        const res = await post(bad);
        expect(res.status, JSON.stringify(bad).slice(0, 40)).to.equal(400);
        expect((await res.json()).code).to.equal('invalid_request');
      }
      expect((await post({ offsetMs: 0, text: 'x'.repeat(2000) })).status).to.equal(201);
      const notes = await (await fetch(url, { headers: h.auth(token) })).json();
      expect(
        notes.items.map((n: { offsetMs: number; text: string }) => [n.offsetMs, n.text.slice(0, 20)]),
      ).to.deep.equal([
        [0, 'x'.repeat(20)],
        [5_000, 'greeting missing'],
        [30_000, 'good empathy'],
      ]);
    });

    it('when the author changes or deletes a note, then it changes or goes; another trainer gets 403 and the note stays', async () => {
      const rec = await h.record({ duration_ms: 60_000 });
      const author = await createTestUser(h.testDb.db, { role: 'trainer' });
      const other = await createTestUser(h.testDb.db, { role: 'trainer' });
      const url = `${h.app.url}/v1/recordings/${rec.row.id}/notes`;
      const send = (method: string, path: string, token: string, body?: unknown) =>
        fetch(`${url}${path}`, {
          method,
          headers: { ...h.auth(token), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      const note = (await (await send('POST', '', author.token, { offsetMs: 7_000, text: 'first' })).json()) as {
        id: string;
      };
      const foreign = await send('PATCH', `/${note.id}`, other.token, { text: 'hijacked' });
      expect(foreign.status).to.equal(403);
      expect((await foreign.json()).code).to.equal('forbidden');
      expect((await send('DELETE', `/${note.id}`, other.token)).status).to.equal(403);
      const changed = await send('PATCH', `/${note.id}`, author.token, { text: '  better  ' });
      expect(changed.status).to.equal(200);
      expect(await changed.json()).to.include({ id: note.id, text: 'better', offsetMs: 7_000 });
      expect((await send('PATCH', `/${note.id}`, author.token, { text: '' })).status).to.equal(400);
      expect((await send('PATCH', `/${note.id}`, author.token, { text: 'x', offsetMs: 1 })).status).to.equal(400);
      const listed = (await (await send('GET', '', author.token)).json()) as { items: Array<{ text: string }> };
      expect(listed.items.map((n) => n.text)).to.deep.equal(['better']);
      expect((await send('DELETE', `/${note.id}`, author.token)).status).to.equal(204);
      expect((await send('DELETE', `/${note.id}`, author.token)).status).to.equal(404);
      const after = (await (await send('GET', '', author.token)).json()) as { items: unknown[] };
      expect(after.items).to.deep.equal([]);
    });

    it('when a note holds a control character (NUL, ESC), then it is refused with 400 (PostgreSQL stores no NUL); tabs and line breaks are kept', async () => {
      const rec = await h.record({ duration_ms: 60_000 });
      const { token } = await createTestUser(h.testDb.db, { role: 'trainer' });
      const url = `${h.app.url}/v1/recordings/${rec.row.id}/notes`;
      const post = (text: string) =>
        fetch(url, {
          method: 'POST',
          headers: { ...h.auth(token), 'content-type': 'application/json' },
          body: JSON.stringify({ offsetMs: 0, text }),
        });
      for (const text of ['a\u0000b', 'a\u001bb', 'a\u0085b']) {
        const res = await post(text);
        expect(res.status, JSON.stringify(text)).to.equal(400);
        expect((await res.json()).fields).to.deep.equal([
          { field: 'text', message: 'must not contain control characters other than tabs and line breaks' },
        ]);
      }
      const kept = await post('line one\n\tline two\r\n');
      expect(kept.status).to.equal(201);
      expect((await kept.json()).text).to.equal('line one\n\tline two');
      const notes = await (await fetch(url, { headers: h.auth(token) })).json();
      expect(notes.items).to.have.length(1);
    });

    it('when an agent or queue filter holds a control character, then the search answers 400 invalid_query (not a PostgreSQL 500)', async () => {
      const { token } = await createTestUser(h.testDb.db, { role: 'trainer' });
      for (const qs of ['agentId=a%00b', 'queue=a%00b', 'queue=%1B']) {
        const res = await fetch(`${h.app.url}/v1/recordings?${qs}`, { headers: h.auth(token) });
        expect(res.status, qs).to.equal(400);
        expect((await res.json()).fields).to.deep.equal([
          { field: qs.split('=')[0], message: 'must not contain control characters' },
        ]);
      }
    });

    it('when the row carries waveform peaks, then they are served as stored', async () => {
      const { token } = await createTestUser(h.testDb.db, { role: 'trainer' });
      const waveform = {
        durationMs: 4000,
        channels: 2,
        peaks: [
          [0.1, 0.5],
          [0.2, 0.9],
        ],
      };
      const rec = await h.record({ waveform: JSON.stringify(waveform) });
      const res = await fetch(`${h.app.url}/v1/recordings/${rec.row.id}/waveform`, { headers: h.auth(token) });
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.equal(waveform);
    });

    it('when the row has no peaks, then they are computed from the audio with ffmpeg and cached in the row', async () => {
      const { token } = await createTestUser(h.testDb.db, { role: 'trainer' });
      const audio = fs.readFileSync(await audioFixture('opus-mono', { seconds: 3 }));
      const rec = await h.record({ playbackBody: audio, duration_ms: 3000, original_channels: 1 });
      const res = await fetch(`${h.app.url}/v1/recordings/${rec.row.id}/waveform`, { headers: h.auth(token) });
      const body = (await res.json()) as {
        version: number;
        channels: number;
        length: number;
        peaks: number[][];
        durationMs: number;
      };
      expect(res.status).to.equal(200);
      expect(body.version).to.equal(1);
      expect(body.channels).to.equal(1);
      expect(body.durationMs).to.be.within(2900, 3100);
      expect(body.peaks[0]!.length).to.equal(body.length).and.be.greaterThan(50);
      expect(Math.max(...body.peaks[0]!)).to.be.greaterThan(0.05);
      const row = await findRecordingById(h.testDb.db.knex, rec.row.id);
      expect(JSON.parse(row!.waveform!)).to.deep.equal(body);
    });
  });
}
