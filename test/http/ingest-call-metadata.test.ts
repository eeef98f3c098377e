/**
 * Call metadata as real PBXes send it, through the signed upload hook against real databases
 * and stores: withheld and internal numbers, the agent's channel (per source and per upload),
 * call groups, case references, endedAt, and unknown fields (issue #15).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { Config } from '../../src/config.js';
import { findRecordingById } from '../../src/db/recordings.js';
import { METADATA_FIELDS } from '../../src/ingest/metadata.js';
import { startTestApp, testConfig } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { dbBackends, storeBackends, storeKeys } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { audioFixture, audioFixtureBytes, rawAudioFixture } from '../support/fixtures.js';
import { tempDir } from '../support/backends.js';
import { TEST_SECRET, TEST_SOURCE, signedUpload } from '../support/upload.js';
import { createTestUser } from '../support/users.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Runs scripts/upload-recording with the test source against `url`; resolves with its exit code and output. */
function runScript(url: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'bash',
      [path.join(ROOT, 'scripts', 'upload-recording'), '--url', url, '--source', TEST_SOURCE, ...args],
      {
        env: { PATH: process.env.PATH, CALLREC_SECRET: TEST_SECRET },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const COMBOS = [
  { db: dbBackends.find((b) => b.name === 'sqlite')!, store: storeBackends.find((b) => b.name === 'fs')! },
  { db: dbBackends.find((b) => b.name === 'postgres')!, store: storeBackends.find((b) => b.name === 'minio')! },
];

let seq = 0;
/** Valid hook fields of a call that started a minute ago, with overrides (undefined leaves a field out). */
function fieldsFor(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    callId: `meta-${Date.now()}-${++seq}`,
    startedAt: new Date(Date.now() - 60_000).toISOString(),
    ...overrides,
  };
}

for (const combo of COMBOS) {
  describe(`ingest call metadata (${combo.db.name} × ${combo.store.name})`, function () {
    this.timeout(60_000);
    let tdb: TestDb;
    let tstore: TestStore;
    let config: Config;
    let app: TestApp;

    before(async () => {
      tdb = await combo.db.create();
      tstore = await combo.store.create();
      // The test source puts the agent on the right by default (as FreeSWITCH and Twilio do).
      config = testConfig({ CALLREC_INGEST_AGENT_CHANNELS: 'pbx-test:right' });
      app = await startTestApp({ db: tdb.db, store: tstore.store, config });
    });
    afterEach(async () => {
      await tdb.db.knex('recordings').del();
      const keys = await storeKeys(tstore.store, 'recordings/');
      if (keys.length) await tstore.store.deleteMany(keys);
    });
    after(async () => {
      await app?.close();
      await tstore?.dispose();
      await tdb?.dispose();
      fs.rmSync(config.dataDir, { recursive: true, force: true });
    });

    const upload = async (
      fields: Record<string, string | undefined>,
      fixture: 'ulaw-mono' | 'pcm-stereo' = 'ulaw-mono',
    ) => signedUpload({ url: app.url, fields, audio: await audioFixtureBytes(fixture) });

    it('when the caller number is withheld or internal (anonymous, Unknown, restricted, empty, 1001, s), then 201 and it is stored as withheld or internal with no number', async () => {
      const cases = [
        ['anonymous', 'withheld'],
        ['Unknown', 'withheld'],
        ['restricted', 'withheld'],
        ['', 'withheld'],
        ['+266696687', 'withheld'],
        ['1001', 'internal'],
        ['s', 'internal'],
      ] as const;
      for (const [value, kind] of cases) {
        const res = await upload(fieldsFor({ callerNumber: value, calleeNumber: '+31201234567' }));
        expect(res.status, `${value}: ${res.text}`).to.equal(201);
        expect(res.body, value).to.include({
          callerNumber: null,
          callerNumberKind: kind,
          calleeNumber: '+31201234567',
          calleeNumberKind: 'e164',
        });
        const row = await findRecordingById(tdb.db.knex, res.body.id);
        expect(row, value).to.include({ caller_number: null, caller_number_kind: kind });
      }
    });

    it('when a number is neither a valid number nor withheld nor an extension, then 400 invalid_metadata naming it, and nothing is kept', async () => {
      const res = await upload(fieldsFor({ callerNumber: '+31 6 1' }));
      expect(res.status).to.equal(400);
      expect(res.body.code).to.equal('invalid_metadata');
      expect(res.body.fields.map((f: { field: string }) => f.field)).to.deep.equal(['callerNumber']);
      expect(await storeKeys(tstore.store, 'recordings/')).to.deep.equal([]);
    });

    it('when an upload sends a field the hook does not know, then 400 invalid_metadata names it and lists the accepted fields, and nothing is kept', async () => {
      const res = await upload(fieldsFor({ linkedId: '1700000000.1', agentChannel: 'left' }));
      expect(res.status, res.text).to.equal(400);
      expect(res.body.code).to.equal('invalid_metadata');
      expect(res.body.fields).to.have.length(1);
      expect(res.body.fields[0].field).to.equal('linkedId');
      for (const name of METADATA_FIELDS) expect(res.body.fields[0].message).to.contain(name);
      expect(await storeKeys(tstore.store, 'recordings/')).to.deep.equal([]);
      expect(await tdb.db.knex('recordings').select('id')).to.deep.equal([]);
    });

    it("when a stereo upload says nothing, then the source's default channel holds the agent; its own agentChannel wins; mono has none", async () => {
      const byDefault = await upload(fieldsFor(), 'pcm-stereo');
      expect(byDefault.status, byDefault.text).to.equal(201);
      expect(byDefault.body.agentChannel).to.equal('right');
      const stated = await upload(fieldsFor({ agentChannel: 'left' }), 'pcm-stereo');
      expect(stated.status, stated.text).to.equal(201);
      expect(stated.body.agentChannel).to.equal('left');
      const mono = await upload(fieldsFor({ agentChannel: 'right' }));
      expect(mono.status, mono.text).to.equal(201);
      expect(mono.body.agentChannel).to.equal(null);
      const wrong = await upload(fieldsFor({ agentChannel: 'centre' }), 'pcm-stereo');
      expect(wrong.status).to.equal(400);
      expect(wrong.body.fields.map((f: { field: string }) => f.field)).to.deep.equal(['agentChannel']);
    });

    it('when an upload has a call group, a case reference and endedAt, then they are stored; the list filters by call group, privacy officers by case reference, and trainers neither see nor search case references', async () => {
      const startedAt = new Date(Date.now() - 120_000);
      const endedAt = new Date(startedAt.getTime() + 90_000);
      const first = await upload(
        fieldsFor({
          callGroupId: '1700000000.7',
          caseReference: 'DOS-2026/0042',
          startedAt: startedAt.toISOString(),
          endedAt: endedAt.toISOString(),
        }),
      );
      expect(first.status, first.text).to.equal(201);
      expect(first.body).to.include({
        callGroupId: '1700000000.7',
        caseReference: 'DOS-2026/0042',
        endedAt: endedAt.toISOString(),
      });
      const second = await upload(fieldsFor({ callGroupId: '1700000000.7' }));
      expect(second.status, second.text).to.equal(201);
      const other = await upload(fieldsFor({ callGroupId: '1700000000.8' }));
      expect(other.status, other.text).to.equal(201);

      const privacy = await createTestUser(tdb.db, { role: 'privacy' });
      const trainer = await createTestUser(tdb.db, { role: 'trainer' });
      const list = async (token: string, query: string) => {
        const res = await fetch(`${app.url}/v1/recordings?${query}`, { headers: { authorization: `Bearer ${token}` } });
        return {
          status: res.status,
          body: (await res.json()) as { items?: Array<{ id: string; caseReference: string | null }> },
        };
      };
      const group = await list(trainer.token, 'callGroupId=1700000000.7');
      expect(group.status).to.equal(200);
      expect(group.body.items!.map((r) => r.id).sort()).to.deep.equal([first.body.id, second.body.id].sort());
      expect(group.body.items!.map((r) => r.caseReference)).to.deep.equal([null, null]);
      const byCase = await list(privacy.token, `caseReference=${encodeURIComponent('DOS-2026/0042')}`);
      expect(byCase.status).to.equal(200);
      expect(byCase.body.items!.map((r) => [r.id, r.caseReference])).to.deep.equal([[first.body.id, 'DOS-2026/0042']]);
      expect((await list(trainer.token, 'caseReference=DOS-2026%2F0042')).status).to.equal(403);
    });

    it('when endedAt lies before startedAt or is not a calendar date, then 400 invalid_metadata names endedAt', async () => {
      for (const endedAt of [new Date(Date.now() - 3_600_000).toISOString(), '2026-02-30T10:00:00Z']) {
        const res = await upload(fieldsFor({ endedAt }));
        expect(res.status, endedAt).to.equal(400);
        expect(
          res.body.fields.map((f: { field: string }) => f.field),
          endedAt,
        ).to.deep.equal(['endedAt']);
      }
    });

    it('when scripts/upload-recording is given an empty --caller, a call group, a case reference, an agent channel and no start or end, then they are sent: withheld, grouped, and started at the upload time', async () => {
      const before = Date.now() - 1000;
      const file = await audioFixture('pcm-stereo');
      fs.utimesSync(file, new Date('2020-01-01T00:00:00Z'), new Date('2020-01-01T00:00:00Z')); // an old file: its mtime must not be the start
      const res = await runScript(app.url, [
        ...['--call-id', `script-${Date.now()}`, '--caller', '', '--call-group', 'grp-1'],
        ...['--case-reference', 'DOS-1', '--agent-channel', 'left', file],
      ]);
      expect(res.code, res.stderr).to.equal(0);
      const recording = JSON.parse(res.stdout) as Record<string, unknown>;
      expect(recording).to.include({
        callerNumber: null,
        callerNumberKind: 'withheld',
        calleeNumberKind: null,
        callGroupId: 'grp-1',
        caseReference: 'DOS-1',
        agentChannel: 'left',
      });
      expect(Date.parse(recording.startedAt as string)).to.be.at.least(before - 1000);
    });

    it('when scripts/upload-recording is given an end but no start, then the call is stored as started at its end (not at the upload time, which lies after the end and was refused)', async () => {
      const endedAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 5000).toISOString(); // a call that ended seconds before the upload
      const res = await runScript(app.url, [
        '--call-id',
        `script-end-${Date.now()}`,
        '--ended-at',
        endedAt,
        await audioFixture('pcm-stereo'),
      ]);
      expect(res.code, res.stderr).to.equal(0);
      const recording = JSON.parse(res.stdout) as Record<string, unknown>;
      expect(recording).to.include({ startedAt: endedAt, endedAt });
    });

    it('when scripts/upload-recording posts a large file, then the body streams from it (what $TMPDIR holds while curl sends stays small) and a headerless file goes with --audio-format', async () => {
      const tmp = tempDir('callrec-script-tmp-');
      const shims = tempDir('callrec-script-bin-');
      try {
        // A curl that first notes how many bytes $TMPDIR holds, then is the real curl.
        const realCurl = (await new Promise<string>((resolve) =>
          spawn('bash', ['-c', 'command -v curl']).stdout.on('data', (c: Buffer) => resolve(c.toString().trim())),
        )) as string;
        fs.writeFileSync(
          path.join(shims, 'curl'),
          `#!/usr/bin/env bash\ndu -sb "$TMPDIR" | cut -f1 >> "${path.join(shims, 'tmp-bytes')}"\nexec ${realCurl} "$@"\n`,
          { mode: 0o755 },
        );
        const file = await rawAudioFixture('sln16', { seconds: 60 }); // 1.9 MB
        const res = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
          const child = spawn(
            'bash',
            [
              path.join(ROOT, 'scripts', 'upload-recording'),
              ...['--url', app.url, '--source', TEST_SOURCE, '--call-id', `stream-${Date.now()}`],
              ...['--audio-format', 'sln16', '--quiet', file],
            ],
            { env: { PATH: `${shims}:${process.env.PATH}`, CALLREC_SECRET: TEST_SECRET, TMPDIR: tmp } },
          );
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
          child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
          child.on('error', reject);
          child.on('close', (code) => resolve({ code, stdout, stderr }));
        });
        expect(res.code, res.stderr).to.equal(0);
        const row = await findRecordingById(tdb.db.knex, res.stdout.trim());
        expect(row).to.include({ original_codec: 'pcm_s16le', original_sample_rate: 16000, duration_ms: 60_000 });
        const seen = fs.readFileSync(path.join(shims, 'tmp-bytes'), 'utf8').trim().split('\n').map(Number);
        expect(seen.length).to.be.greaterThan(0);
        for (const bytes of seen) expect(bytes, 'bytes in $TMPDIR while curl sends').to.be.below(256 * 1024);
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
        fs.rmSync(shims, { recursive: true, force: true });
      }
    });
  });
}
