/**
 * Server-side sessions: the cookie holds a random id, the database holds its
 * sha256 and the deadlines. A session ends at the earlier of `idleMs` after it
 * was last seen and `maxMs` after it was created (both judged by the injected
 * clock); activity slides the idle deadline, written at most once per
 * `touchIntervalMs` so that busy sessions do not write on every request.
 */
import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/db.js';
import { deleteExpiredSessions, deleteSession, findSession, insertSession, touchSession } from '../db/sessions.js';
import type { SessionStage, SessionWithUser } from '../db/sessions.js';
import { sha256Hex } from './accounts.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** sha256 of the session id when the request was authenticated by a session cookie. */
    sessionIdHash?: string;
  }
}

/** Cookie name over HTTPS: `__Host-` binds it to this exact origin, Secure and Path=/. */
export const SECURE_COOKIE_NAME = '__Host-callrec';
/** Cookie name over plain HTTP (development, tests): browsers refuse `__Host-` without Secure. */
export const PLAIN_COOKIE_NAME = 'callrec_session';

export interface SessionDeps {
  config: Config;
  db: Db;
  clock: Clock;
}

/** A session that is not yet `full` (code awaited, enrolment only) ends this long after it began. */
export const STEP_SESSION_MS = 10 * 60_000;

export function touchIntervalMs(config: Config): number {
  return Math.max(1, Math.min(60_000, Math.floor(config.session.idleMs / 10)));
}

/** True when the request reached us over HTTPS as far as we can tell: the public URL says so, or the socket is TLS. */
export function isSecureRequest(req: Request, config: Config): boolean {
  return Boolean(config.publicUrl?.startsWith('https:')) || req.secure;
}

export function cookieName(req: Request, config: Config): string {
  return isSecureRequest(req, config) ? SECURE_COOKIE_NAME : PLAIN_COOKIE_NAME;
}

/** Parses a Cookie header into name → value (first occurrence wins). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  if (!header) return cookies;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 1) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    if (!cookies.has(name)) cookies.set(name, value);
  }
  return cookies;
}

const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

/**
 * The session id the request carries under the cookie name this request would be given; undefined when absent or
 * malformed.
 */
export function readSessionId(req: Request, config: Config): string | undefined {
  const value = parseCookies(req.get('cookie')).get(cookieName(req, config));
  return value !== undefined && SESSION_ID.test(value) ? value : undefined;
}

function serializeCookie(req: Request, config: Config, value: string, maxAgeSeconds: number): string {
  const secure = isSecureRequest(req, config);
  return [
    `${cookieName(req, config)}=${value}`,
    'Path=/',
    `Max-Age=${maxAgeSeconds}`,
    'HttpOnly',
    'SameSite=Strict',
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}

export function setSessionCookie(req: Request, res: Response, config: Config, sessionId: string): void {
  res.append('Set-Cookie', serializeCookie(req, config, sessionId, Math.floor(config.session.maxMs / 1000)));
}

export function clearSessionCookie(req: Request, res: Response, config: Config): void {
  res.append('Set-Cookie', serializeCookie(req, config, '', 0));
}

function absoluteLifetimeMs(config: Config, stage: SessionStage): number {
  return stage === 'full' ? config.session.maxMs : Math.min(config.session.maxMs, STEP_SESSION_MS);
}

/**
 * Creates a session for `userId` at `stage` (default `full`) and returns its id (for the
 * cookie; only its hash is stored). Also purges expired sessions.
 */
export async function createSession(deps: SessionDeps, userId: string, stage: SessionStage = 'full'): Promise<string> {
  const id = randomBytes(32).toString('base64url');
  const now = deps.clock.now();
  await deleteExpiredSessions(deps.db.knex, now);
  await insertSession(deps.db.knex, {
    idHash: sha256Hex(id),
    userId,
    createdAt: now,
    expiresAt: now + Math.min(deps.config.session.idleMs, absoluteLifetimeMs(deps.config, stage)),
    stage,
  });
  return id;
}

/**
 * The live session with this id, slid forward when due; undefined when it is
 * missing, idle too long, past its absolute lifetime (STEP_SESSION_MS for a session not yet
 * `full`; those rows are deleted)
 * or its user is disabled.
 */
export async function resolveSession(deps: SessionDeps, sessionId: string): Promise<SessionWithUser | undefined> {
  const idHash = sha256Hex(sessionId);
  const session = await findSession(deps.db.knex, idHash);
  if (!session) return undefined;
  const now = deps.clock.now();
  const absoluteEnd = session.createdAt + absoluteLifetimeMs(deps.config, session.stage);
  const idleEnd = session.lastSeenAt + deps.config.session.idleMs;
  if (now >= absoluteEnd || now >= idleEnd) {
    await deleteSession(deps.db.knex, idHash);
    return undefined;
  }
  if (now - session.lastSeenAt >= touchIntervalMs(deps.config)) {
    const expiresAt = Math.min(absoluteEnd, now + deps.config.session.idleMs);
    await touchSession(deps.db.knex, idHash, now, expiresAt);
    return { ...session, lastSeenAt: now, expiresAt };
  }
  return session;
}

export async function endSession(deps: SessionDeps, idHash: string): Promise<void> {
  await deleteSession(deps.db.knex, idHash);
}
