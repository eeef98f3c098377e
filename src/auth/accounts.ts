/**
 * Users and API tokens as the CLI, the bootstrap and the tests manage them.
 *
 * Passwords and tokens are generated here, returned once to the caller and
 * stored only as a scrypt hash (passwords) or a sha256 hex (tokens). Every
 * function validates its input and throws an AppError (`invalid_request`,
 * `conflict`, `not_found`) that leaves nothing behind.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ulid } from 'ulid';
import type { Clock } from '../clock.js';
import type { Db } from '../db/db.js';
import { findApiTokensByIdOrName, insertApiToken, revokeApiToken } from '../db/api-tokens.js';
import type { ApiToken } from '../db/api-tokens.js';
import { isUniqueViolation } from '../db/recordings.js';
import { deleteUserSessions } from '../db/sessions.js';
import {
  findUserByUsername,
  insertUser,
  setUserDisabled,
  setUserDisplayName,
  setUserAgentId,
  setUserPasswordHash,
  setUserQueues,
} from '../db/users.js';
import type { User } from '../db/users.js';
import { deleteMfa } from '../db/user-mfa.js';
import { errors } from '../errors.js';
import { logSecurityEvent } from './security-log.js';
import { generatePassword, hashPassword } from './passwords.js';
import type { ScryptParams } from './passwords.js';
import { ROLES } from './principal.js';
import type { Role } from './principal.js';

export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const QUEUE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@ -]{0,127}$/;
/** Agent ids as recordings carry them (ingest metadata `agentId`): 1-128 letters, digits, space and . _ : @ / + -. */
export const AGENT_ID_PATTERN = /^[\p{L}\p{N} ._:@/+-]{1,128}$/u;
export const TOKEN_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@: -]{0,63}$/;
/** Prefix of every API token, so that leaked tokens are recognisable by secret scanners. */
export const TOKEN_PREFIX = 'crt_';

export interface AccountDeps {
  db: Db;
  clock: Clock;
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** Parses `a,b` into a queue list; throws `invalid_request` for an empty list or a name outside the safe charset. */
export function parseQueueList(text: string): string[] {
  const queues = [
    ...new Set(
      text
        .split(',')
        .map((q) => q.trim())
        .filter(Boolean),
    ),
  ];
  if (queues.length === 0) throw errors.invalidRequest('--queues needs at least one queue name');
  const bad = queues.find((q) => !QUEUE_PATTERN.test(q));
  if (bad !== undefined)
    throw errors.invalidRequest('queue names are 1-128 characters: letters, digits, . _ : @ - and space');
  return queues;
}

/** sha256 hex of a token or session id: what the database stores and looks up. */
export function sha256Hex(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** A new API token: `crt_` + 32 random bytes base64url. */
export function generateApiToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/**
 * Creates a user with a generated password (or the given one) and returns the
 * password once. A username taken already → `conflict`; queues on a role other
 * than trainer → `invalid_request`; role `agent` needs an `agentId` (and no other role takes one)
 * → `invalid_request`.
 */
export async function createUser(
  deps: AccountDeps,
  input: {
    username: string;
    role: string;
    queues?: string[] | null;
    /** The agent a user of role `agent` is bound to: required for that role, refused for the others. */
    agentId?: string | null;
    password?: string;
    disabled?: boolean;
    scrypt?: ScryptParams;
  },
): Promise<{ user: User; password: string }> {
  if (!USERNAME_PATTERN.test(input.username)) {
    throw errors.invalidRequest(
      'usernames are 1-64 characters: lowercase letters, digits, . _ - (starting with a letter or digit)',
    );
  }
  if (!isRole(input.role)) throw errors.invalidRequest(`role must be one of ${ROLES.join(', ')}`);
  const queues = input.queues ?? null;
  if (queues !== null && input.role !== 'trainer') throw errors.invalidRequest('queues apply only to trainers');
  if (queues !== null && (queues.length === 0 || queues.some((q) => !QUEUE_PATTERN.test(q)))) {
    throw errors.invalidRequest('queue names are 1-128 characters: letters, digits, . _ : @ - and space');
  }
  const agentId = checkAgentId(input.role, input.agentId ?? null);
  const password = input.password ?? generatePassword();
  const passwordHash = await hashPassword(password, input.scrypt);
  const now = deps.clock.now();
  try {
    const user = await insertUser(deps.db.knex, {
      id: ulid(now),
      username: input.username,
      role: input.role,
      passwordHash,
      queues,
      createdAt: now,
      disabled: input.disabled ?? false,
      agentId,
    });
    return { user, password };
  } catch (error) {
    if (isUniqueViolation(error)) throw errors.conflict(`user ${input.username} exists already`, { cause: error });
    throw error;
  }
}

/**
 * The agent id a user of `role` is bound to: required (and well-formed) for role `agent`, refused for every other
 * role (`invalid_request`).
 */
export function checkAgentId(role: string, agentId: string | null): string | null {
  if (role !== 'agent') {
    if (agentId !== null) throw errors.invalidRequest('an agent id applies only to role agent');
    return null;
  }
  if (agentId === null) throw errors.invalidRequest('role agent needs an agent id (--agent-id, agentId)');
  if (!AGENT_ID_PATTERN.test(agentId)) {
    throw errors.invalidRequest('agent ids are 1-128 characters: letters, digits, space and . _ : @ / + -');
  }
  return agentId;
}

/**
 * Disables (or re-enables) a user. Disabling also ends every session of the
 * user at once; their tokens stop working at the next request, in every process,
 * because token lookups skip disabled users.
 * Idempotent; a missing user → `not_found`.
 */
export async function setDisabled(deps: AccountDeps, username: string, disabled: boolean): Promise<User> {
  return deps.db.knex.transaction(async (trx) => {
    const user = await findUserByUsername(trx, username);
    if (!user) throw errors.notFound('User');
    await setUserDisabled(trx, username, disabled);
    if (disabled) await deleteUserSessions(trx, user.id);
    return { ...user, disabled };
  });
}

/**
 * Gives a user a new generated password (returned once) and ends every session of theirs. Missing user → `not_found`.
 */
export async function resetPassword(
  deps: AccountDeps,
  username: string,
  options: { scrypt?: ScryptParams } = {},
): Promise<{ user: User; password: string }> {
  const password = generatePassword();
  const passwordHash = await hashPassword(password, options.scrypt);
  return deps.db.knex.transaction(async (trx) => {
    const user = await findUserByUsername(trx, username);
    if (!user) throw errors.notFound('User');
    await setUserPasswordHash(trx, username, passwordHash);
    await deleteUserSessions(trx, user.id);
    return { user, password };
  });
}

/**
 * Removes a user's second factor and recovery codes (a lost phone) and ends their sessions; at
 * their next sign-in they enrol again when their role needs a factor. Written to the security
 * log (`mfa_reset`, with `by`). Missing user → `not_found`; a user without a factor → `conflict`.
 */
export async function resetMfa(deps: AccountDeps, username: string, options: { by: string }): Promise<User> {
  const user = await deps.db.knex.transaction(async (trx) => {
    const found = await findUserByUsername(trx, username);
    if (!found) throw errors.notFound('User');
    if (!(await deleteMfa(trx, found.id))) throw errors.conflict(`user ${username} has no second factor`);
    await deleteUserSessions(trx, found.id);
    return found;
  });
  await logSecurityEvent(deps, { action: 'mfa_reset', user, detail: { by: options.by } });
  return user;
}

/**
 * Creates an API token for a user and returns it once (only its hash is stored). Missing user → `not_found`; disabled
 * user → `conflict`.
 */
export async function createApiToken(
  deps: AccountDeps,
  input: { username: string; name?: string },
): Promise<{ id: string; token: string; name: string; user: User }> {
  const name = input.name ?? 'default';
  if (!TOKEN_NAME_PATTERN.test(name)) {
    throw errors.invalidRequest('token names are 1-64 characters: letters, digits, . _ @ : - and space');
  }
  const user = await findUserByUsername(deps.db.knex, input.username);
  if (!user) throw errors.notFound('User');
  if (user.disabled) throw errors.conflict(`user ${input.username} is disabled`);
  const token = generateApiToken();
  const now = deps.clock.now();
  const id = ulid(now);
  await insertApiToken(deps.db.knex, { id, userId: user.id, name, tokenHash: sha256Hex(token), createdAt: now });
  return { id, token, name, user };
}

/**
 * Revokes the token with this id, or the only token with this name. A name
 * shared by several not-yet-revoked tokens → `conflict` (use the id). Idempotent.
 * Takes effect at the next request in every process (tokens are never cached).
 */
export async function revokeToken(deps: AccountDeps, idOrName: string): Promise<ApiToken> {
  const matches = await findApiTokensByIdOrName(deps.db.knex, idOrName);
  const byId = matches.find((t) => t.id === idOrName);
  let target = byId;
  if (!target) {
    const active = matches.filter((t) => t.revokedAt === null);
    if (active.length > 1) throw errors.conflict(`${active.length} tokens are named ${idOrName}; revoke one by its id`);
    target = active[0] ?? matches[0];
  }
  if (!target) throw errors.notFound('Token');
  const now = deps.clock.now();
  await revokeApiToken(deps.db.knex, target.id, now);
  return { ...target, revokedAt: target.revokedAt ?? now };
}

/** Display names: 1-128 printable characters (no control characters), trimmed. */
export const DISPLAY_NAME_MAX = 128;

/**
 * Changes what an administrator may change of a user besides the password and the disabled flag:
 * the display name (null clears it), a trainer's queues (null: every queue) and an agent's agent id, with the rules
 * of `createUser`: each a valid queue name; queues for a user of another role → `conflict`; an agent id for a user of
 * another role → `conflict`, malformed → `invalid_request`. Sessions and tokens read the queues and the agent id at
 * every request, so a change takes effect at once. Missing user → `not_found`.
 */
export async function updateUser(
  deps: AccountDeps,
  username: string,
  change: { displayName?: string | null; queues?: string[] | null; agentId?: string },
): Promise<User> {
  const displayName = change.displayName === undefined ? undefined : (change.displayName?.trim() ?? null) || null;
  if (displayName && (displayName.length > DISPLAY_NAME_MAX || /\p{Cc}/u.test(displayName))) {
    throw errors.invalidRequest(`display names are 1-${DISPLAY_NAME_MAX} characters without control characters`);
  }
  return deps.db.knex.transaction(async (trx) => {
    const user = await findUserByUsername(trx, username);
    if (!user) throw errors.notFound('User');
    let updated = user;
    if (change.queues !== undefined) {
      const queues = change.queues;
      // The body is valid in itself; it conflicts with the user's role.
      if (queues !== null && user.role !== 'trainer') throw errors.conflict('queues apply only to trainers');
      if (queues !== null && (queues.length === 0 || queues.some((q) => !QUEUE_PATTERN.test(q)))) {
        throw errors.invalidRequest('queue names are 1-128 characters: letters, digits, . _ : @ - and space');
      }
      await setUserQueues(trx, username, queues);
      updated = { ...updated, queues };
    }
    if (change.agentId !== undefined) {
      if (user.role !== 'agent') throw errors.conflict('an agent id applies only to role agent');
      const agentId = checkAgentId('agent', change.agentId);
      await setUserAgentId(trx, username, agentId);
      updated = { ...updated, agentId };
    }
    if (displayName !== undefined) {
      await setUserDisplayName(trx, username, displayName);
      updated = { ...updated, displayName };
    }
    return updated;
  });
}
