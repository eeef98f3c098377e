/**
 * The `callrec user …` and `callrec token …` commands, spawned as real child
 * processes against a real SQLite file and a real PostgreSQL database, and the
 * first-start admin bootstrap.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { expect } from 'chai';
import { ensureBootstrapAdmin } from '../../src/auth/bootstrap.js';
import { verifyPassword } from '../../src/auth/passwords.js';
import { createManualClock } from '../../src/clock.js';
import { findActiveToken } from '../../src/db/api-tokens.js';
import { findUserCredentials } from '../../src/db/users.js';
import { createLogger } from '../../src/logger.js';
import { createLogCapture } from '../support/app.js';
import { dbBackends, tempDir } from '../support/backends.js';
import type { TestDb } from '../support/backends.js';
import { runCli } from '../support/process.js';
import type { CliRun } from '../support/process.js';
import { createTestUser } from '../support/users.js';

function dbUrl(testDb: TestDb): string {
  return testDb.config.client === 'pg' ? testDb.config.url : `sqlite:${testDb.config.filename}`;
}

for (const backend of dbBackends) {
  describe(`callrec user/token CLI (${backend.name})`, function () {
    let testDb: TestDb;
    let dataDir: string;

    const cli = (...args: string[]): Promise<CliRun> =>
      runCli({ CALLREC_DB_URL: dbUrl(testDb), CALLREC_DATA_DIR: dataDir }, ...args);
    const userRow = (username: string) =>
      testDb.db.knex('users').where({ username }).first() as Promise<Record<string, unknown> | undefined>;

    before(async () => {
      testDb = await backend.create();
      dataDir = tempDir('callrec-cli-');
    });
    after(async () => {
      await testDb.dispose();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it('when a user is added, then stdout is only the generated password, which verifies against the stored scrypt hash', async () => {
      const run = await cli('user', 'add', 'carol', '--role', 'trainer', '--queues', 'sales,billing');
      expect(run.code).to.equal(0);
      expect(run.stdout).to.match(/^[A-Za-z0-9_-]{20}\n$/);
      expect(run.stderr).to.include('carol');
      const password = run.stdout.trim();
      const stored = await findUserCredentials(testDb.db.knex, 'carol');
      expect(stored!.user).to.deep.include({
        username: 'carol',
        role: 'trainer',
        queues: ['sales', 'billing'],
        disabled: false,
      });
      expect(stored!.passwordHash)
        .to.match(/^scrypt\$\d+\$\d+\$\d+\$/)
        .and.not.include(password);
      expect(await verifyPassword(password, stored!.passwordHash)).to.equal(true);
    });

    it('when a user is added with a bad role, a taken name, a bad name or queues on a non-trainer, then a message on stderr, nothing on stdout, a non-zero exit and no row', async () => {
      await createTestUser(testDb.db, { username: 'taken' });
      const attempts = [
        await cli('user', 'add', 'dave', '--role', 'boss'),
        await cli('user', 'add', 'taken', '--role', 'admin'),
        await cli('user', 'add', '../Eve', '--role', 'admin'),
        await cli('user', 'add', 'frank', '--role', 'auditor', '--queues', 'sales'),
        await cli('user', 'add', 'gina'),
      ];
      for (const run of attempts) {
        expect(run.code).to.not.equal(0);
        expect(run.stdout).to.equal('');
        expect(run.stderr).to.match(/callrec: |usage:/);
      }
      for (const name of ['dave', '../Eve', 'frank', 'gina']) expect(await userRow(name)).to.equal(undefined);
      expect((await userRow('taken'))!.role).to.equal('trainer');
    });

    it('when a password is reset, then stdout is only the new password, the old one stops verifying and sessions end', async () => {
      const { user, password } = await createTestUser(testDb.db);
      await testDb.db.knex('sessions').insert({
        id_hash: 'b'.repeat(64),
        user_id: user.id,
        created_at: 1,
        last_seen_at: 1,
        expires_at: 4102444800000,
      });
      const run = await cli('user', 'reset-password', user.username);
      expect(run.code).to.equal(0);
      expect(run.stdout).to.match(/^[A-Za-z0-9_-]{20}\n$/);
      const stored = await findUserCredentials(testDb.db.knex, user.username);
      expect(await verifyPassword(run.stdout.trim(), stored!.passwordHash)).to.equal(true);
      expect(await verifyPassword(password, stored!.passwordHash)).to.equal(false);
      expect(await testDb.db.knex('sessions').where({ user_id: user.id }).select()).to.deep.equal([]);
      const missing = await cli('user', 'reset-password', 'nobody-at-all');
      expect(missing.code).to.equal(1);
      expect(missing.stdout).to.equal('');
    });

    it('when a lost phone`s second factor is reset, then the factor, its recovery codes and the sessions are gone, and the reset is logged and in the security log', async () => {
      const { user } = await createTestUser(testDb.db, { role: 'privacy' });
      await testDb.db
        .knex('user_mfa')
        .insert({ user_id: user.id, secret: 'plain:JBSWY3DPEHPK3PXP', created_at: 1, confirmed_at: 2, last_step: 3 });
      await testDb.db.knex('user_recovery_codes').insert({ user_id: user.id, code_hash: 'c'.repeat(64) });
      await testDb.db.knex('sessions').insert({
        id_hash: 'd'.repeat(64),
        user_id: user.id,
        created_at: 1,
        last_seen_at: 1,
        expires_at: 4102444800000,
      });
      const run = await cli('user', 'reset-mfa', user.username);
      expect(run.code, run.stderr).to.equal(0);
      expect(run.stdout).to.equal('');
      expect(run.stderr).to.include('second factor reset').and.include(user.username).and.not.include('JBSWY3DP');
      for (const table of ['user_mfa', 'user_recovery_codes', 'sessions']) {
        expect(await testDb.db.knex(table).where({ user_id: user.id }).select(), table).to.deep.equal([]);
      }
      const log = (await testDb.db.knex('access_log').where({ username: user.username })) as Array<{ action: string }>;
      expect(log.map((e) => e.action)).to.deep.equal(['mfa_reset']);
      const again = await cli('user', 'reset-mfa', user.username);
      expect(again.code).to.equal(1);
      expect((await cli('user', 'reset-mfa', 'nobody-at-all')).code).to.equal(1);
    });

    it('when users are listed, then one JSON object per line per user, without any hash', async () => {
      const { user } = await createTestUser(testDb.db, { role: 'auditor' });
      const run = await cli('user', 'list');
      expect(run.code).to.equal(0);
      const lines = run.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const listed = lines.find((l) => l.username === user.username);
      expect(listed).to.deep.include({ id: user.id, role: 'auditor', queues: null, disabled: false });
      expect(run.stdout).not.to.match(/hash|scrypt/i);
    });

    it('when a token is created, then stdout is only the token, stored as its sha256, authenticating its user', async () => {
      const { user } = await createTestUser(testDb.db, { role: 'auditor' });
      const run = await cli('token', 'create', user.username, '--name', 'ci-export');
      expect(run.code).to.equal(0);
      expect(run.stdout).to.match(/^crt_[A-Za-z0-9_-]{43}\n$/);
      const token = run.stdout.trim();
      const hash = createHash('sha256').update(token).digest('hex');
      const row = (await testDb.db.knex('api_tokens').where({ token_hash: hash }).first()) as Record<string, unknown>;
      expect(row).to.deep.include({ user_id: user.id, name: 'ci-export', revoked_at: null });
      expect(JSON.stringify(await testDb.db.knex('api_tokens').select())).not.to.include(token.slice(4));
      expect((await findActiveToken(testDb.db.knex, hash))!.user.username).to.equal(user.username);
    });

    it('when a token is revoked by name or by id, then it authenticates nobody; an ambiguous name is refused', async () => {
      const { user, token, tokenId } = await createTestUser(testDb.db, { tokenName: 'nightly' });
      const hash = createHash('sha256').update(token).digest('hex');
      const byName = await cli('token', 'revoke', 'nightly');
      expect(byName.code).to.equal(0);
      expect(byName.stdout).to.equal('');
      expect(await findActiveToken(testDb.db.knex, hash)).to.equal(undefined);

      const second = await createTestUser(testDb.db, { tokenName: 'shared' });
      await createTestUser(testDb.db, { tokenName: 'shared' });
      const ambiguous = await cli('token', 'revoke', 'shared');
      expect(ambiguous.code).to.equal(1);
      expect(ambiguous.stderr).to.include('by its id');
      const secondHash = createHash('sha256').update(second.token).digest('hex');
      expect(await findActiveToken(testDb.db.knex, secondHash)).to.not.equal(undefined);
      const byId = await cli('token', 'revoke', second.tokenId);
      expect(byId.code).to.equal(0);
      expect(await findActiveToken(testDb.db.knex, secondHash)).to.equal(undefined);

      const listed = await cli('token', 'list', user.username);
      const entry = JSON.parse(listed.stdout.trim()) as Record<string, unknown>;
      expect(entry).to.include({ id: tokenId, name: 'nightly', username: user.username });
      expect(entry.revokedAt).to.be.a('string');
      expect(listed.stdout).not.to.include(token);

      const missing = await cli('token', 'revoke', 'no-such-token');
      expect(missing.code).to.equal(1);
      expect(missing.stderr).to.include('not found');
    });

    it('when a user is disabled, then the flag is set, their sessions are gone and their tokens fail; a missing user exits non-zero', async () => {
      const { user, token } = await createTestUser(testDb.db);
      await testDb.db.knex('sessions').insert({
        id_hash: 'a'.repeat(64),
        user_id: user.id,
        created_at: 1,
        last_seen_at: 1,
        expires_at: 4102444800000,
      });
      const run = await cli('user', 'disable', user.username);
      expect(run.code).to.equal(0);
      expect(Boolean((await userRow(user.username))!.disabled)).to.equal(true);
      expect(await testDb.db.knex('sessions').where({ user_id: user.id }).select()).to.deep.equal([]);
      expect(await findActiveToken(testDb.db.knex, createHash('sha256').update(token).digest('hex'))).to.equal(
        undefined,
      );
      const missing = await cli('user', 'disable', 'nobody-at-all');
      expect(missing.code).to.equal(1);
      expect(missing.stderr).to.include('not found');
      const tokenForDisabled = await cli('token', 'create', user.username);
      expect(tokenForDisabled.code).to.equal(1);
      expect(tokenForDisabled.stdout).to.equal('');
    });
  });

  describe(`first-start admin bootstrap (${backend.name})`, function () {
    let testDb: TestDb;
    beforeEach(async () => {
      testDb = await backend.create();
    });
    afterEach(async () => {
      await testDb.dispose();
    });

    it('when no user exists, then an admin is created and its password printed once with a warning; a second start prints nothing', async () => {
      const capture = createLogCapture();
      const deps = {
        db: testDb.db,
        clock: createManualClock(Date.now()),
        logger: createLogger({ level: 'info', destination: capture.stream }),
      };
      const printed: string[] = [];
      await ensureBootstrapAdmin(deps, (line) => printed.push(line));
      const text = printed.join('\n');
      const password = /password: (\S+)/.exec(text)?.[1];
      expect(text).to.include('username: admin').and.include('only once');
      const stored = await findUserCredentials(testDb.db.knex, 'admin');
      expect(stored!.user.role).to.equal('admin');
      expect(await verifyPassword(password!, stored!.passwordHash)).to.equal(true);
      expect(capture.lines.join('\n')).not.to.include(password!);

      const again: string[] = [];
      await ensureBootstrapAdmin(deps, (line) => again.push(line));
      expect(again).to.deep.equal([]);
      expect(Number(((await testDb.db.knex('users').count({ n: '*' }).first()) as { n: number | string }).n)).to.equal(
        1,
      );
    });

    it('when some user exists already, then no admin is created and nothing is printed', async () => {
      await createTestUser(testDb.db, { role: 'trainer' });
      const printed: string[] = [];
      await ensureBootstrapAdmin(
        { db: testDb.db, clock: createManualClock(Date.now()), logger: createLogger({ level: 'silent' }) },
        (l) => printed.push(l),
      );
      expect(printed).to.deep.equal([]);
      expect(await findUserCredentials(testDb.db.knex, 'admin')).to.equal(undefined);
    });
  });
}
