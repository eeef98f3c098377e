/**
 * A database error is logged with its code and table, never with the statement or a bound
 * value, on SQLite and PostgreSQL: directly, as the cause of an AppError, and through a real
 * upload whose row insert the database refuses (fs store: no storage behaviour is claimed).
 */
import { expect } from 'chai';
import { errors } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { createLogCapture, startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { silentUlawWav } from '../support/fixtures.js';
import { signedUpload } from '../support/upload.js';

const MARKER = 'zq-marker-7f3a';

interface LoggedError {
  type?: string;
  message: string;
  stack?: string;
  code?: string;
  table?: string;
  constraint?: string;
  operation?: string;
}

function parsed(lines: string[]): Array<Record<string, unknown> & { err?: LoggedError }> {
  return lines.map((line) => JSON.parse(line) as Record<string, unknown> & { err?: LoggedError });
}

/** What no log line about a failed statement may contain. */
function expectNoStatement(all: string, values: string[]): void {
  for (const value of values) expect(all, value).not.to.contain(value);
  expect(all).not.to.match(/insert into|values \(|select \* from|\$1|Key \(|Failing row/i);
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the statement to fail');
}

/** Makes the database refuse every recordings insert whose agent is MARKER (a constraint of its own). */
async function refuseMarkedInserts(testDb: TestDb): Promise<void> {
  if (testDb.db.client === 'sqlite') {
    await testDb.db.knex.raw(
      `CREATE TRIGGER test_refuse_marked BEFORE INSERT ON recordings WHEN NEW.agent_id = '${MARKER}' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`,
    );
  } else {
    await testDb.db.knex.raw(
      `ALTER TABLE recordings ADD CONSTRAINT test_refuse_marked CHECK (agent_id IS DISTINCT FROM '${MARKER}')`,
    );
  }
}

for (const backend of dbBackends) {
  describe(`database errors in logs (${backend.name})`, function () {
    let testDb: TestDb;
    let testStore: TestStore;
    let app: TestApp;
    const expectedCode = backend.name === 'sqlite' ? 'SQLITE_CONSTRAINT' : '23505';

    before(async function () {
      testDb = await backend.create();
      testStore = await storeBackends.find((b) => b.name === 'fs')!.create();
    });
    after(async function () {
      await testStore.dispose();
      await testDb.dispose();
    });
    afterEach(async function () {
      await app?.close();
    });

    it('when a unique violation carrying a marked value is logged, directly or as a cause, then the line has the code and table, and neither the value nor the statement', async function () {
      const row = {
        id: `u-${MARKER}`,
        username: `user-${MARKER}`,
        role: 'trainer',
        password_hash: `hash-${MARKER}`,
        created_at: 1,
      };
      await testDb.db.knex('users').insert(row);
      const error = await failure(testDb.db.knex('users').insert({ ...row, username: `other-${MARKER}` }));
      expect(error.message, 'the driver error names the value (else this test proves nothing)').to.satisfy(
        (m: string) => backend.name === 'postgres' || m.includes('insert into'),
      );
      const capture = createLogCapture();
      const logger = createLogger({ level: 'info', destination: capture.stream });
      logger.error({ err: error }, 'direct');
      logger.error({ err: errors.dbUnavailable({ cause: error }) }, 'as a cause');
      logger.error(error);
      const all = capture.lines.join('\n');
      expectNoStatement(all, [MARKER]);
      const [direct] = parsed(capture.lines);
      expect(direct!.err).to.include({ code: expectedCode, table: 'users', operation: 'insert' });
      expect(direct!.err!.message).to.contain(expectedCode).and.contain('users');
      if (backend.name === 'postgres') expect(direct!.err).to.include({ constraint: 'users_pkey' });
      else expect(direct!.err!.message).to.contain('UNIQUE constraint failed: users.id');
      expect(all).to.contain(expectedCode);
    });

    // SQLite compares a text with an integer column without complaint and quotes no value in
    // its messages: only PostgreSQL has this failure.
    if (backend.name === 'postgres') {
      it('when a value the database cannot read is bound, then neither the message nor `where` quoting it is logged', async function () {
        const error = await failure(
          testDb.db
            .knex('recordings')
            .where({ duration_ms: MARKER as unknown as number })
            .first(),
        );
        expect(
          `${error.message} ${String((error as { where?: string }).where)}`,
          'the driver error quotes the value',
        ).to.contain(MARKER);
        const capture = createLogCapture();
        createLogger({ level: 'info', destination: capture.stream }).error({ err: error }, 'select failed');
        expect(parsed(capture.lines)[0]!.err).to.include({ code: '22P02', table: 'recordings', operation: 'select' });
        expectNoStatement(capture.lines.join('\n'), [MARKER]);
      });
    }

    it("when the database refuses an upload's row, then 503 db_unavailable, and the log names code and table but no agent, call id, object key or waveform", async function () {
      await refuseMarkedInserts(testDb);
      app = await startTestApp({ db: testDb.db, store: testStore.store });
      const callId = `call-${MARKER}`;
      const res = await signedUpload({
        url: app.url,
        fields: {
          callId,
          startedAt: new Date(Date.now() - 60_000).toISOString(),
          agentId: MARKER,
          queue: `queue-${MARKER}`,
        },
        audio: silentUlawWav(2),
      });
      expect(res.status, res.text).to.equal(503);
      expect(res.body.code).to.equal('db_unavailable');
      const all = app.logs.join('\n');
      expectNoStatement(all, [MARKER, 'recordings/', '"peaks"', 'original.wav']);
      const failed = parsed(app.logs).find((e) => e.msg === 'upload failed');
      expect(failed, all).not.to.equal(undefined);
      expect(failed!.err).to.include({
        code: backend.name === 'sqlite' ? 'SQLITE_CONSTRAINT' : '23514',
        table: 'recordings',
        operation: 'insert',
      });
    });
  });
}
