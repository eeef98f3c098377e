/**
 * Normalizes the phone number of a subject-access query to E.164, the form in
 * which ingest stores caller and callee numbers.
 *
 * Contract: accepts international input (`+31 6 1234 5678`, `0031612345678`)
 * and national input in the configured default region (`06 12345678` with NL);
 * returns the E.164 string. Anything else (letters, too short or too long, not a
 * valid number for its region) throws 400 `invalid_query`. The number itself
 * never appears in the error: problem bodies may be logged by clients.
 */
import { findPhoneNumbersInText, parsePhoneNumberFromString } from 'libphonenumber-js';
import type { CountryCode } from 'libphonenumber-js';
import { z } from 'zod';
import { errors } from '../errors.js';

/** Digits, spaces and the punctuation people write numbers with; nothing else. */
const PHONE_CHARACTERS = /^[0-9+()\-./\s]{3,40}$/;
const PHONE_REQUIRED = 'a phone number is required';

/**
 * The region-independent rules of a `phone` query parameter (present, not blank, only the
 * characters numbers are written with). `normalizeQueryPhone` applies it first, then checks
 * that the number is valid in its region; the OpenAPI document describes the parameter with it,
 * naming that last rule (which no pattern can spell) by the custom format `phone`.
 */
export const phoneQuerySchema = z
  .string({ error: PHONE_REQUIRED })
  .refine((s) => s.trim() !== '', { message: PHONE_REQUIRED, abort: true })
  .regex(PHONE_CHARACTERS, 'expects a phone number in international (+31…) or national form')
  .describe(
    'A phone number (format `phone`): E.164 (+31…) or national form in CALLREC_PHONE_REGION, that libphonenumber ' +
      'finds valid for its region',
  )
  .meta({ format: 'phone', examples: ['+31201234567', '020 123 4567'] });

function invalid(message: string) {
  return errors.invalidQuery([{ field: 'phone', message }]);
}

/** E.164 of `input` with `region` as the default for national numbers; throws `invalid_query`. */
export function normalizeQueryPhone(input: unknown, region: string): string {
  const checked = phoneQuerySchema.safeParse(input);
  // One problem, the first rule broken (the rules abort on a missing or blank number).
  if (!checked.success) throw invalid(checked.error.issues[0]!.message);
  const parsed = parsePhoneNumberFromString(checked.data, region as CountryCode);
  if (!parsed || !parsed.isValid()) throw invalid('not a valid phone number');
  return parsed.number;
}

/**
 * True when free text (an erasure reference, a hold reason) contains something that reads as a
 * phone number. Such text ends up in the access and deletion logs, which never hold numbers.
 */
export function containsPhoneNumber(text: string, region: string): boolean {
  // Short service numbers (fewer than 8 national digits) read like ticket numbers ("ZD#123456"): ignored.
  return findPhoneNumbersInText(text, region as CountryCode).some((found) => found.number.nationalNumber.length >= 8);
}

/** As `normalizeQueryPhone` for a number in a JSON body: a problem is 400 `invalid_request` naming `field`. */
export function normalizeBodyPhone(input: unknown, region: string, field: string): string {
  try {
    return normalizeQueryPhone(input, region);
  } catch (error) {
    const message =
      (error as { extra?: { fields?: Array<{ message: string }> } }).extra?.fields?.[0]?.message ??
      'not a valid phone number';
    throw errors.invalidRequest('Invalid request body', { extra: { fields: [{ field, message }] } });
  }
}
