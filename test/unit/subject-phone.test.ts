import { expect } from 'chai';
import { AppError } from '../../src/errors.js';
import { containsPhoneNumber, normalizeQueryPhone } from '../../src/subjects/phone.js';

function refusal(input: unknown, region = 'NL'): AppError {
  try {
    normalizeQueryPhone(input, region);
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error(`expected ${String(input)} to be refused`);
}

describe('subject phone query', () => {
  it('when a number is written nationally or internationally, then it normalizes to the same E.164', () => {
    for (const input of [
      '06 12345678',
      '0612345678',
      '06-1234 5678',
      '+31612345678',
      '+31 6 1234 5678',
      '0031612345678',
      '+31 (0)6 12345678',
    ]) {
      expect(normalizeQueryPhone(input, 'NL'), input).to.equal('+31612345678');
    }
    expect(normalizeQueryPhone('020 123 4567', 'NL')).to.equal('+31201234567');
  });

  it('when the default region is another country, then national numbers are read in that country', () => {
    expect(normalizeQueryPhone('0470 12 34 56', 'BE')).to.equal('+32470123456');
    expect(normalizeQueryPhone('+31612345678', 'BE')).to.equal('+31612345678');
  });

  it('when the input is not a valid number, then 400 invalid_query without echoing it', () => {
    for (const input of [
      undefined,
      '',
      '   ',
      'abc',
      '123',
      '06123',
      '0612345678x',
      '+316123456789012',
      '9'.repeat(41),
      ['0612345678'],
      612345678,
    ]) {
      const error = refusal(input);
      expect(error.status, String(input)).to.equal(400);
      expect(error.code).to.equal('invalid_query');
      expect(JSON.stringify({ message: error.message, extra: error.extra })).not.to.contain('12345678');
    }
  });

  it('when free text holds a phone number, then it is detected; ticket-like references are not', () => {
    for (const text of [
      'caller 06 12345678',
      'ref +31612345678',
      'SR-0612345678',
      'ticket 020 123 4567',
      'call +1 202 555 0143',
    ]) {
      expect(containsPhoneNumber(text, 'NL'), text).to.equal(true);
    }
    for (const text of [
      'DSR-2026-0042',
      'ZD#123456',
      'INC0012345678',
      'case 12345678',
      'AVG-2026-000123',
      'claim 2026-11',
    ]) {
      expect(containsPhoneNumber(text, 'NL'), text).to.equal(false);
    }
  });
});
