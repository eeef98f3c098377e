import { expect } from 'chai';
import { seededBytes, seededRandom } from '../support/random.js';

describe('seeded test inputs', () => {
  it('when the same seed is asked twice, then the bytes and numbers are the same, and another seed gives others', () => {
    expect(seededBytes('a', 1000).equals(seededBytes('a', 1000))).to.equal(true);
    expect(seededBytes('a', 1000).equals(seededBytes('b', 1000))).to.equal(false);
    expect(seededBytes('a', 10).equals(seededBytes('a', 1000).subarray(0, 10))).to.equal(true);
    const draw = (seed: string) => {
      const r = seededRandom(seed);
      return Array.from({ length: 50 }, () => r.int(0, 1_000_000));
    };
    expect(draw('x')).to.deep.equal(draw('x'));
    expect(draw('x')).to.not.deep.equal(draw('y'));
  });

  it('when many numbers are drawn, then they stay in range and spread over it', () => {
    const r = seededRandom('spread');
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) {
      const n = r.int(0, 10);
      expect(n).to.be.within(0, 9);
      counts[n]! += 1;
    }
    for (const c of counts) expect(c).to.be.within(800, 1200);
  });
});
