/**
 * The streaming pieces of the encrypting store: the byte queue that cuts chunks into segments
 * without copying more than it must, and the encrypting transform, whose output must not depend
 * on how its input is chunked.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { expect } from 'chai';
import {
  decryptBuffer,
  newHeader,
  sealSegment,
  segmentContext,
  segmentCount,
} from '../../src/storage/encrypted-format.js';
import type { ObjectBinding } from '../../src/storage/encrypted-format.js';
import { ByteQueue, EncryptStream } from '../../src/storage/encrypted-stream.js';
import { rejection } from '../support/rejection.js';
import { seededBytes } from '../support/random.js';

const binding: ObjectBinding = { recordingId: '01JTESTRECORDING000000000A', role: 'original' };

/** `plain` cut into chunks of the given sizes in turn (the last one shorter). */
function chunked(plain: Buffer, sizes: number[]): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0, i = 0; at < plain.length; i++) {
    const size = sizes[i % sizes.length]!;
    chunks.push(plain.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

/** The object `encryptBuffer` makes, with a given header: the header, then each segment sealed on its own. */
function sealedWhole(ctx: ReturnType<typeof segmentContext>, plain: Buffer): Buffer {
  const size = ctx.header.segmentSize;
  const n = segmentCount(plain.length, size);
  const parts = [ctx.header.bytes];
  for (let i = 0; i < n; i++) parts.push(sealSegment(ctx, i, i === n - 1, plain.subarray(i * size, (i + 1) * size)));
  return Buffer.concat(parts);
}

/** A context over a fresh header, with overrides. */
function contextOf(overrides: { key?: Buffer; segmentSize?: number } = {}) {
  const key = overrides.key ?? seededBytes('encrypted-stream-key', 32);
  const header = newHeader({ kekId: 'k1', segmentSize: overrides.segmentSize ?? 100 });
  return { key, ctx: segmentContext(key, header, binding) };
}

describe('encrypting stream', () => {
  it('when a plaintext arrives in chunks of odd sizes across segment boundaries, then the stream gives the bytes of sealing each segment on its own, and they decrypt back', async () => {
    const { key, ctx } = contextOf({ segmentSize: 100 });
    const chunkings = [[1], [7], [99], [100], [101], [33, 250, 1, 67], [1000]];
    for (const size of [0, 1, 99, 100, 101, 199, 200, 201, 777]) {
      const plain = seededBytes(`encrypted-stream-${size}`, size);
      const expected = sealedWhole(ctx, plain);
      for (const sizes of chunkings) {
        const label = `${size} bytes in chunks of ${sizes.join(',')}`;
        const out = await buffer(Readable.from(chunked(plain, sizes)).pipe(new EncryptStream(ctx, {})));
        expect(out.equals(expected), label).to.equal(true);
        expect(decryptBuffer(key, binding, out).equals(plain), label).to.equal(true);
      }
    }
  });

  it('when a body of several 64 KiB segments arrives in chunks that straddle them, then every segment is sealed from the right bytes', async () => {
    const { key, ctx } = contextOf({ segmentSize: 64 * 1024 });
    const plain = seededBytes('encrypted-stream-64k', 5 * 64 * 1024 + 12_345);
    const expected = sealedWhole(ctx, plain);
    for (const sizes of [[64 * 1024 - 1], [64 * 1024 + 1], [16 * 1024], [1000, 70_000, 5]]) {
      const out = await buffer(
        Readable.from(chunked(plain, sizes)).pipe(new EncryptStream(ctx, { length: plain.length })),
      );
      expect(out.equals(expected), sizes.join(',')).to.equal(true);
      expect(decryptBuffer(key, binding, out).equals(plain)).to.equal(true);
    }
  });

  it('when the body is longer or shorter than its length, or does not match its sha256, then the stream fails and never emits the last segment', async () => {
    const { ctx } = contextOf({ segmentSize: 100 });
    const plain = seededBytes('encrypted-stream-checks', 250);
    const sha256 = createHash('sha256').update(plain).digest('hex');
    for (const [label, expect_] of [
      ['longer', { length: 249 }],
      ['shorter', { length: 251 }],
      ['another sha256', { sha256: createHash('sha256').update('other').digest('hex') }],
    ] as const) {
      const stream = new EncryptStream(ctx, expect_);
      const out: Buffer[] = [];
      stream.on('data', (c: Buffer) => out.push(c));
      const failed = await rejection(
        new Promise((resolve, reject) => {
          stream.on('error', reject).on('end', resolve);
          Readable.from(chunked(plain, [30])).pipe(stream);
        }),
      );
      expect(failed, label).to.be.instanceOf(Error);
      // The header and at most the two full segments: never the last one (52 bytes of ciphertext + tag).
      expect(Buffer.concat(out).length, label).to.be.at.most(64 + 2 * 116);
      if (label === 'another sha256') expect(stream.mismatch).to.equal(true);
    }
    const good = await buffer(Readable.from([plain]).pipe(new EncryptStream(ctx, { length: 250, sha256 })));
    expect(good.length).to.equal(64 + 250 + 3 * 16);
  });
});

describe('byte queue', () => {
  it('when the first queued chunk holds the bytes taken, then take returns a view of that chunk, not a copy', () => {
    const queue = new ByteQueue();
    const a = seededBytes('byte-queue-a', 300);
    const b = seededBytes('byte-queue-b', 300);
    queue.push(a);
    queue.push(b);
    const first = queue.take(100);
    expect(first.buffer).to.equal(a.buffer);
    expect(first.byteOffset).to.equal(a.byteOffset);
    expect(first.equals(a.subarray(0, 100))).to.equal(true);
    const second = queue.take(200);
    expect(second.buffer).to.equal(a.buffer);
    expect(second.equals(a.subarray(100))).to.equal(true);
    expect(queue.take(300).buffer).to.equal(b.buffer);
    expect(queue.length).to.equal(0);
  });

  it('when the bytes taken span chunks, then they are copied once into the scratch buffer and the rest stays queued in order', () => {
    const queue = new ByteQueue();
    const plain = seededBytes('byte-queue-span', 1000);
    for (const chunk of chunked(plain, [1, 7, 150, 3])) queue.push(chunk);
    const scratch = Buffer.alloc(200);
    const taken: Buffer[] = [];
    let at = 0;
    // 199 and 200 span chunks and fit the scratch; 1 lies within a chunk; 350 does not fit the scratch.
    for (const [n, inScratch] of [
      [199, true],
      [200, true],
      [1, false],
      [0, false],
      [350, false],
    ] as const) {
      const got = queue.take(n, scratch);
      expect(got.buffer === scratch.buffer, `take(${n}) in the scratch buffer`).to.equal(inScratch);
      expect(got.equals(plain.subarray(at, at + n)), `take(${n}) at ${at}`).to.equal(true);
      taken.push(Buffer.from(got));
      at += n;
    }
    expect(queue.length).to.equal(250);
    expect(Buffer.concat([...taken, queue.take(250)]).equals(plain)).to.equal(true);
  });

  it('when many one-byte chunks are queued, then taking them back in any cut gives the same bytes', () => {
    const queue = new ByteQueue();
    const plain = seededBytes('byte-queue-ones', 5000);
    for (const chunk of chunked(plain, [1])) queue.push(chunk);
    const parts: Buffer[] = [];
    for (const n of [1, 2047, 1, 2048, 903]) parts.push(Buffer.from(queue.take(n)));
    expect(Buffer.concat(parts).equals(plain)).to.equal(true);
    expect(() => queue.take(1)).to.throw(RangeError);
  });
});
