/**
 * Uploads in flight: a row per ingest that may have written objects but has no recording row yet.
 * Written before the first object is put, removed in the transaction that inserts the recording
 * (or after a failed upload's objects were deleted). Reconcile and crash recovery delete objects
 * under `recordings/` that have neither a recording row nor a live marker here.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('ingest_inflight', (t) => {
    /** The recording id the upload will insert; its objects live under `object_prefix`. */
    t.string('recording_id', 26).primary();
    t.string('object_prefix', 512).notNullable();
    /** The owning process, `machine/pid/start` (src/process-owner.ts); no personal data. */
    t.string('owner', 200).notNullable();
    t.bigInteger('created_at').notNullable();
    /** Renewed while the upload runs; once past, the upload counts as abandoned. */
    t.bigInteger('lease_expires_at').notNullable();
    t.index(['lease_expires_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('ingest_inflight');
}
