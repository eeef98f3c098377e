import { expect } from 'chai';
import { InvalidRangeError, resolveRange } from '../../src/storage/object-store.js';
import type { RangeRequest } from '../../src/storage/object-store.js';

function rangeError(range: RangeRequest, size: number): InvalidRangeError {
  try {
    resolveRange(range, size);
  } catch (error) {
    if (error instanceof InvalidRangeError) return error;
    throw error;
  }
  throw new Error('expected InvalidRangeError');
}

describe('resolveRange', function () {
  const cases: Array<[string, RangeRequest, number, { start: number; end: number }]> = [
    ['the first byte', { start: 0, end: 0 }, 100, { start: 0, end: 0 }],
    ['a middle span', { start: 10, end: 19 }, 100, { start: 10, end: 19 }],
    ['the last byte', { start: 99, end: 99 }, 100, { start: 99, end: 99 }],
    ['an open end', { start: 40 }, 100, { start: 40, end: 99 }],
    ['an end past the end', { start: 90, end: 1000 }, 100, { start: 90, end: 99 }],
    ['a suffix', { suffix: 10 }, 100, { start: 90, end: 99 }],
    ['a suffix as large as the object', { suffix: 100 }, 100, { start: 0, end: 99 }],
    ['a suffix larger than the object', { suffix: 1000 }, 100, { start: 0, end: 99 }],
    ['a one-byte object from 0', { start: 0 }, 1, { start: 0, end: 0 }],
  ];
  for (const [label, range, size, expected] of cases) {
    it(`when ${label} is asked of ${size} bytes, then ${expected.start}-${expected.end} is served`, function () {
      expect(resolveRange(range, size)).to.deep.equal(expected);
    });
  }

  it('when nothing of the object is asked for, then InvalidRangeError carries the size', function () {
    expect(rangeError({ start: 100 }, 100).size).to.equal(100);
    expect(rangeError({ start: 500, end: 600 }, 100).size).to.equal(100);
    expect(rangeError({ start: 20, end: 10 }, 100).size).to.equal(100);
    expect(rangeError({ suffix: 0 }, 100).size).to.equal(100);
  });

  it('when the object is empty, then every range is unsatisfiable with size 0', function () {
    for (const range of [{ start: 0 }, { start: 0, end: 0 }, { suffix: 1 }] as RangeRequest[]) {
      expect(rangeError(range, 0).size).to.equal(0);
    }
  });
});
