/**
 * Signed checkpoints of the deletion log: `{size, headHash, at}` in canonical
 * JSON, signed with Ed25519. An auditor who keeps one can later prove that the
 * first `size` entries were neither rewritten nor dropped.
 */
import type { Db } from '../db/db.js';
import { insertCheckpoint, latestCheckpoint, listCheckpoints } from '../db/checkpoints.js';
import type { CheckpointRow } from '../db/checkpoints.js';
import { readLogHead } from '../db/deletion-log.js';
import { canonicalJson } from './canonical-json.js';
import { loadCheckpointKey, signText } from './checkpoint-key.js';

export const CHECKPOINT_MAX_AGE_MS = 3_600_000;

export interface Checkpoint {
  size: number;
  headHash: string;
  at: string;
  signature: string;
  keyId: string;
}

/** The exact text that is signed. `at` is ISO 8601 UTC. */
export function checkpointText(c: { size: number; headHash: string; at: number | string }): string {
  const at = typeof c.at === 'number' ? new Date(c.at).toISOString() : c.at;
  return canonicalJson({ size: c.size, headHash: c.headHash, at });
}

export function toCheckpoint(row: CheckpointRow): Checkpoint {
  return { size: Number(row.size), headHash: row.head_hash, at: new Date(Number(row.at)).toISOString(), signature: row.signature, keyId: row.key_id };
}

/**
 * Writes a checkpoint of the current head when the log grew by `every` entries since
 * the last one, or grew at all and the last one is older than an hour (or `force`).
 * Returns the new checkpoint, or undefined when none was due. Idempotent enough: two
 * instances racing write two checkpoints of valid prefixes, both verifiable.
 */
export async function maybeCheckpoint(
  deps: { db: Db; config: { audit: { checkpointEvery: number; checkpointKeyFile: string } } },
  options: { now: number; force?: boolean },
): Promise<Checkpoint | undefined> {
  const head = await readLogHead(deps.db.knex);
  if (!head) return undefined;
  const size = Number(head.seq);
  const last = await latestCheckpoint(deps.db.knex);
  const lastSize = last ? Number(last.size) : 0;
  const grew = size > lastSize;
  const due =
    grew && (options.force || size - lastSize >= deps.config.audit.checkpointEvery || !last || options.now - Number(last.at) >= CHECKPOINT_MAX_AGE_MS);
  if (!due) return undefined;
  const key = loadCheckpointKey(deps.config.audit.checkpointKeyFile);
  const row = { size, head_hash: head.hash, at: options.now, signature: signText(key, checkpointText({ size, headHash: head.hash, at: options.now })), key_id: key.keyId };
  await insertCheckpoint(deps.db.knex, row);
  return toCheckpoint({ id: 0, ...row });
}

export async function allCheckpoints(db: Db): Promise<Checkpoint[]> {
  return (await listCheckpoints(db.knex)).map(toCheckpoint);
}
