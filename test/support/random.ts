/**
 * Seeded test and benchmark inputs: the same seed gives the same bytes and numbers on every run
 * and machine, so a failure replays exactly. Name a string seed after the test that uses it.
 */
import { createCipheriv, createHash } from 'node:crypto';

/** `size` pseudo-random bytes determined by `seed` (the AES-256-CTR keystream of its SHA-256). */
export function seededBytes(seed: string, size: number): Buffer {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return Buffer.concat([cipher.update(Buffer.alloc(size)), cipher.final()]);
}

export interface SeededRandom {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max). */
  int(min: number, max: number): number;
  /** `n` bytes from the same sequence. */
  bytes(n: number): Buffer;
  /** Shuffles `items` in place (Fisher–Yates) and returns them. */
  shuffle<T>(items: T[]): T[];
}

/** mulberry32 from a number seed, or from a 32-bit hash of a string seed. */
export function seededRandom(seed: string | number): SeededRandom {
  let state = typeof seed === 'number' ? seed >>> 0 : createHash('sha256').update(seed).digest().readUInt32LE(0);
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min));
  return {
    next,
    int,
    bytes(n) {
      const out = Buffer.allocUnsafe(n);
      for (let i = 0; i + 4 <= n; i += 4) out.writeUInt32LE((next() * 4294967296) >>> 0, i);
      for (let i = n - (n % 4); i < n; i++) out[i] = int(0, 256);
      return out;
    },
    shuffle(items) {
      for (let i = items.length - 1; i > 0; i--) {
        const j = int(0, i + 1);
        [items[i], items[j]] = [items[j]!, items[i]!];
      }
      return items;
    },
  };
}
