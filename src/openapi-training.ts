/**
 * The training-review operations of the OpenAPI document (issue #20): evaluation forms,
 * evaluations, calibration. An assembly module like openapi-operations.ts (which lists these
 * with the rest): request schemas come from src/training/schemas.ts, response schemas are tied to
 * the handlers' types (src/training/present.ts) by compile-time `SameShape` checks.
 */
import { z } from 'zod';
import type { JsonSchema, OperationSpec, ResponseSpec } from './http/openapi.js';
import type { SameShape } from './openapi-schemas.js';
import type { CalibrationView } from './training/calibration.js';
import type { EvaluationJson, FormVersionJson } from './training/present.js';
import {
  acknowledgeBodySchema,
  calibrationQuerySchema,
  disputeBodySchema,
  evaluationBodySchema,
  evaluationQuerySchema,
  evaluationUpdateSchema,
  formBodySchema,
} from './training/schemas.js';

const isoDateTime = z.iso.datetime({ offset: true }).describe('ISO 8601 date-time (UTC)');
const answer = z.union([z.string(), z.number()]);

const questionOut = z.object({
  id: z.string(),
  text: z.string(),
  type: z.enum(['yesno', 'scale', 'choice']),
  weight: z.number(),
  critical: z.boolean(),
  choices: z.array(z.object({ value: z.string(), score: z.number() })).optional(),
});

export const formVersionSchema = z.object({
  id: z.string().describe('Form id (ULID)'),
  version: z.number().int().min(1),
  name: z.string(),
  sections: z
    .array(z.object({ title: z.string(), questions: z.array(questionOut) }))
    .describe('A section’s id is its index as a string ("0", "1", …)'),
  createdAt: isoDateTime.describe('When this version was written'),
  createdBy: z.string(),
});
const _form: SameShape<z.output<typeof formVersionSchema>, FormVersionJson> = true;
const formDetailSchema = formVersionSchema.extend({
  versions: z.array(z.number().int()).describe('Every version, ascending'),
});
const formListSchema = z.object({
  items: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      version: z.number().int().describe('Latest'),
      createdAt: isoDateTime,
    }),
  ),
});

export const evaluationSchema = z.object({
  id: z.string().describe('ULID'),
  recordingId: z.string(),
  formId: z.string(),
  formVersion: z.number().int(),
  evaluator: z.string().describe('Username of the trainer'),
  agentId: z.string().nullable(),
  queue: z.string().nullable(),
  callStartedAt: isoDateTime,
  callDurationMs: z.number().int(),
  status: z.enum(['draft', 'submitted', 'acknowledged', 'disputed']),
  calibration: z.boolean(),
  answers: z.record(z.string(), answer),
  comments: z.record(z.string(), z.string()),
  timedComments: z.array(
    z.object({
      id: z.string(),
      author: z.string(),
      offsetMs: z.number().int(),
      text: z.string(),
      createdAt: isoDateTime,
    }),
  ),
  score: z.number().nullable().describe('0–100, computed by the server at submission; null in a draft'),
  sectionScores: z.array(z.object({ section: z.string(), title: z.string(), score: z.number().nullable() })),
  agentComment: z.string().nullable(),
  createdAt: isoDateTime,
  updatedAt: isoDateTime,
  submittedAt: isoDateTime.nullable(),
  respondedAt: isoDateTime.nullable(),
  expiresAt: isoDateTime.describe('End of its own retention (CALLREC_EVALUATION_RETENTION); it outlives the recording'),
  recording: z
    .union([
      z.object({ exists: z.literal(true) }),
      z.object({ exists: z.literal(false), deletionEntry: z.number().int().nullable() }),
    ])
    .describe('Whether the recording still exists; once deleted, the seq of its deletion-log entry'),
});
const _evaluation: SameShape<z.output<typeof evaluationSchema>, EvaluationJson> = true;
const evaluationPageSchema = z.object({
  items: z.array(evaluationSchema),
  nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page'),
});

const calibrationCoreSchema = z.object({
  evaluators: z.number().int(),
  scores: z.object({
    items: z.array(z.object({ evaluator: z.string(), score: z.number().nullable() })),
    spread: z.number().nullable().describe('max − min of the scores; null with fewer than two'),
  }),
  questions: z.array(
    z.object({
      id: z.string(),
      section: z.string(),
      text: z.string(),
      answers: z.array(z.object({ evaluator: z.string(), answer: answer.nullable(), points: z.number().nullable() })),
      spread: z.number().nullable().describe('100 · (max − min) of the points that count; null with fewer than two'),
    }),
  ),
});
const _calibration: SameShape<z.output<typeof calibrationCoreSchema>, CalibrationView> = true;
const calibrationSchema = calibrationCoreSchema.extend({
  recordingId: z.string(),
  formId: z.string().nullable(),
  formVersion: z.number().int().nullable(),
});

const json = (schema: z.ZodType, description: string): ResponseSpec => ({
  description,
  content: { 'application/json': { schema } },
});
const body = (schema: z.ZodType) => ({ content: { 'application/json': { schema } } });
const id = (description: string) => ({ description, schema: { type: 'string', minLength: 1, maxLength: 64 } });
const RECORDING = { id: id('Recording id (ULID)') };
const EVALUATION = { id: id('Evaluation id (ULID)') };
const FORM = { id: id('Form id (ULID)') };
const created = (schema: z.ZodType, description: string, location: string): ResponseSpec => ({
  ...json(schema, description),
  headers: { Location: { description: location, schema: { type: 'string' } as JsonSchema } },
});

const AUTH = {
  '401': 'unauthenticated (no or an invalid token or session)',
  '403':
    'forbidden (the role may not call this), origin_mismatch (cookie-authenticated unsafe request from another ' +
    'origin), second_factor_required (a session that has passed the password but not yet the second factor)',
} as const;
const SERVER = {
  '503': 'db_unavailable, overloaded (with Retry-After)',
  '507': 'insufficient_storage (a disk the service writes to is full; with Retry-After)',
} as const;
const WRITE = {
  '400': 'invalid_request (with fields; also a phone number in any text)',
  '413': 'too_large',
  '415': 'unsupported_media_type',
} as const;
const TRAINING = ['training'];
const EVALUATORS = ['trainer', 'admin'] as const;

/** The training-review operations. */
export function trainingOperations(): OperationSpec[] {
  return [
    {
      method: 'post',
      path: '/v1/evaluation-forms',
      operationId: 'createEvaluationForm',
      summary: 'Create an evaluation form (its version 1)',
      tags: TRAINING,
      access: ['admin'],
      body: body(formBodySchema),
      responses: { '201': created(formVersionSchema, 'Version 1', '`/v1/evaluation-forms/<id>`') },
      problems: { ...WRITE, ...AUTH, '422': 'invalid_form (a repeated question id or choice value)', ...SERVER },
    },
    {
      method: 'get',
      path: '/v1/evaluation-forms',
      operationId: 'listEvaluationForms',
      summary: 'Every evaluation form with its latest version',
      tags: TRAINING,
      access: [...EVALUATORS, 'agent'],
      responses: { '200': json(formListSchema, 'By name') },
      problems: { ...AUTH, ...SERVER },
    },
    {
      method: 'get',
      path: '/v1/evaluation-forms/:id',
      operationId: 'getEvaluationForm',
      summary: 'The latest version of a form, and the numbers of all its versions',
      tags: TRAINING,
      access: [...EVALUATORS, 'agent'],
      params: FORM,
      responses: { '200': json(formDetailSchema, 'The latest version') },
      problems: { ...AUTH, '404': 'not_found', ...SERVER },
    },
    {
      method: 'get',
      path: '/v1/evaluation-forms/:id/versions/:version',
      operationId: 'getEvaluationFormVersion',
      summary: 'One version of a form (versions never change)',
      tags: TRAINING,
      access: [...EVALUATORS, 'agent'],
      params: {
        ...FORM,
        version: { description: 'Version number (1, 2, …)', schema: { type: 'string', minLength: 1, maxLength: 64 } },
      },
      responses: { '200': json(formVersionSchema, 'That version') },
      problems: { ...AUTH, '404': 'not_found', ...SERVER },
    },
    {
      method: 'put',
      path: '/v1/evaluation-forms/:id',
      operationId: 'reviseEvaluationForm',
      summary: 'Write the next version of a form (earlier versions stay as they are)',
      tags: TRAINING,
      access: ['admin'],
      params: FORM,
      body: body(formBodySchema),
      responses: {
        '201': created(formVersionSchema, 'The new version', '`/v1/evaluation-forms/<id>/versions/<version>`'),
      },
      problems: {
        ...WRITE,
        ...AUTH,
        '404': 'not_found',
        '422': 'invalid_form (a repeated question id or choice value)',
        ...SERVER,
      },
    },
    {
      method: 'post',
      path: '/v1/recordings/:id/evaluations',
      operationId: 'createEvaluation',
      summary: 'Evaluate a call against a form version (draft or submitted); the server computes the score',
      tags: TRAINING,
      access: [...EVALUATORS],
      params: RECORDING,
      body: body(evaluationBodySchema),
      responses: { '201': created(evaluationSchema, 'The evaluation', '`/v1/evaluations/<id>`') },
      problems: {
        ...WRITE,
        ...AUTH,
        '404': 'not_found (no such recording, or one the caller may not see; no such form or version)',
        '422':
          'answers_mismatch (with fields: answers or comments that do not fit the form version, a question ' +
          'unanswered in a submitted evaluation, a timestamped comment beyond the call)',
        ...SERVER,
      },
    },
    {
      method: 'get',
      path: '/v1/recordings/:id/evaluations',
      operationId: 'listRecordingEvaluations',
      summary: 'The evaluations of a call the caller may see (also after the recording was deleted)',
      tags: TRAINING,
      access: [...EVALUATORS, 'agent'],
      params: RECORDING,
      responses: { '200': json(z.object({ items: z.array(evaluationSchema) }), 'Newest first') },
      problems: { ...AUTH, '404': 'not_found', ...SERVER },
    },
    {
      method: 'get',
      path: '/v1/recordings/:id/calibration',
      operationId: 'getCalibration',
      summary:
        'How far the submitted calibration evaluations of a call lie apart, per question (a trainer: once they ' +
        'submitted their own, else 403)',
      tags: TRAINING,
      access: [...EVALUATORS],
      params: RECORDING,
      query: calibrationQuerySchema,
      responses: { '200': json(calibrationSchema, 'The spread per question and of the scores') },
      problems: { '400': 'invalid_query (with fields)', ...AUTH, '404': 'not_found', ...SERVER },
    },
    {
      method: 'get',
      path: '/v1/evaluations',
      operationId: 'listEvaluations',
      summary: 'Evaluations the caller may see, newest call first',
      tags: TRAINING,
      access: [...EVALUATORS, 'agent'],
      query: evaluationQuerySchema,
      responses: { '200': json(evaluationPageSchema, 'A page') },
      problems: { '400': 'invalid_query (with fields)', ...AUTH, ...SERVER },
    },
    {
      method: 'get',
      path: '/v1/evaluations/:id',
      operationId: 'getEvaluation',
      summary: 'One evaluation',
      tags: TRAINING,
      access: [...EVALUATORS, 'agent'],
      params: EVALUATION,
      responses: { '200': json(evaluationSchema, 'The evaluation') },
      problems: { ...AUTH, '404': 'not_found', ...SERVER },
    },
    {
      method: 'put',
      path: '/v1/evaluations/:id',
      operationId: 'changeEvaluation',
      summary: 'Replace the content of a draft (its evaluator only); submit it with status submitted',
      tags: TRAINING,
      access: [...EVALUATORS],
      params: EVALUATION,
      body: body(evaluationUpdateSchema),
      responses: { '200': json(evaluationSchema, 'The evaluation') },
      problems: {
        ...WRITE,
        ...AUTH,
        '404': 'not_found',
        '409': 'conflict (not a draft any more)',
        '422': 'answers_mismatch (with fields)',
        ...SERVER,
      },
    },
    {
      method: 'post',
      path: '/v1/evaluations/:id/acknowledge',
      operationId: 'acknowledgeEvaluation',
      summary: 'The agent acknowledges a submitted evaluation of their call',
      tags: TRAINING,
      access: ['agent'],
      params: EVALUATION,
      body: body(acknowledgeBodySchema),
      responses: { '200': json(evaluationSchema, 'The evaluation, acknowledged') },
      problems: { ...WRITE, ...AUTH, '404': 'not_found', '409': 'conflict (not submitted)', ...SERVER },
    },
    {
      method: 'post',
      path: '/v1/evaluations/:id/dispute',
      operationId: 'disputeEvaluation',
      summary: 'The agent disputes a submitted evaluation of their call, saying why',
      tags: TRAINING,
      access: ['agent'],
      params: EVALUATION,
      body: body(disputeBodySchema),
      responses: { '200': json(evaluationSchema, 'The evaluation, disputed') },
      problems: { ...WRITE, ...AUTH, '404': 'not_found', '409': 'conflict (not submitted)', ...SERVER },
    },
  ];
}
