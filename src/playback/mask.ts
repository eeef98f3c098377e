/**
 * Masks phone numbers for audiences that may not see them in full (trainers):
 * the country calling code, the first national digit and the last two digits
 * stay; every other digit becomes `•`, grouped by four from the right.
 * `+31612345678` → `+31 6 •••• ••78`. A number that does not parse keeps only
 * its last two digits.
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js';

const DOT = '•';

function group(masked: string): string {
  const groups: string[] = [];
  for (let end = masked.length; end > 0; end -= 4) groups.unshift(masked.slice(Math.max(0, end - 4), end));
  return groups.join(' ');
}

function maskDigits(digits: string): string {
  if (digits.length <= 2) return DOT.repeat(digits.length);
  return DOT.repeat(digits.length - 2) + digits.slice(-2);
}

export function maskPhoneNumber(number: string | null): string | null {
  if (number === null) return null;
  const parsed = parsePhoneNumberFromString(number);
  if (parsed) {
    const national = String(parsed.nationalNumber);
    if (national.length <= 3) return `+${parsed.countryCallingCode} ${maskDigits(national)}`;
    return `+${parsed.countryCallingCode} ${national[0]} ${group(maskDigits(national.slice(1)))}`;
  }
  const digits = number.replace(/\D/g, '');
  return group(maskDigits(digits));
}
