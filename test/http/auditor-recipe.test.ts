/**
 * The README's auditor recipe ("How an auditor checks it") runs as written
 * (bash, curl, jq, sha256sum, OpenSSL 3) against a live app whose deletion log
 * holds real entries and a signed checkpoint (SQLite + fs: the recipe talks
 * HTTP only). A tampered entry makes the same recipe fail.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { createManualClock } from '../../src/clock.js';
import { runSweepJob } from '../../src/retention/jobs.js';
import { startTestApp, testConfig } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { dbBackends, storeBackends, tempDir } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { audioFixtureBytes } from '../support/fixtures.js';
import { signedUpload } from '../support/upload.js';
import { createTestUser } from '../support/users.js';
import { tamperLog } from '../support/tamper.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** The shell block that follows "How an auditor checks it" in README.md. */
function auditorRecipe(): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf('How an auditor checks it');
  expect(at, 'README has the auditor recipe').to.be.greaterThan(-1);
  const start = readme.indexOf('```sh\n', at) + '```sh\n'.length;
  return readme.slice(start, readme.indexOf('```', start));
}

describe('README auditor recipe (sqlite, fs)', function () {
  let testDb: TestDb;
  let testStore: TestStore;
  let app: TestApp;
  let work: string;
  let script: string;

  before(async function () {
    testDb = await dbBackends.find((b) => b.name === 'sqlite')!.create();
    testStore = await storeBackends.find((b) => b.name === 'fs')!.create();
    const clock = createManualClock(Date.now());
    app = await startTestApp({
      db: testDb.db,
      store: testStore.store,
      config: testConfig({ CALLREC_CHECKPOINT_EVERY: '2' }),
      clock,
    });
    const audio = await audioFixtureBytes('ulaw-mono');
    for (let i = 0; i < 3; i++) {
      const res = await signedUpload({
        url: app.url,
        nowMs: clock.now(),
        fields: { callId: `audit-recipe-${i}`, startedAt: new Date(clock.now()).toISOString() },
        audio,
      });
      expect(res.status, res.text).to.equal(201);
    }
    clock.advance(31 * 86_400_000);
    expect((await runSweepJob(app.deps, AbortSignal.timeout(60_000))).deleted).to.equal(3);
    const { token } = await createTestUser(testDb.db, { role: 'auditor' });

    work = tempDir('callrec-auditor-');
    const recipe = auditorRecipe();
    const setup = 'export CALLREC=https://callrec.example.com H="Authorization: Bearer $AUDITOR_TOKEN"';
    expect(recipe, 'the recipe starts by naming the server and the token').to.contain(setup);
    script = path.join(work, 'recipe.sh');
    fs.writeFileSync(
      script,
      `set -euo pipefail\n${recipe.replace(setup, `export CALLREC=${app.url} H="Authorization: Bearer ${token}"`)}`,
    );
  });

  after(async function () {
    await app?.close();
    await testStore?.dispose();
    await testDb?.dispose();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('when an auditor runs it, then the server verdict, the recomputed chain and the checkpoint signature all agree', async function () {
    const { stdout, stderr } = await run('bash', [script], { cwd: work });
    expect(stdout).to.match(/"ok":true,"count":3,/);
    const head = /chain ok, head ([0-9a-f]{64})/.exec(stdout)?.[1];
    expect(head, stdout).to.be.a('string');
    expect(`${stdout}${stderr}`).to.contain('Signature Verified Successfully');
    const checkpoint = JSON.parse(fs.readFileSync(path.join(work, 'checkpoint.txt'), 'utf8')) as {
      size: number;
      headHash: string;
    };
    expect(checkpoint).to.include({ size: 3, headHash: head });
  });

  it('when an entry was rewritten in the database, then the recomputed chain fails at that entry', async function () {
    await tamperLog(testDb.db, (log) => log.where({ seq: 2 }).update({ call_id: 'rewritten' }));
    const failed = await run('bash', [script], { cwd: work }).then(
      () => undefined,
      (error: { code: number; stdout: string }) => error,
    );
    expect(failed, 'the recipe must fail').to.not.equal(undefined);
    expect(failed!.stdout).to.match(/"ok":false/);
    expect(failed!.stdout).to.contain('bad hash at 2');
  });
});
