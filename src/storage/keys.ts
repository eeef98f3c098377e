/**
 * Object keys: the one validation every driver calls, and the one builder the
 * service uses. Keys never come from client input and never hold personal data.
 */
import { InvalidKeyError } from './object-store.js';

const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
export const MAX_KEY_LENGTH = 512;

/**
 * Throws InvalidKeyError unless `key` is a relative path of safe segments:
 * no empty, `.` or `..` segment, no leading slash, backslash, NUL, colon (drive letters)
 * or other character outside [A-Za-z0-9._-/].
 */
export function assertValidKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidKeyError('empty');
  if (key.length > MAX_KEY_LENGTH) throw new InvalidKeyError('too long');
  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') throw new InvalidKeyError('empty or dot segment');
    if (!SEGMENT.test(segment)) throw new InvalidKeyError('character outside [A-Za-z0-9._-]');
  }
}

/** A prefix for `list`: empty, or a valid key optionally ending in `/`. */
export function assertValidPrefix(prefix: string): void {
  if (prefix === '') return;
  assertValidKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}

export const RECORDINGS_PREFIX = 'recordings/';

/** `recordings/YYYY/MM/DD/<id>/` from the call's start (UTC) and the recording id. */
export function recordingPrefix(id: string, startedAt: Date): string {
  const y = startedAt.getUTCFullYear().toString().padStart(4, '0');
  const m = (startedAt.getUTCMonth() + 1).toString().padStart(2, '0');
  const d = startedAt.getUTCDate().toString().padStart(2, '0');
  const prefix = `${RECORDINGS_PREFIX}${y}/${m}/${d}/${id}/`;
  assertValidPrefix(prefix);
  return prefix;
}

export function recordingKey(options: {
  id: string;
  startedAt: Date;
  name: 'original' | 'playback';
  ext: string;
}): string {
  const key = `${recordingPrefix(options.id, options.startedAt)}${options.name}.${options.ext}`;
  assertValidKey(key);
  return key;
}

/** The recording id inside a key built by `recordingKey`, or undefined for any other key. */
export function recordingIdOfKey(key: string): string | undefined {
  const match = /^recordings\/\d{4}\/\d{2}\/\d{2}\/([A-Za-z0-9]+)\//.exec(key);
  return match?.[1];
}

/**
 * The recording and role an object under a `recordingKey` key (or its `encryptedCopyKey`, or a
 * `redactedKey`)
 * belongs to (what the encryption binds each object to): role = the name before the extension
 * (`original`, `playback`). Undefined for any other key (e.g. published checkpoints), which is
 * not encrypted.
 */
export function recordingBindingOfKey(key: string): { recordingId: string; role: string } | undefined {
  const match =
    /^recordings\/\d{4}\/\d{2}\/\d{2}\/([A-Za-z0-9]+)\/(?:enc\/|r[0-9A-Z]{26}\/)?([a-z]+)\.[A-Za-z0-9]+$/.exec(key);
  return match ? { recordingId: match[1]!, role: match[2]! } : undefined;
}

/** The folder of the encrypted copies `callrec encrypt-existing` writes beside a recording's plaintext objects. */
export const ENCRYPTED_COPY_FOLDER = 'enc/';

/**
 * Where `callrec encrypt-existing` writes the encrypted copy of a plaintext recording object:
 * `recordings/YYYY/MM/DD/<id>/enc/<name>.<ext>` for `recordings/YYYY/MM/DD/<id>/<name>.<ext>`
 * (same recording and role, so the same binding; its own folder, so that one prefix names the
 * copies and nothing else). Undefined for a key of any other shape (a copy already among them).
 */
export function encryptedCopyKey(key: string): string | undefined {
  const match = /^(recordings\/\d{4}\/\d{2}\/\d{2}\/[A-Za-z0-9]+\/)([a-z]+\.[A-Za-z0-9]+)$/.exec(key);
  if (!match) return undefined;
  const copy = `${match[1]}${ENCRYPTED_COPY_FOLDER}${match[2]}`;
  assertValidKey(copy);
  return copy;
}

/**
 * Where a manual redaction writes a recording's new objects: `recordings/YYYY/MM/DD/<id>/r<ULID>/<name>.<ext>`,
 * one folder per redaction (`redaction`: a ULID), so that one prefix names them and nothing else. Same
 * recording and role as the objects they replace (the same encryption binding).
 */
export function redactedKey(options: {
  id: string;
  startedAt: Date;
  redaction: string;
  name: 'original' | 'playback';
  ext: string;
}): string {
  const key = `${recordingPrefix(options.id, options.startedAt)}r${options.redaction}/${options.name}.${options.ext}`;
  assertValidKey(key);
  return key;
}
