/**
 * Scorecards (#20, src/db/scorecards.ts): covering indexes, so that a scorecard reads index
 * entries only, never the wide evaluation rows (their answers and comments JSON).
 *
 * - `evaluations (call_started_at, …)`: the period scan of every agent, queue and form.
 * - `evaluations (agent_id, call_started_at, …)` and `(queue, call_started_at, …)`: one agent's, or
 *   a trainer's queues', scorecard reads only their entries.
 * - `evaluation_section_scores (evaluation_id, section_id, score)`: the section averages join
 *   without reading the table.
 * The columns after the leading ones are what the scorecard queries filter on and aggregate.
 */
import type { Knex } from 'knex';

const COVERED = ['status', 'calibration', 'score', 'form_id', 'id'];

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('evaluations', (t) => {
    t.index(['call_started_at', 'agent_id', 'queue', ...COVERED], 'evaluations_scorecard_period_index');
    t.index(['agent_id', 'call_started_at', 'queue', ...COVERED], 'evaluations_scorecard_agent_index');
    t.index(['queue', 'call_started_at', 'agent_id', ...COVERED], 'evaluations_scorecard_queue_index');
  });
  await knex.schema.alterTable('evaluation_section_scores', (t) => {
    t.index(['evaluation_id', 'section_id', 'score'], 'evaluation_section_scores_scorecard_index');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('evaluation_section_scores', (t) => {
    t.dropIndex([], 'evaluation_section_scores_scorecard_index');
  });
  await knex.schema.alterTable('evaluations', (t) => {
    t.dropIndex([], 'evaluations_scorecard_queue_index');
    t.dropIndex([], 'evaluations_scorecard_agent_index');
    t.dropIndex([], 'evaluations_scorecard_period_index');
  });
}
