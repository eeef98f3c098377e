/**
 * writeAll (the fs store's writer) against a file handle that writes at most a few bytes
 * per call: every byte lands once, in order, whatever the chunks and short writes.
 */
import { expect } from 'chai';
import { writeAll } from '../../src/storage/fs-store.js';
import { seededBytes } from '../support/random.js';

/** A handle that keeps what it is given, taking at most `perCall` bytes of each write or writev. */
function shortWritingHandle(perCall: number) {
  const written: Buffer[] = [];
  let calls = 0;
  const take = (buffers: Buffer[]) => {
    calls++;
    let left = perCall;
    for (const buffer of buffers) {
      const part = buffer.subarray(0, left);
      written.push(Buffer.from(part));
      left -= part.length;
      if (left === 0) break;
    }
    return { bytesWritten: perCall - left };
  };
  return {
    handle: {
      write: async (buffer: Buffer) => ({ ...take([buffer]), buffer }),
      writev: async (buffers: Buffer[]) => ({ ...take(buffers), buffers }),
    } as unknown as Parameters<typeof writeAll>[0],
    bytes: () => Buffer.concat(written),
    calls: () => calls,
  };
}

/** `data` cut into pieces of the given sizes, in turn. */
function cut(data: Buffer, sizes: number[]): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0, i = 0; offset < data.length; i++) {
    const size = sizes[i % sizes.length]!;
    chunks.push(data.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}

describe('writeAll (fs store)', () => {
  for (const [label, sizes] of [
    ['small chunks (an empty one among them)', [1, 7, 64, 0, 1000]],
    ['one chunk larger than a write slice', [3 * 1024 * 1024 + 5]],
    ['a mix of large and small chunks', [1024 * 1024 + 1, 3, 600 * 1024]],
  ] as const) {
    for (const perCall of [5, 4093, 8 * 1024 * 1024]) {
      it(`when ${label} go through writes of at most ${perCall} bytes, then every byte is written once, in order`, async () => {
        const data = seededBytes('fs-write-all-1', perCall === 5 ? 20_000 : 5 * 1024 * 1024 + 11);
        const target = shortWritingHandle(perCall);
        await writeAll(target.handle, cut(data, [...sizes]));
        expect(target.bytes().equals(data)).to.equal(true);
        expect(target.calls()).to.be.at.least(Math.ceil(data.length / perCall));
      });
    }
  }

  it('when a write makes no progress, then writeAll rejects instead of spinning', async () => {
    const stuck = {
      write: async () => ({ bytesWritten: 0 }),
      writev: async () => ({ bytesWritten: 0 }),
    } as unknown as Parameters<typeof writeAll>[0];
    let error: unknown;
    await writeAll(stuck, [Buffer.from('abc'), Buffer.from('def')]).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(Error);
  });
});
