/**
 * What other features use of the subjects feature: phone-number parsing of query and body fields, the
 * detector of phone numbers in free text, and the schema refinement that refuses them.
 */
export { containsPhoneNumber, normalizeBodyPhone, normalizeQueryPhone, phoneQuerySchema } from './phone.js';
export { refusingPhoneNumbers } from './schemas.js';
