import type { AddressInfo } from 'node:net';
import express from 'express';
import { expect } from 'chai';
import { errors } from '../../src/errors.js';
import { createErrorMiddleware, isStorageFull, toAppError } from '../../src/http/problem.js';
import { StoreFullError, StoreUnavailableError } from '../../src/storage/object-store.js';
import { mapS3Error } from '../../src/storage/s3-store.js';
import { storeErrorToAppError } from '../../src/http/store-errors.js';
import { createLogger } from '../../src/logger.js';
import { createLogCapture } from '../support/app.js';

async function serve(thrown: unknown): Promise<{ res: Response; body: Record<string, unknown>; logs: string[] }> {
  const capture = createLogCapture();
  const app = express();
  app.use(express.json());
  app.post('/boom', () => {
    throw thrown;
  });
  app.use(createErrorMiddleware({ logger: createLogger({ level: 'info', destination: capture.stream }) }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const { port } = server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/boom`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    return { res, body: (await res.json()) as Record<string, unknown>, logs: capture.lines };
  } finally {
    server.close();
  }
}

describe('problem+json error middleware', () => {
  it('when an AppError is thrown, then its status, code, title and headers are sent and nothing is logged for a 4xx', async () => {
    const { res, body, logs } = await serve(errors.rateLimited(30));
    expect(res.status).to.equal(429);
    expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(res.headers.get('retry-after')).to.equal('30');
    expect(body).to.deep.equal({ type: 'about:blank', title: 'Too many requests', status: 429, code: 'rate_limited' });
    expect(logs).to.have.length(0);
  });

  it('when invalid metadata is thrown, then the fields at fault are listed', async () => {
    const { res, body } = await serve(errors.invalidMetadata([{ field: 'callId', message: 'required' }]));
    expect(res.status).to.equal(400);
    expect(body.code).to.equal('invalid_metadata');
    expect(body.fields).to.deep.equal([{ field: 'callId', message: 'required' }]);
  });

  it('when an unknown error with a database message is thrown, then the client gets 500 internal without the message, and it is logged', async () => {
    const { res, body, logs } = await serve(new Error('relation "recordings" does not exist at 10.0.0.5'));
    expect(res.status).to.equal(500);
    expect(body).to.deep.equal({ type: 'about:blank', title: 'Internal server error', status: 500, code: 'internal' });
    expect(JSON.stringify(body)).not.to.contain('relation');
    expect(logs).to.have.length(1);
    expect(logs[0]).to.contain('relation');
  });

  it('when a 503 wraps a storage cause, then the cause is logged but not sent', async () => {
    const { res, body, logs } = await serve(
      errors.storeUnavailable({ cause: new Error('connect ECONNREFUSED 127.0.0.1:9000') }),
    );
    expect(res.status).to.equal(503);
    expect(res.headers.get('retry-after')).to.equal('5');
    expect(JSON.stringify(body)).not.to.contain('ECONNREFUSED');
    expect(logs.join('\n')).to.contain('ECONNREFUSED');
  });
});

describe('a full disk at the edge', () => {
  const errno = (code: string) =>
    Object.assign(new Error(`${code}: no space left on device, write`), { code, errno: -28, syscall: 'write' });
  /** What the drivers raise (shapes as node-sqlite3 and pg build them). */
  const sqliteFull = () =>
    Object.assign(new Error('insert into `sessions` (…) values (?) - SQLITE_FULL: database or disk is full'), {
      errno: 13,
      code: 'SQLITE_FULL',
    });
  const pgDiskFull = () =>
    Object.assign(
      new Error(
        'insert into "sessions" (…) values ($1) - could not extend file "base/16384/2619": No space left on device',
      ),
      { name: 'error', code: '53100', severity: 'ERROR', routine: 'mdextend' },
    );

  it('when any layer says its disk is full, directly or as a cause, then the client gets 507 insufficient_storage with Retry-After', () => {
    for (const full of [
      errno('ENOSPC'),
      errno('EDQUOT'),
      sqliteFull(),
      pgDiskFull(),
      new StoreFullError('filesystem store: put failed (ENOSPC)'),
      new Error('wrapped', { cause: new Error('again', { cause: errno('ENOSPC') }) }),
    ]) {
      expect(isStorageFull(full), full.message).to.equal(true);
      const mapped = toAppError(full);
      expect(mapped, full.message).to.include({
        code: 'insufficient_storage',
        status: 507,
        title: 'Insufficient storage',
      });
      expect(mapped.headers['Retry-After']).to.equal('60');
      expect(mapped.message).not.to.contain('SQLITE').and.not.to.contain('ENOSPC');
    }
  });

  it('when the failure is anything else (unavailable store, other database or fs errors), then it is not called full', () => {
    for (const other of [
      errno('EIO'),
      new StoreUnavailableError('s3 store: put failed (ECONNREFUSED)'),
      Object.assign(new Error('SQLITE_BUSY: database is locked'), { errno: 5, code: 'SQLITE_BUSY' }),
      Object.assign(new Error('duplicate key'), { code: '23505', severity: 'ERROR' }),
      Object.assign(new Error('a 53100 that is no database error'), { code: '53100' }),
    ]) {
      expect(isStorageFull(other), other.message).to.equal(false);
      expect(toAppError(other).code).to.not.equal('insufficient_storage');
    }
  });

  it('when the object store is full (fs ENOSPC, S3 507 or MinIO XMinioStorageFull), then it is a StoreFullError mapped to 507, still a store_unavailable for retries', () => {
    const minio = Object.assign(new Error('Storage backend has reached its minimum free drive threshold.'), {
      name: 'XMinioStorageFull',
      $metadata: { httpStatusCode: 507 },
    });
    const status507 = Object.assign(new Error('UnknownError'), { name: 'Unknown', $metadata: { httpStatusCode: 507 } });
    for (const sdkError of [minio, status507]) {
      const mapped = mapS3Error(sdkError, 'put');
      expect(mapped).to.be.instanceOf(StoreFullError).and.to.be.instanceOf(StoreUnavailableError);
      expect((mapped as StoreFullError).code).to.equal('store_unavailable');
      expect(storeErrorToAppError(mapped)).to.include({ code: 'insufficient_storage', status: 507 });
    }
    const refused = mapS3Error(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'put');
    expect(refused).to.not.be.instanceOf(StoreFullError);
    expect(storeErrorToAppError(refused)).to.include({ code: 'store_unavailable', status: 503 });
  });

  it('when a full disk is thrown in a route, then the middleware answers 507 problem+json and logs it with the code', async () => {
    const { res, body, logs } = await serve(sqliteFull());
    expect(res.status).to.equal(507);
    expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(res.headers.get('retry-after')).to.equal('60');
    expect(body).to.include({ code: 'insufficient_storage', status: 507 });
    expect(JSON.stringify(body)).not.to.contain('SQLITE');
    expect(logs.join('\n')).to.contain('"code":"insufficient_storage"');
  });
});
