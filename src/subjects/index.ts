/** What other features use of the subjects feature: phone-number parsing of query and body fields. */
export { normalizeBodyPhone, normalizeQueryPhone, phoneQuerySchema } from './phone.js';
export { refusingPhoneNumbers } from './schemas.js';
