/**
 * The second factor of local accounts: who needs one, enrolment, and the check of a code or a
 * recovery code. Codes are judged by the injected clock; a TOTP code is accepted once (its step
 * is claimed in the database, see `claimStep`), a recovery code once. No function here logs or
 * returns a stored secret except `startEnrolment`, which hands a fresh one back once to show.
 */
import QRCode from 'qrcode';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/db.js';
import type { Role } from '../domain/roles.js';
import {
  claimStep,
  countUnusedRecoveryCodes,
  deleteMfa,
  findMfa,
  hasConfirmedMfa,
  putPendingMfa,
  replaceRecoveryCodes,
  useRecoveryCode,
} from '../db/user-mfa.js';
import { errors } from '../errors.js';
import {
  generateRecoveryCodes,
  generateTotpSecret,
  hashRecoveryCode,
  matchTotp,
  normalizeRecoveryCode,
  openSecret,
  sealSecret,
  totpUri,
} from './totp.js';

export interface MfaDeps {
  config: Config;
  db: Db;
  clock: Clock;
}

/** Whether a local sign-in of this role must pass a second factor (CALLREC_MFA_REQUIRED_ROLES). */
export function roleNeedsFactor(config: Config, role: Role): boolean {
  return config.mfa.requiredRoles.includes(role);
}

/** The stage a password sign-in of this user reaches: the code step, enrolment only, or signed in. */
export async function stageAfterPassword(deps: MfaDeps, user: { id: string; role: Role }) {
  if (await hasConfirmedMfa(deps.db.knex, user.id)) return 'code' as const;
  return roleNeedsFactor(deps.config, user.role) ? ('enrol' as const) : ('full' as const);
}

const sealOptions = (deps: MfaDeps, userId: string) => ({ userId, sessionSecret: deps.config.session.secret });

/**
 * Starts (or restarts) enrolment: a new secret, stored sealed and unconfirmed, returned once
 * with its otpauth URI and a QR code (SVG data URL). A confirmed factor exists → `conflict`
 * (`callrec user reset-mfa` removes it).
 */
export async function startEnrolment(
  deps: MfaDeps,
  user: { id: string; username: string },
): Promise<{ secret: string; otpauthUri: string; qrDataUrl: string }> {
  const secret = generateTotpSecret();
  const stored = await putPendingMfa(deps.db.knex, {
    userId: user.id,
    sealedSecret: sealSecret(secret, sealOptions(deps, user.id)),
    at: deps.clock.now(),
  });
  if (!stored) throw errors.conflict('a second factor is enrolled already; an admin can reset it');
  const otpauthUri = totpUri(secret, user.username);
  const svg = await QRCode.toString(otpauthUri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return { secret, otpauthUri, qrDataUrl: `data:image/svg+xml;base64,${Buffer.from(svg, 'utf8').toString('base64')}` };
}

/**
 * Confirms a pending enrolment with a first code: marks the factor confirmed (claiming the
 * code's step) and returns ten new recovery codes, shown once. No pending enrolment →
 * `conflict`; a wrong code → `invalid_code`.
 */
export async function confirmEnrolment(deps: MfaDeps, user: { id: string }, code: string): Promise<string[]> {
  return deps.db.knex.transaction(async (trx) => {
    const mfa = await findMfa(trx, user.id);
    if (!mfa || mfa.confirmedAt !== null) throw errors.conflict('no enrolment awaits confirmation; start one first');
    const secret = openSecret(mfa.sealedSecret, sealOptions(deps, user.id));
    const now = deps.clock.now();
    const step = secret === undefined ? undefined : matchTotp(secret, code.trim(), now);
    if (step === undefined || !(await claimStep(trx, { userId: user.id, step, confirmAt: now }))) {
      throw errors.invalidCode();
    }
    const codes = generateRecoveryCodes();
    await replaceRecoveryCodes(
      trx,
      user.id,
      codes.map((c) => hashRecoveryCode(c)),
    );
    return codes;
  });
}

/**
 * Checks a second-factor answer of a user with a confirmed factor: six digits are a TOTP code
 * (this step or one either side, and only of a step later than the last accepted one);
 * anything else is tried as a recovery code (each works once). Returns how it passed, or
 * undefined when it did not.
 */
export async function checkSecondFactor(
  deps: MfaDeps,
  user: { id: string },
  answer: string,
): Promise<{ method: 'totp' | 'recovery'; recoveryCodesLeft?: number } | undefined> {
  const text = answer.trim();
  if (/^[0-9]{6}$/.test(text)) {
    const mfa = await findMfa(deps.db.knex, user.id);
    if (!mfa || mfa.confirmedAt === null) return undefined;
    const secret = openSecret(mfa.sealedSecret, sealOptions(deps, user.id));
    const step = secret === undefined ? undefined : matchTotp(secret, text, deps.clock.now());
    if (step === undefined) return undefined;
    return (await claimStep(deps.db.knex, { userId: user.id, step })) ? { method: 'totp' } : undefined;
  }
  const normalized = normalizeRecoveryCode(text);
  if (normalized === undefined) return undefined;
  if (!(await hasConfirmedMfa(deps.db.knex, user.id))) return undefined;
  const used = await useRecoveryCode(deps.db.knex, {
    userId: user.id,
    codeHash: hashRecoveryCode(normalized),
    at: deps.clock.now(),
  });
  if (!used) return undefined;
  return { method: 'recovery', recoveryCodesLeft: await countUnusedRecoveryCodes(deps.db.knex, user.id) };
}

/** Removes a user's factor and recovery codes (they enrol again at their next sign-in if their role needs one). */
export async function removeFactor(deps: Pick<MfaDeps, 'db'>, userId: string): Promise<boolean> {
  return deleteMfa(deps.db.knex, userId);
}
