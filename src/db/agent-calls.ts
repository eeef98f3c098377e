/**
 * The calls an agent may hear: those of their own evaluations that reached them (submitted, acknowledged or
 * disputed; never a draft, never a calibration evaluation). Read by the recordings' object-level access
 * (src/playback/access.ts) at every request, never cached, so a deleted evaluation stops the access at once.
 *
 * Inside a transaction pass `trx` as `q` (SQLite has one connection).
 */
import type { Knex } from 'knex';

type Q = Knex | Knex.Transaction;

/** Evaluation statuses an agent sees (the trainer has submitted them). */
export const AGENT_VISIBLE_STATUSES = ['submitted', 'acknowledged', 'disputed'] as const;

/** True when `agentId` has an evaluation of recording `recordingId` that they may see. */
export async function isCallOfAgentEvaluation(q: Q, recordingId: string, agentId: string): Promise<boolean> {
  const row = (await q('evaluations')
    .where({ recording_id: recordingId, agent_id: agentId, calibration: false })
    .whereIn('status', AGENT_VISIBLE_STATUSES)
    .first('id')) as { id: string } | undefined;
  return row !== undefined;
}
