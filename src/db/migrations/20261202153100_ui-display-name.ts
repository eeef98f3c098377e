/**
 * A display name per user (issue #19): how the web UI names a person (e.g. "Tess de Vries" for
 * `tess`). Optional; set by an administrator. Holds no credential.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.string('display_name', 128).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.dropColumn('display_name');
  });
}
