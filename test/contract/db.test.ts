/**
 * The database contract: the same tests on every `dbBackends` entry (SQLite
 * and a real PostgreSQL). Schema (migrations up/down), constraints, exact
 * BIGINT millisecond timestamps, booleans, indexed expiry queries, cascades,
 * and the user / API token / session store functions.
 */
import { expect } from 'chai';
import pg from 'pg';
import { ulid } from 'ulid';
import { createDb } from '../../src/db/db.js';
import type { Db } from '../../src/db/db.js';
import {
  findActiveToken,
  insertApiToken,
  listApiTokens,
  revokeApiToken,
  touchApiToken,
} from '../../src/db/api-tokens.js';
import { findRecordingById, insertRecording, isUniqueViolation } from '../../src/db/recordings.js';
import type { NewRecordingRow } from '../../src/db/recordings.js';
import {
  deleteExpiredSessions,
  deleteSession,
  deleteUserSessions,
  findSession,
  insertSession,
  touchSession,
} from '../../src/db/sessions.js';
import {
  countUsers,
  findUserById,
  findUserByUsername,
  findUserCredentials,
  insertUser,
  listUsers,
  setUserDisabled,
  setUserPasswordHash,
} from '../../src/db/users.js';
import type { NewUser } from '../../src/db/users.js';
import { dbBackends, uniqueName } from '../support/backends.js';
import type { TestDb } from '../support/backends.js';
import { buildRecordingRow } from '../support/recordings.js';

/** A raw deletion_log row (seq 1, a valid-looking hash) with overrides. */
function deletionLogRow(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    seq: 1,
    recording_id: '01JDELETED0000000000000000',
    source: 'pbx-test',
    call_id: 'call-1',
    reason: 'retention_expired',
    actor: 'sweeper',
    started_at: 1,
    expires_at: 2,
    deleted_at: 3,
    objects: '[]',
    verified: true,
    prev_hash: '0'.repeat(64),
    hash: 'a'.repeat(64),
    ...overrides,
  };
}

/** 2100-01-01T00:00:00.123Z: beyond 2^32 seconds and 2^31 ms, with a millisecond part. */
const FAR_MS = 4102444800123;
const EXPECTED_TABLES = [
  'users',
  'api_tokens',
  'sessions',
  'recordings',
  'notes',
  'deletion_log',
  'deletion_checkpoints',
  'access_log',
  'ingest_inflight',
];

const newRecording = (overrides: Parameters<typeof buildRecordingRow>[0] = {}): NewRecordingRow =>
  buildRecordingRow(overrides).row;

function newUser(overrides: Partial<NewUser> = {}): NewUser {
  return {
    id: ulid(),
    username: uniqueName('u-'),
    role: 'trainer',
    passwordHash: 'scrypt$1024$8$1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA',
    queues: null,
    createdAt: 1_700_000_000_000,
    ...overrides,
  };
}

async function caught(action: () => Promise<unknown>): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the action to fail');
}

/** The query plan as one string: EXPLAIN QUERY PLAN on SQLite, EXPLAIN on PostgreSQL (sequential scans off, so the plan shows whether an index can serve the query at all on a tiny table). */
async function plan(db: Db, sql: string, bindings: readonly (string | number)[]): Promise<string> {
  if (db.client === 'sqlite') {
    const rows = (await db.knex.raw(`EXPLAIN QUERY PLAN ${sql}`, bindings)) as Array<{ detail: string }>;
    return rows.map((r) => r.detail).join('\n');
  }
  return db.knex.transaction(async (trx) => {
    await trx.raw('SET LOCAL enable_seqscan = off');
    const result = (await trx.raw(`EXPLAIN ${sql}`, bindings)) as { rows: Array<{ 'QUERY PLAN': string }> };
    return result.rows.map((r) => r['QUERY PLAN']).join('\n');
  });
}

for (const backend of dbBackends) {
  describe(`database contract (${backend.name})`, function () {
    let testDb: TestDb;
    let db: Db;

    before(async () => {
      testDb = await backend.create();
      db = testDb.db;
    });
    after(async () => {
      await testDb.dispose();
    });

    describe('schema', function () {
      it('when migrated to latest, rolled back entirely and migrated again, then every table of the data model exists again and nothing is pending', async () => {
        const fresh = await backend.create();
        try {
          const { knex } = fresh.db;
          for (const table of EXPECTED_TABLES)
            expect(await knex.schema.hasTable(table), `${table} after latest`).to.equal(true);
          await knex.migrate.rollback(undefined, true);
          for (const table of EXPECTED_TABLES)
            expect(await knex.schema.hasTable(table), `${table} after rollback`).to.equal(false);
          const [, pendingAfterRollback] = (await knex.migrate.list()) as [unknown[], unknown[]];
          expect(pendingAfterRollback.length).to.be.greaterThan(0);
          await fresh.db.migrate();
          for (const table of EXPECTED_TABLES)
            expect(await knex.schema.hasTable(table), `${table} after re-latest`).to.equal(true);
          const [completed, pending] = (await knex.migrate.list()) as [unknown[], unknown[]];
          expect(pending).to.deep.equal([]);
          expect(completed.length).to.equal(pendingAfterRollback.length);
          await insertRecording(knex, newRecording());
          expect(await knex('recordings').count({ n: '*' }).first()).to.satisfy(
            (r: { n: number | string }) => Number(r.n) === 1,
          );
        } finally {
          await fresh.dispose();
        }
      });

      it('when a second recording has the same (source, call_id), then a unique violation is raised; another source may reuse the call id', async () => {
        const first = newRecording();
        await insertRecording(db.knex, first);
        const error = await caught(() =>
          insertRecording(db.knex, { ...newRecording(), source: first.source, call_id: first.call_id }),
        );
        expect(isUniqueViolation(error)).to.equal(true);
        await insertRecording(db.knex, { ...newRecording(), source: 'other-pbx', call_id: first.call_id });
        expect(await db.knex('recordings').where({ call_id: first.call_id }).select('source')).to.have.length(2);
      });

      it('when BIGINT millisecond timestamps are written, then they read back as the exact same numbers', async () => {
        const row = newRecording({ started_at: FAR_MS - 86_400_000, expires_at: FAR_MS, created_at: FAR_MS - 1 });
        await insertRecording(db.knex, row);
        const back = await findRecordingById(db.knex, row.id);
        expect(back!.expires_at).to.be.a('number').and.equal(FAR_MS);
        expect(back!.started_at).to.equal(FAR_MS - 86_400_000);
        expect(back!.created_at).to.equal(FAR_MS - 1);
        const exact = await db.knex('recordings').where('expires_at', FAR_MS).select('id');
        expect(exact.map((r: { id: string }) => r.id)).to.deep.equal([row.id]);
      });

      it('when booleans are written, then they read back as booleans through the store functions', async () => {
        const held = newRecording();
        await insertRecording(db.knex, held);
        await db.knex('recordings').where({ id: held.id }).update({ legal_hold: true });
        const free = newRecording();
        await insertRecording(db.knex, free);
        expect((await findRecordingById(db.knex, held.id))!.legal_hold).to.equal(true);
        expect((await findRecordingById(db.knex, free.id))!.legal_hold).to.equal(false);
        expect(
          await db.knex('recordings').whereIn('id', [held.id, free.id]).where('legal_hold', true).pluck('id'),
        ).to.deep.equal([held.id]);
        const user = await insertUser(db.knex, newUser({ disabled: true }));
        expect((await findUserById(db.knex, user.id))!.disabled).to.equal(true);
      });

      it('when recordings past a deadline are queried, then the expires_at index serves the query', async () => {
        const expiry = await plan(db, 'select id from recordings where expires_at <= ?', [FAR_MS]);
        expect(expiry).to.include('recordings_expires_at_index');
        const sweep = await plan(
          db,
          "select id from recordings where status = 'stored' and expires_at <= ? order by expires_at limit 100",
          [FAR_MS],
        );
        expect(sweep).to.match(/recordings_(status_)?expires_at_index/);
        const sessions = await plan(db, 'delete from sessions where expires_at <= ?', [FAR_MS]);
        expect(sessions).to.include('sessions_expires_at_index');
      });

      it('when a second deletion_log entry names the same recording, then a unique violation is raised', async () => {
        const entry = (seq: number, hash: string) =>
          deletionLogRow({ seq, recording_id: '01JDELETED0000000000000000', hash });
        await db.knex('deletion_log').insert(entry(1, 'a'.repeat(64)));
        const error = await caught(() => db.knex('deletion_log').insert(entry(2, 'b'.repeat(64))));
        expect(isUniqueViolation(error)).to.equal(true);
        const rows = (await db.knex('deletion_log').select('seq', 'verified')) as Array<{
          seq: number;
          verified: boolean | number;
        }>;
        expect(rows.map((r) => r.seq)).to.deep.equal([1]);
        expect(Boolean(rows[0]!.verified)).to.equal(true);
      });

      it('when a deletion_log or deletion_checkpoints row is updated or deleted by a raw statement, then the database refuses it and the row stays', async () => {
        const fresh = await backend.create();
        try {
          const { knex } = fresh.db;
          await knex('deletion_log').insert(deletionLogRow({ recording_id: '01JAPPENDONLY0000000000000' }));
          await knex('deletion_checkpoints').insert({
            size: 1,
            head_hash: 'a'.repeat(64),
            at: 4,
            signature: 'c2ln',
            key_id: 'b'.repeat(64),
          });
          const attempts: Array<[string, () => Promise<unknown>]> = [
            ['update deletion_log', () => knex('deletion_log').where({ seq: 1 }).update({ call_id: 'call-2' })],
            ['delete deletion_log', () => knex('deletion_log').where({ seq: 1 }).delete()],
            ['delete all deletion_log', () => knex.raw('delete from deletion_log')],
            ['update deletion_checkpoints', () => knex('deletion_checkpoints').update({ size: 2 })],
            ['delete deletion_checkpoints', () => knex('deletion_checkpoints').delete()],
            ...(fresh.db.client === 'pg'
              ? ([
                  ['truncate deletion_log', () => knex.raw('truncate deletion_log')],
                  ['truncate deletion_checkpoints', () => knex.raw('truncate deletion_checkpoints')],
                ] as Array<[string, () => Promise<unknown>]>)
              : []),
          ];
          for (const [what, attempt] of attempts) {
            const error = (await caught(attempt)) as Error;
            expect(error.message, what).to.match(/append-only/);
          }
          expect(await knex('deletion_log').select('seq', 'call_id')).to.deep.equal([{ seq: 1, call_id: 'call-1' }]);
          expect(await knex('deletion_checkpoints').select('size')).to.deep.equal([{ size: 1 }]);
        } finally {
          await fresh.dispose();
        }
      });

      it('when a recording is deleted, then its notes go with it', async () => {
        const rec = newRecording();
        const other = newRecording();
        await insertRecording(db.knex, rec);
        await insertRecording(db.knex, other);
        const note = (recordingId: string) => ({
          id: ulid(),
          recording_id: recordingId,
          author: 'trainer-1',
          offset_ms: 1000,
          text: 'good greeting',
          created_at: 1,
        });
        await db.knex('notes').insert([note(rec.id), note(rec.id), note(other.id)]);
        await db.knex('recordings').where({ id: rec.id }).delete();
        expect(await db.knex('notes').where({ recording_id: rec.id }).select()).to.deep.equal([]);
        expect(await db.knex('notes').where({ recording_id: other.id }).select()).to.have.length(1);
      });
    });

    describe('users', function () {
      it('when a user is inserted, then it is found by username and id with its role, queues and timestamps, and listed without its hash', async () => {
        const inserted = await insertUser(db.knex, newUser({ queues: ['sales', 'billing'], createdAt: FAR_MS }));
        const byName = await findUserByUsername(db.knex, inserted.username);
        expect(byName).to.deep.equal({
          id: inserted.id,
          username: inserted.username,
          role: 'trainer',
          queues: ['sales', 'billing'],
          disabled: false,
          createdAt: FAR_MS,
          displayName: null,
          agentId: null,
        });
        expect(await findUserById(db.knex, inserted.id)).to.deep.equal(byName);
        const listed = (await listUsers(db.knex)).find((u) => u.id === inserted.id);
        expect(listed).to.deep.equal(byName);
        expect(JSON.stringify(await listUsers(db.knex))).not.to.include('scrypt$');
        expect((await findUserCredentials(db.knex, inserted.username))!.passwordHash).to.match(/^scrypt\$/);
        expect(await findUserByUsername(db.knex, 'no-such-user')).to.equal(undefined);
        const agent = await insertUser(db.knex, newUser({ role: 'agent', agentId: 'agent-17' }));
        expect(await findUserById(db.knex, agent.id)).to.include({ role: 'agent', agentId: 'agent-17', queues: null });
      });

      it('when a username is taken, then a unique violation is raised', async () => {
        const first = await insertUser(db.knex, newUser());
        const error = await caught(() => insertUser(db.knex, newUser({ username: first.username })));
        expect(isUniqueViolation(error)).to.equal(true);
      });

      it('when a user is disabled, re-enabled or given a new password hash, then the change is stored; a missing user reports false', async () => {
        const before = await countUsers(db.knex);
        const user = await insertUser(db.knex, newUser());
        expect(await countUsers(db.knex)).to.equal(before + 1);
        expect(await setUserDisabled(db.knex, user.username, true)).to.equal(true);
        expect((await findUserById(db.knex, user.id))!.disabled).to.equal(true);
        expect(await setUserDisabled(db.knex, user.username, false)).to.equal(true);
        expect((await findUserById(db.knex, user.id))!.disabled).to.equal(false);
        expect(await setUserPasswordHash(db.knex, user.username, 'scrypt$2$1$1$new$new')).to.equal(true);
        expect((await findUserCredentials(db.knex, user.username))!.passwordHash).to.equal('scrypt$2$1$1$new$new');
        expect(await setUserDisabled(db.knex, 'no-such-user', true)).to.equal(false);
      });

      it('when the stored queue list is not a JSON array of strings, then it reads as no queue at all (deny), never as every queue', async () => {
        const user = await insertUser(db.knex, newUser());
        await db.knex('users').where({ id: user.id }).update({ queues: '{"oops":1}' });
        expect((await findUserById(db.knex, user.id))!.queues).to.deep.equal([]);
      });
    });

    describe('API tokens', function () {
      const hashOf = (n: number) => n.toString(16).padStart(64, '0');
      let serial = 1000;

      it('when a token is active, then its hash finds the user; revoked or of a disabled user, then it finds nobody', async () => {
        const user = await insertUser(db.knex, newUser({ role: 'auditor' }));
        const hash = hashOf(serial++);
        const id = ulid();
        await insertApiToken(db.knex, { id, userId: user.id, name: 'ci', tokenHash: hash, createdAt: FAR_MS });
        const found = await findActiveToken(db.knex, hash);
        expect(found).to.deep.equal({
          tokenId: id,
          lastUsedAt: null,
          user: { id: user.id, username: user.username, role: 'auditor', queues: null, agentId: null },
        });
        expect(await findActiveToken(db.knex, hashOf(serial++))).to.equal(undefined);

        await setUserDisabled(db.knex, user.username, true);
        expect(await findActiveToken(db.knex, hash)).to.equal(undefined);
        await setUserDisabled(db.knex, user.username, false);
        expect(await findActiveToken(db.knex, hash)).to.not.equal(undefined);

        expect(await revokeApiToken(db.knex, id, FAR_MS + 5)).to.equal(true);
        expect(await findActiveToken(db.knex, hash)).to.equal(undefined);
        expect(await revokeApiToken(db.knex, id, FAR_MS + 9)).to.equal(true);
        const [listed] = await listApiTokens(db.knex, { userId: user.id });
        expect(listed).to.deep.equal({
          id,
          userId: user.id,
          username: user.username,
          name: 'ci',
          createdAt: FAR_MS,
          lastUsedAt: null,
          revokedAt: FAR_MS + 5,
        });
        expect(await revokeApiToken(db.knex, ulid(), FAR_MS)).to.equal(false);
      });

      it('when a token hash is stored twice, then a unique violation is raised', async () => {
        const user = await insertUser(db.knex, newUser());
        const hash = hashOf(serial++);
        await insertApiToken(db.knex, { id: ulid(), userId: user.id, name: 'a', tokenHash: hash, createdAt: 1 });
        const error = await caught(() =>
          insertApiToken(db.knex, { id: ulid(), userId: user.id, name: 'b', tokenHash: hash, createdAt: 1 }),
        );
        expect(isUniqueViolation(error)).to.equal(true);
      });

      it('when a token is used repeatedly, then last_used_at is written at most once per interval', async () => {
        const user = await insertUser(db.knex, newUser());
        const hash = hashOf(serial++);
        const id = ulid();
        await insertApiToken(db.knex, { id, userId: user.id, name: 'busy', tokenHash: hash, createdAt: 1 });
        await touchApiToken(db.knex, id, FAR_MS, 60_000);
        expect((await findActiveToken(db.knex, hash))!.lastUsedAt).to.equal(FAR_MS);
        await touchApiToken(db.knex, id, FAR_MS + 59_999, 60_000);
        expect((await findActiveToken(db.knex, hash))!.lastUsedAt).to.equal(FAR_MS);
        await touchApiToken(db.knex, id, FAR_MS + 60_000, 60_000);
        expect((await findActiveToken(db.knex, hash))!.lastUsedAt).to.equal(FAR_MS + 60_000);
      });
    });

    describe('sessions', function () {
      const hashOf = (n: number) => `5e55${n.toString(16).padStart(60, '0')}`;
      let serial = 1;

      it('when a session is inserted and slid, then it is found with its user and the new deadlines; deleting it is idempotent', async () => {
        const user = await insertUser(db.knex, newUser({ queues: ['sales'] }));
        const idHash = hashOf(serial++);
        await insertSession(db.knex, { idHash, userId: user.id, createdAt: FAR_MS, expiresAt: FAR_MS + 1_800_000 });
        expect(await findSession(db.knex, idHash)).to.deep.equal({
          idHash,
          createdAt: FAR_MS,
          lastSeenAt: FAR_MS,
          expiresAt: FAR_MS + 1_800_000,
          stage: 'full',
          oidcCheckedAt: null,
          user: { id: user.id, username: user.username, role: 'trainer', queues: ['sales'], agentId: null },
        });
        await touchSession(db.knex, idHash, FAR_MS + 600_000, FAR_MS + 2_400_000);
        expect(await findSession(db.knex, idHash)).to.deep.include({
          lastSeenAt: FAR_MS + 600_000,
          expiresAt: FAR_MS + 2_400_000,
        });
        await deleteSession(db.knex, idHash);
        expect(await findSession(db.knex, idHash)).to.equal(undefined);
        await deleteSession(db.knex, idHash);
      });

      it('when a session belongs to a disabled user, then it is not found', async () => {
        const user = await insertUser(db.knex, newUser());
        const idHash = hashOf(serial++);
        await insertSession(db.knex, { idHash, userId: user.id, createdAt: 1, expiresAt: FAR_MS });
        await setUserDisabled(db.knex, user.username, true);
        expect(await findSession(db.knex, idHash)).to.equal(undefined);
      });

      it('when expired sessions are purged, then exactly those with expires_at at or before now go', async () => {
        const user = await insertUser(db.knex, newUser());
        const now = FAR_MS - 10_000_000;
        const [past, edge, future] = [hashOf(serial++), hashOf(serial++), hashOf(serial++)];
        await insertSession(db.knex, { idHash: past, userId: user.id, createdAt: 1, expiresAt: now - 1 });
        await insertSession(db.knex, { idHash: edge, userId: user.id, createdAt: 1, expiresAt: now });
        await insertSession(db.knex, { idHash: future, userId: user.id, createdAt: 1, expiresAt: now + 1 });
        expect(await deleteExpiredSessions(db.knex, now)).to.equal(2);
        expect(await db.knex('sessions').where({ user_id: user.id }).pluck('id_hash')).to.deep.equal([future]);
        expect(await deleteUserSessions(db.knex, user.id)).to.equal(1);
      });

      it('when a user row is deleted, then its sessions and tokens go with it', async () => {
        const user = await insertUser(db.knex, newUser());
        await insertSession(db.knex, { idHash: hashOf(serial++), userId: user.id, createdAt: 1, expiresAt: FAR_MS });
        await insertApiToken(db.knex, {
          id: ulid(),
          userId: user.id,
          name: 'x',
          tokenHash: hashOf(serial++),
          createdAt: 1,
        });
        await db.knex('users').where({ id: user.id }).delete();
        expect(await db.knex('sessions').where({ user_id: user.id }).select()).to.deep.equal([]);
        expect(await db.knex('api_tokens').where({ user_id: user.id }).select()).to.deep.equal([]);
      });
    });
  });
}

describe('database contract (postgres): the append-only log under an ordinary owner role', function () {
  it('when migrated by a role that owns the database but is no superuser, then that role holds no UPDATE, DELETE or TRUNCATE on the log tables, until the migration is rolled back', async () => {
    const adminUrl = process.env.CALLREC_TEST_PG_URL;
    if (!adminUrl) throw new Error('CALLREC_TEST_PG_URL is not set: run the tests with `npm test`');
    const role = uniqueName('callrec_owner_');
    const database = uniqueName('callrec_test_');
    const password = uniqueName('pw');
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE ${role} LOGIN NOSUPERUSER PASSWORD '${password}'`);
      await admin.query(`CREATE DATABASE ${database} OWNER ${role}`);
      const url = new URL(adminUrl);
      url.pathname = `/${database}`;
      url.username = role;
      url.password = password;
      const owned = createDb({ client: 'pg', url: url.toString() });
      try {
        await owned.migrate();
        const privileges = async () => {
          const result = (await owned.knex.raw(
            `select t.name, p.name as privilege, has_table_privilege(current_user, t.name, p.name) as held
               from (values ('deletion_log'), ('deletion_checkpoints'), ('recordings')) as t(name),
                    (values ('INSERT'), ('SELECT'), ('UPDATE'), ('DELETE'), ('TRUNCATE')) as p(name)`,
          )) as { rows: Array<{ name: string; privilege: string; held: boolean }> };
          return result.rows
            .filter((r) => !r.held)
            .map((r) => `${r.name} ${r.privilege}`)
            .sort();
        };
        expect(await privileges()).to.deep.equal([
          'deletion_checkpoints DELETE',
          'deletion_checkpoints TRUNCATE',
          'deletion_checkpoints UPDATE',
          'deletion_log DELETE',
          'deletion_log TRUNCATE',
          'deletion_log UPDATE',
        ]);
        const error = (await caught(() => owned.knex.raw('delete from deletion_log'))) as Error;
        expect(error.message).to.match(/permission denied/);
        await owned.knex.migrate.down({ name: '20261201000000_append-only-log' });
        expect(await privileges()).to.deep.equal([]);
        await owned.migrate();
        expect(await privileges()).to.have.length(6);
      } finally {
        await owned.close();
      }
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    }
  });
});
