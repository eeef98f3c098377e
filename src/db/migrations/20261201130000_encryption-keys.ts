/**
 * Encryption at rest (issue #14): each recording's data key, stored only wrapped by a keyring
 * key, in a table of its own; and, in the deletion log, whether a deletion destroyed the key.
 *
 * - `recording_keys`: one row per recording whose objects are encrypted (the format marker: a
 *   recording without a row was stored in plaintext). Written before the recording's first
 *   object; deleted in the transaction that appends the recording's deletion-log entry
 *   (crypto-shredding), never otherwise while the recording exists.
 * - `deletion_log.key_shredded` / `kek_id`: null on entries written before (they hash as
 *   before); on new entries of an encrypted recording, true and the id of the key-encryption
 *   key that wrapped the destroyed data key. Adding nullable columns fires no trigger.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('recording_keys', (t) => {
    t.string('recording_id', 26).primary();
    /** The keyring key that wraps `wrapped` (ids: [A-Za-z0-9._-]{1,28}). */
    t.string('kek_id', 28).notNullable();
    /** nonce (12) ‖ AES-256-GCM ciphertext of the 32-byte data key ‖ tag (16). */
    t.binary('wrapped').notNullable();
    t.bigInteger('created_at').notNullable();
    t.index(['kek_id']);
  });
  await knex.schema.alterTable('deletion_log', (t) => {
    t.boolean('key_shredded').nullable();
    t.string('kek_id', 28).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('recording_keys');
}
