/**
 * S3 drop buckets (issue #16, part 2): the configured sources and one row per source object seen.
 *
 * - `import_sources`: a bucket (and prefix) callrec imports from, its key layout, whether the
 *   source object is deleted once stored, the sha256 of the event-webhook secret (never the
 *   secret), and `list_cursor`: the StartAfter key of the listing pass under way (null: the next
 *   pass starts at the beginning of the prefix). Credentials are not stored: they come from the
 *   environment by endpoint (CALLREC_IMPORT_S3_CREDENTIALS).
 * - `s3_imports`: per (source, object key): its status (`queued`, `importing`, `stored`,
 *   `imported`, `failed`, `vanished`), the ETags it had (a failed object is tried again once its
 *   audio or sidecar changed), attempts, the last problem code and detail (no personal data:
 *   field names and codes only), the recording once stored, and the claim of the process
 *   importing it (owner + lease). Rows go with their source.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('import_sources', (t) => {
    t.string('name', 64).primary();
    /** `s3` (the only kind so far). */
    t.string('kind', 16).notNullable();
    /** S3 endpoint URL; null: AWS for `region`. */
    t.string('endpoint', 512).nullable();
    t.string('region', 64).notNullable();
    t.boolean('force_path_style').notNullable();
    t.string('bucket', 63).notNullable();
    t.string('prefix', 512).notNullable();
    /** `amazon-connect` | `sidecar-json` */
    t.string('layout', 32).notNullable();
    t.boolean('delete_source').notNullable();
    /** amazon-connect: how long a recording without its sidecar waits for it (ms; 0: not at all). */
    t.bigInteger('sidecar_wait_ms').notNullable();
    t.string('secret_sha256', 64).notNullable();
    t.string('list_cursor', 1024).nullable();
    /** When the last listing pass ended, and the problem code it ended with (null: it went through). */
    t.bigInteger('last_pass_at').nullable();
    t.string('last_pass_error', 64).nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
  });
  await knex.schema.createTable('s3_imports', (t) => {
    t.string('source', 64).notNullable().references('name').inTable('import_sources').onDelete('CASCADE');
    t.string('object_key', 1024).notNullable();
    t.primary(['source', 'object_key']);
    t.string('status', 16).notNullable();
    t.string('etag', 200).notNullable();
    t.string('sidecar_etag', 200).nullable();
    t.bigInteger('size').notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.string('last_error_code', 64).nullable();
    t.text('last_error').nullable();
    t.string('recording_id', 26).nullable();
    t.string('claimed_by', 200).nullable();
    t.bigInteger('claim_expires_at').nullable();
    t.bigInteger('next_attempt_at').nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.index(['source', 'status']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('s3_imports');
  await knex.schema.dropTableIfExists('import_sources');
}
