/**
 * The OpenAPI document against the routes Express really mounts (SQLite + fs:
 * the document does not depend on the backend; no storage behaviour is
 * claimed here).
 */
import { expect } from 'chai';
import type { Express } from 'express';
import { createApp } from '../../src/app.js';
import { PLAIN_COOKIE_NAME } from '../../src/auth/sessions.js';
import { buildCallrecDocument, SESSION_COOKIE_NAME } from '../../src/openapi-operations.js';
import { toOpenApiPath } from '../../src/http/openapi.js';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { startTestApp, testConfig } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { createTestUser } from '../support/users.js';

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
        if (typeof layer.route.path !== 'string')
          throw new Error(`route with a non-string path under ${prefix || '/'}: ${String(layer.route.path)}`);
        for (const [method, on] of Object.entries(layer.route.methods)) {
          if (!on) continue;
          if (method === '_all') throw new Error(`app.all() route ${prefix}${layer.route.path} cannot be documented`);
          found.add(`${method.toUpperCase()} ${toOpenApiPath(prefix + layer.route.path)}`);
        }
      } else if (layer.handle?.stack) {
        const mount =
          typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath.replace(/\/$/, '') : '';
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
  components: {
    schemas: Record<string, unknown>;
    securitySchemes: Record<string, { type: string; in?: string; name?: string; scheme?: string }>;
  };
};
type OperationObject = {
  operationId: string;
  security?: Array<Record<string, string[]>>;
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
  parameters?: Array<{ name: string; in: string; required?: boolean; schema: ParamSchema }>;
  'x-callrec-roles'?: string[];
};
type ParamSchema = {
  type?: string;
  pattern?: string;
  format?: string;
  enum?: string[];
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  anyOf?: ParamSchema[];
  examples?: string[];
};

/**
 * Whether a query value (as sent) is valid for a documented parameter schema, for the keywords query
 * parameters use. An integer is valid as its plain decimal form (OpenAPI's deserialization); formats
 * other than the patterns they come with are not judged here (undefined).
 */
function queryValueValid(schema: ParamSchema, value: string): boolean | undefined {
  if (schema.anyOf) {
    const results = schema.anyOf.map((s) => queryValueValid(s, value));
    return results.includes(true) ? true : results.includes(undefined) ? undefined : false;
  }
  if (schema.format === 'phone') return undefined;
  if (schema.type === 'integer') {
    if (!/^-?(0|[1-9][0-9]*)$/.test(value)) return false;
    const n = Number(value);
    return (
      (schema.minimum === undefined || n >= schema.minimum) && (schema.maximum === undefined || n <= schema.maximum)
    );
  }
  const length = [...value].length;
  if (schema.minLength !== undefined && length < schema.minLength) return false;
  if (schema.maxLength !== undefined && length > schema.maxLength) return false;
  if (schema.enum && !schema.enum.includes(value)) return false;
  if (schema.pattern && !new RegExp(schema.pattern, 'u').test(value)) return false;
  return true;
}

/** Boundary and everyday values for a query parameter of `schema`. */
function probeValues(schema: ParamSchema): string[] {
  const values = [
    '',
    ' ',
    '0',
    '1',
    '-1',
    '1.5',
    'x',
    'abc',
    '000',
    '2026-11-27',
    '2026-02-30',
    '2026-11-27T09:30:00Z',
    '2026-11-27 09:30',
    'x'.repeat(300),
  ];
  for (const bound of [schema.minimum, schema.maximum])
    if (bound !== undefined) values.push(String(bound - 1), String(bound), String(bound + 1));
  for (const bound of [schema.minLength, schema.maxLength])
    if (bound !== undefined) values.push('a'.repeat(bound - 1), 'a'.repeat(bound), 'a'.repeat(bound + 1));
  values.push(...(schema.enum ?? []), ...(schema.examples ?? []));
  return values;
}

function documented(doc: Doc): Set<string> {
  const out = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths))
    for (const method of Object.keys(item)) out.add(`${method.toUpperCase()} ${path}`);
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
          expect(Object.keys(response.content ?? {}), `${method} ${path} ${status}`).to.deep.equal([
            'application/problem+json',
          ]);
          expect(response.content!['application/problem+json']!.schema).to.deep.equal({
            $ref: '#/components/schemas/Problem',
          });
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

  it('when a query parameter gets boundary values, then the handler refuses (400) exactly the values its documented schema refuses', async function () {
    const admin = await createTestUser(testDb.db, { role: 'admin' });
    const privacy = await createTestUser(testDb.db, { role: 'privacy' });
    const base: Record<string, string> = { phone: '+31201234567' };
    let probed = 0;
    const mismatches: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      const op = item.get;
      if (!op || path.includes('{')) continue;
      const query = (op.parameters ?? []).filter((p) => p.in === 'query');
      const token = op['x-callrec-roles']?.includes('admin') ? admin.token : privacy.token;
      for (const param of query) {
        for (const value of probeValues(param.schema)) {
          const valid = queryValueValid(param.schema, value);
          if (valid === undefined) continue;
          const params = new URLSearchParams({
            ...Object.fromEntries(query.filter((p) => p.required && p !== param).map((p) => [p.name, base[p.name]!])),
            [param.name]: value,
          });
          const res = await fetch(`${app.url}${path}?${params}`, { headers: { authorization: `Bearer ${token}` } });
          await res.arrayBuffer();
          probed += 1;
          if ((res.status === 400) === valid)
            mismatches.push(
              `${path}?${param.name}=${JSON.stringify(value)}: document says ${valid ? 'valid' : 'invalid'}, handler ${res.status}`,
            );
        }
      }
    }
    expect(mismatches).to.deep.equal([]);
    expect(probed).to.be.greaterThan(100);
  });

  it('when the phone of a subject query is 000, then the handler refuses it and the document names the rule (format phone) beside the characters it allows', async function () {
    const privacy = await createTestUser(testDb.db, { role: 'privacy' });
    const res = await fetch(`${app.url}/v1/subjects/recordings?phone=000`, {
      headers: { authorization: `Bearer ${privacy.token}` },
    });
    expect(res.status).to.equal(400);
    for (const op of [
      doc.paths['/v1/subjects/recordings']!.get!,
      doc.paths['/v1/subjects/recordings']!.delete!,
      doc.paths['/v1/subjects/export']!.get!,
    ]) {
      const phone = op.parameters!.find((p) => p.name === 'phone')!;
      expect(phone.required).to.equal(true);
      expect(phone.schema).to.include({ type: 'string', format: 'phone' });
      for (const example of phone.schema.examples!)
        expect(new RegExp(phone.schema.pattern!, 'u').test(example), example).to.equal(true);
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
