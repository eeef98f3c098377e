import { expect } from 'chai';
import {
  FormatError,
  HEADER_SIZE,
  decryptBuffer,
  encryptBuffer,
  encryptedSize,
  parseHeader,
  plainSizeOf,
} from '../../src/storage/encrypted-format.js';
import { seededBytes } from '../support/random.js';

const binding = { recordingId: '01JTESTRECORDING000000000A', role: 'original' };

describe('encryption format (v1)', () => {
  it('when plaintexts of every size around segment boundaries are encrypted, then the stored size follows the formula, maps back to the plaintext size, and decrypts to the same bytes', () => {
    const key = seededBytes('encrypted-format-1', 32);
    for (const size of [0, 1, 15, 16, 17, 99, 100, 101, 199, 200, 201, 1000]) {
      const plain = seededBytes('encrypted-format-2', size);
      const stored = encryptBuffer(key, binding, plain, { kekId: 'k1', segmentSize: 100 });
      expect(stored.length, `size ${size}`).to.equal(encryptedSize(size, 100));
      expect(plainSizeOf(stored.length, 100), `size ${size}`).to.equal(size);
      expect(decryptBuffer(key, binding, stored).equals(plain), `size ${size}`).to.equal(true);
    }
  });

  it('when a stored length no plaintext has is given, then plainSizeOf says undefined', () => {
    for (const stored of [0, HEADER_SIZE, HEADER_SIZE + 15, HEADER_SIZE + 116 + 3])
      expect(plainSizeOf(stored, 100), String(stored)).to.equal(undefined);
  });

  it('when the header is read back, then it names the format version, the segment size and the key-encryption key id', () => {
    const stored = encryptBuffer(seededBytes('encrypted-format-3', 32), binding, Buffer.from('x'), {
      kekId: 'k20261130-0a1b2c3d',
      segmentSize: 4096,
    });
    expect(stored.subarray(0, 8).toString('latin1')).to.equal('callrec\x01');
    expect(parseHeader(stored)).to.include({ segmentSize: 4096, kekId: 'k20261130-0a1b2c3d' });
  });

  it('when the same plaintext is encrypted twice, then the stored bytes differ (fresh salt and nonce prefix)', () => {
    const key = seededBytes('encrypted-format-4', 32);
    const plain = seededBytes('encrypted-format-5', 300);
    expect(
      encryptBuffer(key, binding, plain, { kekId: 'k1' }).equals(encryptBuffer(key, binding, plain, { kekId: 'k1' })),
    ).to.equal(false);
  });

  it('when it is decrypted with another key, recording id or role, then it fails with FormatError', () => {
    const key = seededBytes('encrypted-format-6', 32);
    const stored = encryptBuffer(key, binding, seededBytes('encrypted-format-7', 300), {
      kekId: 'k1',
      segmentSize: 100,
    });
    for (const [k, b] of [
      [seededBytes('encrypted-format-8', 32), binding],
      [key, { ...binding, recordingId: '01JTESTRECORDING000000000B' }],
      [key, { ...binding, role: 'playback' }],
    ] as const) {
      expect(() => decryptBuffer(k, b, stored)).to.throw(FormatError);
    }
  });
});
