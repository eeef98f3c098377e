/**
 * The object keys of published checkpoints: built from size and head hash, parsed back by
 * the verifier from a listing alone.
 */
import { expect } from 'chai';
import { checkpointObjectKey, parseCheckpointKey } from '../../src/audit/checkpoint-publish.js';

const HASH = 'ab'.repeat(32);

describe('published checkpoint keys', () => {
  it('when a key is built, then it sits in the folder of its 10,000 entries, sorts by size and parses back to the same size and head hash', () => {
    const sizes = [1, 9_999, 10_000, 123_456_789, 999_999_999_999_999];
    const keys = sizes.map((size) => checkpointObjectKey({ size, headHash: HASH }));
    expect(keys[0]).to.equal(`checkpoints/00000000000/000000000000001-${HASH}.json`);
    expect(keys[2]).to.equal(`checkpoints/00000000001/000000000010000-${HASH}.json`);
    expect([...keys].sort()).to.deep.equal(keys);
    expect(keys.map((key) => parseCheckpointKey(key))).to.deep.equal(
      sizes.map((size, i) => ({ key: keys[i], size, headHash: HASH })),
    );
  });

  it('when a key has another shape, a folder that does not match its size, or size 0, then it does not parse', () => {
    for (const key of [
      `checkpoints/000000000000001-${HASH}.json`,
      `checkpoints/00000000001/000000000000001-${HASH}.json`,
      `checkpoints/00000000000/000000000000000-${HASH}.json`,
      `checkpoints/00000000000/000000000000001-${HASH.toUpperCase()}.json`,
      `checkpoints/00000000000/000000000000001-${HASH}.json.tmp`,
      `recordings/00000000000/000000000000001-${HASH}.json`,
    ]) {
      expect(parseCheckpointKey(key), key).to.equal(undefined);
    }
  });

  it('when the size or head hash cannot name a key, then building throws', () => {
    for (const bad of [
      { size: 0, headHash: HASH },
      { size: 1.5, headHash: HASH },
      { size: 10 ** 15, headHash: HASH },
      { size: 1, headHash: 'xyz' },
    ]) {
      expect(() => checkpointObjectKey(bad), JSON.stringify(bad)).to.throw();
    }
  });
});
