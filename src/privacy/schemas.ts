/**
 * Request schemas of the register routes (privacy-routes.ts), the single source for the
 * handlers and the OpenAPI document. Phone numbers follow the `phone` rules of
 * subjects/phone.ts; the handler then checks them against the deployment's region.
 */
import { z } from 'zod';
import { REQUEST_CHANNELS, REQUEST_KINDS, REQUEST_OUTCOMES } from '../db/privacy-requests.js';
import { isoInstant, trimmedText, wholeNumber } from '../http/request-schemas.js';
import { phoneQuerySchema } from '../subjects/index.js';
import { LETTER_LANGUAGES } from './letter.js';

export const REGISTER_PAGE_DEFAULT = 50;
export const REGISTER_PAGE_MAX = 500;
/** More numbers than this in one request is a register of its own. */
export const MAX_ADDITIONAL_PHONES = 9;

const oneOf = <T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { message: `expects one of ${values.join(', ')}` });

function reasonText(max: number) {
  return trimmedText(max, { controls: 'refused' }).describe(
    `1 to ${max} characters after trimming surrounding whitespace; no control characters`,
  );
}

export const createRequestBodySchema = z.strictObject({
  kind: oneOf(REQUEST_KINDS).describe(
    'What the subject asks: access (Art. 15), copy (Art. 15(3)/20), erasure (17), objection (21), restriction (18), ' +
      'correction (16)',
  ),
  phone: phoneQuerySchema,
  additionalPhones: z
    .array(phoneQuerySchema)
    .max(MAX_ADDITIONAL_PHONES)
    .optional()
    .describe(`Other numbers of the same subject (at most ${MAX_ADDITIONAL_PHONES})`),
  receivedAt: isoInstant.describe(
    'When the request was received (RFC 3339 date or date-time with offset); not in the future (else 422 ' +
      'received_in_future)',
  ),
  channel: oneOf(REQUEST_CHANNELS).describe('How the request arrived'),
  identityVerified: z.boolean().describe("Whether the subject's identity was verified (Art. 12(6))"),
  caseReference: reasonText(128)
    .optional()
    .describe('A case or dossier reference of your own (kept in the register, never logged)'),
});

/** `<time ms>.<seq>` of the previous page's last request (receivedAt or dueAt, by `sort`). */
const CURSOR = /^(-?[0-9]{1,16})\.([0-9]{1,9})$/;

export const registerQuerySchema = z.strictObject({
  status: oneOf(['open', 'due_soon', 'overdue', 'closed'] as const)
    .optional()
    .describe(
      'open: every request not yet closed (due_soon and overdue included); due_soon: due within 7 days; overdue: ' +
        'past dueAt; closed',
    ),
  kind: oneOf(REQUEST_KINDS).optional(),
  from: isoInstant.optional().describe('receivedAt on or after this instant'),
  to: isoInstant.optional().describe('receivedAt before this instant'),
  phone: phoneQuerySchema.optional().describe('Only requests concerning this number (format `phone`)'),
  sort: oneOf(['newest', 'due'] as const)
    .optional()
    .describe('newest: latest received first (default); due: soonest due first'),
  cursor: z
    .string()
    .regex(CURSOR, 'expects a cursor returned by a previous page')
    .transform((s) => {
      const m = CURSOR.exec(s)!;
      return { time: Number(m[1]), seq: Number(m[2]) };
    })
    .optional()
    .describe('`nextCursor` of the previous page (with the same sort)'),
  limit: wholeNumber(1, REGISTER_PAGE_MAX)
    .optional()
    .describe(`Page size, 1 to ${REGISTER_PAGE_MAX} (default ${REGISTER_PAGE_DEFAULT})`),
});

export function encodeRegisterCursor(time: number, seq: number): string {
  return `${time}.${seq}`;
}

export const extendBodySchema = z.strictObject({
  months: z
    .union([z.literal(1), z.literal(2)], { message: 'expects 1 or 2' })
    .describe('1 or 2; at most 2 in all (Art. 12(3))'),
  reason: reasonText(1000).describe(
    'Why more time is needed (told to the subject); 1 to 1000 characters after trimming',
  ),
});

const [FULFILLED, ...NOT_FULFILLED] = REQUEST_OUTCOMES;

/** The outcome, and the reason (required unless the request was fulfilled in full). */
export const closeBodySchema = z.union([
  z.strictObject({ outcome: z.literal(FULFILLED), reason: reasonText(2000).optional() }),
  z.strictObject({
    outcome: oneOf(NOT_FULFILLED as [string, ...string[]]),
    reason: reasonText(2000).describe(
      'Why the request was not (fully) fulfilled; required unless the outcome is fulfilled',
    ),
  }),
]);

export const letterQuerySchema = z.strictObject({
  lang: oneOf(LETTER_LANGUAGES).optional().describe('nl (default) or en'),
});
