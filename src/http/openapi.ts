/**
 * The OpenAPI 3.1 document of the HTTP interface, built from zod schemas.
 *
 * Contract: `buildOpenApiDocument(operations)` is a pure function of the
 * operation catalog (`src/openapi-operations.ts`), whose request and response
 * schemas are the zod schemas the handlers themselves parse or produce, so the
 * document cannot drift from the code without a type error or a failing test
 * (`test/http/openapi.test.ts` compares it with the routes Express actually
 * mounts; schemathesis checks live responses against it).
 * Every error response is `application/problem+json` (RFC 9457) with a stable
 * `code`.
 */
import { Router } from 'express';
import { z } from 'zod';
import type { Role } from '../domain/roles.js';
import { documentedByValue } from './request-schemas.js';

export type HttpMethod = 'get' | 'post' | 'put' | 'delete' | 'patch';
export type JsonSchema = Record<string, unknown>;
/** A request or response schema: a zod schema (converted) or a ready JSON Schema. */
export type SchemaLike = z.ZodType | JsonSchema;

export interface ContentSpec {
  schema?: SchemaLike;
  example?: unknown;
}

export interface ResponseSpec {
  description: string;
  /** Media type → schema. Omitted: the response has no body. */
  content?: Record<string, ContentSpec>;
  headers?: Record<string, { description: string; schema?: JsonSchema; required?: boolean }>;
}

/**
 * Who may call an operation: `public` (anyone), `hook` (a telephony source,
 * HMAC-signed), `twilio` (Twilio's signed callbacks), `session` (any signed-in principal; only session routes), or
 * the roles a bearer token or a session must carry.
 */
export type Access = 'public' | 'hook' | 'twilio' | 'signed-in' | readonly Role[];

export interface OperationSpec {
  method: HttpMethod;
  /** Express path, e.g. `/v1/recordings/:id`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  access: Access;
  /** Path parameters by name; defaults to a non-empty string for every `:name` in the path. */
  params?: Record<string, { description?: string; schema?: SchemaLike }>;
  /** Query parameters: a zod object whose keys are the parameter names. */
  query?: z.ZodObject;
  /** Request headers the operation reads (other than credentials). */
  headers?: Record<string, { description: string; required?: boolean; schema?: JsonSchema }>;
  body?: { required?: boolean; content: Record<string, ContentSpec>; description?: string };
  /** Success (and non-problem) responses by status. */
  responses: Record<string, ResponseSpec>;
  /** Statuses answered with problem+json (the stable codes are listed in `description`). */
  problems: Record<string, string>;
}

const ROLE_SECURITY: Array<Record<string, string[]>> = [{ bearerToken: [] }, { sessionCookie: [] }];

/** Express `/v1/recordings/:id` → OpenAPI `/v1/recordings/{id}`. */
export function toOpenApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function pathParamNames(path: string): string[] {
  return [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
}

function isZod(schema: SchemaLike): schema is z.ZodType {
  return schema instanceof z.ZodType;
}

/**
 * JSON Schema (2020-12, the dialect of OpenAPI 3.1) of a zod schema, as input (requests) or output (responses).
 * A request schema registered in `documentedByValue` (e.g. a whole-number query value) is shown by the value
 * it parses to, as OpenAPI describes a deserialized parameter.
 */
export function jsonSchemaOf(schema: SchemaLike, io: 'input' | 'output'): JsonSchema {
  if (!isZod(schema)) return schema;
  const out = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
    reused: 'inline',
    override: (ctx) => {
      if (io !== 'input' || !documentedByValue.has(ctx.zodSchema)) return;
      const value = z.toJSONSchema(ctx.zodSchema, {
        target: 'draft-2020-12',
        io: 'output',
        unrepresentable: 'any',
        reused: 'inline',
      }) as JsonSchema;
      delete value.$schema;
      const target = ctx.jsonSchema as JsonSchema;
      for (const key of Object.keys(target)) delete target[key];
      Object.assign(target, value);
    },
  }) as JsonSchema;
  delete out.$schema;
  return out;
}

/** The problem+json schema every error response uses. */
export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int().min(400).max(599),
    code: z.string().describe('Stable machine-readable error code, e.g. invalid_signature'),
    detail: z.string().optional(),
    instance: z.string().optional(),
    fields: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .loose();

const HTTP_TITLES: Record<string, string> = {
  '400': 'Bad request',
  '401': 'Unauthenticated',
  '403': 'Forbidden',
  '404': 'Not found',
  '406': 'Not acceptable',
  '408': 'Request timeout',
  '409': 'Conflict',
  '411': 'Length required',
  '413': 'Payload too large',
  '415': 'Unsupported media type',
  '416': 'Range not satisfiable',
  '422': 'Unprocessable',
  '429': 'Too many requests',
  '500': 'Internal server error',
  '503': 'Unavailable',
  '507': 'Insufficient storage',
};

function securityOf(access: Access): Array<Record<string, string[]>> | undefined {
  if (access === 'public') return [];
  if (access === 'hook') return [{ hookSource: [], hookTimestamp: [], hookSignature: [] }];
  if (access === 'twilio') return [{ twilioSignature: [] }];
  return ROLE_SECURITY;
}

function accessText(access: Access): string {
  if (access === 'public') return 'Public.';
  if (access === 'hook') return 'Telephony sources only (HMAC-signed request).';
  if (access === 'twilio') return 'Twilio only (X-Twilio-Signature, keyed by CALLREC_TWILIO_AUTH_TOKEN).';
  if (access === 'signed-in') return 'Any signed-in user.';
  return `Roles: ${access.join(', ')}.`;
}

function contentOf(content: Record<string, ContentSpec>, io: 'input' | 'output'): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [mediaType, spec] of Object.entries(content)) {
    out[mediaType] = {
      ...(spec.schema ? { schema: jsonSchemaOf(spec.schema, io) } : {}),
      ...(spec.example !== undefined ? { example: spec.example } : {}),
    };
  }
  return out;
}

function operationObject(op: OperationSpec): Record<string, unknown> {
  const parameters: Array<Record<string, unknown>> = [];
  for (const name of pathParamNames(op.path)) {
    const given = op.params?.[name];
    parameters.push({
      name,
      in: 'path',
      required: true,
      ...(given?.description ? { description: given.description } : {}),
      schema: given?.schema ? jsonSchemaOf(given.schema, 'input') : { type: 'string', minLength: 1 },
    });
  }
  if (op.query) {
    const objectSchema = jsonSchemaOf(op.query, 'input') as {
      properties?: Record<string, JsonSchema>;
      required?: string[];
    };
    for (const [name, schema] of Object.entries(objectSchema.properties ?? {})) {
      const { description, ...rest } = schema as { description?: string };
      parameters.push({
        name,
        in: 'query',
        required: objectSchema.required?.includes(name) ?? false,
        ...(description ? { description } : {}),
        schema: rest,
      });
    }
  }
  for (const [name, header] of Object.entries(op.headers ?? {})) {
    parameters.push({
      name,
      in: 'header',
      required: header.required ?? false,
      description: header.description,
      schema: header.schema ?? { type: 'string' },
    });
  }

  const responses: Record<string, unknown> = {};
  for (const [status, response] of Object.entries(op.responses)) {
    responses[status] = {
      description: response.description,
      ...(response.headers ? { headers: response.headers } : {}),
      ...(response.content ? { content: contentOf(response.content, 'output') } : {}),
    };
  }
  for (const [status, codes] of Object.entries(op.problems)) {
    responses[status] = {
      description: `${HTTP_TITLES[status] ?? 'Error'}: ${codes}`,
      content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
    };
  }

  const security = securityOf(op.access);
  return {
    operationId: op.operationId,
    summary: op.summary,
    description: [op.description, accessText(op.access)].filter(Boolean).join('\n\n'),
    tags: op.tags,
    ...(security ? { security } : {}),
    ...(typeof op.access === 'object' ? { 'x-callrec-roles': op.access } : {}),
    ...(op.access === 'hook' ? { 'x-callrec-signed-hook': true } : {}),
    ...(parameters.length ? { parameters } : {}),
    ...(op.body
      ? {
          requestBody: {
            required: op.body.required ?? true,
            ...(op.body.description ? { description: op.body.description } : {}),
            content: contentOf(op.body.content, 'input'),
          },
        }
      : {}),
    responses,
  };
}

export interface DocumentInfo {
  version: string;
  /** Absolute base URL of the service, when configured (CALLREC_PUBLIC_URL). */
  serverUrl?: string;
  sessionCookieName: string;
}

/** The OpenAPI 3.1 document for `operations`. Throws on a duplicate method+path or operationId. */
export function buildOpenApiDocument(
  operations: readonly OperationSpec[],
  info: DocumentInfo,
): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const ids = new Set<string>();
  for (const op of operations) {
    const path = toOpenApiPath(op.path);
    const item = (paths[path] ??= {});
    if (item[op.method]) throw new Error(`OpenAPI: ${op.method.toUpperCase()} ${op.path} is described twice`);
    if (ids.has(op.operationId)) throw new Error(`OpenAPI: operationId ${op.operationId} is used twice`);
    ids.add(op.operationId);
    item[op.method] = operationObject(op);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'callrec',
      version: info.version,
      summary: 'Call-recording management: signed ingest, playback, exact retention, deletion proofs.',
      description:
        'Errors are `application/problem+json` (RFC 9457) with a stable `code` member. ' +
        'Programmatic clients authenticate with `Authorization: Bearer <token>` (tokens are made with `callrec token ' +
        'create`); ' +
        'the web UI uses the session cookie set by `POST /v1/session`. Telephony sources sign uploads with ' +
        'HMAC-SHA256. ' +
        'Every GET also answers HEAD. OPTIONS on a documented path answers 204 with `Allow` (its methods, HEAD with ' +
        'GET, OPTIONS); ' +
        'another method answers 405 `method_not_allowed` with the same `Allow`. A path not documented here is 404 ' +
        '`not_found`.',
    },
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    servers: [{ url: info.serverUrl ?? '/' }],
    tags: [
      { name: 'ingest', description: 'Upload hook for telephony platforms' },
      { name: 'playback', description: 'Listing, metadata, audio, waveform and training notes (trainer, admin)' },
      { name: 'audit', description: 'Deletion log, chain verification, checkpoints and access log (auditor)' },
      { name: 'privacy', description: 'Data-subject access, export, erasure and legal hold (privacy officer)' },
      { name: 'session', description: 'Signing in and out' },
      { name: 'admin', description: 'Users and API tokens (administrator)' },
      { name: 'training', description: 'Training reviews: evaluation forms, evaluations and scorecards' },
      { name: 'operations', description: 'Health, readiness, metrics and this document' },
      { name: 'web', description: 'The web UI: static pages and browser modules' },
      { name: 'training', description: 'Evaluation forms, evaluations of calls and calibration (issue #20)' },
    ],
    paths,
    components: {
      schemas: { Problem: jsonSchemaOf(problemSchema, 'output') },
      securitySchemes: {
        hookSource: {
          type: 'apiKey',
          in: 'header',
          name: 'X-Callrec-Source',
          description: 'The id of the telephony source, as configured in CALLREC_INGEST_SOURCES (`source:secret,…`).',
        },
        hookTimestamp: {
          type: 'apiKey',
          in: 'header',
          name: 'X-Callrec-Timestamp',
          description:
            'Unix time in seconds when the request was signed; more than 300 s from the server clock is refused ' +
            '(`stale_timestamp`).',
        },
        hookSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'X-Callrec-Signature',
          description:
            '`v2=<hex>` where hex is HMAC-SHA256(source secret, `v2.<timestamp>.<source>.<Content-Length>.<sha256 ' +
            'hex of the raw request body>`), ' +
            'with that sha256 also sent as `Content-Digest: sha-256=:<base64>:` (RFC 9530): checked before the body ' +
            'is read. ' +
            'Or `v1=<hex>` where hex is HMAC-SHA256(source secret, `<timestamp>.<sha256 hex of the raw request ' +
            'body>`): checked once the body is in. ' +
            'Several comma-separated entries may be sent (secret rotation; when any is `v2`, only `v2` entries ' +
            'count). ' +
            'All three hook headers are required together.',
        },
        twilioSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'X-Twilio-Signature',
          description:
            "Twilio's request signature: base64(HMAC-SHA1(CALLREC_TWILIO_AUTH_TOKEN, CALLREC_PUBLIC_URL + path and " +
            'query + every POST parameter sorted by name as name + value)).',
        },
        bearerToken: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API token made with `callrec token create <user>`; it carries the role of its user.',
        },
        sessionCookie: {
          type: 'apiKey',
          in: 'cookie',
          name: info.sessionCookieName,
          description:
            'The httpOnly, SameSite=Strict session cookie set by `POST /v1/session` (named `__Host-callrec` instead ' +
            'when served over HTTPS). ' +
            'Unsafe methods (POST, PUT, PATCH, DELETE) authenticated by the cookie also need a same-origin `Origin` ' +
            'header.',
        },
      },
    },
  };
}

/** Serves the document at `GET /openapi.json` (built once, on first request). */
export function createOpenApiRouter(build: () => Record<string, unknown>): Router {
  const router = Router();
  let cached: string | undefined;
  router.get('/openapi.json', (_req, res) => {
    cached ??= JSON.stringify(build());
    res.setHeader('Cache-Control', 'no-cache');
    res.type('application/json').send(cached);
  });
  return router;
}
