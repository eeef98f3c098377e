/**
 * Call metadata as PBXes send it (issue #15): when the call ended, what each number field held
 * (`e164` | `withheld` | `internal`; a withheld or internal number keeps its kind and no number,
 * so it is never found by a phone-number search), which stereo channel holds the agent, the
 * call group that ties transfer and conference segments together, and a case or dossier
 * reference privacy officers search by. Every column is nullable: rows of older versions have
 * none of them.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('recordings', (t) => {
    t.bigInteger('ended_at').nullable();
    t.string('caller_number_kind', 16).nullable();
    t.string('callee_number_kind', 16).nullable();
    /** `left` | `right` for stereo originals; null for mono. */
    t.string('agent_channel', 8).nullable();
    t.string('call_group_id', 128).nullable();
    t.string('case_reference', 128).nullable();
    t.index(['call_group_id']);
    t.index(['case_reference']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('recordings', (t) => {
    t.dropIndex(['call_group_id']);
    t.dropIndex(['case_reference']);
    t.dropColumns('ended_at', 'caller_number_kind', 'callee_number_kind', 'agent_channel', 'call_group_id', 'case_reference');
  });
}
