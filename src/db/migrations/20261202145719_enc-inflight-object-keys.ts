/**
 * `callrec encrypt-existing` (issue #14, item 7) uses the in-flight markers of uploads for its
 * own crash safety. Its second marker names objects that share no prefix with nothing else (the
 * plaintext objects a recording left behind once its row points at their encrypted copies), so a
 * marker may list its objects exactly:
 *
 * - `ingest_inflight.object_keys`: null (every marker of an upload): crash recovery deletes every
 *   object under `object_prefix`, as before; otherwise a JSON array of object keys: crash recovery
 *   deletes exactly those (and nothing else under the prefix).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ingest_inflight', (t) => {
    t.text('object_keys').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ingest_inflight', (t) => {
    t.dropColumn('object_keys');
  });
}
