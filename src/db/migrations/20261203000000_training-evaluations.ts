/**
 * Training reviews (issue #20): versioned evaluation forms, evaluations of calls, their scores,
 * and the agent a user may be bound to.
 *
 * - `evaluation_forms`: one row per form (stable id, current name).
 * - `evaluation_form_versions`: one row per version of a form; `definition` is the canonical JSON
 *   of its sections and questions. A version is published when it is written and never changes;
 *   an edit of a form writes its next version.
 * - `evaluations`: a trainer's evaluation of one recording against one published form version.
 *   It is about the agent's work and outlives the recording: `recording_id` has no foreign key,
 *   and the agent, queue and call start are copied from the recording when it is created; no
 *   caller number, audio or excerpt is ever kept here. `score` (0–100) and the per-section scores
 *   are computed by the server at submission. `expires_at` is its own retention deadline.
 * - `evaluation_section_scores`: the section scores of a submitted evaluation, one row each, so
 *   that scorecards aggregate them in SQL.
 * - `evaluation_comments`: timestamped comments on the call (shown on the waveform like notes).
 * - `users.agent_id`: the agent a user of role `agent` is bound to (null for other roles).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('evaluation_forms', (t) => {
    t.string('id', 26).primary();
    t.string('name', 128).notNullable();
    t.string('created_by', 64).notNullable();
    t.bigInteger('created_at').notNullable();
  });

  await knex.schema.createTable('evaluation_form_versions', (t) => {
    t.string('form_id', 26).notNullable().references('id').inTable('evaluation_forms').onDelete('CASCADE');
    t.integer('version').notNullable();
    t.text('definition').notNullable();
    t.string('created_by', 64).notNullable();
    t.bigInteger('created_at').notNullable();
    t.primary(['form_id', 'version']);
  });

  await knex.schema.createTable('evaluations', (t) => {
    t.string('id', 26).primary();
    t.string('recording_id', 26).notNullable();
    t.string('form_id', 26).notNullable();
    t.integer('form_version').notNullable();
    t.string('evaluator', 64).notNullable();
    t.string('agent_id', 128).nullable();
    t.string('queue', 128).nullable();
    t.bigInteger('call_started_at').notNullable();
    t.integer('call_duration_ms').notNullable();
    /** draft | submitted | acknowledged | disputed */
    t.string('status', 16).notNullable();
    /** One of several trainers scoring the same call blind. */
    t.boolean('calibration').notNullable().defaultTo(false);
    /** JSON `{questionId: "yes" | "no" | "na" | 1..5 | "<choice>"}`, as in the design's request body. */
    t.text('answers').notNullable();
    /** JSON `{questionId: text}`: the trainer's comment per question. */
    t.text('comments').nullable();
    t.float('score').nullable();
    t.text('agent_comment').nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.bigInteger('submitted_at').nullable();
    t.bigInteger('responded_at').nullable();
    t.bigInteger('expires_at').notNullable();
    t.foreign(['form_id', 'form_version']).references(['form_id', 'version']).inTable('evaluation_form_versions');
    t.index(['recording_id']);
    t.index(['agent_id', 'submitted_at']);
    t.index(['queue', 'submitted_at']);
    t.index(['form_id', 'submitted_at']);
    t.index(['submitted_at']);
    t.index(['expires_at']);
  });

  await knex.schema.createTable('evaluation_section_scores', (t) => {
    t.string('evaluation_id', 26).notNullable().references('id').inTable('evaluations').onDelete('CASCADE');
    t.string('section_id', 64).notNullable();
    t.float('score').notNullable();
    t.primary(['evaluation_id', 'section_id']);
  });

  await knex.schema.createTable('evaluation_comments', (t) => {
    t.string('id', 26).primary();
    t.string('evaluation_id', 26).notNullable().references('id').inTable('evaluations').onDelete('CASCADE');
    t.string('author', 64).notNullable();
    t.integer('offset_ms').notNullable();
    t.text('text').notNullable();
    t.bigInteger('created_at').notNullable();
    t.index(['evaluation_id', 'offset_ms']);
  });

  await knex.schema.alterTable('users', (t) => {
    t.string('agent_id', 128).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.dropColumn('agent_id');
  });
  await knex.schema.dropTable('evaluation_comments');
  await knex.schema.dropTable('evaluation_section_scores');
  await knex.schema.dropTable('evaluations');
  await knex.schema.dropTable('evaluation_form_versions');
  await knex.schema.dropTable('evaluation_forms');
}
