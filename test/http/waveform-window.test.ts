/**
 * Zoom for long calls: `GET /v1/recordings/:id/waveform?from=&to=&points=` serves the peaks of a
 * time window at a finer resolution, decoded on demand from the rendition; without parameters the
 * answer is the stored whole-call waveform, as before.
 */
import { expect } from 'chai';
import { createManualClock } from '../../src/clock.js';
import type { Clock } from '../../src/clock.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { LONG_CALL_TONES, longToneCall } from '../support/long-call.js';
import { createStoredRecording } from '../support/recordings.js';
import type { StoredRecording } from '../support/recordings.js';
import { createTestUser } from '../support/users.js';

const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);
const HOURS_3 = 3 * 3_600_000;
const MINUTE = 60_000;

interface WindowBody {
  fromMs: number;
  toMs: number;
  channels: number;
  length: number;
  samplesPerPeak: number;
  sampleRate: number;
  peaks: number[][];
}

/** The first and last time (ms, window-relative) whose peak exceeds `level`, from the peak positions. */
function loudSpan(body: WindowBody, channel: number, level = 0.2): { firstMs: number; lastMs: number } | undefined {
  const msPer = (body.samplesPerPeak * 1000) / body.sampleRate;
  const loud = body.peaks[channel]!.flatMap((v, i) => (v > level ? [i] : []));
  if (!loud.length) return undefined;
  return { firstMs: loud[0]! * msPer, lastMs: (loud.at(-1)! + 1) * msPer };
}

const sqlite = dbBackends.find((b) => b.name === 'sqlite')!;

describe('waveform windows (zoom)', function () {
  this.timeout(120_000);
  let callBytes: Buffer;
  before(async () => {
    callBytes = await longToneCall({ minutes: HOURS_3 / MINUTE });
  });

  for (const storeBackend of storeBackends) {
    describe(`on ${storeBackend.name}`, () => {
      let testDb: TestDb;
      let testStore: TestStore;
      let app: TestApp;
      let rec: StoredRecording;
      let token: string;
      before(async () => {
        testDb = await sqlite.create();
        testStore = await storeBackend.create();
        app = await startTestApp({ db: testDb.db, store: testStore.store, clock: createManualClock(NOW) as Clock });
        rec = await createStoredRecording({
          db: testDb.db,
          store: testStore.store,
          overrides: {
            started_at: NOW - 3_600_000,
            duration_ms: HOURS_3,
            original_channels: 2,
            playbackBody: callBytes,
            // The whole-call peaks as ingest stores them for 3 hours: one point per ~4 s.
            waveform: JSON.stringify({
              durationMs: HOURS_3,
              channels: 2,
              peaks: [
                [0.5, 0.1],
                [0.1, 0.5],
              ],
            }),
          },
        });
        ({ token } = await createTestUser(testDb.db, { role: 'trainer' }));
      });
      after(async () => {
        await app.close();
        await testStore.dispose();
        await testDb.dispose();
      });
      const get = (query: string) =>
        fetch(`${app.url}/v1/recordings/${rec.row.id}/waveform${query}`, {
          headers: { authorization: `Bearer ${token}` },
        });

      it('when a 3-hour call is zoomed to one minute, then it has at least one peak per 100 ms, where the audio is', async () => {
        const from = 2 * 3_600_000 + 5 * MINUTE;
        const res = await get(`?from=${from}&to=${from + MINUTE}&points=1200`);
        expect(res.status).to.equal(200);
        expect(res.headers.get('content-type')).to.match(/^application\/json/);
        const body = (await res.json()) as WindowBody;
        expect(body.fromMs).to.equal(from);
        expect(body.toMs).to.be.within(from + MINUTE - 100, from + MINUTE);
        expect(body.channels).to.equal(2);
        expect(body.length).to.equal(body.peaks[0]!.length).and.equal(body.peaks[1]!.length);
        expect(body.length).to.be.at.least(MINUTE / 100);
        // The tones sit where they are in the call (each minute: left 10–12 s, right 40–41 s), ±100 ms.
        const left = loudSpan(body, 0)!;
        const right = loudSpan(body, 1)!;
        expect(left.firstMs).to.be.closeTo(LONG_CALL_TONES.left.fromMs, 100);
        expect(left.lastMs).to.be.closeTo(LONG_CALL_TONES.left.toMs, 100);
        expect(right.firstMs).to.be.closeTo(LONG_CALL_TONES.right.fromMs, 100);
        expect(right.lastMs).to.be.closeTo(LONG_CALL_TONES.right.toMs, 100);
      });

      it('when the window starts at the beginning of the call, then it is decoded from the start, aligned', async () => {
        const res = await get(`?from=0&to=${MINUTE}&points=600`);
        expect(res.status).to.equal(200);
        const body = (await res.json()) as WindowBody;
        expect(body.fromMs).to.equal(0);
        expect(body.length).to.equal(600);
        expect(loudSpan(body, 0)!.firstMs).to.be.closeTo(LONG_CALL_TONES.left.fromMs, 100);
      });

      it('when the window reaches past the end, then it stops at the end of the call', async () => {
        const res = await get(`?from=${HOURS_3 - 30_000}&to=${HOURS_3 + MINUTE}&points=300`);
        expect(res.status).to.equal(200);
        const body = (await res.json()) as WindowBody;
        expect(body.toMs).to.be.within(HOURS_3 - 100, HOURS_3);
        // The last minute's right tone at 40–41 s is 10–11 s into these 30 s.
        expect(loudSpan(body, 1)!.firstMs).to.be.closeTo(10_000, 100);
      });

      it('when more windows are asked for at once than decode at a time, then each is answered with its own window', async () => {
        const froms = [0, 1, 2, 3, 4, 5].map((i) => i * 30 * MINUTE + 7 * MINUTE);
        const answers = await Promise.all(froms.map((from) => get(`?from=${from}&to=${from + MINUTE}&points=600`)));
        expect(answers.map((r) => r.status)).to.deep.equal(froms.map(() => 200));
        const bodies = (await Promise.all(answers.map((r) => r.json()))) as WindowBody[];
        expect(bodies.map((b) => b.fromMs)).to.deep.equal(froms);
        for (const body of bodies) expect(loudSpan(body, 0)!.firstMs).to.be.closeTo(LONG_CALL_TONES.left.fromMs, 100);
      });

      it('when no window is asked for, then the stored whole-call peaks are served as before', async () => {
        const res = await get('');
        expect(res.status).to.equal(200);
        expect(await res.json()).to.deep.equal(JSON.parse(rec.row.waveform!));
      });

      it('when the window is empty, reversed or past the end, then it has no peaks and nothing is decoded', async () => {
        for (const [query, at] of [
          ['?from=5000&to=5000', 5000],
          ['?from=9000&to=1000', 1000],
          [`?from=${HOURS_3 + 1}`, HOURS_3],
          ['?to=0', 0],
        ] as const) {
          const res = await get(query);
          expect(res.status, query).to.equal(200);
          const body = (await res.json()) as WindowBody;
          expect(body, query).to.deep.include({ fromMs: at, toMs: at, length: 0, channels: 2, peaks: [[], []] });
        }
      });

      it('when the window is malformed, then 400 invalid_query names the field', async () => {
        const cases: [string, string][] = [
          ['?from=-1', 'from'],
          ['?to=1.5', 'to'],
          ['?points=0', 'points'],
          ['?points=10001', 'points'],
          ['?zoom=2', ''],
        ];
        for (const [query, field] of cases) {
          const res = await get(query);
          expect(res.status, query).to.equal(400);
          expect(res.headers.get('content-type'), query).to.match(/^application\/problem\+json/);
          const problem = (await res.json()) as { code: string; fields: { field: string }[] };
          expect(problem.code, query).to.equal('invalid_query');
          if (field)
            expect(
              problem.fields.map((f) => f.field),
              query,
            ).to.deep.equal([field]);
        }
      });
    });
  }
});
