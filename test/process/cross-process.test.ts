/**
 * The running service and other processes on one database: the CLI and another
 * writer change rows while the service runs. Whatever the service did before (here:
 * serve audio), it must see every committed change at once and stay able to write.
 * Runs the real `src/main.ts` and the real CLI, on SQLite and PostgreSQL.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { createFsStore } from '../../src/storage/fs-store.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { dbBackends, tempDir } from '../support/backends.js';
import type { TestDb } from '../support/backends.js';
import { collect, listeningUrl, runCli, startMain, waitFor } from '../support/process.js';
import type { CollectedOutput } from '../support/process.js';
import { createStoredRecording } from '../support/recordings.js';
import { createTestUser } from '../support/users.js';

const dbUrl = (testDb: TestDb) =>
  testDb.config.client === 'pg' ? testDb.config.url : `sqlite:${testDb.config.filename}`;

for (const backend of dbBackends) {
  describe(`the service beside other processes on one database (${backend.name})`, function () {
    this.timeout(180_000);
    let testDb: TestDb;
    let dataDir: string;
    let store: ObjectStore;
    let env: Record<string, string>;
    let child: ReturnType<typeof startMain>;
    let io: CollectedOutput;
    let url: string;

    before(async () => {
      testDb = await backend.create();
      dataDir = tempDir('callrec-xproc-');
      store = createFsStore({ root: path.join(dataDir, 'objects') });
      env = { CALLREC_DB_URL: dbUrl(testDb), CALLREC_DATA_DIR: dataDir };
      child = startMain({ ...env, CALLREC_PORT: '0', CALLREC_LOG_LEVEL: 'warn', CALLREC_SWEEP_INTERVAL: '1s' });
      io = collect(child);
      url = await listeningUrl(io);
    });
    after(async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await io.exit;
      }
      await testDb.dispose();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    /** Plays the first bytes of a fresh recording with `token`, as a trainer's player does. */
    async function playOnce(token: string): Promise<void> {
      const rec = await createStoredRecording({ db: testDb.db, store });
      const res = await fetch(`${url}/v1/recordings/${rec.row.id}/audio`, {
        headers: { authorization: `Bearer ${token}`, range: 'bytes=0-15' },
      });
      expect(res.status, await res.clone().text()).to.equal(206);
      expect(Buffer.from(await res.arrayBuffer())).to.deep.equal(rec.playbackBody.subarray(0, 16));
    }

    const status = async (token: string) =>
      (await fetch(`${url}/v1/recordings?limit=1`, { headers: { authorization: `Bearer ${token}` } })).status;

    it('when audio was played and the CLI then revokes the token, then the very next request with it is refused', async () => {
      const trainer = await createTestUser(testDb.db, { role: 'trainer' });
      await playOnce(trainer.token);
      expect(await status(trainer.token)).to.equal(200);
      const run = await runCli(env, 'token', 'revoke', trainer.tokenId);
      expect(run.code, run.stderr).to.equal(0);
      expect(await status(trainer.token)).to.equal(401);
    });

    it('when audio was played and the CLI then disables the user, then the very next request with their token is refused', async () => {
      const trainer = await createTestUser(testDb.db, { role: 'trainer' });
      await playOnce(trainer.token);
      const run = await runCli(env, 'user', 'disable', trainer.user.username);
      expect(run.code, run.stderr).to.equal(0);
      expect(await status(trainer.token)).to.equal(401);
    });

    it('when audio was played and another process then adds a user, then that user can sign in (the service reads and writes the current database)', async () => {
      const trainer = await createTestUser(testDb.db, { role: 'trainer' });
      await playOnce(trainer.token);
      const run = await runCli(env, 'user', 'add', 'late-comer', '--role', 'trainer');
      expect(run.code, run.stderr).to.equal(0);
      const res = await fetch(`${url}/v1/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: new URL(url).origin },
        body: JSON.stringify({ username: 'late-comer', password: run.stdout.trim() }),
      });
      expect(res.status, await res.text()).to.equal(200);
    });

    it('when audio was played and another process then writes a due recording, then the sweeper deletes and logs it', async () => {
      const trainer = await createTestUser(testDb.db, { role: 'trainer' });
      await playOnce(trainer.token);
      const due = await createStoredRecording({ db: testDb.db, store, overrides: { expires_at: Date.now() - 1_000 } });
      const logged = () => testDb.db.knex('deletion_log').where({ recording_id: due.row.id }).first();
      await waitFor(
        async () => (await logged()) !== undefined,
        `the deletion of ${due.row.id} (service stderr: ${io.err().slice(-400)})`,
      );
      expect(await testDb.db.knex('recordings').where({ id: due.row.id }).first()).to.equal(undefined);
      for (const key of due.keys)
        expect(await store.stat(key).catch((e: Error) => e.name)).to.equal('ObjectNotFoundError');
    });
  });
}
