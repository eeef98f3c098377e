/**
 * The catalog of every HTTP operation callrec serves, for the OpenAPI document.
 *
 * Like `app.ts`, this is an assembly module: it imports the request schemas
 * the feature handlers parse with (exported from their route modules, or from
 * `subjects/schemas.ts` for the privacy routes) and the
 * response schemas of `openapi-schemas.ts` (type-checked against the shapes
 * the handlers build). `test/http/openapi.test.ts` fails when a route mounted
 * by `createApp` is missing here, or when an operation here is not mounted.
 */
import type { Router } from 'express';
import { z } from 'zod';
import type { AppDeps } from './deps.js';
import { accessQuerySchema, deletionQuerySchema } from './audit/audit-routes.js';
import {
  newTokenBodySchema,
  newTokenSchema,
  newUserBodySchema,
  tokenListSchema,
  tokenQuerySchema,
  tokenSchema,
  userChangeBodySchema,
  userListSchema,
  userSchema,
  userWithPasswordSchema,
} from './auth/admin-routes.js';
import { loginBody } from './auth/session-routes.js';
import { redactionBodySchema } from './redaction/index.js';
import { STARTED_AT_SKEW_MS, ingestFieldsSchema } from './ingest/metadata.js';
import { TWILIO_HOOK_PATH, twilioCallbackSchema } from './ingest/adapters/twilio-hook.js';
import {
  listQuerySchema,
  noteSchema as noteBodySchema,
  noteSearchQuerySchema,
  noteTextSchema,
} from './playback/playback-routes.js';
import { waveformWindowQuerySchema } from './playback/waveform-window.js';
import { scorecardListSchema, scorecardQuerySchema } from './training/scorecard-routes.js';
import { WEB_ASSETS, WEB_PAGES } from './web/web-routes.js';
import {
  correctionBodySchema,
  erasureBodySchema,
  holdBodySchema,
  liftRestrictionBodySchema,
  releaseBodySchema,
  restrictionBodySchema,
  restrictionQuerySchema,
  subjectQuerySchema,
  subjectSearchQuerySchema,
} from './subjects/schemas.js';
import {
  closeBodySchema,
  createRequestBodySchema,
  extendBodySchema,
  letterQuerySchema,
  registerQuerySchema,
} from './privacy/schemas.js';
import { buildOpenApiDocument, createOpenApiRouter, jsonSchemaOf } from './http/openapi.js';
import { trainingOperations } from './openapi-training.js';
import { TRIMMED_WHITESPACE } from './http/request-schemas.js';
import type { JsonSchema, OperationSpec, ResponseSpec } from './http/openapi.js';
import {
  accessEntrySchema,
  checkpointListSchema,
  deletionEntrySchema,
  erasureResultSchema,
  healthSchema,
  noteSchema,
  privacyRequestDetailSchema,
  privacyRequestPageSchema,
  readinessSchema,
  restrictionStatusSchema,
  recordingPageSchema,
  foundNoteSchema,
  recordingSchema,
  notKeptSchema,
  sessionUserSchema,
  subjectErasureResultSchema,
  verifyResultSchema,
  waveformSchema,
} from './openapi-schemas.js';

/**
 * The session cookie over plain HTTP (`__Host-callrec` over HTTPS); checked against auth/sessions.ts by the OpenAPI
 * test.
 */
export const SESSION_COOKIE_NAME = 'callrec_session';

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The upload hook's multipart form, from the handler's own text-field schema
 * (`ingestFieldsSchema`) as the wire sees it: the handler trims every field and
 * treats an empty one as absent, so each pattern (or enum) is widened to allow
 * surrounding whitespace, and an optional field may be empty. Then the file part.
 * Other fields are refused by the handler (400 invalid_metadata).
 */
function ingestFormSchema(): JsonSchema {
  const fields = jsonSchemaOf(ingestFieldsSchema, 'input') as {
    properties: Record<string, JsonSchema>;
    required?: string[];
  };
  const required = new Set(fields.required ?? []);
  // Exactly what the handler's `trim()` removes (a bare `\s` differs between regex dialects).
  const ws = `[${TRIMMED_WHITESPACE}]`;
  const properties: Record<string, JsonSchema> = {};
  for (const [name, schema] of Object.entries(fields.properties)) {
    const { pattern, enum: values, ...rest } = schema as { pattern?: string; enum?: string[] };
    const inner = pattern
      ? pattern.replace(/^\^/, '').replace(/\$$/, '')
      : values
        ? values.map(escapeRegex).join('|')
        : undefined;
    properties[name] =
      inner === undefined
        ? rest
        : {
            ...rest,
            type: 'string',
            pattern: required.has(name) ? `^${ws}*(?:${inner})${ws}*$` : `^${ws}*(?:(?:${inner}))?${ws}*$`,
          };
  }
  properties.startedAt = {
    ...properties.startedAt,
    description:
      `When the call started; at most ${STARTED_AT_SKEW_MS / 60_000} minutes ahead of the server clock ` +
      `(else 400), and its retention not yet elapsed (else 422 retention_elapsed)`,
  };
  if (properties.endedAt) {
    properties.endedAt = {
      ...properties.endedAt,
      description:
        `When the call ended; not before startedAt and at most ${STARTED_AT_SKEW_MS / 60_000} minutes ` +
        `ahead of the server clock (else 400)`,
    };
  }
  for (const name of ['callerNumber', 'calleeNumber']) {
    properties[name] = {
      ...properties[name],
      description:
        'A phone number (format `phone`): E.164 or national in CALLREC_PHONE_REGION, valid for its region; stored as ' +
        'E.164. ' +
        'Empty or anonymous/unknown/restricted/private/withheld/unavailable/blocked (any case): stored as withheld; ' +
        '1 to 6 digits, * or #, or s: stored as internal; neither has a number',
    };
  }
  properties.audio = {
    type: 'string',
    format: 'binary',
    contentMediaType: 'application/octet-stream',
    description: 'The recording (WAV, MP3, Opus, …); last part',
  };
  return {
    type: 'object',
    description:
      'Text fields first (trimmed; an empty optional field counts as absent), the file part `audio` last. ' +
      'Any other text field is refused (400 invalid_metadata naming it and listing the accepted ones). ' +
      'A number field that is empty or says anonymous, unknown, restricted (…) is stored as withheld, an extension ' +
      '(1 to 6 digits, or s) as internal: 201, without a number.',
    properties,
    required: [...required, 'audio'],
    additionalProperties: false,
  };
}
const subjectPageSchema = z.object({ items: z.array(recordingSchema), nextCursor: z.string().nullable() });
const json = (schema: z.ZodType, description: string): ResponseSpec => ({
  description,
  content: { 'application/json': { schema } },
});
const ID_PARAM = {
  id: { description: 'Recording id (ULID)', schema: { type: 'string', minLength: 1, maxLength: 64 } },
};
const REQUEST_ID_PARAM = {
  id: { description: 'Privacy request id (ULID)', schema: { type: 'string', minLength: 1, maxLength: 64 } },
};
const CASE_PROBLEMS = {
  '404': 'not_found (no such recording, or no such privacy request)',
  '409': 'request_closed (the privacy request is closed), not_in_request (the number is not one of the request)',
} as const;

/** Statuses every authenticated operation may answer with. */
const AUTH_PROBLEMS = {
  '401': 'unauthenticated (no or an invalid token or session)',
  '403':
    'forbidden (the role may not call this), origin_mismatch (cookie-authenticated unsafe request from another ' +
    'origin), second_factor_required (a session that has passed the password but not yet the second factor, or ' +
    'must enrol one; `next`: code or enrol)',
} as const;
const SERVER_PROBLEMS = {
  '503': 'db_unavailable, store_unavailable, overloaded (with Retry-After)',
  '507': 'insufficient_storage (a disk the service writes to is full; with Retry-After)',
} as const;

function operationsCore(): OperationSpec[] {
  return [
    // --- operations -------------------------------------------------------------------------
    {
      method: 'get',
      path: '/healthz',
      operationId: 'getHealth',
      summary: 'Liveness: the process answers',
      tags: ['operations'],
      access: 'public',
      responses: { '200': json(healthSchema, 'Alive') },
      problems: {},
    },
    {
      method: 'get',
      path: '/readyz',
      operationId: 'getReadiness',
      summary: 'Readiness: the database and the object store answer, and the disk has room',
      tags: ['operations'],
      access: 'public',
      responses: {
        '200': json(readinessSchema, 'Ready'),
        '503': json(readinessSchema, 'Not ready (names which check failed)'),
      },
      problems: {},
    },
    {
      method: 'get',
      path: '/metrics',
      operationId: 'getMetrics',
      summary: 'Prometheus metrics (text exposition format); labels carry no personal data',
      tags: ['operations'],
      access: 'public',
      responses: { '200': { description: 'Metrics', content: { 'text/plain': { schema: { type: 'string' } } } } },
      problems: {},
    },
    {
      method: 'get',
      path: '/openapi.json',
      operationId: 'getOpenApi',
      summary: 'This OpenAPI 3.1 document',
      tags: ['operations'],
      access: 'public',
      responses: {
        '200': { description: 'The document', content: { 'application/json': { schema: { type: 'object' } } } },
      },
      problems: {},
    },

    // --- sessions ---------------------------------------------------------------------------
    {
      method: 'post',
      path: '/v1/session',
      operationId: 'signIn',
      summary: 'Sign in; sets the httpOnly, SameSite=Strict session cookie',
      tags: ['session'],
      access: 'public',
      body: {
        content: {
          'application/json': {
            schema: loginBody,
          },
        },
      },
      responses: {
        '200': {
          ...json(
            z.object({
              user: sessionUserSchema.partial({ role: true, queues: true }),
              next: z
                .enum(['code', 'enrol'])
                .optional()
                .describe(
                  'present when the password passed but a second factor is needed: `code` (POST /v1/session/code) or ' +
                    '`enrol` (POST /v1/session/enrolment); the cookie then holds a step session that only these ' +
                    'calls accept',
                ),
            }),
            'Signed in, or password accepted and the next step named',
          ),
          headers: { 'Set-Cookie': { description: 'The session cookie', schema: { type: 'string' } } },
        },
      },
      problems: {
        '400': 'invalid_request',
        '401': 'invalid_credentials',
        '403': 'origin_mismatch',
        '413': 'too_large',
        '429': 'rate_limited (Retry-After)',
        ...SERVER_PROBLEMS,
      },
    },
    {
      method: 'get',
      path: '/v1/session',
      operationId: 'getSession',
      summary: 'Who is signed in',
      tags: ['session'],
      access: 'signed-in',
      responses: {
        '200': json(z.object({ user: sessionUserSchema, via: z.enum(['token', 'session']) }), 'The signed-in user'),
      },
      problems: {
        '401': AUTH_PROBLEMS['401'],
        '403': 'second_factor_required (the session awaits the second factor; `next`: code or enrol)',
        ...SERVER_PROBLEMS,
      },
    },
    {
      method: 'post',
      path: '/v1/session/code',
      operationId: 'signInCode',
      summary: 'Second factor of a sign-in: a TOTP code (or a recovery code, once each); starts the full session',
      tags: ['session'],
      access: 'public',
      body: { content: { 'application/json': { schema: z.object({ code: z.string().min(1).max(64) }) } } },
      responses: {
        '200': {
          ...json(
            z.object({
              user: sessionUserSchema,
              recoveryCodesLeft: z.number().int().optional().describe('after a recovery code: how many are left'),
            }),
            'Signed in (a new session cookie)',
          ),
          headers: { 'Set-Cookie': { description: 'The session cookie', schema: { type: 'string' } } },
        },
      },
      problems: {
        '400': 'invalid_request',
        '401': 'unauthenticated (no session at the code step), invalid_code (wrong, used or outside ±1 step)',
        '403': 'origin_mismatch, second_factor_required (the session must enrol instead)',
        '409': 'conflict (signed in already)',
        '413': 'too_large',
        '429': 'rate_limited (Retry-After)',
        ...SERVER_PROBLEMS,
      },
    },
    {
      method: 'post',
      path: '/v1/session/enrolment',
      operationId: 'startEnrolment',
      summary: 'Start enrolling a TOTP second factor: a new secret, shown once (also as an otpauth URI and a QR code)',
      tags: ['session'],
      access: 'public',
      responses: {
        '200': json(
          z.object({ secret: z.string(), otpauthUri: z.string(), qrDataUrl: z.string() }),
          'The new secret (confirm it with a first code)',
        ),
      },
      problems: {
        '401': 'unauthenticated (neither an enrolment-step session nor a signed-in session)',
        '403':
          'origin_mismatch, forbidden (an API token cannot enrol), second_factor_required (the session awaits a code)',
        '409': 'conflict (a second factor is enrolled already)',
        ...SERVER_PROBLEMS,
      },
    },
    {
      method: 'post',
      path: '/v1/session/enrolment/confirm',
      operationId: 'confirmEnrolment',
      summary: 'Confirm enrolment with a first code: ten single-use recovery codes, shown once',
      tags: ['session'],
      access: 'public',
      body: { content: { 'application/json': { schema: z.object({ code: z.string().min(1).max(64) }) } } },
      responses: {
        '200': json(
          z.object({ recoveryCodes: z.array(z.string()), user: sessionUserSchema }),
          'Enrolled; an enrolment-step session becomes a full one (a new session cookie)',
        ),
      },
      problems: {
        '400': 'invalid_request',
        '401': 'unauthenticated, invalid_code',
        '403':
          'origin_mismatch, forbidden (an API token cannot enrol), second_factor_required (the session awaits a code)',
        '409': 'conflict (no enrolment started, or enrolled already)',
        '413': 'too_large',
        '429': 'rate_limited (Retry-After)',
        ...SERVER_PROBLEMS,
      },
    },
    {
      method: 'get',
      path: '/v1/session/providers',
      operationId: 'signInProviders',
      summary: 'How one can sign in: local passwords (CALLREC_LOCAL_LOGIN) and the identity provider, if configured',
      tags: ['session'],
      access: 'public',
      responses: {
        '200': json(
          z.object({
            localLogin: z.enum(['on', 'admins-only', 'off']),
            oidc: z.object({ name: z.string(), loginUrl: z.string() }).nullable(),
          }),
          'The sign-in options',
        ),
      },
      problems: { ...SERVER_PROBLEMS },
    },
    {
      method: 'get',
      path: '/v1/session/oidc/login',
      operationId: 'oidcLogin',
      summary: 'Start single sign-on: redirects to the identity provider (authorization code flow, PKCE, state, nonce)',
      tags: ['session'],
      access: 'public',
      query: z.strictObject({
        next: z.string().optional().describe('same-site path to go on to (anything else: /recordings)'),
      }),
      responses: { '302': { description: 'To the identity provider; sets the flow cookie' } },
      problems: { '404': 'not_found (no identity provider configured)', ...SERVER_PROBLEMS },
    },
    {
      method: 'get',
      path: '/v1/session/oidc/callback',
      operationId: 'oidcCallback',
      summary: "The identity provider's redirect back: starts a session, or sends the browser to /login?error=sso",
      tags: ['session'],
      access: 'public',
      query: z.object({}).passthrough(),
      responses: {
        '302': {
          description: 'To /signin-done (signed in, a new session cookie) or /login?error=sso|sso-no-role',
        },
      },
      problems: { '404': 'not_found (no identity provider configured)', ...SERVER_PROBLEMS },
    },
    {
      method: 'delete',
      path: '/v1/session',
      operationId: 'signOut',
      summary: 'Sign out: ends the session (if any) and clears the cookie',
      tags: ['session'],
      access: 'public',
      responses: {
        '200': json(
          z.object({ logoutUrl: z.string() }),
          'Signed out of a session from the identity provider: go on to its end-session URL (RP-initiated logout)',
        ),
        '204': { description: 'Signed out' },
      },
      problems: { '403': 'origin_mismatch', ...SERVER_PROBLEMS },
    },

    // --- playback ---------------------------------------------------------------------------
    {
      method: 'get',
      path: '/v1/recordings',
      operationId: 'listRecordings',
      summary: 'Search recordings (newest first, keyset pagination)',
      tags: ['playback'],
      access: ['trainer', 'privacy', 'admin'],
      query: listQuerySchema,
      responses: { '200': json(recordingPageSchema, 'One page of recordings') },
      problems: { '400': 'invalid_query (with fields)', ...AUTH_PROBLEMS, ...SERVER_PROBLEMS },
    },
    {
      method: 'get',
      path: '/v1/recording-filters',
      operationId: 'listRecordingFilterValues',
      summary: 'The queues and agents the caller may filter the recordings list by',
      description:
        "Distinct values of the recordings the caller may see (a trainer: their queues' only), sorted " +
        'case-insensitively, at most 1,000 of each. An agent carries the display name of the user bound to it ' +
        '(`users.agent_id`), else null.',
      tags: ['playback'],
      access: ['trainer', 'privacy', 'admin'],
      query: z.strictObject({}),
      responses: {
        '200': json(
          z.object({
            queues: z.array(z.string()),
            agents: z.array(z.object({ agentId: z.string(), displayName: z.string().nullable() })),
          }),
          'The values',
        ),
      },
      problems: { '400': 'invalid_query', ...AUTH_PROBLEMS, ...SERVER_PROBLEMS },
    },
    {
      method: 'get',
      path: '/v1/notes',
      operationId: 'searchNotes',
      summary: 'Search training notes (text, author, date) on the recordings the caller may see (newest first)',
      description:
        "A trainer finds notes on their queues' recordings only; nobody finds notes on recordings they may not " +
        'open. Logged in the access log as a `search` with the hit count (never the words or the author).',
      tags: ['playback'],
      access: ['trainer', 'privacy', 'admin'],
      query: noteSearchQuerySchema,
      responses: {
        '200': json(
          z.object({
            items: z.array(foundNoteSchema),
            nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page'),
          }),
          'One page of notes',
        ),
      },
      problems: { '400': 'invalid_query (with fields)', ...AUTH_PROBLEMS, ...SERVER_PROBLEMS },
    },
    {
      method: 'get',
      path: '/v1/recordings/:id',
      operationId: 'getRecording',
      summary: 'One recording (caller and callee numbers masked for trainers and agents)',
      description:
        'An agent opens only the calls of their own evaluations that reached them (submitted, acknowledged or ' +
        'disputed); any other call is 404 to them, as are the audio and the waveform.',
      tags: ['playback'],
      access: ['trainer', 'privacy', 'admin', 'agent'],
      params: ID_PARAM,
      responses: { '200': json(recordingSchema, 'The recording') },
      problems: { ...AUTH_PROBLEMS, '404': 'not_found', ...SERVER_PROBLEMS },
    },
    {
      method: 'get',
      path: '/v1/recordings/:id/audio',
      operationId: 'getRecordingAudio',
      summary: 'The playback rendition; single byte ranges (RFC 9110)',
      tags: ['playback'],
      access: ['trainer', 'privacy', 'admin', 'agent'],
      params: ID_PARAM,
      query: z.object({
        download: z
          .string()
          .optional()
          .describe('`1`: send as an attachment (logged as `download`); any other value plays (logged as `play`)'),
      }),
      headers: {
        Range: { description: 'One byte range, e.g. `bytes=0-1023`; anything else is ignored (200)' },
        'If-Range': { description: 'Strong ETag; a mismatch sends the whole representation' },
      },
      responses: {
        '200': {
          description: 'The whole rendition',
          content: {
            'audio/ogg': { schema: { type: 'string', format: 'binary' } },
            'audio/mpeg': { schema: { type: 'string', format: 'binary' } },
          },
          headers: {
            'Accept-Ranges': { description: '`bytes`', schema: { type: 'string' } },
            ETag: { description: 'Strong ETag of the rendition', schema: { type: 'string' } },
            'Cache-Control': { description: '`private, no-store`', schema: { type: 'string' } },
          },
        },
        '206': {
          description: 'The requested range',
          content: {
            'audio/ogg': { schema: { type: 'string', format: 'binary' } },
            'audio/mpeg': { schema: { type: 'string', format: 'binary' } },
          },
          headers: { 'Content-Range': { description: '`bytes start-end/size`', schema: { type: 'string' } } },
        },
      },
      problems: {
        ...AUTH_PROBLEMS,
        '404': 'not_found',
        '416': 'range_not_satisfiable (Content-Range: bytes */size)',
        '500': 'integrity (the stored audio failed authentication: damaged, truncated or swapped; nothing is sent)',
        ...SERVER_PROBLEMS,
      },
    },
    {
      method: 'get',
      path: '/v1/recordings/:id/waveform',
      operationId: 'getRecordingWaveform',
      summary: 'Peaks for drawing the waveform',
      description:
        'Without a query: the whole call (the peaks stored at ingest, at most 4,000 per channel). With `from`, ' +
        '`to` or `points`: the peaks of that time window at a finer resolution (zooming into long calls), ' +
        'decoded from the rendition on demand, with `fromMs` and `toMs` saying where the window lies and ' +
        '`durationMs` the stretch the peaks cover; `samplesPerPeak` at `sampleRate` is the time per peak. A ' +
        'window that is empty, reversed or past the end of the call has no peaks.',
      tags: ['playback'],
      access: ['trainer', 'privacy', 'admin', 'agent'],
      params: ID_PARAM,
      query: waveformWindowQuerySchema,
      responses: { '200': json(waveformSchema, 'Peaks per channel') },
      problems: {
        ...AUTH_PROBLEMS,
        '400': 'invalid_query',
        '404': 'not_found',
        '500': 'internal',
        ...SERVER_PROBLEMS,
      },
    },
    {
      method: 'get',
      path: '/v1/recordings/:id/notes',
      operationId: 'listNotes',
      summary: 'Training notes of a recording',
      tags: ['playback'],
      access: ['trainer', 'privacy', 'admin'],
      params: ID_PARAM,
      responses: { '200': json(z.object({ items: z.array(noteSchema) }), 'The notes, oldest first') },
      problems: { ...AUTH_PROBLEMS, '404': 'not_found', ...SERVER_PROBLEMS },
    },
    {
      method: 'patch',
      path: '/v1/recordings/:id/notes/:noteId',
      operationId: 'changeNote',
      summary: 'Change the text of a training note (its author only; offset and author stay)',
      tags: ['playback'],
      access: ['trainer', 'admin'],
      params: {
        ...ID_PARAM,
        noteId: { description: 'Note id (ULID)', schema: { type: 'string', minLength: 1, maxLength: 64 } },
      },
      body: { content: { 'application/json': { schema: noteTextSchema } } },
      responses: { '200': json(noteSchema, 'The note') },
      problems: {
        '400': 'invalid_request (with fields)',
        ...AUTH_PROBLEMS,
        '404': 'not_found (no such recording or note)',
        '413': 'too_large',
        '415': 'unsupported_media_type',
        ...SERVER_PROBLEMS,
      },
    },
    {
      method: 'delete',
      path: '/v1/recordings/:id/notes/:noteId',
      operationId: 'deleteNote',
      summary: 'Delete a training note (its author only)',
      tags: ['playback'],
      access: ['trainer', 'admin'],
      params: {
        ...ID_PARAM,
        noteId: { description: 'Note id (ULID)', schema: { type: 'string', minLength: 1, maxLength: 64 } },
      },
      responses: { '204': { description: 'Deleted' } },
      problems: { ...AUTH_PROBLEMS, '404': 'not_found (no such recording or note)', ...SERVER_PROBLEMS },
    },
    {
      method: 'post',
      path: '/v1/recordings/:id/notes',
      operationId: 'addNote',
      summary: 'Leave a training note at an offset',
      tags: ['playback'],
      access: ['trainer', 'admin'],
      params: ID_PARAM,
      body: { content: { 'application/json': { schema: noteBodySchema } } },
      responses: {
        '201': {
          ...json(noteSchema, 'The note'),
          headers: { Location: { description: '`/v1/recordings/<id>/notes/<noteId>`', schema: { type: 'string' } } },
        },
      },
      problems: {
        '400': 'invalid_request (with fields)',
        ...AUTH_PROBLEMS,
        '404': 'not_found',
        '413': 'too_large',
        '415': 'unsupported_media_type',
        ...SERVER_PROBLEMS,
      },
    },

    // --- ingest -----------------------------------------------------------------------------
    {
      method: 'post',
      path: '/v1/recordings',
      operationId: 'uploadRecording',
      summary: 'Upload hook: one recording with its call metadata (HMAC-signed by the telephony source)',
      description:
        'multipart/form-data with the text fields first and the file part `audio` last. Idempotent per (source, ' +
        'callId): ' +
        'the same audio again answers 200 with the same recording, other audio 409. Whatever fails, nothing stays ' +
        'behind.\n\n' +
        'Signed `v2` (recommended), the request is verified from its headers before the body is read, and the body ' +
        'is then ' +
        'held to its Content-Length and Content-Digest. Signed `v1`, the body must arrive before the signature can ' +
        'be checked: ' +
        'such bodies are bounded per source and per client address (503 `too_many_unverified`). A body that arrives ' +
        'slower ' +
        'than CALLREC_UPLOAD_MIN_RATE after CALLREC_UPLOAD_RATE_GRACE is dropped with 408.',
      tags: ['ingest'],
      access: 'hook',
      headers: {
        'Content-Digest': {
          description:
            'RFC 9530 digest of the raw body, `sha-256=:<base64 of the sha256>:`; required with a `v2` signature ' +
            '(which covers it), ignored with `v1`.',
        },
      },
      body: { content: { 'multipart/form-data': { schema: ingestFormSchema() } } },
      responses: {
        '201': {
          ...json(recordingSchema, 'Stored'),
          headers: { Location: { description: '`/v1/recordings/<id>`', schema: { type: 'string' } } },
        },
        '200': json(
          z.union([recordingSchema, notKeptSchema]),
          'Already stored with the same audio (idempotent retry); or not kept, because the caller or callee number ' +
            'is under an objection that says "do not keep" (nothing stored; one deletion-log entry of reason ' +
            '`objection`, answered again on a retry)',
        ),
      },
      problems: {
        '400': 'invalid_metadata (with fields), invalid_request (malformed multipart)',
        '401': 'invalid_signature, stale_timestamp, unknown_source',
        '408': 'request_timeout (the body arrived slower than the minimum rate)',
        '409': 'duplicate_call_id',
        '411': 'length_required (a v2 signature without Content-Length)',
        '413': 'too_large',
        '415': 'unsupported_audio, audio_format_mismatch, unsupported_media_type',
        '422': 'retention_elapsed',
        '503': 'overloaded, too_many_unverified, shutting_down, store_unavailable, db_unavailable (with Retry-After)',
        '507':
          'insufficient_storage (temp files, the object store or the database out of space; nothing kept; with ' +
          'Retry-After)',
      },
    },
    {
      method: 'post',
      path: TWILIO_HOOK_PATH,
      operationId: 'twilioRecordingStatus',
      summary: "Twilio's recording status callback: queues the import of a completed recording",
      description:
        'Set as `recordingStatusCallback` (method POST) in Twilio. A `completed` recording is queued as an import ' +
        'job (one per ' +
        'RecordingSid: a replayed callback adds none) and answered 202 once the job is in the database; a worker ' +
        'then ' +
        'fetches the media and the Call resource, stores the recording (source `twilio`, callId = RecordingSid) and ' +
        'deletes ' +
        'it at Twilio. Other statuses are answered 204. 404 while no Twilio account is configured.',
      tags: ['ingest'],
      access: 'twilio',
      body: { content: { 'application/x-www-form-urlencoded': { schema: twilioCallbackSchema } } },
      responses: {
        '202': json(
          z.object({ recordingSid: z.string(), status: z.enum(['pending', 'stored', 'done', 'failed']) }),
          'Queued (or queued before)',
        ),
        '204': { description: 'Not a completed recording: nothing queued' },
      },
      problems: {
        '400': "invalid_metadata (with fields; also another account's AccountSid)",
        '401': 'invalid_signature',
        '404': 'not_found (Twilio is not configured)',
        '413': 'too_large',
        '415': 'unsupported_media_type',
        '503': 'db_unavailable (with Retry-After)',
        '507': 'insufficient_storage (the database is out of space; with Retry-After)',
      },
    },

    {
      method: 'post',
      path: '/v1/hooks/s3-events/:name',
      operationId: 's3DropEvent',
      summary: 'S3 event notification of a drop-bucket source: lists the bucket at once',
      description:
        'The bucket event notification (MinIO webhook target, or any relay of S3 events) of the drop-bucket source ' +
        '`name` (`callrec import add-s3`). The body is not relied on: the answer starts a listing pass of the ' +
        'source, ' +
        'which imports what is new. Authenticated by the source secret `callrec import add-s3` printed, sent as ' +
        '`Authorization: Bearer <secret>` (MinIO: MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_<ID>); an unknown source and a ' +
        'wrong ' +
        'secret get the same 401.',
      tags: ['ingest'],
      access: 'public',
      params: { name: { description: 'The source name given to `callrec import add-s3`' } },
      headers: { Authorization: { description: '`Bearer <the source secret>`' } },
      responses: { '204': { description: 'Accepted: a listing pass runs now (or right after the one running)' } },
      problems: { '401': 'unauthenticated', '413': 'too_large (a body over 1 MiB)', '503': 'db_unavailable' },
    },
    // --- privacy ----------------------------------------------------------------------------
    {
      method: 'get',
      path: '/v1/subjects/recordings',
      operationId: 'findSubjectRecordings',
      summary: 'Subject access: every recording where the number is the caller or the callee',
      tags: ['privacy'],
      access: ['privacy'],
      query: subjectSearchQuerySchema,
      responses: { '200': json(subjectPageSchema, 'One page of recordings, unmasked') },
      problems: {
        '400': 'invalid_query (with fields)',
        ...AUTH_PROBLEMS,
        '404': 'not_found (no such privacy request)',
        '409': CASE_PROBLEMS['409'],
        ...SERVER_PROBLEMS,
      },
    },
    {
      method: 'get',
      path: '/v1/subjects/export',
      operationId: 'exportSubject',
      summary: 'Subject export (portability): a zip of the audio, metadata and access history',
      tags: ['privacy'],
      access: ['privacy'],
      query: subjectQuerySchema,
      responses: {
        '200': {
          description: 'The zip (streamed)',
          content: { 'application/zip': { schema: { type: 'string', format: 'binary' } } },
          headers: {
            'Content-Disposition': {
              description: 'attachment; filename="callrec-export-<time>.zip"',
              schema: { type: 'string' },
            },
          },
        },
      },
      problems: {
        '400': 'invalid_query (with fields)',
        ...AUTH_PROBLEMS,
        '404': 'not_found (no such privacy request)',
        '409': CASE_PROBLEMS['409'],
        ...SERVER_PROBLEMS,
      },
    },
    {
      method: 'delete',
      path: '/v1/subjects/recordings',
      operationId: 'eraseSubject',
      summary: 'Erasure: delete every recording of a number now (each one logged in the deletion log)',
      tags: ['privacy'],
      access: ['privacy'],
      query: subjectQuerySchema,
      body: { content: { 'application/json': { schema: erasureBodySchema } } },
      responses: {
        '200': json(
          subjectErasureResultSchema,
          'What was erased (with its deletion-log entry) and what another process is finishing',
        ),
      },
      problems: {
        '400': 'invalid_query, invalid_request (with fields)',
        ...AUTH_PROBLEMS,
        '404': 'not_found (no recording of this number, or no such privacy request)',
        '409':
          "legal_hold (lists the held ids; nothing erased; recorded on the request's timeline), request_closed, " +
          'not_in_request',
        '413': 'too_large',
        ...SERVER_PROBLEMS,
      },
    },
    {
      method: 'delete',
      path: '/v1/recordings/:id',
      operationId: 'eraseRecording',
      summary: 'Erasure of one recording before its retention ends',
      tags: ['privacy'],
      access: ['privacy'],
      params: ID_PARAM,
      body: { content: { 'application/json': { schema: erasureBodySchema } } },
      responses: { '200': json(erasureResultSchema, 'Erased (the deletion-log entry proves it)') },
      problems: {
        '400': 'invalid_request (with fields)',
        ...AUTH_PROBLEMS,
        '404': CASE_PROBLEMS['404'],
        '409': "legal_hold (recorded on the request's timeline), conflict, request_closed",
        '413': 'too_large',
        ...SERVER_PROBLEMS,
      },
    },
    {
      method: 'put',
      path: '/v1/recordings/:id/hold',
      operationId: 'placeHold',
      summary: 'Place a legal hold: the recording is kept past its retention until released',
      tags: ['privacy'],
      access: ['privacy', 'admin'],
      params: ID_PARAM,
      body: { content: { 'application/json': { schema: holdBodySchema } } },
      responses: { '200': json(recordingSchema, 'The recording, now held') },
      problems: {
        '400': 'invalid_request (with fields)',
        ...AUTH_PROBLEMS,
        '404': CASE_PROBLEMS['404'],
        '409': 'conflict, request_closed',
        '413': 'too_large',
        ...SERVER_PROBLEMS,
      },
    },
    {
      method: 'delete',
      path: '/v1/recordings/:id/hold',
      operationId: 'releaseHold',
      summary: 'Release a legal hold (an overdue recording is then deleted by the next sweep)',
      tags: ['privacy'],
      access: ['privacy', 'admin'],
      params: ID_PARAM,
      body: { required: false, content: { 'application/json': { schema: releaseBodySchema } } },
      responses: { '200': json(recordingSchema, 'The recording, released') },
      problems: {
        '400': 'invalid_request (with fields)',
        ...AUTH_PROBLEMS,
        '404': CASE_PROBLEMS['404'],
        '409': 'request_closed',
        '413': 'too_large',
        ...SERVER_PROBLEMS,
      },
    },
    {
      method: 'post',
      path: '/v1/recordings/:id/redactions',
      operationId: 'redactRecording',
      summary:
        'Silence a span of a recording (card data said aloud, a tone the detector missed): a new original and ' +
        'rendition replace the old ones, which are deleted and logged in the deletion log (reason `redaction`)',
      tags: ['privacy'],
      access: ['privacy', 'admin'],
      params: ID_PARAM,
      body: { content: { 'application/json': { schema: redactionBodySchema } } },
      responses: {
        '201': json(recordingSchema, 'The recording as it is now: `redactions` lists the span as `manual`'),
      },
      problems: {
        '400': 'invalid_request (with fields: startMs, endMs (not after startMs, or past the call), reason)',
        ...AUTH_PROBLEMS,
        '404': 'not_found',
        '409': 'conflict (being deleted, another redaction in progress, stored in plaintext), legal_hold',
        '413': 'too_large',
        '415': 'unsupported_audio (the stored audio cannot be decoded)',
        ...SERVER_PROBLEMS,
      },
    },
    {
      method: 'get',
      path: '/v1/subjects/restriction',
      operationId: 'getSubjectRestriction',
      summary: 'Whether a number is under restriction (Art. 18) or objection (Art. 21), and its recordings',
      tags: ['privacy'],
      access: ['privacy'],
      query: restrictionQuerySchema,
      responses: { '200': json(restrictionStatusSchema, 'The restriction of the number, if any') },
      problems: { '400': 'invalid_query (with fields)', ...AUTH_PROBLEMS, ...SERVER_PROBLEMS },
    },
    {
      method: 'put',
      path: '/v1/subjects/restriction',
      operationId: 'restrictSubject',
      summary:
        'Restrict a number under a privacy request: its recordings (also later ones) are hidden from trainers and ' +
        'admins',
      description:
        'The sweeper still deletes restricted recordings at their deadline; privacy officers still see them. Logged ' +
        "as `restrict` (access log) and on the request's timeline.",
      tags: ['privacy'],
      access: ['privacy'],
      body: { content: { 'application/json': { schema: restrictionBodySchema } } },
      responses: { '200': json(restrictionStatusSchema, 'The number, now restricted') },
      problems: {
        '400': 'invalid_request (with fields)',
        ...AUTH_PROBLEMS,
        ...CASE_PROBLEMS,
        '413': 'too_large',
        ...SERVER_PROBLEMS,
      },
    },
    {
      method: 'delete',
      path: '/v1/subjects/restriction',
      operationId: 'liftSubjectRestriction',
      summary: "Lift the restriction of a number (a logged step: `unrestrict` and the request's timeline)",
      tags: ['privacy'],
      access: ['privacy'],
      body: { content: { 'application/json': { schema: liftRestrictionBodySchema } } },
      responses: {
        '200': json(
          restrictionStatusSchema.extend({ lifted: z.boolean().describe('false when the number was not restricted') }),
          'The number, no longer restricted',
        ),
      },
      problems: {
        '400': 'invalid_request (with fields)',
        ...AUTH_PROBLEMS,
        ...CASE_PROBLEMS,
        '413': 'too_large',
        ...SERVER_PROBLEMS,
      },
    },
    {
      method: 'patch',
      path: '/v1/recordings/:id',
      operationId: 'correctRecording',
      summary: 'Correct call metadata (Art. 16) under a privacy request: numbers, agent, queue',
      description:
        'Fields left out stay as they are; null clears one. The access log gets one `correct` entry naming the ' +
        'fields changed, never their values.',
      tags: ['privacy'],
      access: ['privacy'],
      params: ID_PARAM,
      body: { content: { 'application/json': { schema: correctionBodySchema } } },
      responses: { '200': json(recordingSchema, 'The recording as corrected') },
      problems: {
        '400': 'invalid_request (with fields)',
        ...AUTH_PROBLEMS,
        '404': CASE_PROBLEMS['404'],
        '409': 'conflict (being deleted), request_closed',
        '413': 'too_large',
        ...SERVER_PROBLEMS,
      },
    },

    // --- privacy request register --------------------------------------------------------------
    {
      method: 'post',
      path: '/v1/privacy-requests',
      operationId: 'createPrivacyRequest',
      summary:
        'Register a request of a data subject; it is due at the end of the Amsterdam day one calendar month after ' +
        'receipt',
      tags: ['privacy'],
      access: ['privacy'],
      body: { content: { 'application/json': { schema: createRequestBodySchema } } },
      responses: {
        '201': {
          ...json(privacyRequestDetailSchema, 'The request with its deadline and timeline'),
          headers: { Location: { description: '`/v1/privacy-requests/<id>`', schema: { type: 'string' } } },
        },
      },
      problems: {
        '400': 'invalid_request (with fields)',
        ...AUTH_PROBLEMS,
        '413': 'too_large',
        '422': 'received_in_future',
        ...SERVER_PROBLEMS,
      },
    },
    {
      method: 'get',
      path: '/v1/privacy-requests',
      operationId: 'listPrivacyRequests',
      summary: 'The register of privacy requests; `Accept: text/csv` gives CSV',
      tags: ['privacy'],
      access: ['privacy'],
      query: registerQuerySchema,
      responses: {
        '200': {
          description:
            'One page (JSON, without phone numbers), or with `Accept: text/csv` and no `limit` every matching ' +
            'request as CSV',
          content: {
            'application/json': { schema: privacyRequestPageSchema },
            'text/csv': { schema: { type: 'string' } },
          },
        },
      },
      problems: { '400': 'invalid_query (with fields)', ...AUTH_PROBLEMS, ...SERVER_PROBLEMS },
    },
    {
      method: 'get',
      path: '/v1/privacy-requests/:id',
      operationId: 'getPrivacyRequest',
      summary: 'One privacy request with its numbers and timeline',
      tags: ['privacy'],
      access: ['privacy'],
      params: REQUEST_ID_PARAM,
      responses: { '200': json(privacyRequestDetailSchema, 'The request') },
      problems: { ...AUTH_PROBLEMS, '404': 'not_found', ...SERVER_PROBLEMS },
    },
    {
      method: 'post',
      path: '/v1/privacy-requests/:id/extend',
      operationId: 'extendPrivacyRequest',
      summary:
        'Extend the deadline by one or two months, with the reason (Art. 12(3); at most two in all, before the first ' +
        'deadline)',
      tags: ['privacy'],
      access: ['privacy'],
      params: REQUEST_ID_PARAM,
      body: { content: { 'application/json': { schema: extendBodySchema } } },
      responses: { '200': json(privacyRequestDetailSchema, 'The request with its new deadline') },
      problems: {
        '400': 'invalid_request (with fields)',
        ...AUTH_PROBLEMS,
        '404': 'not_found',
        '409': 'extension_not_allowed (more than two months in all, or already overdue), request_closed',
        '413': 'too_large',
        ...SERVER_PROBLEMS,
      },
    },
    {
      method: 'post',
      path: '/v1/privacy-requests/:id/close',
      operationId: 'closePrivacyRequest',
      summary: 'Close a request with its outcome and the reason (required unless fulfilled)',
      tags: ['privacy'],
      access: ['privacy'],
      params: REQUEST_ID_PARAM,
      body: { content: { 'application/json': { schema: closeBodySchema } } },
      responses: { '200': json(privacyRequestDetailSchema, 'The closed request') },
      problems: {
        '400': 'invalid_request (with fields)',
        ...AUTH_PROBLEMS,
        '404': 'not_found',
        '409': 'request_closed',
        '413': 'too_large',
        ...SERVER_PROBLEMS,
      },
    },
    {
      method: 'get',
      path: '/v1/privacy-requests/:id/letter',
      operationId: 'getPrivacyRequestLetter',
      summary:
        'The answer to the data subject: a printable HTML letter (Dutch or English) of what was asked, found, done ' +
        'and refused, and the right to complain',
      tags: ['privacy'],
      access: ['privacy'],
      params: REQUEST_ID_PARAM,
      query: letterQuerySchema,
      responses: {
        '200': {
          description: 'The letter (HTML with a print stylesheet)',
          content: { 'text/html': { schema: { type: 'string' } } },
        },
      },
      problems: { '400': 'invalid_query (with fields)', ...AUTH_PROBLEMS, '404': 'not_found', ...SERVER_PROBLEMS },
    },

    // --- audit ------------------------------------------------------------------------------
    {
      method: 'get',
      path: '/v1/deletions',
      operationId: 'listDeletions',
      summary: 'The deletion log, oldest first; `Accept: text/csv` gives CSV',
      tags: ['audit'],
      access: ['auditor', 'admin'],
      query: deletionQuerySchema,
      responses: {
        '200': {
          description:
            'One page of entries (JSON), or with `Accept: text/csv` and no `limit` every matching entry as CSV',
          content: {
            'application/json': {
              schema: z.object({ items: z.array(deletionEntrySchema), nextCursor: z.string().nullable() }),
            },
            'text/csv': { schema: { type: 'string' } },
          },
        },
      },
      problems: { '400': 'invalid_query (with fields)', ...AUTH_PROBLEMS, ...SERVER_PROBLEMS },
    },
    {
      method: 'get',
      path: '/v1/deletions/verify',
      operationId: 'verifyDeletions',
      summary:
        'Recompute the hash chain and check it against the signed checkpoints, stored and published in the object ' +
        'store',
      tags: ['audit'],
      access: ['auditor', 'admin'],
      responses: {
        '200': json(verifyResultSchema, 'The verdict (ok false names the first invalid entry and the problem)'),
      },
      problems: {
        '400': 'invalid_query (no parameters are accepted)',
        ...AUTH_PROBLEMS,
        ...SERVER_PROBLEMS,
        '503':
          'store_unavailable when the published checkpoints cannot be listed; db_unavailable, overloaded (with ' +
          'Retry-After)',
      },
    },
    {
      method: 'get',
      path: '/v1/deletions/checkpoints',
      operationId: 'listDeletionCheckpoints',
      summary:
        'Signed checkpoints {size, headHash, at} of the deletion log and the Ed25519 public key that signed them',
      tags: ['audit'],
      access: ['auditor', 'admin'],
      responses: {
        '200': json(checkpointListSchema, 'Every checkpoint, smallest size first, and the public key'),
      },
      problems: { '400': 'invalid_query (no parameters are accepted)', ...AUTH_PROBLEMS, ...SERVER_PROBLEMS },
    },
    {
      method: 'get',
      path: '/v1/access-log',
      operationId: 'listAccessLog',
      summary: 'Who viewed, played, downloaded, exported, held or erased which recording',
      tags: ['audit'],
      access: ['auditor', 'admin'],
      query: accessQuerySchema,
      responses: {
        '200': {
          description:
            'One page of entries (JSON), or with `Accept: text/csv` and no `limit` every matching entry as CSV',
          content: {
            'application/json': {
              schema: z.object({ items: z.array(accessEntrySchema), nextCursor: z.string().nullable() }),
            },
            'text/csv': { schema: { type: 'string' } },
          },
        },
      },
      problems: { '400': 'invalid_query (with fields)', ...AUTH_PROBLEMS, ...SERVER_PROBLEMS },
    },

    // --- training reviews: scorecards (#20) ------------------------------------------------------------
    {
      method: 'get',
      path: '/v1/scorecards',
      operationId: 'getScorecards',
      summary: 'Average scores per agent, queue or form: per section and per ISO week, with counts',
      description:
        'Counts submitted, acknowledged and disputed evaluations (never drafts, never calibration evaluations) of ' +
        'calls started in `[from, to)`. A trainer limited to queues sees only those queues; an agent only ' +
        'themselves (a filter outside the scope finds nothing).',
      tags: ['training'],
      access: ['admin', 'trainer', 'agent'],
      query: scorecardQuerySchema,
      responses: {
        '200': {
          description: 'The scorecards (JSON), or with `Accept: text/csv` or `format=csv` the same as CSV',
          content: {
            'application/json': { schema: scorecardListSchema },
            'text/csv': { schema: { type: 'string' } },
          },
        },
      },
      problems: {
        '400': 'invalid_query (with fields)',
        '422': 'invalid_period: `from` not before `to`, or more than 5 years apart (with fields)',
        ...AUTH_PROBLEMS,
        ...SERVER_PROBLEMS,
      },
    },

    // --- administration (the web counterpart of `callrec user` and `callrec token`) -----------------
    {
      method: 'get',
      path: '/v1/users',
      operationId: 'listUsers',
      summary: 'Every user, by username (never a password hash)',
      tags: ['admin'],
      access: ['admin'],
      responses: { '200': json(userListSchema, 'The users') },
      problems: { '400': 'invalid_query (no parameters are accepted)', ...AUTH_PROBLEMS, ...SERVER_PROBLEMS },
    },
    {
      method: 'post',
      path: '/v1/users',
      operationId: 'createUser',
      summary: 'Add a user with a generated password, returned only in this answer',
      tags: ['admin'],
      access: ['admin'],
      body: { content: { 'application/json': { schema: newUserBodySchema } } },
      responses: { '201': json(userWithPasswordSchema, 'The user and its password (shown once)') },
      problems: {
        '400': 'invalid_request (with fields; queues apply only to trainers)',
        ...AUTH_PROBLEMS,
        '409': 'conflict (the username is taken)',
        '413': 'too_large',
        '415': 'unsupported_media_type',
        ...SERVER_PROBLEMS,
      },
    },
    {
      method: 'patch',
      path: '/v1/users/:username',
      operationId: 'changeUser',
      summary: "Change a user's display name, queues (trainers) or disabled flag (disabling ends their sessions)",
      tags: ['admin'],
      access: ['admin'],
      params: { username: { description: 'Username', schema: { type: 'string', minLength: 1, maxLength: 64 } } },
      body: { content: { 'application/json': { schema: userChangeBodySchema } } },
      responses: { '200': json(userSchema, 'The user') },
      problems: {
        '400': 'invalid_request (with fields; queues apply only to trainers)',
        ...AUTH_PROBLEMS,
        '404': 'not_found (no such user)',
        '409': 'conflict (an administrator cannot disable their own account; queues for a user who is no trainer)',
        '413': 'too_large',
        '415': 'unsupported_media_type',
        ...SERVER_PROBLEMS,
      },
    },
    {
      method: 'post',
      path: '/v1/users/:username/password',
      operationId: 'resetUserPassword',
      summary: "Give a user a new generated password (returned only in this answer); ends the user's sessions",
      tags: ['admin'],
      access: ['admin'],
      params: { username: { description: 'Username', schema: { type: 'string', minLength: 1, maxLength: 64 } } },
      responses: { '200': json(userWithPasswordSchema, 'The user and the new password (shown once)') },
      problems: { '400': 'invalid_query', ...AUTH_PROBLEMS, '404': 'not_found (no such user)', ...SERVER_PROBLEMS },
    },
    {
      method: 'get',
      path: '/v1/tokens',
      operationId: 'listTokens',
      summary: 'API tokens, of one user or all (never the token or its hash)',
      tags: ['admin'],
      access: ['admin'],
      query: tokenQuerySchema,
      responses: { '200': json(tokenListSchema, 'The tokens') },
      problems: { '400': 'invalid_query', ...AUTH_PROBLEMS, '404': 'not_found (no such user)', ...SERVER_PROBLEMS },
    },
    {
      method: 'post',
      path: '/v1/tokens',
      operationId: 'createToken',
      summary: 'Create an API token for a user, returned only in this answer (only its sha256 is stored)',
      tags: ['admin'],
      access: ['admin'],
      body: { content: { 'application/json': { schema: newTokenBodySchema } } },
      responses: { '201': json(newTokenSchema, 'The token (shown once)') },
      problems: {
        '400': 'invalid_request (with fields)',
        ...AUTH_PROBLEMS,
        '404': 'not_found (no such user)',
        '409': 'conflict (the user is disabled)',
        '413': 'too_large',
        '415': 'unsupported_media_type',
        ...SERVER_PROBLEMS,
      },
    },
    {
      method: 'delete',
      path: '/v1/tokens/:id',
      operationId: 'revokeToken',
      summary: 'Revoke an API token (idempotent; takes effect at the next request)',
      tags: ['admin'],
      access: ['admin'],
      params: { id: { description: 'Token id (ULID)', schema: { type: 'string', minLength: 1, maxLength: 64 } } },
      responses: { '200': json(tokenSchema, 'The token, revoked') },
      problems: { ...AUTH_PROBLEMS, '404': 'not_found (no such token)', ...SERVER_PROBLEMS },
    },

    // --- web UI (static shells; every datum comes from the API above) ---------------------------
    {
      method: 'get',
      path: '/',
      operationId: 'webHome',
      summary: 'Redirects to the recordings page',
      tags: ['web'],
      access: 'public',
      responses: {
        '302': {
          description: 'To `/recordings`',
          headers: { Location: { description: '`/recordings`', schema: { type: 'string' } } },
          content: { 'text/plain': { schema: { type: 'string' } }, 'text/html': { schema: { type: 'string' } } },
        },
      },
      problems: {},
    },
    {
      method: 'get',
      path: '/recordings/:id',
      operationId: 'webPlayer',
      summary: 'The player page (a static shell; the recording is loaded from the API)',
      tags: ['web'],
      access: 'public',
      params: { id: { description: 'Recording id (ULID), read by the page script' } },
      responses: { '200': { description: 'HTML page', content: { 'text/html': { schema: { type: 'string' } } } } },
      problems: {},
    },
    {
      method: 'get',
      path: '/:page',
      operationId: 'webPage',
      summary: 'A page of the web UI (`login`, `recordings`, …)',
      tags: ['web'],
      access: 'public',
      params: { page: { description: 'Page name', schema: { type: 'string', enum: [...WEB_PAGES] } } },
      responses: { '200': { description: 'HTML page', content: { 'text/html': { schema: { type: 'string' } } } } },
      problems: { '404': 'not_found (no such page)' },
    },
    {
      method: 'get',
      path: '/assets/:file',
      operationId: 'webAsset',
      summary: 'A browser module or stylesheet of the web UI',
      tags: ['web'],
      access: 'public',
      params: { file: { description: 'File name', schema: { type: 'string', enum: [...WEB_ASSETS] } } },
      responses: {
        '200': {
          description: 'The file',
          content: { 'text/javascript': { schema: { type: 'string' } }, 'text/css': { schema: { type: 'string' } } },
        },
      },
      problems: { '404': 'not_found (no such file)' },
    },
    {
      method: 'get',
      path: '/vendor/wavesurfer.esm.js',
      operationId: 'webWavesurfer',
      summary: 'The wavesurfer.js ES module used by the player',
      tags: ['web'],
      access: 'public',
      responses: {
        '200': { description: 'JavaScript module', content: { 'text/javascript': { schema: { type: 'string' } } } },
      },
      problems: {},
    },
  ];
}

/** Every operation callrec serves. */
export function callrecOperations(): OperationSpec[] {
  return [...operationsCore(), ...trainingOperations()];
}

/** The document for this deployment. */
export function buildCallrecDocument(deps: Pick<AppDeps, 'config'>): Record<string, unknown> {
  return buildOpenApiDocument(callrecOperations(), {
    version: '1.0.0',
    serverUrl: deps.config.publicUrl,
    sessionCookieName: SESSION_COOKIE_NAME,
  });
}

/** `GET /openapi.json`. */
export function createOpenApiRoute(deps: Pick<AppDeps, 'config'>): Router {
  return createOpenApiRouter(() => buildCallrecDocument(deps));
}
