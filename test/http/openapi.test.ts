/**
 * The OpenAPI document against the routes Express really mounts (SQLite + fs:
 * the document does not depend on the backend; no storage behaviour is
 * claimed here).
 */
import { expect } from 'chai';
import type { Express } from 'express';
import { createApp } from '../../src/app.js';
import { PLAIN_COOKIE_NAME } from '../../src/auth/sessions.js';
import { buildCallrecDocument, SESSION_COOKIE_NAME } from '../../src/http/openapi-operations.js';
import { toOpenApiPath } from '../../src/http/openapi.js';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { startTestApp, testConfig } from '../support/app.js';
import type { TestApp } from '../support/app.js';

interface LayerLike {
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: LayerLike[] };
  rawPath?: unknown;
}

/**
 * Every `METHOD /path` the app answers, walking the Express 5 router stack:
 * route layers (with their methods) and nested routers (`layer.handle.stack`,
 * mounted at `layer.rawPath`). A route whose path is not a plain string cannot
 * be documented and fails the walk.
 */
export function mountedRoutes(app: Express): Set<string> {
  const found = new Set<string>();
  const walk = (stack: LayerLike[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        if (typeof layer.route.path !== 'string') throw new Error(`route with a non-string path under ${prefix || '/'}: ${String(layer.route.path)}`);
        for (const [method, on] of Object.entries(layer.route.methods)) {
          if (!on) continue;
          if (method === '_all') throw new Error(`app.all() route ${prefix}${layer.route.path} cannot be documented`);
          found.add(`${method.toUpperCase()} ${toOpenApiPath(prefix + layer.route.path)}`);
        }
      } else if (layer.handle?.stack) {
        const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath.replace(/\/$/, '') : '';
        walk(layer.handle.stack, prefix + mount);
      }
    }
  };
  walk((app as unknown as { router: { stack: LayerLike[] } }).router.stack, '');
  return found;
}

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, OperationObject>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, { type: string; in?: string; name?: string; scheme?: string }> };
};
type OperationObject = {
  operationId: string;
  security?: Array<Record<string, string[]>>;
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
  parameters?: Array<{ name: string; in: string }>;
  'x-callrec-roles'?: string[];
};

function documented(doc: Doc): Set<string> {
  const out = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths)) for (const method of Object.keys(item)) out.add(`${method.toUpperCase()} ${path}`);
  return out;
}

describe('OpenAPI document', function () {
  let testDb: TestDb;
  let testStore: TestStore;
  let app: TestApp;
  let doc: Doc;

  before(async function () {
    testDb = await dbBackends.find((b) => b.name === 'sqlite')!.create();
    testStore = await storeBackends.find((b) => b.name === 'fs')!.create();
    app = await startTestApp({ db: testDb.db, store: testStore.store, config: testConfig() });
    const res = await fetch(`${app.url}/openapi.json`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^application\/json/);
    doc = (await res.json()) as Doc;
  });

  after(async function () {
    await app?.close();
    await testStore?.dispose();
    await testDb?.dispose();
  });

  it('when the app is assembled, then every route it mounts is in the document and every documented route is mounted', function () {
    const mounted = mountedRoutes(createApp(app.deps));
    const inDoc = documented(doc);
    const missing = [...mounted].filter((r) => !inDoc.has(r)).sort();
    const extra = [...inDoc].filter((r) => !mounted.has(r)).sort();
    expect(missing, 'mounted routes missing from /openapi.json').to.deep.equal([]);
    expect(extra, 'documented routes that no router mounts').to.deep.equal([]);
    expect(mounted.size).to.be.greaterThan(10);
  });

  it('when served, then it is OpenAPI 3.1 and equals the document built from the catalog', function () {
    expect(doc.openapi).to.equal('3.1.0');
    expect(doc).to.deep.equal(JSON.parse(JSON.stringify(buildCallrecDocument(app.deps))));
  });

  it('when an operation needs credentials, then it names the bearer token and session cookie, and its roles', function () {
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const roles = op['x-callrec-roles'];
        if (roles) {
          expect(op.security, `${method} ${path}`).to.deep.equal([{ bearerToken: [] }, { sessionCookie: [] }]);
          expect(op.responses, `${method} ${path}`).to.include.keys('401', '403');
        }
      }
    }
    const hook = doc.paths['/v1/recordings']?.post;
    expect(hook?.security).to.deep.equal([{ hookSource: [], hookTimestamp: [], hookSignature: [] }]);
    const schemes = doc.components.securitySchemes;
    expect(schemes.hookSource).to.include({ type: 'apiKey', in: 'header', name: 'X-Callrec-Source' });
    expect(schemes.hookTimestamp).to.include({ type: 'apiKey', in: 'header', name: 'X-Callrec-Timestamp' });
    expect(schemes.hookSignature).to.include({ type: 'apiKey', in: 'header', name: 'X-Callrec-Signature' });
    expect(schemes.bearerToken).to.include({ type: 'http', scheme: 'bearer' });
    expect(schemes.sessionCookie).to.include({ type: 'apiKey', in: 'cookie', name: PLAIN_COOKIE_NAME });
    expect(SESSION_COOKIE_NAME).to.equal(PLAIN_COOKIE_NAME);
  });

  it('when an operation answers an error, then the error is problem+json with the Problem schema', function () {
    let problems = 0;
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        expect(op.operationId, `${method} ${path}`).to.be.a('string');
        for (const [status, response] of Object.entries(op.responses)) {
          if (Number(status) < 400 || path === '/readyz') continue;
          problems += 1;
          expect(Object.keys(response.content ?? {}), `${method} ${path} ${status}`).to.deep.equal(['application/problem+json']);
          expect(response.content!['application/problem+json']!.schema).to.deep.equal({ $ref: '#/components/schemas/Problem' });
        }
      }
    }
    expect(problems).to.be.greaterThan(20);
    expect(doc.components.schemas.Problem).to.have.nested.property('properties.code');
  });

  it('when a path has a template, then every template variable is a required path parameter', function () {
    for (const [path, item] of Object.entries(doc.paths)) {
      const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      for (const [method, op] of Object.entries(item)) {
        const inPath = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
        expect(inPath, `${method} ${path}`).to.deep.equal(names);
      }
    }
  });

  it('when the document is searched for local references, then each one resolves', function () {
    const text = JSON.stringify(doc);
    const refs = new Set([...text.matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!));
    expect(refs.size).to.be.greaterThan(0);
    for (const ref of refs) {
      expect(ref.startsWith('#/'), ref).to.equal(true);
      let node: unknown = doc;
      for (const part of ref.slice(2).split('/')) node = (node as Record<string, unknown> | undefined)?.[part];
      expect(node, ref).to.be.an('object');
    }
  });
});
