/**
 * Ogg pages (RFC 3533), read from bytes: enough to seek in an Ogg Opus rendition by its
 * granule positions without decoding. Pure functions over buffers; no I/O.
 *
 * A page is found only where its capture pattern, version, whole length and CRC all check out,
 * so a chance "OggS" inside compressed audio is never taken for a page.
 */

/** The largest possible page: 27-byte header, 255 lacing values, 255 × 255 bytes of body. */
export const MAX_PAGE_BYTES = 27 + 255 + 255 * 255;

/** Opus granule positions count 48 kHz samples, whatever the input rate (RFC 7845 §4). */
export const OPUS_GRANULE_RATE = 48_000;

export interface OggPage {
  /** Offset of the page's first byte within the buffer it was found in. */
  offset: number;
  /** Whole page length in bytes. */
  size: number;
  /** End position of the last packet completed on this page; -1 when none completes on it. */
  granule: number;
  /** Offset of the page body within the buffer. */
  bodyOffset: number;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let k = 0; k < 8; k++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    table[i] = r >>> 0;
  }
  return table;
})();

/** The Ogg CRC-32 (polynomial 0x04c11db7, no reflection) of `bytes` with the CRC field taken as zero. */
function pageCrc(bytes: Uint8Array, start: number, size: number): number {
  let crc = 0;
  for (let i = 0; i < size; i++) {
    const byte = i >= 22 && i < 26 ? 0 : bytes[start + i]!;
    crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ byte) & 0xff]!) >>> 0;
  }
  return crc;
}

/** The page starting exactly at `at`, when a whole valid page is there; undefined otherwise. */
export function pageAt(buf: Uint8Array, at: number): OggPage | undefined {
  if (at + 27 > buf.length) return undefined;
  if (buf[at] !== 0x4f || buf[at + 1] !== 0x67 || buf[at + 2] !== 0x67 || buf[at + 3] !== 0x53) return undefined;
  if (buf[at + 4] !== 0) return undefined;
  const segments = buf[at + 26]!;
  if (at + 27 + segments > buf.length) return undefined;
  let body = 0;
  for (let i = 0; i < segments; i++) body += buf[at + 27 + i]!;
  const size = 27 + segments + body;
  if (at + size > buf.length) return undefined;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (view.getUint32(at + 22, true) !== pageCrc(buf, at, size)) return undefined;
  return { offset: at, size, granule: Number(view.getBigInt64(at + 6, true)), bodyOffset: at + 27 + segments };
}

/** The first whole valid page starting at or after `from`; undefined when none lies wholly in `buf`. */
export function findPage(buf: Uint8Array, from = 0): OggPage | undefined {
  for (let at = buf.indexOf(0x4f, from); at >= 0 && at + 27 <= buf.length; at = buf.indexOf(0x4f, at + 1)) {
    const page = pageAt(buf, at);
    if (page) return page;
  }
  return undefined;
}

/** The consecutive whole pages from `from` on, stopping at the first gap or partial page. */
export function pagesFrom(buf: Uint8Array, from = 0): OggPage[] {
  const pages: OggPage[] = [];
  for (let page = pageAt(buf, from); page; page = pageAt(buf, page.offset + page.size)) pages.push(page);
  return pages;
}

/** Whether a page's body is an Opus identification header (`OpusHead`). */
export function isOpusHead(buf: Uint8Array, page: OggPage): boolean {
  const magic = buf.subarray(page.bodyOffset, page.bodyOffset + 8);
  return Buffer.from(magic).toString('latin1') === 'OpusHead';
}
