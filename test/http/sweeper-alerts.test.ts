/**
 * The sweeper's failures reach the alerts. 1,001 recordings fall due while every sweep fails
 * on its claim (writes to `recordings` fail, reads go on: SQLite with another process holding
 * the write lock), then while the database cannot be read at all, then the database recovers.
 * /metrics is scraped once a (simulated) minute, and the expressions of the rules in
 * deploy/prometheus-alerts.yml, as written there, are evaluated over those scrapes
 * (test/support/prometheus.ts), `for:` included. Runs on SQLite + fs and PostgreSQL + MinIO.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { createManualClock } from '../../src/clock.js';
import { runSweepJob } from '../../src/retention/jobs.js';
import { startTestApp, testConfig } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { failQueries, isRecordingsWrite } from '../support/db-faults.js';
import { alertState, evaluate, parseExposition, readAlertRules } from '../support/prometheus.js';
import type { AlertRule, Scrape } from '../support/prometheus.js';
import { createStoredRecordings } from '../support/recordings.js';

const MINUTE = 60_000;
const DUE = 1001;
const rules = readAlertRules(
  fs.readFileSync(path.resolve(import.meta.dirname, '../../deploy/prometheus-alerts.yml'), 'utf8'),
);

function rule(name: string): AlertRule {
  const found = rules.find((r) => r.alert === name);
  if (!found) throw new Error(`deploy/prometheus-alerts.yml has no alert ${name}`);
  return found;
}

function gauge(scrape: Scrape, name: string): number | undefined {
  return scrape.samples.find((s) => s.name === name)?.value;
}

const combos = [
  { db: 'sqlite', store: 'fs' },
  { db: 'postgres', store: 'minio' },
] as const;

for (const combo of combos) {
  describe(`sweeper alerts (${combo.db}, ${combo.store})`, function () {
    this.timeout(180_000);
    let testDb: TestDb;
    let testStore: TestStore;
    let app: TestApp;
    const start = Date.UTC(2026, 5, 1, 8);
    const clock = createManualClock(start);
    const scrapes: Scrape[] = [];
    /** Scrapes up to the end of each phase. */
    let busy: Scrape[];
    let unreachable: Scrape[];
    let recovered: Scrape[];
    let deletedOnRecovery: number;

    const scrape = async () => {
      const res = await fetch(`${app.url}/metrics`);
      expect(res.status).to.equal(200);
      scrapes.push({ at: clock.now(), samples: parseExposition(await res.text()).samples });
    };
    /** One simulated minute: the sweeper runs, then Prometheus scrapes. */
    const minute = async (expectSweep: 'fails' | 'succeeds') => {
      clock.advance(MINUTE);
      const run = runSweepJob(app.deps, AbortSignal.timeout(120_000));
      if (expectSweep === 'fails')
        await run.then(
          () => expect.fail('the sweep should have failed'),
          () => undefined,
        );
      else deletedOnRecovery += (await run).deleted;
      await scrape();
    };

    before(async function () {
      testDb = await dbBackends.find((b) => b.name === combo.db)!.create();
      testStore = await storeBackends.find((b) => b.name === combo.store)!.create();
      app = await startTestApp({ db: testDb.db, store: testStore.store, config: testConfig(), clock });
      // Due one minute from now; no objects (a recording whose objects are gone is deleted and logged as such).
      await createStoredRecordings({
        db: testDb.db,
        store: testStore.store,
        count: DUE,
        overrides: (i) => ({ expires_at: start + MINUTE + i, writeObjects: false }),
      });
      expect((await runSweepJob(app.deps, AbortSignal.timeout(60_000))).deleted).to.equal(0);
      await scrape();

      // 90 minutes in which every claim fails (SQLITE_BUSY on SQLite's write lock; on PostgreSQL a lock timeout).
      const undoBusy = failQueries(testDb.db, {
        match: isRecordingsWrite,
        code: combo.db === 'sqlite' ? 'SQLITE_BUSY' : '55P03',
      });
      for (let i = 0; i < 90; i++) await minute('fails');
      busy = [...scrapes];

      // 5 minutes in which the database cannot be reached at all, reads included.
      const undoDown = failQueries(testDb.db, {
        match: () => true,
        code: combo.db === 'sqlite' ? 'SQLITE_IOERR' : 'ECONNREFUSED',
      });
      for (let i = 0; i < 5; i++) await minute('fails');
      unreachable = [...scrapes];

      undoDown();
      undoBusy();
      deletedOnRecovery = 0;
      await minute('succeeds');
      recovered = [...scrapes];
    });

    after(async function () {
      await app?.close();
      await testStore?.dispose();
      await testDb?.dispose();
    });

    it('when every sweep fails on its claim, then each counts as a failed run and the sweeper-failing alert fires', function () {
      const last = busy.at(-1)!;
      expect(
        last.samples.find((s) => s.name === 'callrec_sweeper_failures_total' && s.labels.kind === 'run')?.value,
      ).to.equal(90);
      expect(alertState(rule('CallrecSweeperFailing'), busy).state).to.equal('firing');
      // Nothing failed per recording: no recording was ever claimed.
      expect(alertState(rule('CallrecDeletionFailures'), busy).state).to.equal('inactive');
    });

    it('when sweeps fail, then backlog and oldest overdue are still read from the database and their alerts fire', function () {
      const last = busy.at(-1)!;
      expect(gauge(last, 'callrec_sweeper_backlog')).to.equal(DUE);
      expect(gauge(last, 'callrec_sweeper_oldest_overdue_seconds')).to.equal((last.at - (start + MINUTE)) / 1000);
      expect(alertState(rule('CallrecBacklogGrowing'), busy).state).to.equal('firing');
      expect(alertState(rule('CallrecRetentionSlipping'), busy)).to.deep.equal({
        state: 'firing',
        values: [(last.at - (start + MINUTE)) / 1000],
      });
    });

    it('when no sweep has finished for 15 minutes, then the stalled alert fires, from the last success timestamp', function () {
      expect(gauge(busy.at(-1)!, 'callrec_sweeper_last_success_timestamp_seconds')).to.equal(start / 1000);
      expect(alertState(rule('CallrecSweeperStalled'), busy).state).to.equal('firing');
      // 14 minutes in, it had not fired yet.
      expect(
        alertState(
          rule('CallrecSweeperStalled'),
          busy.filter((s) => s.at <= start + 14 * MINUTE),
        ).state,
      ).to.equal('inactive');
    });

    it('when the database cannot be read at all, then /metrics still answers, the gauges keep the last values read (not 0) and the alerts keep firing', function () {
      const before = busy.at(-1)!;
      const last = unreachable.at(-1)!;
      expect(gauge(last, 'callrec_sweeper_backlog')).to.equal(DUE);
      expect(gauge(last, 'callrec_sweeper_oldest_overdue_seconds')).to.equal(
        gauge(before, 'callrec_sweeper_oldest_overdue_seconds'),
      );
      for (const name of [
        'CallrecSweeperFailing',
        'CallrecSweeperStalled',
        'CallrecBacklogGrowing',
        'CallrecRetentionSlipping',
      ]) {
        expect(alertState(rule(name), unreachable).state, name).to.equal('firing');
      }
      expect(app.logs.join('\n')).to.include('retention gauges could not be read');
    });

    it('when the database recovers, then the next sweep deletes the backlog and the backlog, slipping and stalled alerts resolve', function () {
      const last = recovered.at(-1)!;
      expect(deletedOnRecovery).to.equal(DUE);
      expect(gauge(last, 'callrec_sweeper_backlog')).to.equal(0);
      expect(gauge(last, 'callrec_deletion_log_entries')).to.equal(DUE);
      for (const name of ['CallrecSweeperStalled', 'CallrecBacklogGrowing', 'CallrecRetentionSlipping']) {
        expect(alertState(rule(name), recovered).state, name).to.equal('inactive');
      }
      // The failures of the last 15 minutes are still in its window.
      expect(alertState(rule('CallrecSweeperFailing'), recovered).state).to.equal('firing');
    });

    it('when the scrapes are evaluated, then every rule of the file evaluates (no unsupported syntax), and none other fires', function () {
      const expected = new Set([
        'CallrecSweeperFailing',
        'CallrecSweeperStalled',
        'CallrecBacklogGrowing',
        'CallrecRetentionSlipping',
      ]);
      for (const r of rules) {
        expect(evaluate(r.expr, busy).kind, r.alert).to.equal('vector');
        expect(alertState(r, busy).state, r.alert).to.equal(expected.has(r.alert) ? 'firing' : 'inactive');
      }
    });
  });
}
