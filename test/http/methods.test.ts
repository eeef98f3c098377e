/**
 * Method dispatch at the HTTP edge (src/http/allowed-methods.ts): OPTIONS and
 * undeclared methods on every documented path, against the served document.
 * SQLite + fs: the edge answers before any backend is touched.
 */
import http from 'node:http';
import { expect } from 'chai';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Any method (fetch refuses TRACE and CONNECT), over node:http. */
function send(base: string, method: string, path: string, headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.once('error', reject);
    req.end();
  });
}

type Doc = {
  paths: Record<
    string,
    Record<string, { parameters?: Array<{ name: string; in: string; schema?: { enum?: string[] } }> }>
  >;
};

/** A concrete URL path for a documented path: the first enum value of a parameter, else a recording-like id. */
function concrete(path: string, item: Doc['paths'][string]): string {
  const params = Object.values(item).flatMap((op) => op.parameters ?? []);
  return path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const declared = params.find((p) => p.in === 'path' && p.name === name)?.schema?.enum;
    return declared?.[0] ?? '01JDQ3K7Z8X9Y0A1B2C3D4E5F6';
  });
}

function expectedAllow(item: Doc['paths'][string]): string {
  const methods = new Set(Object.keys(item).map((m) => m.toUpperCase()));
  if (methods.has('GET')) methods.add('HEAD');
  methods.add('OPTIONS');
  return ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].filter((m) => methods.has(m)).join(', ');
}

describe('HTTP methods: 405 with Allow, OPTIONS (sqlite, fs)', function () {
  let testDb: TestDb;
  let testStore: TestStore;
  let app: TestApp;
  let doc: Doc;

  before(async () => {
    testDb = await dbBackends.find((b) => b.name === 'sqlite')!.create();
    testStore = await storeBackends.find((b) => b.name === 'fs')!.create();
    app = await startTestApp({ db: testDb.db, store: testStore.store });
    doc = (await (await fetch(`${app.url}/openapi.json`)).json()) as Doc;
  });
  after(async () => {
    await app?.close();
    await testStore?.dispose();
    await testDb?.dispose();
  });

  it('when OPTIONS is sent to any documented path, then 204 lists exactly its documented methods, HEAD with GET, and OPTIONS', async () => {
    const paths = Object.entries(doc.paths);
    expect(paths.length).to.be.greaterThan(20);
    for (const [path, item] of paths) {
      const res = await send(app.url, 'OPTIONS', concrete(path, item));
      expect(res.status, path).to.equal(204);
      expect(res.headers.allow, path).to.equal(expectedAllow(item));
      expect(res.body, path).to.equal('');
    }
  });

  it('when a method a documented path does not serve is sent, then 405 method_not_allowed problem+json carries the same Allow, without credentials', async () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      const allow = expectedAllow(item);
      const refused = ['TRACE', 'PATCH', 'PUT', 'DELETE', 'POST', 'GET'].filter((m) => !allow.split(', ').includes(m));
      for (const method of refused) {
        const res = await send(app.url, method, concrete(path, item));
        expect(res.status, `${method} ${path}`).to.equal(405);
        expect(res.headers.allow, `${method} ${path}`).to.equal(allow);
        expect(res.headers['content-type'], `${method} ${path}`).to.match(/^application\/problem\+json/);
        expect(JSON.parse(res.body), `${method} ${path}`).to.include({
          status: 405,
          code: 'method_not_allowed',
          type: 'about:blank',
        });
      }
    }
  });

  it('when the path differs from the documented one only in case or a trailing slash, then it is the same resource (as Express routes it)', async () => {
    const res = await send(app.url, 'PATCH', '/V1/Recordings/');
    expect(res.status).to.equal(405);
    expect(res.headers.allow).to.equal('GET, HEAD, POST, OPTIONS');
    const get = await send(app.url, 'GET', '/HEALTHZ/');
    expect(get.status).to.equal(200);
  });

  it('when HEAD is sent where GET is documented, then it answers like GET without a body', async () => {
    const res = await send(app.url, 'HEAD', '/healthz');
    expect(res.status).to.equal(200);
    expect(res.headers['content-type']).to.match(/^application\/json/);
    expect(res.body).to.equal('');
  });

  for (const path of [
    '/v1/nothing-here',
    '/v1/recordings/01JDQ3K7Z8X9Y0A1B2C3D4E5F6/nothing',
    '/nosuchpage',
    '/assets/nosuch.js',
    '/assets/..%2fweb-routes.ts',
  ]) {
    it(`when ${path} (no documented path) gets OPTIONS or an unknown method, then the answer stays 404 not_found`, async () => {
      for (const method of ['OPTIONS', 'TRACE', 'PATCH', 'GET']) {
        const res = await send(app.url, method, path);
        expect(res.status, `${method} ${path}`).to.equal(404);
        expect(res.headers.allow, `${method} ${path}`).to.equal(undefined);
        expect(JSON.parse(res.body), `${method} ${path}`).to.include({ code: 'not_found' });
      }
    });
  }
});
