/** The request body of a manual redaction (also the OpenAPI document's). */
import { z } from 'zod';
import { trimmedText } from '../http/request-schemas.js';

/** The longest span one request may silence: a whole call of the longest length ingest accepts is fine. */
const MAX_MS = 2 ** 31 - 1;

export const redactionBodySchema = z
  .object({
    startMs: z.number().int().min(0).max(MAX_MS).describe('start of the span, ms from the call’s start'),
    endMs: z
      .number()
      .int()
      .min(1)
      .max(MAX_MS)
      .describe('end of the span (exclusive), ms from the call’s start; at most the call’s duration'),
    reason: trimmedText(500, { controls: 'refused' }).describe(
      '1 to 500 characters after trimming surrounding whitespace; no control characters, no phone number',
    ),
  })
  .refine((body) => body.startMs < body.endMs, {
    message: 'must be greater than startMs',
    path: ['endMs'],
  });
