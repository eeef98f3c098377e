/**
 * Object tags: the one validation both drivers run before any I/O, so that fs accepts exactly
 * what S3 accepts (at most 10 tags; key 1-128, value 0-256 characters of letters, digits,
 * spaces and `+ - = . _ : / @`). Tags are built by the service, never taken from a client, so a
 * bad tag is a programming error: it throws a TypeError. `recordingTags` builds the tags every
 * recording object carries (ingest writes them, the reconciler restores them).
 */
import type { Tags } from './object-store.js';

export const MAX_TAGS = 10;
const TAG_CHARS = /^[\p{L}\p{Z}\p{N}+\-=._:/@]*$/u;

export function assertValidTags(tags: Tags): void {
  const entries = Object.entries(tags);
  if (entries.length > MAX_TAGS) throw new TypeError(`at most ${MAX_TAGS} tags per object, got ${entries.length}`);
  for (const [key, value] of entries) {
    if (key.length < 1 || key.length > 128 || !TAG_CHARS.test(key))
      throw new TypeError(`invalid tag key ${JSON.stringify(key)}`);
    if (typeof value !== 'string' || value.length > 256 || !TAG_CHARS.test(value)) {
      throw new TypeError(`invalid value of tag ${JSON.stringify(key)}`);
    }
  }
}

/** The tags both objects carry (the lifecycle rule and the reconciler read them). */
export function recordingTags(retentionTag: string, expiresAt: number): Tags {
  return { retention: retentionTag, 'expires-at': new Date(expiresAt).toISOString().slice(0, 10), purpose: 'training' };
}
