import type { AddressInfo } from 'node:net';
import express from 'express';
import { expect } from 'chai';
import { errors } from '../../src/errors.js';
import { createErrorMiddleware } from '../../src/http/problem.js';
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
    const res = await fetch(`http://127.0.0.1:${port}/boom`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
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
    const { res, body, logs } = await serve(errors.storeUnavailable({ cause: new Error('connect ECONNREFUSED 127.0.0.1:9000') }));
    expect(res.status).to.equal(503);
    expect(res.headers.get('retry-after')).to.equal('5');
    expect(JSON.stringify(body)).not.to.contain('ECONNREFUSED');
    expect(logs.join('\n')).to.contain('ECONNREFUSED');
  });
});
