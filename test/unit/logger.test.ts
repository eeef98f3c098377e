/**
 * Log redaction: direct logger calls (pure) and one real request through the
 * app (SQLite + fs; no storage behaviour is claimed) whose credentials and
 * query must not reach the captured JSON lines.
 */
import { expect } from 'chai';
import { createLogger, scrubText } from '../../src/logger.js';
import { createLogCapture, startTestApp, testConfig } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { createTestUser } from '../support/users.js';

const PHONE = '+31612345678';
const NATIONAL = '0612345678';
const SIGNED_URL =
  'https://bucket.s3.amazonaws.com/recordings/a.opus?X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=deadbeefcafe';

function capturedLogger(level = 'debug') {
  const capture = createLogCapture();
  return { logger: createLogger({ level, destination: capture.stream }), lines: capture.lines };
}

function text(lines: string[]): string {
  return lines.join('\n');
}

describe('logger redaction', function () {
  it('when an object carries callerNumber and calleeNumber at any depth, then every one is redacted', function () {
    const { logger, lines } = capturedLogger();
    logger.info(
      {
        callerNumber: PHONE,
        recording: {
          calleeNumber: PHONE,
          meta: { deeper: { callerNumber: PHONE, still: { caller_number: NATIONAL } } },
        },
        batch: [{ callerNumber: PHONE }, { phone: NATIONAL }],
        durationMs: 1234,
      },
      'ingested',
    );
    expect(lines).to.have.length(1);
    expect(text(lines)).not.to.contain('612345678');
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(entry).to.include({ callerNumber: '[redacted]', durationMs: 1234, msg: 'ingested' });
    expect(entry).to.have.nested.property('recording.meta.deeper.callerNumber', '[redacted]');
    expect(entry).to.have.nested.property('batch[1].phone', '[redacted]');
  });

  it('when secrets sit under credential-like keys, then they are redacted whatever the case', function () {
    const { logger, lines } = capturedLogger();
    logger.warn(
      {
        headers: {
          Authorization: 'Bearer tok_live_abc',
          Cookie: 'callrec_session=s3ss10n',
          'X-Callrec-Signature': 'v1=abcdef',
        },
        apiToken: 'tok_live_abc',
        sessionSecret: 'x'.repeat(40),
        password: 'hunter2-password',
      },
      'refused',
    );
    const all = text(lines);
    for (const secret of ['tok_live_abc', 's3ss10n', 'v1=abcdef', 'x'.repeat(40), 'hunter2'])
      expect(all).not.to.contain(secret);
  });

  it('when a phone number, a signed URL or a bearer token is inside a message or an error, then it is scrubbed', function () {
    const { logger, lines } = capturedLogger();
    logger.info(`calling ${PHONE} back via ${SIGNED_URL}`);
    logger.error({ err: new Error(`duplicate key (caller_number)=(${PHONE}) for ${NATIONAL}`) }, 'insert failed');
    logger.error(new Error(`Authorization: Bearer tok_live_zzz rejected for ${PHONE}`));
    logger.info({ note: `customer at +31 6 1234 5678 asked`, link: SIGNED_URL }, 'note');
    const all = text(lines);
    for (const leak of ['612345678', '1234 5678', 'X-Amz-Signature', 'deadbeefcafe', 'AKIAEXAMPLE', 'tok_live_zzz'])
      expect(all).not.to.contain(leak);
    expect(all).to.contain('https://bucket.s3.amazonaws.com/recordings/a.opus?[redacted]');
    expect(all).to.contain('duplicate key');
    expect(lines).to.have.length(4);
    expect(JSON.parse(lines[1]!)).to.have.nested.property('err.type', 'Error');
    expect(JSON.parse(lines[1]!))
      .to.have.nested.property('err.stack')
      .that.contains('duplicate key (caller_number)=([phone])');
  });

  it('when an abort (a DOMException) is logged, directly or as a cause, then it is written with its name and message', function () {
    const { logger, lines } = capturedLogger();
    const abort = new DOMException(`client at ${PHONE} went away`, 'AbortError');
    logger.warn({ err: abort }, 'aborted');
    logger.error({ err: new Error('decode failed', { cause: abort }) }, 'wrapped');
    expect(lines).to.have.length(2);
    const first = JSON.parse(lines[0]!) as { err: { type: string; message: string; name?: string } };
    expect(first.err.message).to.equal('client at [phone] went away');
    expect(text(lines)).to.contain('AbortError');
    expect(text(lines)).not.to.contain('612345678');
  });

  it('when the caller logs its own object, then that object is left untouched', function () {
    const { logger } = capturedLogger();
    const mine = { callerNumber: PHONE, nested: { url: SIGNED_URL } };
    logger.info(mine, 'x');
    expect(mine).to.deep.equal({ callerNumber: PHONE, nested: { url: SIGNED_URL } });
  });

  it('when text holds ids, hashes, timestamps and sizes, then scrubbing leaves them readable', function () {
    const line =
      'recording 01JDQ8Z5Y7KX3M2N4P6R8S0T1V sha256 3f2a9b8c7d6e5f4a3b2c1d0e9f8a7b6c at 2026-11-27T14:03:59.123Z size 48213 request 6f1c2d3e-4b5a-4c6d-8e7f-123456789012';
    expect(scrubText(line)).to.equal(line);
  });

  describe('a request with credentials and a phone number in the query (sqlite, fs)', function () {
    let testDb: TestDb;
    let testStore: TestStore;
    let app: TestApp;

    before(async function () {
      testDb = await dbBackends.find((b) => b.name === 'sqlite')!.create();
      testStore = await storeBackends.find((b) => b.name === 'fs')!.create();
      app = await startTestApp({
        db: testDb.db,
        store: testStore.store,
        config: testConfig({ CALLREC_LOG_LEVEL: 'debug' }),
      });
    });

    after(async function () {
      await app?.close();
      await testStore?.dispose();
      await testDb?.dispose();
    });

    it('when it is served, then the logs name method, route, status and request id, and carry no token, cookie or number', async function () {
      const { token } = await createTestUser(testDb.db, { role: 'privacy' });
      const requestId = 'req-log-redaction-1';
      const res = await fetch(`${app.url}/v1/subjects/recordings?phone=${encodeURIComponent(PHONE)}&limit=5`, {
        headers: {
          authorization: `Bearer ${token}`,
          cookie: 'callrec_session=not-a-real-session-value',
          'x-request-id': requestId,
        },
      });
      await res.arrayBuffer();
      const refused = await fetch(`${app.url}/v1/deletions?phone=${NATIONAL}`, {
        headers: { authorization: 'Bearer wrong-token-value-0123', cookie: 'callrec_session=another-cookie-value' },
      });
      await refused.arrayBuffer();

      const all = text(app.logs);
      for (const leak of [
        token,
        'wrong-token-value-0123',
        'not-a-real-session-value',
        'another-cookie-value',
        '612345678',
        encodeURIComponent(PHONE),
      ]) {
        expect(all, leak).not.to.contain(leak);
      }
      const entries = app.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
      const line = entries.find((e) => e.msg === 'request' && e.requestId === requestId);
      expect(line, all).to.include({ method: 'GET', route: '/v1/subjects/recordings', status: res.status });
      expect(line).to.have.property('durationMs').that.is.a('number');
      expect(line).not.to.have.any.keys('url', 'path', 'query');
    });
  });
});
