/**
 * What other features use of the subjects feature: phone-number parsing of query and body fields, and
 * the detector of phone numbers in free text.
 */
export { containsPhoneNumber, normalizeBodyPhone, normalizeQueryPhone, phoneQuerySchema } from './phone.js';
