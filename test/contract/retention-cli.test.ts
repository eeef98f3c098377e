/**
 * `callrec sweep`, `verify-log` and `reconcile` as real processes over the embedded
 * default (SQLite + fs in a data dir): stdout carries JSON alone, exit codes tell.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import { createDb } from '../../src/db/db.js';
import { createFsStore } from '../../src/storage/fs-store.js';
import { tempDir } from '../support/backends.js';
import { createStoredRecording } from '../support/recordings.js';
import { asDatabaseOwner, tamperLog } from '../support/tamper.js';

function callrec(dataDir: string, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--no-warnings', 'src/cli/main.ts', ...args], {
      env: { PATH: process.env.PATH ?? '', CALLREC_DATA_DIR: dataDir, CALLREC_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('retention CLI (sqlite, fs)', function () {
  this.timeout(60_000);

  it('when sweep, verify-log and reconcile run, then they print JSON on stdout, progress on stderr, and verify-log exits 1 on a tampered log', async () => {
    const dataDir = tempDir('callrec-cli-');
    const db = createDb({ client: 'sqlite', filename: path.join(dataDir, 'callrec.sqlite') });
    await db.migrate();
    const store = createFsStore({ root: path.join(dataDir, 'objects') });
    const recs = [];
    for (let i = 0; i < 3; i++)
      recs.push(await createStoredRecording({ db, store, overrides: { expires_at: Date.now() - 60_000 - i } }));
    const future = await createStoredRecording({ db, store, overrides: { expires_at: Date.now() + 86_400_000 } });
    await db.close();

    const dry = await callrec(dataDir, 'sweep', '--dry-run');
    expect(dry.code, dry.stderr).to.equal(0);
    expect(JSON.parse(dry.stdout)).to.include({ dryRun: true, wouldDelete: 3, deleted: 0 });

    const sweep = await callrec(dataDir, 'sweep');
    expect(sweep.code, sweep.stderr).to.equal(0);
    expect(JSON.parse(sweep.stdout)).to.include({ dryRun: false, deleted: 3, failed: 0 });
    expect(sweep.stderr).to.match(/sweep: pass \d: 3 deleted/);

    const verify = await callrec(dataDir, 'verify-log');
    expect(verify.code, verify.stderr).to.equal(0);
    expect(JSON.parse(verify.stdout)).to.include({ ok: true, count: 3 });

    const reconciled = await callrec(dataDir, 'reconcile', '--dry-run');
    expect(reconciled.code, reconciled.stderr).to.equal(0);
    expect(JSON.parse(reconciled.stdout)).to.include({ dryRun: true });

    const again = createDb({ client: 'sqlite', filename: path.join(dataDir, 'callrec.sqlite') });
    try {
      expect(await again.knex('recordings').where({ id: future.row.id }).first()).to.not.equal(undefined);
      await tamperLog(again, (log) => log.where({ seq: 2 }).update({ actor: 'someone' }));
    } finally {
      await again.close();
    }
    const tampered = await callrec(dataDir, 'verify-log');
    expect(tampered.code).to.equal(1);
    expect(JSON.parse(tampered.stdout)).to.include({ ok: false, firstInvalidSeq: 2 });
    expect(tampered.stderr).to.include('INVALID from seq 2');
  });

  it('when the log is cut at its tail and its checkpoints deleted in the database, then verify-log catches it against the checkpoint published in the object store and says what it checked', async () => {
    const dataDir = tempDir('callrec-cli-');
    const db = createDb({ client: 'sqlite', filename: path.join(dataDir, 'callrec.sqlite') });
    await db.migrate();
    const store = createFsStore({ root: path.join(dataDir, 'objects') });
    for (let i = 0; i < 3; i++)
      await createStoredRecording({ db, store, overrides: { expires_at: Date.now() - 60_000 - i } });
    await db.close();
    const sweep = await callrec(dataDir, 'sweep');
    expect(sweep.code, sweep.stderr).to.equal(0);

    const again = createDb({ client: 'sqlite', filename: path.join(dataDir, 'callrec.sqlite') });
    try {
      await asDatabaseOwner(again, async (knex) => {
        await knex('deletion_log').where('seq', '>', 1).del();
        await knex('deletion_checkpoints').del();
      });
    } finally {
      await again.close();
    }
    const verify = await callrec(dataDir, 'verify-log');
    expect(verify.code, verify.stderr).to.equal(1);
    expect(JSON.parse(verify.stdout)).to.deep.include({
      ok: false,
      count: 1,
      firstInvalidSeq: 2,
      problem: 'truncated',
      external: { count: 1, matched: 0, largestSize: 3 },
    });
    expect(verify.stderr)
      .to.include('0 checkpoints in the database')
      .and.include('1 published in the object store')
      .and.include('INVALID from seq 2 (truncated)');
  });
});
