/**
 * The request schemas of the privacy routes (subject-routes.ts), the single
 * source for both the handlers and the OpenAPI document (src/openapi-operations.ts).
 *
 * What depends on the deployment's phone region is layered on by the handler:
 * `normalizeQueryPhone` (phone.ts) checks that the number is valid in its region
 * after `phoneQuerySchema`, and `refusingPhoneNumbers` adds the rule that free
 * text holds no phone number (which the document can only describe). Free text is
 * trimmed before its length is checked; its pattern in the document says so.
 */
import { z } from 'zod';
import { filterText, trimmedText, wholeNumber } from '../http/request-schemas.js';
import { containsPhoneNumber, phoneQuerySchema } from './phone.js';
import { SEARCH_PAGE_MAX } from './search.js';

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const CURSOR_MESSAGE = 'expects a cursor returned by a previous page';
const LIMIT_MESSAGE = `expects 1 to ${SEARCH_PAGE_MAX}`;

/** Default page size of the subject search. */
export const SUBJECT_PAGE_DEFAULT = 100;

/** Free text written to the access or deletion log: trimmed, 1..max characters, no control characters. */
function freeText(max: number) {
  return trimmedText(max, { controls: 'refused' }).describe(
    `1 to ${max} characters after trimming surrounding whitespace; no control characters, no phone number`,
  );
}

/** A privacy request's id: the action is checked against that request and lands on its timeline (case.ts). */
export const requestIdSchema = z
  .string({ error: 'expects the id of a privacy request' })
  .regex(ULID, 'expects the id of a privacy request')
  .describe('Id of the open privacy request this action is done under (ULID); the action is appended to its timeline');

/** `?phone=` of the export and the subject erasure, and the optional `requestId` they are done under. */
export const subjectQuerySchema = z.object({ phone: phoneQuerySchema, requestId: requestIdSchema.optional() });

/** `?cursor=&limit=` of the subject search (checked after the phone number). */
export const subjectPageQuerySchema = z.object({
  cursor: z
    .string({ error: CURSOR_MESSAGE })
    .regex(ULID, CURSOR_MESSAGE)
    .optional()
    .describe('`nextCursor` of the previous page'),
  limit: wholeNumber(1, SEARCH_PAGE_MAX, LIMIT_MESSAGE)
    .optional()
    .describe(`Page size, 1 to ${SEARCH_PAGE_MAX} (default ${SUBJECT_PAGE_DEFAULT})`),
});

/** The whole query of `GET /v1/subjects/recordings`. */
export const subjectSearchQuerySchema = subjectQuerySchema.extend(subjectPageQuerySchema.shape);

/** Body of an erasure (one recording or every recording of a number). */
export const erasureBodySchema = z.object({
  reason: z.literal('erasure_request', { message: 'must be "erasure_request"' }),
  reference: freeText(256),
  requestId: requestIdSchema.optional(),
});

/** Body of placing a legal hold. */
export const holdBodySchema = z.object({ reason: freeText(500), requestId: requestIdSchema.optional() });

/** Body of releasing a legal hold (optional as a whole). */
export const releaseBodySchema = z.object({ reason: freeText(500).optional(), requestId: requestIdSchema.optional() });

/** A phone number in a JSON body: the `phone` rules of the query parameter (region checked by the handler). */
export const bodyPhoneSchema = phoneQuerySchema;

/**
 * Body of `PUT /v1/subjects/restriction`: a restriction (mode `restrict`, the default) or an objection
 * (mode `object`), which alone may say "do not keep". Two shapes, so that the document states the rule.
 */
export const restrictionBodySchema = z.union([
  z.strictObject({
    phone: bodyPhoneSchema,
    requestId: requestIdSchema,
    mode: z.literal('restrict').optional().describe('`restrict` (Art. 18, the default): the recordings are restricted'),
    doNotKeep: z.literal(false).optional().describe('Only an objection (mode `object`) may say "do not keep"'),
  }),
  z.strictObject({
    phone: bodyPhoneSchema,
    requestId: requestIdSchema,
    mode: z.literal('object').describe('`object` (Art. 21): the recordings are restricted as well'),
    doNotKeep: z
      .boolean({ error: 'expects true or false' })
      .optional()
      .describe(
        'New recordings from or to the number are not stored at ingest (each logged in the ' +
          'deletion log with reason `objection`)',
      ),
  }),
]);

/** Body of `DELETE /v1/subjects/restriction`. */
export const liftRestrictionBodySchema = z.strictObject({
  phone: bodyPhoneSchema,
  requestId: requestIdSchema,
  reason: freeText(500).optional(),
});

/** `?phone=` of `GET /v1/subjects/restriction`. */
export const restrictionQuerySchema = z.strictObject({ phone: phoneQuerySchema });

const correctedText = filterText(128).nullable();

/** Body of `PATCH /v1/recordings/:id` (correction, Art. 16): the fields to change; null clears one. */
export const correctionBodySchema = z.strictObject({
  requestId: requestIdSchema,
  callerNumber: bodyPhoneSchema
    .nullable()
    .optional()
    .describe('The corrected caller number (stored as E.164), or null'),
  calleeNumber: bodyPhoneSchema
    .nullable()
    .optional()
    .describe('The corrected callee number (stored as E.164), or null'),
  agentId: correctedText.optional(),
  queue: correctedText.optional(),
});

/**
 * `schema` plus the rule that each of its free-text `fields` holds no phone number (read with
 * `region` as the default region), reported on that field after its other problems. The rule
 * runs even when other fields are invalid, so every problem is reported at once.
 */
export function refusingPhoneNumbers<T extends z.ZodObject>(
  schema: T,
  region: string,
  fields: ReadonlyArray<keyof T['shape'] & string>,
): T {
  let out = schema;
  for (const field of fields) {
    out = out.refine(
      (value: unknown) => {
        const text =
          typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[field] : undefined;
        return typeof text !== 'string' || !containsPhoneNumber(text, region);
      },
      { message: 'must not contain a phone number', path: [field], when: () => true },
    );
  }
  return out;
}
