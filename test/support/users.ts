/**
 * Builders for users, tokens and signed-in sessions.
 *
 *   const { user, password, token } = await createTestUser(db, { role: 'trainer', queues: ['sales'] });
 *   fetch(url, { headers: { authorization: `Bearer ${token}` } });
 *   const session = await signIn(app.url, user.username, password);
 *   fetch(url, { headers: session.headers });  // Cookie + Origin, fine for POST/DELETE too
 *
 * Users are real rows made through the same code as the CLI; their password
 * hashes use cheap scrypt parameters (stored in the hash, so login verifies
 * them as usual) to keep suites fast.
 */
import { createManualClock } from '../../src/clock.js';
import type { Clock } from '../../src/clock.js';
import type { Db } from '../../src/db/db.js';
import type { User } from '../../src/db/users.js';
import { createApiToken, createUser, revokeToken, setDisabled } from '../../src/auth/accounts.js';
import type { Role } from '../../src/auth/principal.js';
import { uniqueName } from './backends.js';

/** Cheap scrypt cost for test users only (production uses DEFAULT_SCRYPT_PARAMS). */
export const TEST_SCRYPT = { N: 2 ** 10, r: 8, p: 1 };

export interface TestUserOptions {
  username?: string;
  role?: Role;
  /** Queues a trainer is limited to; null (default) means every queue. */
  queues?: string[] | null;
  /** The agent a user of role `agent` is bound to (required for that role). */
  agentId?: string | null;
  password?: string;
  /** Created enabled (with its token), then disabled. */
  disabled?: boolean;
  tokenName?: string;
  /** The returned token is revoked already (for "revoked token → 401" cases). */
  tokenRevoked?: boolean;
  /** Clock for created_at; defaults to a manual clock at the current time. */
  clock?: Clock;
}

export interface TestUser {
  user: User;
  password: string;
  /** A fresh API token of this user (works unless the user is disabled or `tokenRevoked`). */
  token: string;
  tokenId: string;
}

export async function createTestUser(db: Db, options: TestUserOptions = {}): Promise<TestUser> {
  const deps = { db, clock: options.clock ?? createManualClock(Date.now()) };
  const { user, password } = await createUser(deps, {
    username: options.username ?? uniqueName('user-'),
    role: options.role ?? 'trainer',
    queues: options.queues ?? null,
    agentId: options.agentId ?? null,
    password: options.password,
    scrypt: TEST_SCRYPT,
  });
  const { token, id } = await createApiToken(deps, { username: user.username, name: options.tokenName ?? 'test' });
  if (options.tokenRevoked) await revokeToken(deps, id);
  if (options.disabled) {
    await setDisabled(deps, user.username, true);
    return { user: { ...user, disabled: true }, password, token, tokenId: id };
  }
  return { user, password, token, tokenId: id };
}

export interface TestSession {
  /** `name=value` for a Cookie header. */
  cookie: string;
  /** Cookie plus an Origin of the app, enough for any method. */
  headers: Record<string, string>;
  /** The Set-Cookie header of the login response. */
  setCookie: string;
}

/**
 * Signs in through `POST /v1/session`; throws unless the answer is 200 and a full session (no
 * second factor awaited: testConfig requires none unless a test asks).
 */
export async function signIn(baseUrl: string, username: string, password: string): Promise<TestSession> {
  return signInStep(baseUrl, username, password, undefined);
}

/** The password step of a sign-in; throws unless the answer is 200 with `next` equal to `expectNext`. */
export async function signInStep(
  baseUrl: string,
  username: string,
  password: string,
  expectNext: 'code' | 'enrol' | undefined,
): Promise<TestSession> {
  const res = await fetch(`${baseUrl}/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: new URL(baseUrl).origin },
    body: JSON.stringify({ username, password }),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`sign-in of ${username} answered ${res.status}: ${text}`);
  const next = (JSON.parse(text) as { next?: string }).next;
  if (next !== expectNext) throw new Error(`sign-in of ${username} reached step ${next ?? 'full'}: ${text}`);
  const setCookie = res.headers.get('set-cookie') ?? '';
  const cookie = setCookie.split(';')[0]!;
  return { cookie, setCookie, headers: { cookie, origin: new URL(baseUrl).origin } };
}
