/**
 * `GET /metrics` after real traffic: an upload (and a refused one), a ranged
 * play, and a retention sweep past the deadline. Every metric the deployment
 * issue names is served, each one moved by the traffic that should move it,
 * and no label carries personal data (numbers, call ids, recording ids, user
 * names, tokens). Runs on SQLite + fs and PostgreSQL + MinIO.
 */
import { expect } from 'chai';
import { createManualClock } from '../../src/clock.js';
import { runSweepJob } from '../../src/retention/jobs.js';
import { startTestApp, testConfig } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { dbBackends, storeBackends, uniqueName } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { audioFixtureBytes } from '../support/fixtures.js';
import { parseExposition } from '../support/prometheus.js';
import type { Sample } from '../support/prometheus.js';
import { signedUpload } from '../support/upload.js';
import { createTestUser } from '../support/users.js';

const DAY = 86_400_000;

/** The metrics the issue names, by family. */
const REQUIRED = [
  'callrec_ingest_total',
  'callrec_ingest_duration_seconds',
  'callrec_transcode_seconds',
  'callrec_bytes_stored_total',
  'callrec_playback_requests_total',
  'callrec_playback_bytes_total',
  'callrec_sweeper_deletions_total',
  'callrec_sweeper_failures_total',
  'callrec_sweeper_last_success_timestamp_seconds',
  'callrec_sweeper_backlog',
  'callrec_sweeper_oldest_overdue_seconds',
  'callrec_deletion_log_entries',
  'callrec_http_request_duration_seconds',
];

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return found.length ? found.reduce((sum, s) => sum + s.value, 0) : undefined;
}

const combos = [
  { db: 'sqlite', store: 'fs' },
  { db: 'postgres', store: 'minio' },
] as const;

for (const combo of combos) {
  describe(`metrics (${combo.db}, ${combo.store})`, function () {
    let testDb: TestDb;
    let testStore: TestStore;
    let app: TestApp;
    const clock = createManualClock(Date.now());
    const phone = '+31612345678';
    const callId = uniqueName('metrics-call-');
    let recordingId: string;
    let originalBytes: number;
    let playedBytes: number;
    let username: string;
    let token: string;
    let metricsText: string;
    let parsed: ReturnType<typeof parseExposition>;

    before(async function () {
      testDb = await dbBackends.find((b) => b.name === combo.db)!.create();
      testStore = await storeBackends.find((b) => b.name === combo.store)!.create();
      app = await startTestApp({ db: testDb.db, store: testStore.store, config: testConfig(), clock });

      const audio = await audioFixtureBytes('ulaw-mono');
      originalBytes = audio.length;
      const stored = await signedUpload({
        url: app.url,
        nowMs: clock.now(),
        fields: {
          callId,
          startedAt: new Date(clock.now()).toISOString(),
          agentId: 'agent-jansen',
          queue: 'sales',
          direction: 'inbound',
          callerNumber: phone,
        },
        audio,
      });
      expect(stored.status, stored.text).to.equal(201);
      recordingId = stored.body.id as string;
      const refused = await signedUpload({
        url: app.url,
        nowMs: clock.now(),
        fields: { callId: `${callId}-x`, startedAt: new Date(clock.now()).toISOString() },
        audio,
        overrides: { secret: 'wrong-secret-0123456789abcdef' },
      });
      expect(refused.status).to.equal(401);

      const trainer = await createTestUser(testDb.db, { role: 'trainer' });
      username = trainer.user.username;
      token = trainer.token;
      const played = await fetch(`${app.url}/v1/recordings/${recordingId}/audio`, {
        headers: { authorization: `Bearer ${token}`, range: 'bytes=0-99' },
      });
      expect(played.status).to.equal(206);
      playedBytes = (await played.arrayBuffer()).byteLength;

      clock.advance(31 * DAY);
      const summary = await runSweepJob(app.deps, AbortSignal.timeout(60_000));
      expect(summary.deleted).to.equal(1);

      const res = await fetch(`${app.url}/metrics`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/^text\/plain/);
      metricsText = await res.text();
      parsed = parseExposition(metricsText);
    });

    after(async function () {
      await app?.close();
      await testStore?.dispose();
      await testDb?.dispose();
    });

    it('when scraped, then every metric the deployment needs is served', function () {
      const missing = REQUIRED.filter((name) => !parsed.families.has(name));
      expect(missing).to.deep.equal([]);
    });

    it('when a recording was uploaded and another refused, then ingest counts, durations, transcode time and bytes stored moved by outcome', function () {
      const s = parsed.samples;
      expect(value(s, 'callrec_ingest_total', { outcome: 'created' })).to.equal(1);
      expect(value(s, 'callrec_ingest_total', { outcome: 'invalid_signature' })).to.equal(1);
      expect(value(s, 'callrec_ingest_duration_seconds_count', { outcome: 'created' })).to.equal(1);
      expect(value(s, 'callrec_transcode_seconds_count')).to.equal(1);
      expect(value(s, 'callrec_transcode_seconds_sum')).to.be.greaterThan(0);
      expect(value(s, 'callrec_bytes_stored_total', { kind: 'original' })).to.equal(originalBytes);
      expect(value(s, 'callrec_bytes_stored_total', { kind: 'playback' })).to.be.greaterThan(0);
    });

    it('when audio was played with a range, then playback requests by status and bytes sent are counted', function () {
      expect(value(parsed.samples, 'callrec_playback_requests_total', { status: '206' })).to.equal(1);
      expect(value(parsed.samples, 'callrec_playback_bytes_total')).to.equal(playedBytes);
    });

    it('when the sweeper deleted the expired recording, then deletions, backlog, oldest overdue and log length say so', function () {
      const s = parsed.samples;
      expect(value(s, 'callrec_sweeper_deletions_total', { reason: 'retention_expired' })).to.equal(1);
      expect(value(s, 'callrec_sweeper_failures_total')).to.equal(0);
      expect(value(s, 'callrec_sweeper_last_success_timestamp_seconds')).to.equal(clock.now() / 1000);
      expect(value(s, 'callrec_sweeper_backlog')).to.equal(0);
      expect(value(s, 'callrec_sweeper_oldest_overdue_seconds')).to.equal(0);
      expect(value(s, 'callrec_deletion_log_entries')).to.equal(1);
    });

    it('when requests were served, then their durations are labelled by route pattern and status, never by path', function () {
      const s = parsed.samples;
      expect(
        value(s, 'callrec_http_request_duration_seconds_count', {
          method: 'GET',
          route: '/v1/recordings/:id/audio',
          status: '206',
        }),
      ).to.equal(1);
      expect(
        value(s, 'callrec_http_request_duration_seconds_count', {
          method: 'POST',
          route: '/v1/recordings',
          status: '201',
        }),
      ).to.equal(1);
      const routes = new Set(s.filter((x) => x.labels.route !== undefined).map((x) => x.labels.route));
      for (const route of routes) expect(route).to.match(/^(unmatched|\/[a-z0-9/:._-]*)$/);
    });

    it('when scraped, then no label carries a phone number, call id, recording id, user name or token', function () {
      for (const secret of [phone, phone.slice(1), '612345678', callId, recordingId, username, token, 'agent-jansen']) {
        expect(metricsText, secret).not.to.contain(secret);
      }
      for (const sample of parsed.samples) {
        for (const [label, text] of Object.entries(sample.labels)) {
          expect(text, `${sample.name}{${label}}`).not.to.match(/\d{6,}/);
          expect(text.length, `${sample.name}{${label}}`).to.be.lessThan(64);
        }
      }
    });
  });
}
