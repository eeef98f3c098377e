/**
 * Twilio recording status callbacks end to end (src/ingest/adapters/twilio-*.ts) against the
 * local Twilio stand-in (test/support/twilio-standin.ts, written from Twilio's documentation),
 * on SQLite × fs and PostgreSQL × MinIO: the signed callback queues one job per RecordingSid,
 * the worker fetches media and Call resource with basic auth, stores the recording once through
 * the pipeline and deletes it at Twilio; faults are retried with backoff or fail the job visibly.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import { createManualClock } from '../../src/clock.js';
import { createDb } from '../../src/db/db.js';
import { listTwilioJobs } from '../../src/db/twilio-jobs.js';
import type { TwilioJobRow } from '../../src/db/twilio-jobs.js';
import { TWILIO_HOOK_PATH } from '../../src/ingest/adapters/twilio-hook.js';
import { createTwilioWorker } from '../../src/ingest/adapters/twilio-worker.js';
import type { TwilioWorker } from '../../src/ingest/adapters/twilio-worker.js';
import { createIngestRuntime } from '../../src/ingest/service.js';
import { startTestApp, testConfig } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { dbBackends, storeBackends, storeKeys } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { audioFixtureBytes } from '../support/fixtures.js';
import { tempLeftovers } from '../support/owners.js';
import { startTwilioStandin } from '../support/twilio-standin.js';
import type { TwilioStandin } from '../support/twilio-standin.js';

const COMBOS = [
  { db: dbBackends.find((b) => b.name === 'sqlite')!, store: storeBackends.find((b) => b.name === 'fs')! },
  { db: dbBackends.find((b) => b.name === 'postgres')!, store: storeBackends.find((b) => b.name === 'minio')! },
];
const PUBLIC_URL = 'https://callrec.example.test';
const BACKOFF_MS = 10_000;
const MAX_ATTEMPTS = 3;

for (const combo of COMBOS) {
  describe(`Twilio recording status callbacks (${combo.db.name} × ${combo.store.name})`, function () {
    this.timeout(60_000);
    let tdb: TestDb;
    let tstore: TestStore;
    let standin: TwilioStandin;
    let app: TestApp;
    let worker: TwilioWorker;
    const clock = createManualClock(Date.now());

    before(async () => {
      tdb = await combo.db.create();
      tstore = await combo.store.create();
      standin = await startTwilioStandin();
      const config = testConfig({
        CALLREC_PUBLIC_URL: PUBLIC_URL,
        CALLREC_TWILIO_ACCOUNT_SID: standin.accountSid,
        CALLREC_TWILIO_AUTH_TOKEN: standin.authToken,
        CALLREC_TWILIO_API_BASE: standin.origin,
      });
      app = await startTestApp({ db: tdb.db, store: tstore.store, config, clock });
      worker = createTwilioWorker(createIngestRuntime(app.deps), {
        idleTimeoutMs: 500,
        backoffBaseMs: BACKOFF_MS,
        maxAttempts: MAX_ATTEMPTS,
      });
    });
    after(async () => {
      await app?.close();
      await standin?.close();
      await tstore?.dispose();
      await tdb?.dispose();
    });

    /** Posts a callback as Twilio does: form-encoded, signed over the public URL (or `signature` as given). */
    const post = async (params: Record<string, string>, options: { signature?: string | null; url?: string } = {}) => {
      const signature =
        options.signature === undefined
          ? standin.sign(options.url ?? PUBLIC_URL + TWILIO_HOOK_PATH, params)
          : options.signature;
      return fetch(`${app.url}${TWILIO_HOOK_PATH}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...(signature === null ? {} : { 'x-twilio-signature': signature }),
        },
        body: new URLSearchParams(params).toString(),
      });
    };
    const jobOf = async (sid: string): Promise<TwilioJobRow | undefined> =>
      (await tdb.db.knex('twilio_import_jobs').where({ recording_sid: sid }).first()) as TwilioJobRow | undefined;
    const rowsOf = async (sid: string) =>
      (await tdb.db.knex('recordings').where({ source: 'twilio', call_id: sid })) as Array<Record<string, unknown>>;
    const objectsMatchRows = async () => {
      const all = (await tdb.db.knex('recordings').select('original_key', 'playback_key')) as Array<{
        original_key: string;
        playback_key: string;
      }>;
      expect((await storeKeys(tstore.store, 'recordings/')).sort(), 'objects = those of rows').to.deep.equal(
        all.flatMap((r) => [r.original_key, r.playback_key]).sort(),
      );
      expect(tempLeftovers(path.join(app.deps.config.dataDir, 'tmp')), 'temp files').to.deep.equal([]);
    };
    /** Runs the worker until no job is due now. */
    const drain = () => worker.runOnce();

    it("when Twilio posts a signed completed callback, then it is answered 202 once queued, and the worker stores the recording once with the call's metadata and deletes it at Twilio", async () => {
      const { recordingSid, callSid } = standin.addRecording({
        wav: await audioFixtureBytes('ulaw-mono'),
        call: { from: '+31201234567', to: '+31850001234', direction: 'inbound' },
      });
      const res = await post(standin.callback(recordingSid));
      expect(res.status).to.equal(202);
      expect(await res.json()).to.deep.equal({ recordingSid, status: 'pending' });
      expect((await jobOf(recordingSid))?.status, 'queued before the answer').to.equal('pending');

      const run = await drain();
      expect(run).to.include({ stored: 1, failed: 0, retrying: 0, sourceDeleted: 1 });
      const rows = await rowsOf(recordingSid);
      expect(rows).to.have.length(1);
      expect(rows[0]).to.include({
        call_group_id: callSid,
        caller_number: '+31201234567',
        callee_number: '+31850001234',
        direction: 'inbound',
        original_channels: 1,
      });
      expect(standin.recordings.has(recordingSid), 'deleted at Twilio').to.equal(false);
      const job = await jobOf(recordingSid);
      expect(job).to.include({ status: 'done', recording_id: rows[0]!.id, last_error_code: null, claimed_by: null });
      const mine = standin.requests.filter((r) => r.path.includes(recordingSid) || r.path.includes(callSid));
      expect(mine.map((r) => `${r.method} ${r.path.split('/').slice(-2).join('/')}${r.query}`)).to.deep.equal([
        `GET Recordings/${recordingSid}.wav`,
        `GET Calls/${callSid}.json`,
        `DELETE Recordings/${recordingSid}.json`,
      ]);
      expect(
        mine.every((r) => r.authorized),
        'basic auth on every request',
      ).to.equal(true);
      expect((await drain()).stored, 'nothing left to do').to.equal(0);
      await objectsMatchRows();
      const logs = app.logs.join('\n');
      expect(logs).to.not.include('31201234567');
      expect(logs).to.not.include(standin.authToken);
    });

    it('when the recording has two channels, then the media is asked for with RequestedChannels=2 and stored as stereo', async () => {
      const { recordingSid } = standin.addRecording({ wav: await audioFixtureBytes('pcm-stereo'), channels: 2 });
      expect((await post(standin.callback(recordingSid))).status).to.equal(202);
      await drain();
      const media = standin.requests.find((r) => r.method === 'GET' && r.path.endsWith(`${recordingSid}.wav`));
      expect(media?.query).to.equal('?RequestedChannels=2');
      expect((await rowsOf(recordingSid))[0]).to.include({ original_channels: 2 });
    });

    it('when the signature is wrong, missing, or made over another URL, then 401 invalid_signature (problem+json), a security event, and nothing queued', async () => {
      const { recordingSid } = standin.addRecording({ wav: await audioFixtureBytes('ulaw-mono') });
      const params = standin.callback(recordingSid);
      const attempts = [
        await post(params, { signature: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' }),
        await post(params, { signature: null }),
        await post(params, { url: `${app.url}${TWILIO_HOOK_PATH}` }),
        await post(
          { ...params, RecordingUrl: 'http://127.0.0.1:1/x' },
          { signature: standin.sign(PUBLIC_URL + TWILIO_HOOK_PATH, params) },
        ),
      ];
      for (const res of attempts) {
        expect(res.status).to.equal(401);
        expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
        expect(await res.json()).to.include({ code: 'invalid_signature', status: 401 });
      }
      expect(await jobOf(recordingSid)).to.equal(undefined);
      expect(app.logs.filter((l) => l.includes('"event":"twilio_signature_invalid"'))).to.have.length.at.least(4);
    });

    it('when the same callback is replayed, then it is one job and the recording is stored once', async () => {
      const { recordingSid } = standin.addRecording({ wav: await audioFixtureBytes('ulaw-mono') });
      const params = standin.callback(recordingSid);
      const answers = await Promise.all([post(params), post(params), post(params)]);
      expect(answers.map((r) => r.status)).to.deep.equal([202, 202, 202]);
      expect(await tdb.db.knex('twilio_import_jobs').where({ recording_sid: recordingSid })).to.have.length(1);
      await drain();
      const again = await post(params);
      expect(await again.json()).to.deep.equal({ recordingSid, status: 'done' });
      expect((await drain()).stored).to.equal(0);
      expect(await rowsOf(recordingSid)).to.have.length(1);
    });

    it('when the callback is not a completed recording, then 204 and nothing is queued', async () => {
      const { recordingSid } = standin.addRecording({ wav: await audioFixtureBytes('ulaw-mono') });
      const res = await post(standin.callback(recordingSid, { RecordingStatus: 'absent' }));
      expect(res.status).to.equal(204);
      expect(await jobOf(recordingSid)).to.equal(undefined);
    });

    it('when a signed callback has a field at fault or another account, then 400 invalid_metadata naming the fields and nothing queued', async () => {
      const { recordingSid } = standin.addRecording({ wav: await audioFixtureBytes('ulaw-mono') });
      const bad = await post(standin.callback(recordingSid, { RecordingStartTime: 'yesterday' }));
      expect(bad.status).to.equal(400);
      expect(((await bad.json()) as { fields: Array<{ field: string }> }).fields.map((f) => f.field)).to.deep.equal([
        'RecordingStartTime',
      ]);
      const other = await post(standin.callback(recordingSid, { AccountSid: `AC${'0'.repeat(32)}` }));
      expect(other.status).to.equal(400);
      expect(await jobOf(recordingSid)).to.equal(undefined);
    });

    it('when Twilio answers the media with 404, then the job fails at once, visibly, and nothing is stored or deleted', async () => {
      const { recordingSid } = standin.addRecording({ wav: await audioFixtureBytes('ulaw-mono') });
      await post(standin.callback(recordingSid));
      standin.recordings.get(recordingSid)!.mediaFaults.push(404);
      const run = await drain();
      expect(run.failed).to.equal(1);
      expect(await jobOf(recordingSid)).to.include({
        status: 'failed',
        last_error_code: 'twilio_not_found',
        attempts: 1,
      });
      expect(await rowsOf(recordingSid)).to.have.length(0);
      expect(standin.recordings.has(recordingSid), 'kept at Twilio').to.equal(true);
      const gaveUp = app.logs.filter((l) => l.includes('twilio import gave up') && l.includes(recordingSid));
      expect(gaveUp).to.have.length(1);
      expect(gaveUp[0]).to.include('"code":"twilio_not_found"');
      const metrics = await (await fetch(`${app.url}/metrics`)).text();
      expect(metrics).to.match(/callrec_twilio_import_jobs\{status="failed"\} [1-9]/);
      await objectsMatchRows();
    });

    it('when Twilio answers the media with 500, then the job is retried after the backoff (not before) and then stored', async () => {
      const { recordingSid } = standin.addRecording({ wav: await audioFixtureBytes('ulaw-mono') });
      await post(standin.callback(recordingSid));
      standin.recordings.get(recordingSid)!.mediaFaults.push(500);
      expect((await drain()).retrying).to.equal(1);
      const job = (await jobOf(recordingSid))!;
      expect(job).to.include({ status: 'pending', last_error_code: 'twilio_unavailable', attempts: 1 });
      expect(job.next_attempt_at).to.equal(clock.now() + BACKOFF_MS);
      clock.advance(BACKOFF_MS - 1);
      expect((await drain()).stored, 'not before the backoff').to.equal(0);
      clock.advance(1);
      expect((await drain()).stored).to.equal(1);
      expect(await jobOf(recordingSid)).to.include({ status: 'done', last_error_code: null });
      expect(standin.recordings.has(recordingSid)).to.equal(false);
      await objectsMatchRows();
    });

    it('when the media download stalls, then it is abandoned (twilio_timeout), nothing is left behind, and the retry stores it', async () => {
      const { recordingSid } = standin.addRecording({ wav: await audioFixtureBytes('ulaw-mono') });
      await post(standin.callback(recordingSid));
      standin.recordings.get(recordingSid)!.mediaFaults.push('stall');
      expect((await drain()).retrying).to.equal(1);
      expect(await jobOf(recordingSid)).to.include({ status: 'pending', last_error_code: 'twilio_timeout' });
      await objectsMatchRows();
      clock.advance(BACKOFF_MS);
      expect((await drain()).stored).to.equal(1);
      expect(await rowsOf(recordingSid)).to.have.length(1);
    });

    it('when every attempt fails, then the job gives up after the maximum with its last error code', async () => {
      const { recordingSid } = standin.addRecording({ wav: await audioFixtureBytes('ulaw-mono') });
      await post(standin.callback(recordingSid));
      standin.recordings.get(recordingSid)!.mediaFaults.push(503, 503, 503, 503);
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        await drain();
        clock.advance(BACKOFF_MS * 2 ** (attempt - 1));
      }
      expect(await jobOf(recordingSid)).to.include({
        status: 'failed',
        attempts: MAX_ATTEMPTS,
        last_error_code: 'twilio_unavailable',
      });
      expect((await drain()).retrying, 'a failed job is not retried').to.equal(0);
    });

    it('when the DELETE at Twilio fails, then the recording stays stored once and the delete is retried until it succeeds', async () => {
      const { recordingSid } = standin.addRecording({ wav: await audioFixtureBytes('ulaw-mono') });
      await post(standin.callback(recordingSid));
      standin.recordings.get(recordingSid)!.deleteFaults.push(500);
      const first = await drain();
      expect(first).to.include({ stored: 1, retrying: 1, sourceDeleted: 0 });
      expect(await jobOf(recordingSid)).to.include({ status: 'stored', last_error_code: 'twilio_unavailable' });
      expect(standin.recordings.has(recordingSid)).to.equal(true);
      clock.advance(BACKOFF_MS);
      await drain();
      expect(await jobOf(recordingSid)).to.include({ status: 'done', last_error_code: null });
      expect(standin.recordings.has(recordingSid), 'deleted at Twilio').to.equal(false);
      expect(await rowsOf(recordingSid)).to.have.length(1);
      const mediaGets = standin.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`${recordingSid}.wav`));
      expect(mediaGets, 'fetched once').to.have.length(1);
    });

    it('when a signed callback names a RecordingUrl on another origin, then nothing is fetched from it, the job fails as url_refused and a security event is logged', async () => {
      let hits = 0;
      const elsewhere = http.createServer((_req, res) => {
        hits += 1;
        res.end('no');
      });
      elsewhere.listen(0, '127.0.0.1');
      await new Promise<void>((resolve) => elsewhere.once('listening', resolve));
      try {
        const { recordingSid } = standin.addRecording({ wav: await audioFixtureBytes('ulaw-mono') });
        const { port } = elsewhere.address() as AddressInfo;
        const url = `http://127.0.0.1:${port}/2010-04-01/Accounts/${standin.accountSid}/Recordings/${recordingSid}`;
        expect((await post(standin.callback(recordingSid, { RecordingUrl: url }))).status).to.equal(202);
        expect((await drain()).failed).to.equal(1);
        expect(hits, 'requests to the other origin').to.equal(0);
        expect(await jobOf(recordingSid)).to.include({ status: 'failed', last_error_code: 'url_refused' });
        const events = app.logs.filter((l) => l.includes('"event":"twilio_url_refused"'));
        expect(events).to.have.length(1);
        expect(events[0]).to.not.include(`/Recordings/${recordingSid}`);
        expect(standin.recordings.has(recordingSid)).to.equal(true);
      } finally {
        elsewhere.closeAllConnections();
        await new Promise<void>((resolve) => elsewhere.close(() => resolve()));
      }
    });

    it('when a recording is already past retention when its job runs, then it is not stored but deleted at Twilio, and the job says why', async () => {
      const startTime = clock.now() - app.deps.config.retention.ms - 60_000;
      const { recordingSid } = standin.addRecording({ wav: await audioFixtureBytes('ulaw-mono'), startTime });
      expect((await post(standin.callback(recordingSid))).status).to.equal(202);
      expect(await drain()).to.include({ expired: 1, stored: 0, sourceDeleted: 1, failed: 0 });
      expect(await rowsOf(recordingSid)).to.have.length(0);
      expect(standin.recordings.has(recordingSid), 'deleted at Twilio').to.equal(false);
      expect(await jobOf(recordingSid)).to.include({
        status: 'done',
        recording_id: null,
        last_error_code: 'retention_elapsed',
      });
      const fetched = standin.requests.filter((r) => r.method === 'GET' && r.path.includes(recordingSid));
      expect(fetched, 'nothing fetched').to.deep.equal([]);
    });

    it('when two workers with their own database connections run at once, then each job is claimed by one: every recording fetched and stored once', async () => {
      const sids: string[] = [];
      for (let i = 0; i < 6; i++) {
        const { recordingSid } = standin.addRecording({ wav: await audioFixtureBytes('ulaw-mono') });
        expect((await post(standin.callback(recordingSid))).status).to.equal(202);
        sids.push(recordingSid);
      }
      const second = createDb(tdb.config);
      try {
        const other = createTwilioWorker(createIngestRuntime({ ...app.deps, db: second }), { idleTimeoutMs: 500 });
        const runs = await Promise.all([worker.runOnce(), other.runOnce()]);
        expect(runs[0]!.stored + runs[1]!.stored).to.equal(6);
        expect(runs.map((r) => r.retrying + r.failed)).to.deep.equal([0, 0]);
      } finally {
        await second.close();
      }
      for (const sid of sids) {
        expect(await rowsOf(sid), sid).to.have.length(1);
        const gets = standin.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`${sid}.wav`));
        expect(gets, `media GETs of ${sid}`).to.have.length(1);
        expect(await jobOf(sid)).to.include({ status: 'done', attempts: 1 });
      }
      await objectsMatchRows();
    });

    it('when jobs are listed, then failed ones show their error code', async () => {
      const failed = await listTwilioJobs(tdb.db.knex, { statuses: ['failed'], limit: 100 });
      expect(failed.length).to.be.greaterThan(0);
      expect(failed.every((j) => j.last_error_code !== null)).to.equal(true);
    });
  });
}

describe('Twilio recording status callbacks without a configured account', function () {
  this.timeout(30_000);
  it('when no Twilio account is configured, then the callback route answers 404 problem+json', async () => {
    const tdb = await dbBackends.find((b) => b.name === 'sqlite')!.create();
    const tstore = await storeBackends.find((b) => b.name === 'fs')!.create();
    const app = await startTestApp({ db: tdb.db, store: tstore.store, config: testConfig() });
    try {
      const res = await fetch(`${app.url}${TWILIO_HOOK_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'RecordingSid=RE1',
      });
      expect(res.status).to.equal(404);
      expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
    } finally {
      await app.close();
      await tstore.dispose();
      await tdb.dispose();
    }
  });
});
