/**
 * The privacy register's own retention (issue #17, item 7) on SQLite and PostgreSQL with an
 * injected clock: closed requests are deleted once CALLREC_PRIVACY_REQUEST_RETENTION has passed
 * since closing, with their numbers and timeline, each logged as a `privacy_request` entry of
 * the hash-chained deletion log that names no phone number; open requests stay; the hourly
 * background job does it.
 */
import { expect } from 'chai';
import { startBackgroundJobs } from '../../src/background.js';
import { createManualClock } from '../../src/clock.js';
import type { AppDeps } from '../../src/deps.js';
import { verifyDeletionLog } from '../../src/audit/verify.js';
import { appendRequestEvent } from '../../src/db/privacy-requests.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { purgeAfter, purgeClosedRequests } from '../../src/privacy/register-retention.js';
import { createLogCapture, testConfig } from '../support/app.js';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { createStoredPrivacyRequest } from '../support/privacy-requests.js';

const DAY_MS = 86_400_000;
const PHONE = '+31612345678';

for (const dbBackend of dbBackends) {
  describe(`privacy register retention (${dbBackend.name})`, function () {
    this.timeout(60_000);
    let testDb: TestDb;
    let testStore: TestStore;
    const clock = createManualClock(Date.parse('2029-06-15T10:00:00+02:00'));
    const capture = createLogCapture();
    const depsWith = (retention?: string): AppDeps => ({
      config: testConfig(retention ? { CALLREC_PRIVACY_REQUEST_RETENTION: retention } : {}),
      db: testDb.db,
      store: testStore.store,
      logger: createLogger({ level: 'info', destination: capture.stream }),
      clock,
      metrics: createMetrics(),
    });

    beforeEach(async function () {
      testDb = await dbBackend.create();
      testStore = await storeBackends.find((s) => s.name === 'fs')!.create();
      clock.set(Date.parse('2029-06-15T10:00:00+02:00'));
      capture.lines.length = 0;
    });

    afterEach(async function () {
      await testStore.dispose();
      await testDb.dispose();
    });

    const closedAt = (iso: string) =>
      createStoredPrivacyRequest(testDb.db, {
        numbers: [PHONE],
        overrides: {
          received_at: Date.parse(iso) - 10 * DAY_MS,
          case_reference: 'DOSSIER-77',
          closed: { outcome: 'refused', reason: 'no recordings found', at: Date.parse(iso) },
        },
      });
    const countOf = async (table: string, where: Record<string, unknown>) =>
      Number(((await testDb.db.knex(table).where(where).count({ n: '*' }).first()) as { n: number | string }).n);

    it('when a closed request is past its two years, then it goes with its numbers and timeline, and one privacy_request entry that names no number remains', async function () {
      const deps = depsWith();
      // Closed 14 June 2027 in Amsterdam: kept through the end of 14 June 2029, deleted from 15 June.
      const old = await closedAt('2027-06-14T12:00:00+02:00');
      await appendRequestEvent(testDb.db.knex, {
        requestId: old.id,
        at: old.received_at,
        actor: { username: 'officer', role: 'privacy' },
        action: 'search',
        recordingIds: [],
        detail: 'count=0',
      });

      const result = await purgeClosedRequests(deps, { now: clock.now() });

      expect(result.deleted.map((d) => d.id)).to.deep.equal([old.id]);
      expect(await countOf('privacy_requests', { id: old.id })).to.equal(0);
      expect(await countOf('privacy_request_numbers', { request_id: old.id })).to.equal(0);
      expect(await countOf('privacy_request_events', { request_id: old.id })).to.equal(0);
      expect(await countOf('privacy_request_numbers', { number: PHONE })).to.equal(0);
      const entry = (await testDb.db.knex('deletion_log').where({ recording_id: old.id }).first()) as Record<
        string,
        unknown
      >;
      expect(entry).to.include({
        reason: 'privacy_request',
        source: 'privacy-register',
        call_id: old.reference,
        actor: 'privacy-register',
        objects: '[]',
      });
      expect(Number(entry.seq)).to.equal(result.deleted[0]!.seq);
      expect(Number(entry.expires_at)).to.equal(purgeAfter({ years: 2 }, Date.parse('2027-06-14T12:00:00+02:00')));
      expect(new Date(Number(entry.expires_at)).toISOString()).to.equal('2029-06-14T21:59:59.999Z');
      expect(Number(entry.deleted_at)).to.equal(clock.now());
      const everything = JSON.stringify(entry) + capture.lines.join('\n');
      for (const secret of [PHONE, '612345678', 'DOSSIER-77', 'no recordings found']) {
        expect(everything, secret).not.to.include(secret);
      }
      expect(capture.lines.some((l) => l.includes('closed privacy requests deleted after their retention'))).to.equal(
        true,
      );
      expect((await verifyDeletionLog(testDb.db)).ok).to.equal(true);
    });

    it('when a request was closed less than two years ago or is still open, then it is kept', async function () {
      const deps = depsWith();
      const recent = await closedAt('2027-06-15T00:30:00+02:00'); // kept through the end of 15 June 2029
      const open = await createStoredPrivacyRequest(testDb.db, {
        numbers: [PHONE],
        overrides: { received_at: Date.parse('2020-01-01T10:00:00Z') },
      });

      expect((await purgeClosedRequests(deps, { now: clock.now() })).deleted).to.deep.equal([]);
      clock.set(Date.parse('2029-06-15T23:59:59.999+02:00'));
      expect((await purgeClosedRequests(deps, { now: clock.now() })).deleted).to.deep.equal([]);

      clock.set(Date.parse('2029-06-16T00:00:00+02:00'));
      const result = await purgeClosedRequests(deps, { now: clock.now() });
      expect(result.deleted.map((d) => d.id)).to.deep.equal([recent.id]);
      expect(await countOf('privacy_requests', { id: open.id })).to.equal(1);
      expect(await countOf('deletion_log', {})).to.equal(1);
    });

    it('when the purge runs twice, then each request is logged once', async function () {
      const deps = depsWith('30d');
      await closedAt('2029-05-01T10:00:00+02:00');
      await closedAt('2029-05-02T10:00:00+02:00');
      const [first, second] = await Promise.all([
        purgeClosedRequests(deps, { now: clock.now() }),
        purgeClosedRequests(deps, { now: clock.now() }),
      ]);
      expect(first.deleted.length + second.deleted.length).to.equal(2);
      expect((await purgeClosedRequests(deps, { now: clock.now() })).deleted).to.deep.equal([]);
      expect(await countOf('deletion_log', { reason: 'privacy_request' })).to.equal(2);
      expect((await verifyDeletionLog(testDb.db)).ok).to.equal(true);
    });

    it('when the background jobs run, then the register retention job deletes a due request', async function () {
      const deps = depsWith('30d');
      const old = await closedAt('2029-04-01T10:00:00+02:00');
      const jobs = startBackgroundJobs(deps);
      try {
        const until = Date.now() + 90_000;
        while ((await countOf('privacy_requests', { id: old.id })) > 0 && Date.now() < until)
          await new Promise((r) => setTimeout(r, 200));
      } finally {
        await jobs.stop();
      }
      expect(await countOf('privacy_requests', { id: old.id })).to.equal(0);
      expect(await countOf('deletion_log', { recording_id: old.id, reason: 'privacy_request' })).to.equal(1);
    });
  });
}
