/**
 * The data model of the design, portable across SQLite and PostgreSQL.
 * Every timestamp is BIGINT epoch milliseconds; booleans are booleans;
 * JSON is stored as text (canonical, written by the application).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    t.string('id', 26).primary();
    t.string('username', 64).notNullable().unique();
    t.string('role', 16).notNullable();
    t.string('password_hash', 255).notNullable();
    /** JSON array of queue names a trainer is limited to; null means every queue. */
    t.text('queues').nullable();
    t.boolean('disabled').notNullable().defaultTo(false);
    t.bigInteger('created_at').notNullable();
  });

  await knex.schema.createTable('api_tokens', (t) => {
    t.string('id', 26).primary();
    t.string('user_id', 26).notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.string('name', 64).notNullable();
    /** sha256 hex of the token; the token itself is shown once and never stored. */
    t.string('token_hash', 64).notNullable().unique();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('last_used_at').nullable();
    t.bigInteger('revoked_at').nullable();
    t.index(['user_id']);
  });

  await knex.schema.createTable('sessions', (t) => {
    /** sha256 hex of the session id held in the cookie. */
    t.string('id_hash', 64).primary();
    t.string('user_id', 26).notNullable().references('id').inTable('users').onDelete('CASCADE');
    t.bigInteger('created_at').notNullable();
    t.bigInteger('last_seen_at').notNullable();
    t.bigInteger('expires_at').notNullable();
    t.index(['user_id']);
    t.index(['expires_at']);
  });

  await knex.schema.createTable('recordings', (t) => {
    t.string('id', 26).primary();
    t.string('source', 64).notNullable();
    t.string('call_id', 128).notNullable();
    t.bigInteger('started_at').notNullable();
    t.integer('duration_ms').notNullable();
    t.string('agent_id', 128).nullable();
    t.string('queue', 128).nullable();
    t.string('direction', 16).nullable();
    /** E.164, normalized at ingest; never logged, never in keys or the deletion log. */
    t.string('caller_number', 32).nullable();
    t.string('callee_number', 32).nullable();
    t.string('original_key', 512).notNullable();
    t.string('original_sha256', 64).notNullable();
    t.bigInteger('original_size').notNullable();
    t.string('original_codec', 64).notNullable();
    t.string('original_content_type', 128).notNullable();
    t.integer('original_sample_rate').notNullable();
    t.integer('original_channels').notNullable();
    t.string('playback_key', 512).notNullable();
    t.string('playback_format', 16).notNullable();
    t.string('playback_content_type', 128).notNullable();
    t.bigInteger('playback_size').notNullable();
    t.string('playback_sha256', 64).notNullable();
    /** JSON waveform peaks, computed at ingest; deleted with the row. */
    t.text('waveform').nullable();
    t.bigInteger('expires_at').notNullable();
    t.boolean('legal_hold').notNullable().defaultTo(false);
    t.text('hold_reason').nullable();
    t.string('hold_by', 64).nullable();
    t.bigInteger('hold_at').nullable();
    /** stored | deleting (claimed by a sweeper or an erasure) */
    t.string('status', 16).notNullable().defaultTo('stored');
    t.string('claimed_by', 64).nullable();
    t.bigInteger('claim_expires_at').nullable();
    t.integer('delete_attempts').notNullable().defaultTo(0);
    t.bigInteger('next_attempt_at').nullable();
    t.text('last_error').nullable();
    t.bigInteger('created_at').notNullable();
    t.unique(['source', 'call_id']);
    t.index(['expires_at']);
    t.index(['status', 'expires_at']);
    t.index(['started_at']);
    t.index(['queue', 'started_at']);
    t.index(['agent_id', 'started_at']);
    t.index(['caller_number']);
    t.index(['callee_number']);
  });

  await knex.schema.createTable('notes', (t) => {
    t.string('id', 26).primary();
    t.string('recording_id', 26).notNullable().references('id').inTable('recordings').onDelete('CASCADE');
    t.string('author', 64).notNullable();
    t.integer('offset_ms').notNullable();
    t.text('text').notNullable();
    t.bigInteger('created_at').notNullable();
    t.index(['recording_id', 'offset_ms']);
  });

  await knex.schema.createTable('deletion_log', (t) => {
    /** 1, 2, 3, … gapless; assigned under the append lock. */
    t.bigInteger('seq').primary();
    t.string('recording_id', 26).notNullable().unique();
    t.string('source', 64).notNullable();
    t.string('call_id', 128).notNullable();
    /** retention_expired | erasure_request | lifecycle_expired */
    t.string('reason', 32).notNullable();
    t.string('actor', 64).notNullable();
    t.string('reference', 256).nullable();
    t.bigInteger('started_at').notNullable();
    t.bigInteger('expires_at').notNullable();
    t.bigInteger('deleted_at').notNullable();
    /** JSON [{key, sha256, sizeBytes}] */
    t.text('objects').notNullable();
    t.boolean('verified').notNullable();
    t.string('prev_hash', 64).notNullable();
    t.string('hash', 64).notNullable().unique();
    t.index(['deleted_at']);
    t.index(['reason', 'deleted_at']);
  });

  await knex.schema.createTable('deletion_checkpoints', (t) => {
    t.increments('id').primary();
    t.bigInteger('size').notNullable();
    t.string('head_hash', 64).notNullable();
    t.bigInteger('at').notNullable();
    /** base64 Ed25519 signature over the canonical JSON {size, headHash, at} */
    t.text('signature').notNullable();
    /** sha256 hex of the public key (SPKI DER) that signed it */
    t.string('key_id', 64).notNullable();
    t.index(['size']);
  });

  await knex.schema.createTable('access_log', (t) => {
    t.increments('id').primary();
    t.string('user_id', 26).nullable();
    t.string('username', 64).notNullable();
    t.string('role', 16).notNullable();
    t.string('recording_id', 26).nullable();
    /** play | download | export | view | hold | release | erase | search */
    t.string('action', 16).notNullable();
    t.bigInteger('at').notNullable();
    t.string('request_id', 64).nullable();
    t.text('detail').nullable();
    t.index(['at']);
    t.index(['recording_id', 'at']);
    t.index(['username', 'at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    'access_log',
    'deletion_checkpoints',
    'deletion_log',
    'notes',
    'recordings',
    'sessions',
    'api_tokens',
    'users',
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
}
