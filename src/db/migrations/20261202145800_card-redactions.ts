/**
 * Card data kept out of recordings (issue #18): each recording lists the spans silenced in its
 * audio (`redactions`: JSON `[{startMs, endMs, kind}]`, kind `pause` | `dtmf` | `manual`; never
 * a digit), and keeps the digest of the audio as it was received (`received_sha256`), since a
 * silenced original has other bytes and a replay of the same upload must still be recognized.
 * Both are nullable: older rows have neither (no redactions; the original is what was received).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('recordings', (t) => {
    t.text('redactions').nullable();
    t.string('received_sha256', 64).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('recordings', (t) => {
    t.dropColumns('redactions', 'received_sha256');
  });
}
