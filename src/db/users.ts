/**
 * The `users` table. Password hashes never leave this module except through
 * `findUserCredentials`, which only the login path uses; every other reader
 * gets a `User` without the hash.
 *
 * Inside a transaction pass `trx` as `q` (SQLite has one connection).
 */
import type { Knex } from 'knex';
import type { Role } from '../domain/roles.js';

export interface User {
  id: string;
  username: string;
  role: Role;
  /** Queues a trainer is limited to; null means every queue. */
  queues: string[] | null;
  disabled: boolean;
  createdAt: number;
  /** How the UI names the person; null when none was set. */
  displayName: string | null;
  /** The agent a user of role `agent` is bound to; null for every other role. */
  agentId: string | null;
}

export interface UserRow {
  id: string;
  username: string;
  role: Role;
  password_hash: string;
  queues: string | null;
  disabled: boolean | number;
  created_at: number;
  display_name?: string | null;
  agent_id?: string | null;
}

type Q = Knex | Knex.Transaction;

/**
 * Parses the stored JSON queue list; anything but an array of strings reads as "no queue" (deny), never as "every
 * queue".
 */
export function parseQueues(text: string | null): string[] | null {
  if (text === null) return null;
  try {
    const value: unknown = JSON.parse(text);
    if (Array.isArray(value) && value.every((q) => typeof q === 'string')) return value as string[];
  } catch {
    // fall through
  }
  return [];
}

export function toUser(row: UserRow): User {
  return {
    id: row.id,
    username: row.username,
    role: row.role,
    queues: parseQueues(row.queues),
    disabled: Boolean(row.disabled),
    createdAt: Number(row.created_at),
    displayName: row.display_name ?? null,
    agentId: row.agent_id ?? null,
  };
}

export interface NewUser {
  id: string;
  username: string;
  role: Role;
  passwordHash: string;
  queues: string[] | null;
  createdAt: number;
  disabled?: boolean;
  /** Required for role `agent`, null otherwise (accounts.ts checks). */
  agentId?: string | null;
}

/** Inserts a user; a second user with the same username violates the unique constraint (see `isUniqueViolation`). */
export async function insertUser(q: Q, user: NewUser): Promise<User> {
  const row: UserRow = {
    id: user.id,
    username: user.username,
    role: user.role,
    password_hash: user.passwordHash,
    queues: user.queues === null ? null : JSON.stringify(user.queues),
    disabled: user.disabled ?? false,
    created_at: user.createdAt,
    agent_id: user.agentId ?? null,
  };
  await q('users').insert(row);
  return toUser(row);
}

export async function findUserByUsername(q: Q, username: string): Promise<User | undefined> {
  const row = (await q('users').where({ username }).first()) as UserRow | undefined;
  return row && toUser(row);
}

export async function findUserById(q: Q, id: string): Promise<User | undefined> {
  const row = (await q('users').where({ id }).first()) as UserRow | undefined;
  return row && toUser(row);
}

/** The user and its password hash, for verifying a login. */
export async function findUserCredentials(
  q: Q,
  username: string,
): Promise<{ user: User; passwordHash: string } | undefined> {
  const row = (await q('users').where({ username }).first()) as UserRow | undefined;
  return row && { user: toUser(row), passwordHash: row.password_hash };
}

/** Every user, ordered by username. */
export async function listUsers(q: Q): Promise<User[]> {
  const rows = (await q('users').orderBy('username', 'asc')) as UserRow[];
  return rows.map(toUser);
}

export async function countUsers(q: Q): Promise<number> {
  const row = (await q('users').count({ n: '*' }).first()) as { n: number | string } | undefined;
  return Number(row?.n ?? 0);
}

/** Sets the disabled flag; returns false when no such user exists. Idempotent. */
export async function setUserDisabled(q: Q, username: string, disabled: boolean): Promise<boolean> {
  const changed = await q('users').where({ username }).update({ disabled });
  return Number(changed) > 0;
}

/** Replaces the password hash; returns false when no such user exists. */
export async function setUserPasswordHash(q: Q, username: string, passwordHash: string): Promise<boolean> {
  const changed = await q('users').where({ username }).update({ password_hash: passwordHash });
  return Number(changed) > 0;
}

/** Sets the display name (null clears it); returns false when no such user exists. */
export async function setUserDisplayName(q: Q, username: string, displayName: string | null): Promise<boolean> {
  const changed = await q('users').where({ username }).update({ display_name: displayName });
  return Number(changed) > 0;
}

/** Replaces a trainer's queue list (null: every queue); returns false when no such user exists. */
export async function setUserQueues(q: Q, username: string, queues: string[] | null): Promise<boolean> {
  const changed = await q('users')
    .where({ username })
    .update({ queues: queues === null ? null : JSON.stringify(queues) });
  return Number(changed) > 0;
}

/** Sets the agent a user is bound to (null clears it); returns false when no such user exists. */
export async function setUserAgentId(q: Q, username: string, agentId: string | null): Promise<boolean> {
  const changed = await q('users').where({ username }).update({ agent_id: agentId });
  return Number(changed) > 0;
}
