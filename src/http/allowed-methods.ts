/**
 * Method dispatch at the HTTP edge, from the route table of the OpenAPI
 * catalog (`src/openapi-operations.ts`, which `test/http/openapi.test.ts` keeps
 * equal to the routes Express mounts).
 *
 * Contract, for a request whose path is a documented path (matched like
 * Express matches: literal segments case-insensitively, an optional trailing
 * slash, each `{param}` one non-empty segment that satisfies the `enum`,
 * `pattern`, `minLength` and `maxLength` its parameter schema declares):
 * - `OPTIONS` answers 204 with `Allow`;
 * - a method the path does not serve answers 405 `method_not_allowed`
 *   (problem+json) with `Allow`;
 * - any other request goes on to the routers.
 * A request whose path is no documented path goes on (and ends in 404), but
 * OPTIONS on it is 404 here: Express's own OPTIONS answer would list the
 * methods of any route pattern that matches, even where the handler 404s.
 * `Allow` lists the documented methods, `HEAD` where `GET` is documented
 * (Express answers HEAD with the GET handler, without the body) and `OPTIONS`,
 * in the order of `METHOD_ORDER`. Nothing here reads the body or credentials:
 * which methods a path serves is public (it is in `/openapi.json`).
 */
import type { RequestHandler } from 'express';
import { errors } from '../errors.js';
import { jsonSchemaOf, toOpenApiPath } from './openapi.js';
import type { OperationSpec } from './openapi.js';

const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

type Segment = { literal: string } | { param: string; accepts: (value: string) => boolean };

interface RouteEntry {
  segments: Segment[];
  methods: Set<string>;
}

/**
 * Whether a decoded path-segment value satisfies the declared parameter schema (the keywords a path parameter uses).
 */
function segmentCheck(schema: Record<string, unknown>): (value: string) => boolean {
  const values = Array.isArray(schema.enum) ? new Set(schema.enum.map(String)) : undefined;
  const pattern = typeof schema.pattern === 'string' ? new RegExp(schema.pattern, 'u') : undefined;
  const min = typeof schema.minLength === 'number' ? schema.minLength : 1;
  const max = typeof schema.maxLength === 'number' ? schema.maxLength : Infinity;
  return (value) => {
    const length = [...value].length;
    return length >= min && length <= max && (!values || values.has(value)) && (!pattern || pattern.test(value));
  };
}

function compile(op: Pick<OperationSpec, 'path' | 'params'>): Segment[] {
  return op.path
    .split('/')
    .slice(1)
    .map((part) => {
      if (!part.startsWith(':')) return { literal: part.toLowerCase() };
      const name = part.slice(1);
      const schema = op.params?.[name]?.schema;
      return { param: name, accepts: segmentCheck(schema ? jsonSchemaOf(schema, 'input') : {}) };
    });
}

function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function matches(segments: Segment[], parts: string[]): boolean {
  if (segments.length !== parts.length) return false;
  return segments.every((segment, i) => {
    const part = parts[i]!;
    if ('literal' in segment) return segment.literal === part.toLowerCase();
    if (part === '') return false;
    const value = decode(part);
    return value !== undefined && segment.accepts(value);
  });
}

/** The `Allow` list of a set of documented (lowercase) methods. */
export function allowList(methods: Iterable<string>): string[] {
  const upper = new Set([...methods].map((m) => m.toUpperCase()));
  if (upper.has('GET')) upper.add('HEAD');
  upper.add('OPTIONS');
  return METHOD_ORDER.filter((m) => upper.has(m));
}

/**
 * The methods served at `path` (a raw, still percent-encoded URL path), as an `Allow` list;
 * undefined when `path` is no documented path. Pure; built once from the catalog.
 */
export function createMethodTable(
  operations: ReadonlyArray<Pick<OperationSpec, 'method' | 'path' | 'params'>>,
): (path: string) => string[] | undefined {
  const byPath = new Map<string, RouteEntry>();
  for (const op of operations) {
    const key = toOpenApiPath(op.path);
    let entry = byPath.get(key);
    if (!entry) byPath.set(key, (entry = { segments: compile(op), methods: new Set() }));
    entry.methods.add(op.method);
  }
  const entries = [...byPath.values()];
  return (path) => {
    // Express ignores one trailing slash (non-strict routing): `/v1/recordings/` is `/v1/recordings`.
    const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
    const parts = trimmed.split('/').slice(1);
    const methods = new Set<string>();
    for (const entry of entries) if (matches(entry.segments, parts)) for (const m of entry.methods) methods.add(m);
    return methods.size > 0 ? allowList(methods) : undefined;
  };
}

/** The middleware: OPTIONS → 204 with Allow; an undeclared method on a documented path → 405 with Allow. */
export function allowedMethods(
  operations: ReadonlyArray<Pick<OperationSpec, 'method' | 'path' | 'params'>>,
): RequestHandler {
  const allowedAt = createMethodTable(operations);
  return (req, res, next) => {
    const allow = allowedAt(req.path);
    // Express would answer OPTIONS itself wherever a route pattern matches (also on `/assets/nosuch.js`): never.
    if (!allow) return next(req.method === 'OPTIONS' ? errors.notFound('Route') : undefined);
    if (req.method === 'OPTIONS') {
      res.setHeader('Allow', allow.join(', '));
      res.status(204).end();
      return;
    }
    if (!allow.includes(req.method)) return next(errors.methodNotAllowed(allow));
    next();
  };
}
