import { expect } from 'chai';
import { ifRangeMatches, parseRangeHeader } from '../../src/playback/range.js';

describe('parseRangeHeader (RFC 9110 single byte ranges)', () => {
  const cases: Array<[string | undefined, ReturnType<typeof parseRangeHeader>]> = [
    [undefined, undefined],
    ['bytes=0-0', { start: 0, end: 0 }],
    ['bytes=0-499', { start: 0, end: 499 }],
    ['bytes=500-', { start: 500 }],
    ['bytes=-500', { suffix: 500 }],
    ['bytes=-0', { suffix: 0 }],
    ['BYTES = 5 - 9', { start: 5, end: 9 }],
    ['bytes=10-5', 'ignore'],
    ['bytes=0-1,2-3', 'ignore'],
    ['bytes=-', 'ignore'],
    ['bytes=', 'ignore'],
    ['items=0-5', 'ignore'],
    ['garbage', 'ignore'],
    ['bytes=a-b', 'ignore'],
    ['bytes=1.5-2', 'ignore'],
    ['bytes=-5-', 'ignore'],
    ['bytes=9999999999999999-', 'ignore'],
    ['', 'ignore'],
  ];
  for (const [header, expected] of cases) {
    it(`when the header is ${JSON.stringify(header)}, then it parses to ${JSON.stringify(expected)}`, () => {
      expect(parseRangeHeader(header)).to.deep.equal(expected);
    });
  }
});

describe('ifRangeMatches', () => {
  it('when there is no If-Range, then the range applies', () => {
    expect(ifRangeMatches(undefined, '"abc"')).to.equal(true);
  });
  it('when If-Range names the current strong ETag, then the range applies', () => {
    expect(ifRangeMatches('"abc"', '"abc"')).to.equal(true);
  });
  it('when If-Range names another ETag, a weak ETag or a date, then the whole object is sent', () => {
    expect(ifRangeMatches('"old"', '"abc"')).to.equal(false);
    expect(ifRangeMatches('W/"abc"', '"abc"')).to.equal(false);
    expect(ifRangeMatches('Wed, 21 Oct 2026 07:28:00 GMT', '"abc"')).to.equal(false);
  });
});
