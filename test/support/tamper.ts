/**
 * What someone holding the database owner's rights can do to the append-only
 * deletion log and checkpoints (see migration 20261201000000_append-only-log): lift
 * the guard, change rows, put the guard back. Tests play that attacker with it; the
 * benchmark resets its data with it. The application never does this.
 */
import type { Knex } from 'knex';
import type { Db } from '../../src/db/db.js';

const TABLES = ['deletion_log', 'deletion_checkpoints'];

/**
 * Runs `change` with the append-only triggers lifted: dropped and re-created from
 * their own stored text on SQLite, disabled and enabled again on PostgreSQL (the test
 * role is a superuser, so the revoked privileges do not stop it either).
 */
export async function asDatabaseOwner<T>(db: Db, change: (knex: Knex) => Promise<T>): Promise<T> {
  const { knex } = db;
  if (db.client === 'pg') {
    for (const table of TABLES) await knex.raw(`ALTER TABLE ${table} DISABLE TRIGGER USER`);
    try {
      return await change(knex);
    } finally {
      for (const table of TABLES) await knex.raw(`ALTER TABLE ${table} ENABLE TRIGGER USER`);
    }
  }
  const triggers = (await knex.raw(
    `select name, sql from sqlite_master where type = 'trigger' and tbl_name in (${TABLES.map(() => '?').join(', ')})`,
    TABLES,
  )) as Array<{ name: string; sql: string }>;
  for (const t of triggers) await knex.raw(`drop trigger "${t.name}"`);
  try {
    return await change(knex);
  } finally {
    for (const t of triggers) await knex.raw(t.sql);
  }
}

/** Shorthand: `asDatabaseOwner` for one statement on `deletion_log`. */
export function tamperLog<T>(db: Db, change: (rows: Knex.QueryBuilder) => Promise<T>): Promise<T> {
  return asDatabaseOwner(db, (knex) => change(knex('deletion_log')));
}
