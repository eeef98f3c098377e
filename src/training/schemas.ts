/**
 * The request schemas of the training routes, the single source for the handlers and the OpenAPI
 * document (src/openapi-training.ts). What a schema cannot state is checked by the handler and
 * answered 422: question ids unique in a form, choice values unique in a question (forms.ts);
 * answers and comments that fit the form version, every question answered to submit, timestamped
 * comments within the call (answers.ts). Free text holding a phone number is refused with 400
 * `invalid_request` (as hold reasons are), which the document can only describe.
 */
import { z } from 'zod';
import { filterText, isoInstant, trimmedText, wholeNumber } from '../http/request-schemas.js';

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
/** A question id or choice value: 1 to 64 letters, digits, `_` and `-`, a letter or digit first. */
export const KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/** A choice value: a key that is not `na` (that answer means "not applicable"). */
const CHOICE_VALUE = /^(?!na$)[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export const TEXT_MAX = 2000;
const NO_PHONE = 'no phone number (else 400 invalid_request)';

/** Free text of a form or an evaluation: trimmed, 1..max characters, tabs and line breaks allowed. */
function text(max: number) {
  return trimmedText(max, { controls: 'line-breaks' }).describe(
    `1 to ${max} characters after trimming surrounding whitespace; no control characters but tabs and line ` +
      `breaks; ${NO_PHONE}`,
  );
}

export const formIdSchema = z.string().regex(ULID, 'expects the id of an evaluation form').describe('Form id (ULID)');

const questionId = z.string().regex(KEY_PATTERN, 'expects 1 to 64 letters, digits, _ or - (a letter or digit first)');
const questionBase = {
  id: questionId.describe('Unique in the form (else 422 invalid_form)'),
  text: text(1000),
  weight: z.number().positive('expects a weight above 0').max(1000, 'expects a weight of at most 1000'),
  critical: z.boolean().optional().describe('Failing it (no, scale 1, a choice scoring 0) zeroes the score'),
};
const choiceSchema = z.strictObject({
  value: z
    .string()
    .regex(CHOICE_VALUE, 'expects 1 to 64 letters, digits, _ or - (a letter or digit first), not na')
    .describe('Unique in the question'),
  score: z.number().min(0, 'expects 0 to 1').max(1, 'expects 0 to 1').describe('Points of this choice, 0 to 1'),
});
const questionSchema = z.discriminatedUnion('type', [
  z.strictObject({ ...questionBase, type: z.literal('yesno') }),
  z.strictObject({ ...questionBase, type: z.literal('scale').describe('Answered 1 to 5') }),
  z.strictObject({ ...questionBase, type: z.literal('choice'), choices: z.array(choiceSchema).min(2).max(20) }),
]);

/** `POST /v1/evaluation-forms` and `PUT /v1/evaluation-forms/:id`: a whole form version. */
export const formBodySchema = z.strictObject({
  name: text(128),
  sections: z
    .array(z.strictObject({ title: text(200), questions: z.array(questionSchema).min(1).max(100) }))
    .min(1)
    .max(50),
});
export type FormBody = z.output<typeof formBodySchema>;

const answerSchema = z
  .union([z.number().int().min(1).max(5), z.string().regex(KEY_PATTERN)])
  .describe('yes | no | na (yes/no questions), 1..5 or na (scale), a choice value or na (choice)');

const evaluationFields = {
  answers: z
    .record(questionId, answerSchema)
    .describe('By question id; every question to submit, any subset in a draft (else 422 answers_mismatch)'),
  comments: z.record(questionId, text(TEXT_MAX)).optional().describe('The trainer’s comment per question id'),
  timedComments: z
    .array(
      z.strictObject({
        offsetMs: z
          .number()
          .int('expects a whole number of milliseconds')
          .min(0, 'expects 0 or more')
          .max(2_147_483_647)
          .describe('Milliseconds from the start of the call; within the call (else 422 answers_mismatch)'),
        text: text(TEXT_MAX),
      }),
    )
    .max(200)
    .optional()
    .describe('Comments at moments of the call, shown on the waveform like notes'),
  calibration: z.boolean().optional().describe('One of several trainers scoring this call blind'),
  status: z.enum(['draft', 'submitted']),
};

/** `POST /v1/recordings/:id/evaluations`. A score is never accepted: the server computes it. */
export const evaluationBodySchema = z.strictObject({
  formId: formIdSchema,
  version: z.number().int().min(1).max(2_147_483_647).optional().describe('Form version; the latest when absent'),
  ...evaluationFields,
});
export type EvaluationBody = z.output<typeof evaluationBodySchema>;

/** `PUT /v1/evaluations/:id`: a draft's new content (its form version stays). */
export const evaluationUpdateSchema = z.strictObject(evaluationFields);
export type EvaluationUpdate = z.output<typeof evaluationUpdateSchema>;

/** `POST /v1/evaluations/:id/acknowledge`. */
export const acknowledgeBodySchema = z.strictObject({ comment: text(TEXT_MAX).optional() });
/** `POST /v1/evaluations/:id/dispute`: the comment says why. */
export const disputeBodySchema = z.strictObject({ comment: text(TEXT_MAX) });

/** `<callStartedAt ms>.<id>` of the previous page's last evaluation. */
export const EVALUATION_CURSOR = /^([0-9]{1,16})\.([0-9A-Z]{26})$/;
export const EVALUATION_PAGE_MAX = 200;

/** `GET /v1/evaluations`. */
export const evaluationQuerySchema = z.strictObject({
  agentId: filterText(128).optional(),
  queue: filterText(128).optional(),
  formId: formIdSchema.optional(),
  status: z
    .enum(['draft', 'submitted', 'acknowledged', 'disputed'], {
      message: 'expects draft, submitted, acknowledged or disputed',
    })
    .optional(),
  from: isoInstant.optional().describe('Calls started at or after this instant'),
  to: isoInstant.optional().describe('Calls started before this instant'),
  cursor: z
    .string()
    .regex(EVALUATION_CURSOR, 'expects a cursor from a previous page')
    .transform((s) => {
      const m = EVALUATION_CURSOR.exec(s)!;
      return { callStartedAt: Number(m[1]), id: m[2]! };
    })
    .optional()
    .describe('`nextCursor` of the previous page'),
  limit: wholeNumber(1, EVALUATION_PAGE_MAX).optional(),
});

/** `GET /v1/recordings/:id/calibration`. */
export const calibrationQuerySchema = z.strictObject({
  formId: formIdSchema.optional().describe('Default: the form of your own (an admin: the latest) calibration'),
  version: wholeNumber(1, 2_147_483_647).optional().describe('With formId; default its latest version evaluated'),
});
