/**
 * Why a recording is being deleted, kept on the row while it is claimed
 * (status = 'deleting'): an erasure interrupted by a crash or an unreachable
 * store is finished later by the sweeper under its original reason, actor and
 * reference.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('recordings', (t) => {
    t.string('delete_reason', 32).nullable();
    t.string('delete_actor', 64).nullable();
    t.string('delete_reference', 256).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('recordings', (t) => {
    t.dropColumn('delete_reason');
    t.dropColumn('delete_actor');
    t.dropColumn('delete_reference');
  });
}
