/**
 * The callrec segmented encryption format, version 1 (a streaming AEAD in the style of Tink's
 * AES-GCM-HKDF streaming AEAD and age's STREAM). Pure functions: no I/O, no keys stored here.
 *
 * An encrypted object is a 64-byte header followed by segments:
 *
 *   offset  size  field
 *   0       7     magic, ASCII "callrec"
 *   7       1     format version, 0x01
 *   8       4     segment size S: plaintext bytes per segment (uint32 big-endian)
 *   12      16    salt (random per object)
 *   28      7     nonce prefix (random per object)
 *   35      1     length L of the key-encryption-key id (1..28)
 *   36      28    key-encryption-key id (ASCII), zero-padded
 *   64      ...   segments: each the AES-256-GCM ciphertext of S plaintext bytes (the last one
 *                 of 0..S bytes) followed by its 16-byte tag
 *
 * A plaintext of p bytes has n = max(1, ceil(p / S)) segments (an empty plaintext is one empty
 * last segment), so the object is 64 + p + 16·n bytes long.
 *
 * Segment i (from 0) is sealed with
 *   key   = HKDF-SHA256(ikm = the recording's 256-bit data key, salt = header salt,
 *                       info = "callrec/v1 segment key", 32 bytes)
 *   nonce = nonce prefix (7) ‖ uint32 big-endian i ‖ 0x01 for the last segment, else 0x00
 *   AAD   = the 64 header bytes ‖ recording id (UTF-8) ‖ 0x00 ‖ object role (UTF-8)
 * so a reordered, dropped, truncated (the new last segment was sealed as not-last), edited, or
 * swapped object (another recording's, or the other role's) fails authentication.
 * The key-encryption-key id names the keyring key that wrapped the data key when the object
 * was written; rotation re-wraps the data key without rewriting objects, so the current
 * wrapping key is the one the key's row names.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

export const MAGIC = Buffer.from('callrec', 'ascii');
export const FORMAT_VERSION = 1;
export const HEADER_SIZE = 64;
export const TAG_SIZE = 16;
export const DEFAULT_SEGMENT_SIZE = 64 * 1024;
export const MAX_KEK_ID_LENGTH = 28;
const SEGMENT_KEY_INFO = Buffer.from('callrec/v1 segment key', 'ascii');
const KEK_ID = /^[A-Za-z0-9._-]{1,28}$/;

export interface FormatHeader {
  segmentSize: number;
  salt: Buffer;
  noncePrefix: Buffer;
  kekId: string;
  /** The 64 header bytes as stored (part of every segment's AAD). */
  bytes: Buffer;
}

/** The object does not decrypt: not in this format, damaged, truncated, reordered or swapped. */
export class FormatError extends Error {
  override readonly name = 'FormatError';
}

/** A new header with a fresh salt and nonce prefix. */
export function newHeader(options: { kekId: string; segmentSize?: number }): FormatHeader {
  const segmentSize = options.segmentSize ?? DEFAULT_SEGMENT_SIZE;
  if (!KEK_ID.test(options.kekId))
    throw new RangeError('a key-encryption-key id is 1..28 characters of [A-Za-z0-9._-]');
  if (!Number.isInteger(segmentSize) || segmentSize < 1 || segmentSize > 0x7fffffff)
    throw new RangeError('segment size out of range');
  const bytes = Buffer.alloc(HEADER_SIZE);
  MAGIC.copy(bytes, 0);
  bytes[7] = FORMAT_VERSION;
  bytes.writeUInt32BE(segmentSize, 8);
  const salt = randomBytes(16);
  const noncePrefix = randomBytes(7);
  salt.copy(bytes, 12);
  noncePrefix.copy(bytes, 28);
  bytes[35] = options.kekId.length;
  bytes.write(options.kekId, 36, 'ascii');
  return { segmentSize, salt, noncePrefix, kekId: options.kekId, bytes };
}

/** True when `bytes` start like an object in this format (any version): the format marker. */
export function hasMagic(bytes: Buffer): boolean {
  return bytes.length >= MAGIC.length && bytes.subarray(0, MAGIC.length).equals(MAGIC);
}

/** Parses the 64 header bytes; throws FormatError for anything but a well-formed version-1 header. */
export function parseHeader(bytes: Buffer): FormatHeader {
  if (bytes.length < HEADER_SIZE || !hasMagic(bytes)) throw new FormatError('not an encrypted callrec object');
  if (bytes[7] !== FORMAT_VERSION) throw new FormatError(`unknown format version ${bytes[7]}`);
  const segmentSize = bytes.readUInt32BE(8);
  const length = bytes[35]!;
  const kekId = bytes.toString('ascii', 36, 36 + length);
  if (
    segmentSize < 1 ||
    segmentSize > 0x7fffffff ||
    !KEK_ID.test(kekId) ||
    bytes.subarray(36 + length, HEADER_SIZE).some((b) => b !== 0)
  ) {
    throw new FormatError('malformed header');
  }
  const own = Buffer.from(bytes.subarray(0, HEADER_SIZE));
  return { segmentSize, salt: own.subarray(12, 28), noncePrefix: own.subarray(28, 35), kekId, bytes: own };
}

/** Segments of a plaintext of `plainSize` bytes. */
export function segmentCount(plainSize: number, segmentSize: number): number {
  return Math.max(1, Math.ceil(plainSize / segmentSize));
}

/** Stored size of a plaintext of `plainSize` bytes. */
export function encryptedSize(plainSize: number, segmentSize: number): number {
  return HEADER_SIZE + plainSize + TAG_SIZE * segmentCount(plainSize, segmentSize);
}

/** Plaintext size of a stored object of `storedSize` bytes, or undefined when no plaintext has that stored size. */
export function plainSizeOf(storedSize: number, segmentSize: number): number | undefined {
  const body = storedSize - HEADER_SIZE;
  if (!Number.isSafeInteger(body) || body < TAG_SIZE) return undefined;
  const full = segmentSize + TAG_SIZE;
  const k = Math.floor(body / full);
  const rest = body - k * full;
  if (rest === 0) return k * segmentSize;
  if (rest < TAG_SIZE) return undefined;
  return k * segmentSize + rest - TAG_SIZE;
}

/** Byte offset of segment `index` in the stored object. */
export function segmentOffset(index: number, segmentSize: number): number {
  return HEADER_SIZE + index * (segmentSize + TAG_SIZE);
}

/** What binds a segment to its place: the recording and the object's role. */
export interface ObjectBinding {
  recordingId: string;
  role: string;
}

/** The per-object key and AAD, derived once per object read or write. */
export interface SegmentContext {
  header: FormatHeader;
  key: Buffer;
  aad: Buffer;
}

export function segmentContext(dataKey: Buffer, header: FormatHeader, binding: ObjectBinding): SegmentContext {
  if (dataKey.length !== 32) throw new RangeError('a data key is 32 bytes');
  const key = Buffer.from(hkdfSync('sha256', dataKey, header.salt, SEGMENT_KEY_INFO, 32));
  const aad = Buffer.concat([
    header.bytes,
    Buffer.from(binding.recordingId, 'utf8'),
    Buffer.from([0]),
    Buffer.from(binding.role, 'utf8'),
  ]);
  return { header, key, aad };
}

function nonceOf(ctx: SegmentContext, index: number, last: boolean): Buffer {
  const nonce = Buffer.allocUnsafe(12); // every byte is written below
  ctx.header.noncePrefix.copy(nonce, 0);
  nonce.writeUInt32BE(index, 7);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

/**
 * Seals one segment into the pieces that, in order, make its stored bytes (ciphertext ‖ tag),
 * without copying them into one buffer: the ciphertext and the 16-byte tag (GCM's final() adds
 * no bytes).
 */
export function sealSegmentParts(ctx: SegmentContext, index: number, last: boolean, plain: Buffer): Buffer[] {
  if (index > 0xffffffff) throw new RangeError('too many segments');
  const cipher = createCipheriv('aes-256-gcm', ctx.key, nonceOf(ctx, index, last));
  cipher.setAAD(ctx.aad);
  const head = cipher.update(plain);
  const tail = cipher.final();
  return tail.length ? [head, tail, cipher.getAuthTag()] : [head, cipher.getAuthTag()];
}

/** Seals one segment: ciphertext ‖ tag. */
export function sealSegment(ctx: SegmentContext, index: number, last: boolean, plain: Buffer): Buffer {
  return Buffer.concat(sealSegmentParts(ctx, index, last, plain));
}

/**
 * Opens one segment (ciphertext ‖ tag); throws FormatError when it does not authenticate at this index and position.
 */
export function openSegment(ctx: SegmentContext, index: number, last: boolean, sealed: Buffer): Buffer {
  if (sealed.length < TAG_SIZE || sealed.length > ctx.header.segmentSize + TAG_SIZE)
    throw new FormatError(`segment ${index} has a wrong length`);
  if (!last && sealed.length !== ctx.header.segmentSize + TAG_SIZE) throw new FormatError(`segment ${index} is short`);
  const decipher = createDecipheriv('aes-256-gcm', ctx.key, nonceOf(ctx, index, last));
  decipher.setAAD(ctx.aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_SIZE));
  try {
    const head = decipher.update(sealed.subarray(0, sealed.length - TAG_SIZE));
    const tail = decipher.final();
    return tail.length ? Buffer.concat([head, tail]) : head;
  } catch (error) {
    throw new FormatError(`segment ${index} does not authenticate`, { cause: error });
  }
}

/** Encrypts a whole plaintext held in memory (small bodies, tests). */
export function encryptBuffer(
  dataKey: Buffer,
  binding: ObjectBinding,
  plain: Buffer,
  options: { kekId: string; segmentSize?: number },
): Buffer {
  const header = newHeader(options);
  const ctx = segmentContext(dataKey, header, binding);
  const n = segmentCount(plain.length, header.segmentSize);
  const parts = [header.bytes];
  for (let i = 0; i < n; i++)
    parts.push(
      ...sealSegmentParts(ctx, i, i === n - 1, plain.subarray(i * header.segmentSize, (i + 1) * header.segmentSize)),
    );
  return Buffer.concat(parts);
}

/** Decrypts a whole stored object held in memory (tests, tools); throws FormatError. */
export function decryptBuffer(dataKey: Buffer, binding: ObjectBinding, stored: Buffer): Buffer {
  const header = parseHeader(stored);
  const plainSize = plainSizeOf(stored.length, header.segmentSize);
  if (plainSize === undefined) throw new FormatError('the object has a length no plaintext has (truncated?)');
  const ctx = segmentContext(dataKey, header, binding);
  const n = segmentCount(plainSize, header.segmentSize);
  const parts: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const start = segmentOffset(i, header.segmentSize);
    parts.push(
      openSegment(
        ctx,
        i,
        i === n - 1,
        stored.subarray(start, Math.min(stored.length, start + header.segmentSize + TAG_SIZE)),
      ),
    );
  }
  return Buffer.concat(parts);
}
