/**
 * A second factor for local accounts (issue #21).
 *
 * - `user_mfa`: one TOTP factor per user. `secret` is the sealed secret (see src/auth/totp.ts:
 *   AES-256-GCM under a key derived from CALLREC_SESSION_SECRET when set), never returned by any
 *   API after enrolment. `confirmed_at` is null while enrolment awaits its first code.
 *   `last_step` is the highest 30-second step a code was accepted for: a code of that step or
 *   an earlier one is refused (no replay within the window).
 * - `user_recovery_codes`: ten single-use codes per confirmed factor, stored as sha256 hex.
 * - `sessions.stage`: `full` (signed in), `code` (password right, code awaited) or `enrol` (a
 *   user who needs a factor and has none: may only enrol). Existing rows are full sessions.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('user_mfa', (t) => {
    t.string('user_id', 26).primary().references('users.id').onDelete('CASCADE');
    t.text('secret').notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('confirmed_at').nullable();
    t.bigInteger('last_step').nullable();
  });
  await knex.schema.createTable('user_recovery_codes', (t) => {
    t.increments('id').primary();
    t.string('user_id', 26).notNullable().references('users.id').onDelete('CASCADE');
    t.string('code_hash', 64).notNullable();
    t.bigInteger('used_at').nullable();
    t.unique(['user_id', 'code_hash']);
  });
  await knex.schema.alterTable('sessions', (t) => {
    t.string('stage', 8).notNullable().defaultTo('full');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('sessions', (t) => {
    t.dropColumn('stage');
  });
  await knex.schema.dropTableIfExists('user_recovery_codes');
  await knex.schema.dropTableIfExists('user_mfa');
}
