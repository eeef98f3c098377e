/**
 * TOTP (RFC 6238: 30-second steps, HMAC-SHA-1, 6 digits, as authenticator apps expect) through
 * `otpauth`, the sealing of TOTP secrets at rest, and recovery codes. Pure functions: the time
 * is always passed in (the injected clock's), never read here.
 *
 * Secrets at rest: with CALLREC_SESSION_SECRET set, a secret is stored as
 * `v1:` + base64(nonce 12 ‖ AES-256-GCM ciphertext ‖ tag 16) under a key derived by HKDF-SHA-256
 * from that secret, with the user id as associated data (a sealed secret copied to another
 * user's row does not open). Without it the secret is stored as `plain:` + base32; either way it
 * is never logged and never returned by any API after enrolment. Changing CALLREC_SESSION_SECRET
 * makes the sealed secrets unreadable: those users need `callrec user reset-mfa`.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import * as OTPAuth from 'otpauth';

export const TOTP_PERIOD_S = 30;
export const TOTP_DIGITS = 6;
/** Steps of clock skew accepted either way: one (a code of the previous or next 30 s). */
export const TOTP_SKEW_STEPS = 1;
export const RECOVERY_CODE_COUNT = 10;

/** A new random 160-bit secret, base32 (what the QR code and the manual entry carry). */
export function generateTotpSecret(): string {
  return new OTPAuth.Secret({ size: 20 }).base32;
}

function totp(secretBase32: string, label = 'user'): OTPAuth.TOTP {
  return new OTPAuth.TOTP({
    issuer: 'callrec',
    label,
    algorithm: 'SHA1',
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_S,
    secret: OTPAuth.Secret.fromBase32(secretBase32),
  });
}

/** The `otpauth://totp/...` URI an authenticator app scans. */
export function totpUri(secretBase32: string, username: string): string {
  return totp(secretBase32, username).toString();
}

/** The 30-second step `atMs` falls in. */
export function totpStep(atMs: number): number {
  return Math.floor(atMs / 1000 / TOTP_PERIOD_S);
}

/**
 * The step whose code `code` is, when it is the code of the step of `atMs` or of one step
 * either side; undefined otherwise (also for anything that is not six digits).
 */
export function matchTotp(secretBase32: string, code: string, atMs: number): number | undefined {
  if (!/^[0-9]{6}$/.test(code)) return undefined;
  const delta = totp(secretBase32).validate({ token: code, timestamp: atMs, window: TOTP_SKEW_STEPS });
  return delta === null ? undefined : totpStep(atMs) + delta;
}

function sealingKey(sessionSecret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', sessionSecret, 'callrec', 'callrec/v1 totp secret', 32));
}

/** The stored form of a secret (see the module comment). */
export function sealSecret(
  secretBase32: string,
  options: { userId: string; sessionSecret: string | undefined },
): string {
  if (options.sessionSecret === undefined) return `plain:${secretBase32}`;
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', sealingKey(options.sessionSecret), nonce);
  cipher.setAAD(Buffer.from(options.userId, 'utf8'));
  const body = Buffer.concat([cipher.update(secretBase32, 'utf8'), cipher.final()]);
  return `v1:${Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64')}`;
}

/** The secret of a stored form; undefined when it cannot be opened (other key, other user, damaged). */
export function openSecret(
  sealed: string,
  options: { userId: string; sessionSecret: string | undefined },
): string | undefined {
  if (sealed.startsWith('plain:')) return sealed.slice('plain:'.length);
  if (!sealed.startsWith('v1:') || options.sessionSecret === undefined) return undefined;
  const raw = Buffer.from(sealed.slice(3), 'base64');
  if (raw.length < 12 + 16 + 1) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', sealingKey(options.sessionSecret), raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(options.userId, 'utf8'));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

/** 32 letters and digits without i, l, o, 1 (so that `b & 31` picks one without bias). */
const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz023456789';

/** Ten new recovery codes, `xxxxx-xxxxx` from a 32-character alphabet (50 bits each). */
export function generateRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const bytes = randomBytes(10);
    const chars = [...bytes].map((b) => RECOVERY_ALPHABET[b & 31]!).join('');
    return `${chars.slice(0, 5)}-${chars.slice(5)}`;
  });
}

/** The normal form of a typed recovery code (case, spaces and dashes ignored); undefined when it cannot be one. */
export function normalizeRecoveryCode(text: string): string | undefined {
  const compact = text.toLowerCase().replace(/[\s-]/g, '');
  return /^[a-z0-9]{10}$/.test(compact) ? `${compact.slice(0, 5)}-${compact.slice(5)}` : undefined;
}

/** What is stored of a recovery code: sha256 hex of its normal form (codes carry ~50 random bits). */
export function hashRecoveryCode(normalized: string): string {
  return createHash('sha256').update(`callrec recovery code\u0000${normalized}`, 'utf8').digest('hex');
}
