import { expect } from 'chai';
import { SOUND_PEAK, qualityFlagsOf } from '../../src/ingest/quality.js';

/** Peaks of a channel: `loud` of `n` buckets carry speech (0.4), the rest line noise (0.01). */
const channel = (n: number, loud: number) => Array.from({ length: n }, (_, i) => (i < loud ? 0.4 : 0.01));

describe('quality flags from peaks', () => {
  it('when every channel stays at the noise floor, then the recording is silent (a click or two do not count)', () => {
    expect(qualityFlagsOf({ peaks: [channel(1000, 0)] })).to.deep.equal(['silent']);
    expect(qualityFlagsOf({ peaks: [channel(1000, 5), channel(1000, 0)] })).to.deep.equal(['silent']);
    expect(qualityFlagsOf({ peaks: [] })).to.deep.equal(['silent']);
  });

  it('when one channel of a stereo call carries speech and the other stays silent, then it is one-way audio', () => {
    expect(qualityFlagsOf({ peaks: [channel(1000, 600), channel(1000, 0)] })).to.deep.equal(['one_way']);
    expect(qualityFlagsOf({ peaks: [channel(1000, 0), channel(1000, 300)] })).to.deep.equal(['one_way']);
  });

  it('when both parties are heard, or a mono call carries speech, then there is no flag', () => {
    expect(qualityFlagsOf({ peaks: [channel(1000, 600), channel(1000, 300)] })).to.deep.equal([]);
    expect(qualityFlagsOf({ peaks: [channel(1000, 20)] })).to.deep.equal([]);
    expect(
      qualityFlagsOf({ peaks: [Array.from({ length: 100 }, () => SOUND_PEAK)] }),
      'at the threshold',
    ).to.deep.equal(['silent']);
  });
});
