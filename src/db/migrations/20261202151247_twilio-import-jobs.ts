/**
 * Twilio import jobs (src/ingest/adapters/twilio-worker.ts): one row per RecordingSid, written by
 * the recording status callback before it answers 2xx (a replayed callback finds the row and adds
 * none). A worker claims a row (claimed_by + claim_expires_at), fetches the media and the Call
 * resource, stores the recording through the ingest pipeline (source `twilio`, callId =
 * RecordingSid), then deletes the recording at Twilio.
 *
 * status: `pending` (not stored yet) → `stored` (stored here; the source copy still to delete) →
 * `done` (source deleted, or kept by CALLREC_TWILIO_DELETE_AFTER_IMPORT=false); `failed` once the
 * job gave up (permanent refusal, or the last attempt). No phone numbers: numbers are read from
 * the Call resource when the job runs and go only into the recording row.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('twilio_import_jobs', (t) => {
    t.string('recording_sid', 34).primary();
    t.string('account_sid', 34).notNullable();
    t.string('call_sid', 34).notNullable();
    /** As Twilio sent it; fetched only when its origin is CALLREC_TWILIO_API_BASE's. */
    t.string('recording_url', 2048).notNullable();
    /** RecordingStartTime, epoch ms */
    t.bigInteger('started_at').notNullable();
    t.integer('duration_s').nullable();
    t.integer('channels').nullable();
    t.string('status', 16).notNullable();
    /** Claims so far (each run of the job counts one). */
    t.integer('attempts').notNullable().defaultTo(0);
    /** Not before (epoch ms): the backoff after a failed attempt. */
    t.bigInteger('next_attempt_at').nullable();
    /** `machine/pid/start/role` of the claiming worker (src/process-owner.ts). */
    t.string('claimed_by', 200).nullable();
    t.bigInteger('claim_expires_at').nullable();
    /** A stable code (twilio_unavailable, unsupported_audio, …); never a message, URL or number. */
    t.string('last_error_code', 64).nullable();
    t.string('recording_id', 26).nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.index(['status', 'next_attempt_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('twilio_import_jobs');
}
