/**
 * The streaming pieces of the encrypting store (./encrypted-store.ts): a byte queue that cuts a
 * stream of chunks into segments, and the transform that encrypts a put's body.
 *
 * Both copy as little as they can, because a put's cost beside the cipher is mostly copies
 * (every copy of a fresh buffer pays its page faults and its garbage collection): a segment that
 * lies within one chunk is a view of it, and a sealed segment leaves as its ciphertext and its
 * tag, never concatenated.
 */
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { sealSegmentParts } from './encrypted-format.js';
import type { SegmentContext } from './encrypted-format.js';

/** Readable-side buffer of the encrypting transform: room for 16 sealed segments of 64 KiB. */
const SEALED_BUFFER = 1024 * 1024;

/**
 * A FIFO of byte chunks from which the first `n` bytes are taken whatever the chunking.
 *
 * Contract: `take(n)` returns a view of the first queued chunk when that chunk holds all `n`
 * bytes (no copy), otherwise the `n` bytes copied once (never the whole queue) into `scratch`
 * when it is given and long enough (the result is then a view of it: valid until `scratch` is
 * written again), else into a new buffer. Views of queued chunks stay valid as long as the
 * chunks do (the queue never writes into them).
 */
export class ByteQueue {
  private chunks: Buffer[] = [];
  /** Index of the first chunk still queued (chunks before it are taken; compacted now and then). */
  private first = 0;
  length = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** The first `n` bytes (at most `length`), removed from the queue; see the contract for `scratch`. */
  take(n: number, scratch?: Buffer): Buffer {
    if (!Number.isInteger(n) || n < 0 || n > this.length) throw new RangeError(`cannot take ${n} of ${this.length}`);
    if (n === 0) return Buffer.alloc(0);
    const head = this.chunks[this.first]!;
    let out: Buffer;
    if (head.length >= n) {
      out = head.subarray(0, n);
      this.drop(head, n);
    } else {
      out = scratch && scratch.length >= n ? scratch.subarray(0, n) : Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const chunk = this.chunks[this.first]!;
        const k = Math.min(chunk.length, n - filled);
        chunk.copy(out, filled, 0, k);
        filled += k;
        this.drop(chunk, k);
      }
    }
    this.length -= n;
    return out;
  }

  /** Removes `k` bytes from the first chunk (`chunk`). */
  private drop(chunk: Buffer, k: number): void {
    if (k < chunk.length) {
      this.chunks[this.first] = chunk.subarray(k);
      return;
    }
    this.first += 1;
    if (this.first === this.chunks.length) {
      this.chunks = [];
      this.first = 0;
    } else if (this.first >= 1024 && this.first * 2 >= this.chunks.length) {
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
  }
}

/**
 * The encrypting transform of a put: plaintext in (any chunking), the header and the sealed
 * segments out, the same bytes as `encryptBuffer` with the same header would give. It checks
 * the length (as it streams: a longer body fails at once) and the sha256 (at the end, setting
 * `mismatch`) of the plaintext; the last segment is sealed only after both checks passed, so a
 * body that fails them never forms a complete object.
 */
export class EncryptStream extends Transform {
  private readonly queue = new ByteQueue();
  /** Where a segment spread over several chunks is gathered (sealing does not keep its input). */
  private scratch: Buffer | undefined;
  private index = 0;
  private seen = 0;
  private readonly hash;
  mismatch = false;

  constructor(
    private readonly ctx: SegmentContext,
    private readonly expect: { length?: number; sha256?: string },
  ) {
    super({ readableHighWaterMark: SEALED_BUFFER });
    this.hash = expect.sha256 ? createHash('sha256') : undefined;
    this.push(ctx.header.bytes);
  }

  private pushAll(parts: Buffer[]): void {
    for (const part of parts) this.push(part);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    try {
      this.seen += chunk.length;
      this.hash?.update(chunk);
      if (this.expect.length !== undefined && this.seen > this.expect.length)
        throw new RangeError('the body is longer than its contentLength');
      this.queue.push(chunk);
      const size = this.ctx.header.segmentSize;
      // A full segment is sealed once a byte after it arrived: only then is it known not to be the last.
      while (this.queue.length > size) {
        this.scratch ??= Buffer.allocUnsafeSlow(size);
        this.pushAll(sealSegmentParts(this.ctx, this.index++, false, this.queue.take(size, this.scratch)));
      }
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    if (this.expect.length !== undefined && this.seen !== this.expect.length)
      return callback(new RangeError('the body is shorter than its contentLength'));
    if (this.hash && this.hash.digest('hex') !== this.expect.sha256!.toLowerCase()) {
      this.mismatch = true;
      return callback(new Error('the body does not match its sha256'));
    }
    this.pushAll(sealSegmentParts(this.ctx, this.index++, true, this.queue.take(this.queue.length, this.scratch)));
    callback();
  }
}
