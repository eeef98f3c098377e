/**
 * Key-encryption keys (KEKs) and the wrapping of data keys.
 *
 * `KeyWrapper` is the small interface the rest of callrec uses, so that a KMS (AWS KMS, Vault
 * transit) can take the place of the local keyring later. The local keyring is a JSON file
 * (mode 0600) holding one or more 256-bit keys with ids; new data keys are wrapped with the
 * `current` one. A wrapped data key is nonce (12) ‖ AES-256-GCM(KEK, data key) ‖ tag (16), with
 * AAD "callrec/v1 data key" ‖ 0x00 ‖ recording id ‖ 0x00 ‖ KEK id, so a wrapped key moved to
 * another recording's row does not unwrap.
 *
 * File format: {"format":"callrec-keyring","version":1,"current":"<id>",
 *               "keys":[{"id":"<id>","createdAt":"<ISO 8601>","key":"<base64 of 32 bytes>"}]}
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface WrappedKey {
  kekId: string;
  wrapped: Buffer;
}

export interface KeyWrapper {
  /** The KEK new data keys are wrapped with. */
  readonly currentKekId: string;
  /** Whether this wrapper holds the KEK `kekId`. */
  has(kekId: string): boolean;
  wrap(dataKey: Buffer, context: { recordingId: string }): Promise<WrappedKey>;
  /** The data key; throws KeyringError when the KEK is unknown or the wrapped key does not authenticate. */
  unwrap(wrapped: WrappedKey, context: { recordingId: string }): Promise<Buffer>;
}

/**
 * The keyring cannot serve: missing, unreadable, malformed, or not the one the data keys were wrapped with. One line.
 */
export class KeyringError extends Error {
  override readonly name = 'KeyringError';
}

export interface KeyringEntry {
  id: string;
  createdAt: string;
  key: Buffer;
}

export interface KeyringFile {
  current: string;
  keys: KeyringEntry[];
}

const ID = /^[A-Za-z0-9._-]{1,28}$/;

/** A new KEK id: `k` + UTC date + random hex, e.g. k20261130-1a2b3c4d. */
export function newKekId(now: Date): string {
  return `k${now.toISOString().slice(0, 10).replaceAll('-', '')}-${randomBytes(4).toString('hex')}`;
}

export function newKeyringEntry(now: Date): KeyringEntry {
  return { id: newKekId(now), createdAt: now.toISOString(), key: randomBytes(32) };
}

export function serializeKeyring(ring: KeyringFile): string {
  return `${JSON.stringify(
    {
      format: 'callrec-keyring',
      version: 1,
      current: ring.current,
      keys: ring.keys.map((k) => ({ id: k.id, createdAt: k.createdAt, key: k.key.toString('base64') })),
    },
    null,
    2,
  )}\n`;
}

export function parseKeyring(text: string, file: string): KeyringFile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new KeyringError(`the keyring ${file} is not valid JSON`);
  }
  const d = doc as { format?: unknown; version?: unknown; current?: unknown; keys?: unknown };
  if (d?.format !== 'callrec-keyring' || d.version !== 1 || typeof d.current !== 'string' || !Array.isArray(d.keys)) {
    throw new KeyringError(`the keyring ${file} is not a callrec keyring (version 1)`);
  }
  const keys: KeyringEntry[] = [];
  for (const k of d.keys as Array<{ id?: unknown; createdAt?: unknown; key?: unknown }>) {
    const key = typeof k?.key === 'string' ? Buffer.from(k.key, 'base64') : Buffer.alloc(0);
    if (typeof k?.id !== 'string' || !ID.test(k.id) || typeof k.createdAt !== 'string' || key.length !== 32) {
      throw new KeyringError(`the keyring ${file} holds a malformed key`);
    }
    if (keys.some((x) => x.id === k.id)) throw new KeyringError(`the keyring ${file} holds the key ${k.id} twice`);
    keys.push({ id: k.id, createdAt: k.createdAt, key });
  }
  if (!keys.some((k) => k.id === d.current))
    throw new KeyringError(`the keyring ${file} names a current key it does not hold`);
  return { current: d.current, keys };
}

/** Reads the keyring file; undefined when it does not exist. */
export function readKeyringFile(file: string): KeyringFile | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new KeyringError(`the keyring ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return parseKeyring(text, file);
}

/**
 * Writes the keyring atomically with mode 0600: a complete temp file beside it (fsynced), then
 * renamed into place; readers see the old file or the whole new one. With `exclusive` it is
 * linked into place instead, which fails (EEXIST) when the file exists, so that two instances
 * starting at once end up with the same keyring and neither reads a half-written one.
 */
export function writeKeyringFile(file: string, ring: KeyringFile, options: { exclusive: boolean }): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const fd = fs.openSync(temp, 'wx', 0o600);
    try {
      fs.writeSync(fd, serializeKeyring(ring));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    if (options.exclusive) fs.linkSync(temp, file);
    else fs.renameSync(temp, file);
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

/**
 * Removes temp files a killed writer left beside the keyring (`<name>.<pid>.<hex>.tmp`, each a
 * copy of key material) whose process is gone. Returns how many.
 */
export function removeStaleKeyringTemp(file: string): number {
  const dir = path.dirname(file);
  const base = path.basename(file);
  let removed = 0;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    const match = /^(.*)\.(\d+)\.[0-9a-f]{8}\.tmp$/.exec(name);
    if (!match || match[1] !== base || isAlive(Number(match[2]))) continue;
    fs.rmSync(path.join(dir, name), { force: true });
    removed += 1;
  }
  return removed;
}

/**
 * Runs `fn` holding the keyring's lock file (`<keyring>.lock`, created exclusively, holding the
 * pid): keyring changes (rotate, rewrap, remove) never interleave, so no key added by one is lost
 * to another's rewrite. A lock whose process is gone is taken over.
 */
export async function withKeyringLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const lock = `${file}.lock`;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx', mode: 0o600 });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0)
        throw new KeyringError(`another keys command holds ${lock}`);
      const holder = Number(fs.readFileSync(lock, 'utf8'));
      if (Number.isInteger(holder) && holder > 0 && isAlive(holder))
        throw new KeyringError(`another keys command (pid ${holder}) holds ${lock}`);
      fs.rmSync(lock, { force: true });
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function aadOf(recordingId: string, kekId: string): Buffer {
  return Buffer.from(`callrec/v1 data key\0${recordingId}\0${kekId}`, 'utf8');
}

/** A KeyWrapper over keyring entries held in memory. */
export function keyringWrapper(ring: KeyringFile): KeyWrapper {
  const byId = new Map(ring.keys.map((k) => [k.id, k.key]));
  return {
    currentKekId: ring.current,
    has: (kekId) => byId.has(kekId),
    async wrap(dataKey, context) {
      const kek = byId.get(ring.current)!;
      const nonce = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', kek, nonce);
      cipher.setAAD(aadOf(context.recordingId, ring.current));
      const body = Buffer.concat([cipher.update(dataKey), cipher.final()]);
      return { kekId: ring.current, wrapped: Buffer.concat([nonce, body, cipher.getAuthTag()]) };
    },
    async unwrap(wrapped, context) {
      const kek = byId.get(wrapped.kekId);
      if (!kek) throw new KeyringError(`the keyring does not hold the key ${wrapped.kekId}`);
      if (wrapped.wrapped.length !== 12 + 32 + 16)
        throw new KeyringError(`a data key wrapped by ${wrapped.kekId} is malformed`);
      const decipher = createDecipheriv('aes-256-gcm', kek, wrapped.wrapped.subarray(0, 12));
      decipher.setAAD(aadOf(context.recordingId, wrapped.kekId));
      decipher.setAuthTag(wrapped.wrapped.subarray(12 + 32));
      try {
        return Buffer.concat([decipher.update(wrapped.wrapped.subarray(12, 12 + 32)), decipher.final()]);
      } catch {
        throw new KeyringError(
          `the keyring key ${wrapped.kekId} does not unwrap the data key of ${context.recordingId}`,
        );
      }
    },
  };
}

/**
 * The KeyWrapper of the keyring file `file` (already read as `ring`). It follows the file: when
 * the file changed on disk (a `callrec keys rotate` by another process), the next wrap uses its
 * new current key, and an unwrap by a key it does not hold yet re-reads the file first. So
 * running instances keep working while a rotation re-wraps their keys.
 */
export function fileKeyring(file: string, ring: KeyringFile): KeyWrapper {
  let current = keyringWrapper(ring);
  let seen = statOf(file);
  const refresh = () => {
    const now = statOf(file);
    if (now === seen) return;
    const fresh = readKeyringFile(file);
    if (fresh) current = keyringWrapper(fresh);
    seen = now;
  };
  return {
    get currentKekId() {
      refresh();
      return current.currentKekId;
    },
    has(kekId) {
      if (!current.has(kekId)) refresh();
      return current.has(kekId);
    },
    async wrap(dataKey, context) {
      refresh();
      return current.wrap(dataKey, context);
    },
    async unwrap(wrapped, context) {
      if (!current.has(wrapped.kekId)) refresh();
      return current.unwrap(wrapped, context);
    },
  };
}

function statOf(file: string): string {
  try {
    const st = fs.statSync(file);
    return `${st.mtimeMs}:${st.size}:${st.ino}`;
  } catch {
    return 'missing';
  }
}
