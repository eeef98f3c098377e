/**
 * The privacy-request register (issue #17): one row per request of a data subject, the
 * numbers it concerns, its timeline, and the numbers under restriction or objection.
 *
 * - `privacy_requests`: `seq` numbers the human reference (`PR-<year>-<seq>`); `due_at` is
 *   computed by src/privacy/deadline.ts and stored so that the register can be filtered and
 *   sorted by it; `status` is `open` or `closed` (due-soon and overdue are derived from the clock).
 * - `privacy_request_numbers`: the E.164 numbers of a request (the register needs them to act;
 *   they never reach application logs, the access log or the deletion log).
 * - `privacy_request_events`: the timeline, append-only from the application's side: who did
 *   what and when, the recordings concerned, deletion-log seqs for erasures, reasons.
 * - `subject_restrictions`: numbers under restriction (Art. 18) or objection (Art. 21); a
 *   recording whose caller or callee number is listed is `restricted` (trainers and admins do
 *   not see it). Lifting removes the row; the lift is logged in the access log and the timeline.
 * Timeline rows and numbers go with their request (ON DELETE CASCADE).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('privacy_requests', (t) => {
    t.increments('seq').primary();
    t.string('id', 26).notNullable().unique();
    t.string('reference', 32).notNullable().unique();
    /** access | copy | erasure | objection | restriction | correction */
    t.string('kind', 16).notNullable();
    /** email | letter | phone | web */
    t.string('channel', 16).notNullable();
    t.boolean('identity_verified').notNullable();
    t.string('case_reference', 128).nullable();
    t.bigInteger('received_at').notNullable();
    t.bigInteger('due_at').notNullable();
    t.integer('extension_months').notNullable().defaultTo(0);
    /** open | closed */
    t.string('status', 16).notNullable();
    /** fulfilled | partially_fulfilled | refused | withdrawn */
    t.string('outcome', 32).nullable();
    t.text('close_reason').nullable();
    t.bigInteger('closed_at').nullable();
    t.string('closed_by', 64).nullable();
    t.string('created_by', 64).notNullable();
    t.bigInteger('created_at').notNullable();
    t.index(['status', 'due_at']);
    t.index(['received_at']);
    t.index(['closed_at']);
  });

  await knex.schema.createTable('privacy_request_numbers', (t) => {
    t.string('request_id', 26).notNullable().references('id').inTable('privacy_requests').onDelete('CASCADE');
    /** E.164 */
    t.string('number', 32).notNullable();
    t.primary(['request_id', 'number']);
    t.index(['number']);
  });

  await knex.schema.createTable('privacy_request_events', (t) => {
    t.increments('id').primary();
    t.string('request_id', 26).notNullable().references('id').inTable('privacy_requests').onDelete('CASCADE');
    t.bigInteger('at').notNullable();
    t.string('actor', 64).notNullable();
    t.string('role', 16).notNullable();
    t.string('action', 32).notNullable();
    /** JSON array of recording ids, or null */
    t.text('recording_ids').nullable();
    /** JSON array of deletion-log seqs (erasures), or null */
    t.text('deletion_seqs').nullable();
    t.text('detail').nullable();
    t.index(['request_id', 'id']);
  });

  await knex.schema.createTable('subject_restrictions', (t) => {
    /** E.164 */
    t.string('number', 32).primary();
    /** restrict (Art. 18) | object (Art. 21) */
    t.string('mode', 16).notNullable();
    t.string('request_id', 26).nullable();
    t.string('created_by', 64).notNullable();
    t.bigInteger('created_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    'subject_restrictions',
    'privacy_request_events',
    'privacy_request_numbers',
    'privacy_requests',
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
}
