/**
 * Request plumbing shared by the training routes: the principal, JSON bodies parsed with their
 * schema (400 `invalid_request` with `fields`), and the phone-number rule on free text (400
 * `invalid_request`, as hold reasons; the text itself is never echoed or logged).
 */
import type { Request } from 'express';
import type { z } from 'zod';
import type { Principal } from '../domain/roles.js';
import { errors } from '../errors.js';
import type { FieldProblem } from '../errors.js';
import { containsPhoneNumber } from '../subjects/index.js';

export function principalOf(req: Request): Principal {
  // The guard ran before every handler here; a missing principal is a wiring bug.
  if (!req.principal) throw errors.unauthenticated();
  return req.principal;
}

export function fieldProblems(error: z.ZodError): FieldProblem[] {
  return error.issues.map((i) => ({
    field: i.path.length ? i.path.join('.') : ((i as { keys?: string[] }).keys?.join(',') ?? ''),
    message: i.message,
  }));
}

/** The body of `req` parsed with `schema`; 415 unless JSON, 400 `invalid_request` naming the fields. */
export function parseJsonBody<T extends z.ZodType>(req: Request, schema: T, what: string): z.output<T> {
  if (!req.is('application/json')) throw errors.unsupportedMediaType(`Send the ${what} as application/json`);
  const parsed = schema.safeParse(req.body);
  if (!parsed.success)
    throw errors.invalidRequest(`Invalid ${what}`, { extra: { fields: fieldProblems(parsed.error) } });
  return parsed.data;
}

/** 400 `invalid_request` naming each of `texts` ([field, text]) that holds a phone number (read in `region`). */
export function refusePhoneNumbers(texts: ReadonlyArray<[string, string]>, region: string, what: string): void {
  const fields = texts
    .filter(([, text]) => containsPhoneNumber(text, region))
    .map(([field]) => ({ field, message: 'must not contain a phone number' }));
  if (fields.length > 0) throw errors.invalidRequest(`Invalid ${what}`, { extra: { fields } });
}
