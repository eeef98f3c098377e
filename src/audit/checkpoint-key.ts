/**
 * The Ed25519 key that signs deletion-log checkpoints. Loaded from
 * `config.audit.checkpointKeyFile` (PKCS#8 PEM); generated there with mode 0600
 * on first use when absent (created exclusively, so two instances starting at
 * once end up with the same key).
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { canonicalJson } from './canonical-json.js';

export interface CheckpointKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** SPKI PEM of the public key, as the API publishes it. */
  publicKeyPem: string;
  /** sha256 hex of the SPKI DER public key. */
  keyId: string;
}

const cache = new Map<string, CheckpointKey>();

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

function fromPrivatePem(pem: string): CheckpointKey {
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== 'ed25519')
    throw new Error('the checkpoint key file does not hold an Ed25519 private key');
  const publicKey = createPublicKey(privateKey);
  return {
    privateKey,
    publicKey,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyId: keyIdOf(publicKey),
  };
}

/** Loads (or creates) the key at `file`; cached per file for the process. */
export function loadCheckpointKey(file: string): CheckpointKey {
  const cached = cache.get(file);
  if (cached) return cached;
  let pem: string;
  try {
    pem = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const { privateKey } = generateKeyPairSync('ed25519');
    const fresh = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    try {
      fs.writeFileSync(file, fresh, { mode: 0o600, flag: 'wx' });
      pem = fresh;
    } catch (writeError) {
      if ((writeError as NodeJS.ErrnoException).code !== 'EEXIST') throw writeError;
      pem = fs.readFileSync(file, 'utf8');
    }
  }
  const key = fromPrivatePem(pem);
  cache.set(file, key);
  return key;
}

export function signText(key: CheckpointKey, text: string): string {
  return sign(null, Buffer.from(text, 'utf8'), key.privateKey).toString('base64');
}

export function verifyText(publicKey: KeyObject, text: string, signatureBase64: string): boolean {
  try {
    return verify(null, Buffer.from(text, 'utf8'), publicKey, Buffer.from(signatureBase64, 'base64'));
  } catch {
    return false;
  }
}

/** The exact text a checkpoint's signature covers: canonical JSON of {size, headHash, at}, `at` ISO 8601 UTC. */
export function checkpointText(c: { size: number; headHash: string; at: number | string }): string {
  const at = typeof c.at === 'number' ? new Date(c.at).toISOString() : c.at;
  return canonicalJson({ size: c.size, headHash: c.headHash, at });
}
