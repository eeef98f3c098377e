/**
 * The deletion log and its checkpoints become append-only in the database itself:
 * an UPDATE or DELETE of a `deletion_log` or `deletion_checkpoints` row (and a
 * TRUNCATE on PostgreSQL) is refused by a trigger, whoever runs it. The application
 * only ever inserts into both tables.
 *
 * - SQLite: BEFORE UPDATE / BEFORE DELETE triggers that RAISE(ABORT).
 * - PostgreSQL: one trigger function raising an exception, fired BEFORE UPDATE OR
 *   DELETE per row and BEFORE TRUNCATE per statement; and UPDATE, DELETE, TRUNCATE
 *   are revoked from PUBLIC and from the role running the migration. A REVOKE the
 *   role may not make only warns; the table owner (and a superuser) can re-grant
 *   the privileges or disable the triggers, so this raises the bar against mistakes
 *   and casual edits: it is no defence against someone holding the owner's rights.
 *   That is what the published checkpoints (object store, log output) are for.
 *
 * The statements are written out here (not shared with application code) so that
 * this migration stays what it was when it ran.
 */
import type { Knex } from 'knex';

const TABLES = ['deletion_log', 'deletion_checkpoints'] as const;
const PG_FUNCTION = 'callrec_refuse_change_of_append_only_table';

/** Runs a GRANT or REVOKE, turning "not allowed" into a notice instead of failing the migration. */
const whereAllowed = (statement: string) =>
  `DO $$ BEGIN ${statement}; EXCEPTION WHEN insufficient_privilege THEN RAISE NOTICE 'callrec: %', SQLERRM; END $$`;

export async function up(knex: Knex): Promise<void> {
  if (knex.client.config.client === 'pg') {
    await knex.raw(`
      CREATE FUNCTION ${PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
      END
      $$`);
    for (const table of TABLES) {
      await knex.raw(
        `CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION ` +
          `${PG_FUNCTION}()`,
      );
      await knex.raw(
        `CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION ` +
          `${PG_FUNCTION}()`,
      );
      await knex.raw(whereAllowed(`REVOKE UPDATE, DELETE, TRUNCATE ON ${table} FROM PUBLIC, CURRENT_USER`));
    }
    return;
  }
  for (const table of TABLES) {
    for (const op of ['UPDATE', 'DELETE']) {
      await knex.raw(
        `CREATE TRIGGER ${table}_no_${op.toLowerCase()} BEFORE ${op} ON ${table} BEGIN SELECT RAISE(ABORT, '${table} ` +
          `is append-only: ${op} refused'); END`,
      );
    }
  }
}

export async function down(knex: Knex): Promise<void> {
  if (knex.client.config.client === 'pg') {
    for (const table of TABLES) {
      await knex.raw(whereAllowed(`GRANT UPDATE, DELETE, TRUNCATE ON ${table} TO CURRENT_USER`));
      await knex.raw(`DROP TRIGGER IF EXISTS ${table}_append_only ON ${table}`);
      await knex.raw(`DROP TRIGGER IF EXISTS ${table}_no_truncate ON ${table}`);
    }
    await knex.raw(`DROP FUNCTION IF EXISTS ${PG_FUNCTION}()`);
    return;
  }
  for (const table of TABLES) {
    for (const op of ['update', 'delete']) await knex.raw(`DROP TRIGGER IF EXISTS ${table}_no_${op}`);
  }
}
