/**
 * The request building blocks against their own OpenAPI form: a value is
 * accepted by the zod schema (what the handler parses with) exactly when it
 * matches the JSON Schema the document shows (patterns read as ECMAScript
 * `u` regexes, as JSON Schema 2020-12 reads them).
 */
import { expect } from 'chai';
import { z } from 'zod';
import { jsonSchemaOf } from '../../src/http/openapi.js';
import { ISO_DATE_TIME_WITH_ZONE, isoInstant, trimmedText, wholeNumber } from '../../src/http/request-schemas.js';

type Json = {
  type?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  anyOf?: Json[];
  description?: string;
};

function matchesPattern(schema: Json, value: string): boolean {
  if (schema.anyOf) return schema.anyOf.some((s) => matchesPattern(s, value));
  return new RegExp(schema.pattern!, 'u').test(value);
}

/** A small deterministic PRNG (mulberry32), so that the sampled strings are the same on every run. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('request schemas and their OpenAPI form', () => {
  describe('trimmedText', () => {
    // Whitespace JavaScript trims, control characters, characters that are neither (NEL is a control
    // character but no whitespace; U+2028 is whitespace but no control character), astral characters.
    const alphabet = [
      'a',
      'Z',
      '9',
      ' ',
      '\t',
      '\n',
      '\r',
      '\v',
      '\f',
      '\u00a0',
      '\ufeff',
      '\u2028',
      '\u3000',
      '\u0000',
      '\u001b',
      '\u007f',
      '\u0085',
      '\u009f',
      '\u200b',
      'é',
      '😀',
      '𝄞',
    ];

    for (const max of [1, 2, 3, 5]) {
      for (const controls of ['refused', 'line-breaks'] as const) {
        it(`when text is sampled (max ${max}, controls ${controls}), then the handler accepts exactly what the documented pattern matches`, () => {
          const schema = trimmedText(max, { controls });
          const json = jsonSchemaOf(schema, 'input') as Json;
          expect(json.type).to.equal('string');
          const random = prng(max * 7 + (controls === 'refused' ? 1 : 2));
          const samples = [
            '',
            ' ',
            'a',
            ' a ',
            'a'.repeat(max),
            'a'.repeat(max + 1),
            ` ${'a'.repeat(max)}\n`,
            '😀'.repeat(max),
            '😀'.repeat(max + 1),
          ];
          for (let i = 0; i < 4000; i++) {
            const length = Math.floor(random() * (max + 4));
            samples.push(Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join(''));
          }
          for (const sample of samples) {
            expect(matchesPattern(json, sample), JSON.stringify(sample)).to.equal(schema.safeParse(sample).success);
          }
        });
      }
    }

    it('when accepted, then the value is the trimmed text', () => {
      expect(trimmedText(10, { controls: 'refused' }).parse('\u00a0 DSR-7 \n')).to.equal('DSR-7');
    });
  });

  describe('wholeNumber', () => {
    it('when documented, then it is an integer with the same bounds, and the handler accepts exactly the decimal forms within them', () => {
      const schema = wholeNumber(1, 200);
      expect(jsonSchemaOf(schema, 'input')).to.deep.equal({ type: 'integer', minimum: 1, maximum: 200 });
      for (let n = -3; n <= 203; n++)
        expect(schema.safeParse(String(n)).success, String(n)).to.equal(n >= 1 && n <= 200);
      for (const bad of ['', '1.5', '1e2', '+5', ' 5', '0x10', 'abc', '007', '00'])
        expect(schema.safeParse(bad).success, bad).to.equal(false);
    });
  });

  describe("ISO_DATE_TIME_WITH_ZONE (the upload hook's startedAt)", () => {
    it('when a date-time is sampled over every month, day, hour and zone form, then it matches exactly when Date.parse reads the same calendar day', () => {
      const random = prng(2026);
      let matched = 0;
      for (let i = 0; i < 20_000; i++) {
        const pad = (n: number, w = 2) => String(n).padStart(w, '0');
        const year = [0, 1900, 2000, 2023, 2024, 2100, 9999][Math.floor(random() * 7)]!;
        const month = Math.floor(random() * 14);
        const day = Math.floor(random() * 33);
        const hour = Math.floor(random() * 26);
        const minute = Math.floor(random() * 61);
        const seconds =
          random() < 0.3
            ? ''
            : `:${pad(Math.floor(random() * 61))}${random() < 0.5 ? '' : `.${'123456789'.slice(0, 1 + Math.floor(random() * 9))}`}`;
        const zone = ['Z', '+01:00', '-0530', '+23:59', '+24:00', ''][Math.floor(random() * 6)]!;
        const text = `${pad(year, 4)}-${pad(month)}-${pad(day)}T${pad(hour)}:${pad(minute)}${seconds}${zone}`;
        const calendarDay = new Date(Date.UTC(2000, month - 1, day));
        const real =
          month >= 1 &&
          month <= 12 &&
          day >= 1 &&
          calendarDay.getUTCMonth() === month - 1 &&
          !(month === 2 && day === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)));
        const expected = real && hour < 24 && minute < 60 && !/:6\d/.test(seconds) && zone !== '' && zone !== '+24:00';
        expect(ISO_DATE_TIME_WITH_ZONE.test(text), text).to.equal(expected);
        if (expected) {
          matched += 1;
          expect(Number.isFinite(Date.parse(text)), text).to.equal(true);
        }
      }
      expect(matched).to.be.greaterThan(1000);
    });
  });

  describe('isoInstant', () => {
    const json = jsonSchemaOf(z.object({ at: isoInstant }), 'input') as { properties: { at: Json } };
    const at = json.properties.at;

    for (const [value, ok] of [
      ['2026-11-27', true],
      ['2026-11-27T09:30:00Z', true],
      ['2026-11-27T09:30:00.123456+01:00', true],
      ['2024-02-29', true],
      ['2023-02-29', false],
      ['2026-02-30T00:00:00Z', false],
      ['2026-13-01', false],
      ['2026-11-27T24:00:00Z', false],
      ['2026-11-27T09:30Z', false],
      ['2026-11-27T09:30:00', false],
      ['2026-11-27 09:30:00Z', false],
      ['2026-11-27T09:30:00+0100', false],
      ['', false],
      ['yesterday', false],
    ] as const) {
      it(`when ${JSON.stringify(value)} is given, then the handler ${ok ? 'accepts' : 'refuses'} it and the document agrees`, () => {
        const parsed = isoInstant.safeParse(value);
        expect(parsed.success).to.equal(ok);
        expect(matchesPattern(at, value)).to.equal(ok);
        if (parsed.success) expect(Number.isFinite(parsed.data)).to.equal(true);
      });
    }

    it('when only a date is given, then it is UTC midnight', () => {
      expect(isoInstant.parse('2026-11-27')).to.equal(Date.UTC(2026, 10, 27));
    });
  });
});
