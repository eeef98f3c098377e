/**
 * The database handle: knex on SQLite (embedded default) or PostgreSQL.
 *
 * Timestamps are stored everywhere as integer epoch milliseconds (BIGINT), so
 * that range and expiry queries are the same, indexed and exact on both
 * databases. PostgreSQL BIGINTs are parsed back into numbers (safe below 2^53).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import knexFactory from 'knex';
import type { Knex } from 'knex';
import pg from 'pg';
import type { DbConfig } from '../config.js';

export type { Knex } from 'knex';

export interface Db {
  readonly knex: Knex;
  readonly client: 'sqlite' | 'pg';
  /** Runs every pending migration (idempotent). */
  migrate(): Promise<void>;
  /** Resolves when a trivial query succeeds. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

const PG_INT8 = 20;
pg.types.setTypeParser(PG_INT8, (value: string) => Number(value));

const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

/** Reads migration modules directly, so that tsx (dev) and compiled JS (dist) both work. */
class MigrationSource implements Knex.MigrationSource<string> {
  async getMigrations(): Promise<string[]> {
    return fs
      .readdirSync(MIGRATIONS_DIR)
      .filter((f) => /^\d{14}_[a-z0-9-]+\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
      .sort();
  }
  getMigrationName(file: string): string {
    return file.replace(/\.(ts|js)$/, '');
  }
  async getMigration(file: string): Promise<Knex.Migration> {
    return (await import(path.join(MIGRATIONS_DIR, file))) as Knex.Migration;
  }
}

/**
 * The knex configuration. `compileSqlOnError: false`: a failed statement's message carries
 * its placeholders, not its values (knex would otherwise inline every bound value into
 * `error.message`; see db-errors.ts for what a log may carry).
 */
export function knexConfig(config: DbConfig): Knex.Config {
  if (config.client === 'pg') {
    return {
      client: 'pg',
      connection: config.url,
      pool: { min: 0, max: 10 },
      compileSqlOnError: false,
      migrations: { migrationSource: new MigrationSource() },
    };
  }
  if (config.filename !== ':memory:') fs.mkdirSync(path.dirname(config.filename), { recursive: true });
  return {
    client: 'sqlite3',
    connection: { filename: config.filename },
    useNullAsDefault: true,
    compileSqlOnError: false,
    // One connection: SQLite serializes writers anyway, and one connection makes
    // BEGIN IMMEDIATE claims and the log's single writer lock simple and exact.
    pool: {
      min: 1,
      max: 1,
      afterCreate: (
        conn: { exec(sql: string, cb: (err: Error | null) => void): void },
        done: (err: Error | null, conn: unknown) => void,
      ) => {
        // WAL for concurrent readers, FULL sync because the deletion log is evidence,
        // foreign keys for notes, and a busy timeout for several processes on one file.
        conn.exec(
          'PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = ' +
            '10000;',
          (err) => done(err, conn),
        );
      },
    },
    migrations: { migrationSource: new MigrationSource() },
  };
}

export function createDb(config: DbConfig): Db {
  const knex = knexFactory(knexConfig(config));
  return {
    knex,
    client: config.client,
    async migrate() {
      await knex.migrate.latest();
    },
    async ping() {
      await knex.raw('select 1');
    },
    async close() {
      await knex.destroy();
    },
  };
}
