/**
 * Signed checkpoints of the deletion log: `{size, headHash, at}` in canonical
 * JSON, signed with Ed25519. An auditor who keeps one can later prove that the
 * first `size` entries were neither rewritten nor dropped.
 *
 * Each new checkpoint is stored in `deletion_checkpoints` and published outside the
 * database (object store and log output, see `checkpoint-publish.ts`).
 */
import type { KeyObject } from 'node:crypto';
import type { Config } from '../config.js';
import type { Db } from '../db/db.js';
import { insertCheckpoint, latestCheckpoint, listCheckpoints } from '../db/checkpoints.js';
import type { CheckpointRow } from '../db/checkpoints.js';
import { lockDeletionLog, readLogHead } from '../db/deletion-log.js';
import type { Logger } from '../logger.js';
import type { ObjectStore } from '../storage/object-store.js';
import { checkpointText, loadCheckpointKey, signText, verifyText } from './checkpoint-key.js';
import { checkpointObjectKey, publishCheckpoint } from './checkpoint-publish.js';

export { checkpointText } from './checkpoint-key.js';

export interface Checkpoint {
  size: number;
  headHash: string;
  at: string;
  signature: string;
  keyId: string;
}

export function toCheckpoint(row: CheckpointRow): Checkpoint {
  return {
    size: Number(row.size),
    headHash: row.head_hash,
    at: new Date(Number(row.at)).toISOString(),
    signature: row.signature,
    keyId: row.key_id,
  };
}

/**
 * Whether a checkpoint of a log of `size` entries is due: the log grew since the last
 * checkpoint, and there is none yet, or `every` entries accumulated, or the last one is
 * `intervalMs` old (by `now`), or `force`.
 */
export function checkpointDue(options: {
  size: number;
  last: { size: number; at: number } | undefined;
  now: number;
  every: number;
  intervalMs: number;
  force?: boolean;
}): boolean {
  const { size, last, now } = options;
  if (size <= (last?.size ?? 0)) return false;
  return Boolean(options.force) || !last || size - last.size >= options.every || now - last.at >= options.intervalMs;
}

export interface CheckpointDeps {
  db: Db;
  store: ObjectStore;
  logger: Logger;
  config: {
    audit: Pick<Config['audit'], 'checkpointEvery' | 'checkpointIntervalMs' | 'checkpointKeyFile' | 'checkpointLock'>;
  };
}

/**
 * Signs a checkpoint of the current head when one is due (see `checkpointDue`), under the
 * log's append lock: the head cannot move while it is signed, and several instances never
 * sign the same size twice (the second sees the first's checkpoint). Then publishes it
 * (object store, log line). When none is due, makes sure the newest checkpoint's object
 * exists (a crash or a store outage after signing), putting it again if not.
 * Returns the new checkpoint, or undefined when none was due.
 */
export async function maybeCheckpoint(
  deps: CheckpointDeps,
  options: { now: number; force?: boolean; signal?: AbortSignal },
): Promise<Checkpoint | undefined> {
  const key = loadCheckpointKey(deps.config.audit.checkpointKeyFile);
  const outcome = await deps.db.knex.transaction(async (trx) => {
    await lockDeletionLog(trx, deps.db.client);
    const head = await readLogHead(trx);
    const last = await latestCheckpoint(trx);
    const size = head ? Number(head.seq) : 0;
    const due = checkpointDue({
      size,
      last: last ? { size: Number(last.size), at: Number(last.at) } : undefined,
      now: options.now,
      every: deps.config.audit.checkpointEvery,
      intervalMs: deps.config.audit.checkpointIntervalMs,
      force: options.force,
    });
    if (!head || !due) return { signed: undefined, last };
    const row = {
      size,
      head_hash: head.hash,
      at: options.now,
      signature: signText(key, checkpointText({ size, headHash: head.hash, at: options.now })),
      key_id: key.keyId,
    };
    await insertCheckpoint(trx, row);
    return { signed: toCheckpoint({ id: 0, ...row }), last };
  });
  if (outcome.signed) {
    await publishCheckpoint(deps, outcome.signed, { signal: options.signal });
    return outcome.signed;
  }
  if (outcome.last)
    await republishIfMissing(deps, toCheckpoint(outcome.last), { publicKey: key.publicKey, signal: options.signal });
  return undefined;
}

/** Puts the newest checkpoint again when its object is missing; a row whose signature fails is never published. */
async function republishIfMissing(
  deps: CheckpointDeps,
  checkpoint: Checkpoint,
  options: { publicKey: KeyObject; signal?: AbortSignal },
): Promise<void> {
  let present: boolean;
  try {
    present = await deps.store.exists(checkpointObjectKey(checkpoint), { signal: options.signal });
  } catch (error) {
    deps.logger.warn(
      { size: checkpoint.size, err: { name: (error as Error)?.name, code: (error as { code?: unknown })?.code } },
      'could not check that the newest deletion log checkpoint is published',
    );
    return;
  }
  if (present) return;
  if (!verifyText(options.publicKey, checkpointText(checkpoint), checkpoint.signature)) {
    deps.logger.warn(
      { size: checkpoint.size },
      'the newest deletion log checkpoint in the database fails its signature: not published',
    );
    return;
  }
  await publishCheckpoint(deps, checkpoint, { signal: options.signal });
}

export async function allCheckpoints(db: Db): Promise<Checkpoint[]> {
  return (await listCheckpoints(db.knex)).map(toCheckpoint);
}
