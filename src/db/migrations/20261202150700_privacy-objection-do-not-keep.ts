/**
 * An objection (Art. 21) may say "do not keep" (issue #17, item 5): `subject_restrictions.do_not_keep`.
 * A new recording from or to such a number is not stored at ingest; a deletion-log entry of
 * reason `objection` records that it arrived and was not kept. False for every existing row
 * (a restriction or objection placed before keeps new recordings, restricted, as it did).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('subject_restrictions', (t) => {
    t.boolean('do_not_keep').notNullable().defaultTo(false);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('subject_restrictions', (t) => {
    t.dropColumn('do_not_keep');
  });
}
