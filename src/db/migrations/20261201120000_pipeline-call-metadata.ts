/**
 * Call metadata as PBXes send it (issue #15): when the call ended, what each number field held
 * (`e164` | `withheld` | `internal`; a withheld or internal number keeps its kind and no number,
 * so it is never found by a phone-number search), which stereo channel holds the agent, the
 * call group that ties transfer and conference segments together, and a case or dossier
 * reference privacy officers search by; and the quality flags ingest reads from the peaks
 * (`silent`: no channel carries sound; `one_way`: one channel of a stereo call is silent). The
 * metadata columns are nullable (rows of older versions have none); the flags default to false.
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
    t.boolean('flag_silent').notNullable().defaultTo(false);
    t.boolean('flag_one_way').notNullable().defaultTo(false);
    t.index(['call_group_id']);
    t.index(['case_reference']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('recordings', (t) => {
    t.dropIndex(['call_group_id']);
    t.dropIndex(['case_reference']);
    t.dropColumns(
      'ended_at',
      'caller_number_kind',
      'callee_number_kind',
      'agent_channel',
      'call_group_id',
      'case_reference',
      'flag_silent',
      'flag_one_way',
    );
  });
}
