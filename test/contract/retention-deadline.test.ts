/**
 * Deletion at the deadline, not at the next interval. The sweeper's interval is one hour
 * here, so anything deleted within the 30 s these tests wait was deleted because the
 * sweeper woke at the deadline: after a sweep that saw the deadline coming, after a hold on
 * an overdue recording was released, after an upload whose deadline is seconds away.
 * Real clock and timers; the bounds are generous and do not depend on the machine's speed
 * (an hour's interval against 30 s).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { createApp } from '../../src/app.js';
import { createWakeupRelay, startBackgroundJobs } from '../../src/background.js';
import type { BackgroundJobs } from '../../src/background.js';
import { systemClock } from '../../src/clock.js';
import type { AppDeps } from '../../src/deps.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { releaseHold } from '../../src/subjects/hold.js';
import { testConfig } from '../support/app.js';
import { dbBackends, storeBackends, uniqueName } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { audioFixtureBytes } from '../support/fixtures.js';
import { createStoredRecording } from '../support/recordings.js';
import { signedUpload } from '../support/upload.js';

const DAY = 86_400_000;
const WAIT_MS = 30_000;

async function loggedAt(testDb: TestDb, recordingId: string): Promise<number | undefined> {
  const row = (await testDb.db.knex('deletion_log').where({ recording_id: recordingId }).first('deleted_at')) as
    { deleted_at: number | string } | undefined;
  return row === undefined ? undefined : Number(row.deleted_at);
}

/** Polls the deletion log for `recordingId` for up to WAIT_MS; returns the entry's deleted_at. */
async function deletedWithin(testDb: TestDb, recordingId: string, what: string): Promise<number> {
  const until = Date.now() + WAIT_MS;
  while (Date.now() < until) {
    const at = await loggedAt(testDb, recordingId);
    if (at !== undefined) return at;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} was not deleted within ${WAIT_MS / 1000} s (the sweeper's interval is 1 h)`);
}

for (const dbBackend of dbBackends) {
  describe(`deletion at the deadline (${dbBackend.name}, fs)`, function () {
    this.timeout(120_000);
    let testDb: TestDb;
    let testStore: TestStore;
    let deps: AppDeps;
    let jobs: BackgroundJobs | undefined;
    const wakeup = createWakeupRelay();

    beforeEach(async function () {
      testDb = await dbBackend.create();
      testStore = await storeBackends.find((s) => s.name === 'fs')!.create();
      deps = {
        config: testConfig({ CALLREC_SWEEP_INTERVAL: '1h' }),
        db: testDb.db,
        store: testStore.store,
        logger: createLogger({ level: 'silent' }),
        clock: systemClock,
        metrics: createMetrics(),
        retentionWakeup: wakeup,
      };
    });

    afterEach(async function () {
      wakeup.connect(undefined);
      await jobs?.stop();
      jobs = undefined;
      await testStore.dispose();
      await testDb.dispose();
    });

    /** Starts the jobs with an overdue canary and waits for the first sweep to have deleted it. */
    async function startAndSweepOnce(): Promise<void> {
      const canary = await createStoredRecording({
        db: testDb.db,
        store: testStore.store,
        overrides: { expires_at: Date.now() - 1 },
      });
      jobs = startBackgroundJobs(deps);
      wakeup.connect(jobs);
      await deletedWithin(testDb, canary.row.id, 'the overdue canary (first sweep)');
    }

    it('when a deadline falls after a sweep and before the next interval, then the recording is deleted at its deadline, not an hour later', async function () {
      // The first sweep runs 5 s after the start; this deadline comes 3 s after that.
      const expiresAt = Date.now() + 8_000;
      const rec = await createStoredRecording({
        db: testDb.db,
        store: testStore.store,
        overrides: { expires_at: expiresAt },
      });
      jobs = startBackgroundJobs(deps);
      const deletedAt = await deletedWithin(testDb, rec.row.id, 'the recording due between two sweeps');
      expect(deletedAt).to.be.at.least(expiresAt);
      for (const key of rec.keys) expect(await testStore.store.exists(key), key).to.equal(false);
    });

    it('when the hold on an overdue recording is released, then it is deleted right away, not at the next interval', async function () {
      const held = await createStoredRecording({
        db: testDb.db,
        store: testStore.store,
        overrides: { expires_at: Date.now() - DAY, legal_hold: true, hold_reason: 'case 12' },
      });
      await startAndSweepOnce();
      expect(await loggedAt(testDb, held.row.id)).to.equal(undefined);
      const releasedAt = Date.now();
      await releaseHold(deps, {
        id: held.row.id,
        principal: {
          userId: 'u1',
          username: 'privacy-officer',
          role: 'privacy',
          queues: null,
          agentId: null,
          via: 'token',
        },
      });
      expect(await deletedWithin(testDb, held.row.id, 'the released recording')).to.be.at.least(releasedAt);
    });

    it('when an upload arrives whose deadline is seconds away, then it is deleted at its deadline, not at the next interval', async function () {
      await startAndSweepOnce();
      const server: Server = createApp(deps).listen(0, '127.0.0.1');
      await new Promise<void>((resolve) => server.once('listening', resolve));
      try {
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        // Started 30 days minus 15 s ago: the default retention ends 15 s from now.
        const startedAt = Date.now() - 30 * DAY + 15_000;
        const res = await signedUpload({
          url,
          fields: { callId: uniqueName('deadline-'), startedAt: new Date(startedAt).toISOString() },
          audio: await audioFixtureBytes('ulaw-mono'),
        });
        expect(res.status, res.text).to.equal(201);
        const expiresAt = Date.parse(res.body.expiresAt as string);
        expect(await deletedWithin(testDb, res.body.id as string, 'the uploaded recording')).to.be.at.least(expiresAt);
      } finally {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });
  });
}
