/**
 * Manual redaction (issue #18, item 3): a recording's span silenced after the fact. Its old
 * objects are deleted and the deletion log records that with one entry of reason `redaction`
 * per redaction, naming the span and the old objects' digests. A recording may be redacted
 * more than once and is still deleted at the end of its retention, so:
 *
 * - `deletion_log.recording_id` is no longer unique across all entries: it is unique among the
 *   entries that are not `redaction` (still at most one deletion of a recording); a plain index
 *   serves the lookups by recording.
 * - `deletion_log.span`: null on every other entry (they hash as before); on a `redaction`
 *   entry the canonical JSON `{"endMs":…,"startMs":…}` of the silenced span.
 * - `ingest_inflight.redaction`: null on every other marker; on the marker a redaction writes in
 *   the transaction that points the recording at its new objects (the marker lists the old
 *   objects in `object_keys`), the JSON of the deletion-log entry still to be written once those
 *   objects are deleted: crash recovery finishes the redaction from it.
 *
 * No UPDATE or DELETE touches a `deletion_log` row (its triggers stay quiet).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  const pg = knex.client.config.client === 'pg';
  await knex.schema.alterTable('deletion_log', (t) => {
    t.text('span').nullable();
  });
  if (pg) await knex.raw('alter table deletion_log drop constraint deletion_log_recording_id_unique');
  else await knex.raw('drop index deletion_log_recording_id_unique');
  await knex.raw(
    "create unique index deletion_log_recording_id_once on deletion_log (recording_id) where reason <> 'redaction'",
  );
  await knex.raw('create index deletion_log_recording_id_index on deletion_log (recording_id)');
  await knex.schema.alterTable('ingest_inflight', (t) => {
    t.text('redaction').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ingest_inflight', (t) => {
    t.dropColumn('redaction');
  });
  await knex.raw('drop index deletion_log_recording_id_index');
  await knex.raw('drop index deletion_log_recording_id_once');
  await knex.raw('create unique index deletion_log_recording_id_unique on deletion_log (recording_id)');
}
