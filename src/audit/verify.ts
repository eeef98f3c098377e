/**
 * Verifies the deletion log, streaming it in pages (bounded memory):
 * - seq is gapless from 1;
 * - every prev_hash is the previous entry's hash (genesis: 64 zeros) and every hash
 *   recomputes;
 * - deleted_at never decreases;
 * - every stored checkpoint's signature verifies with the checkpoint key and its
 *   {size, headHash} matches the log's prefix of that size (so dropping the last
 *   entries, or rewriting and re-hashing the whole chain, is caught).
 *
 * `firstInvalidSeq` names the first entry at fault: the entry that breaks the chain,
 * the first missing seq of a gap or truncation, or — when only a checkpoint exposes a
 * consistently re-hashed chain — the first seq after the last checkpoint that still
 * matches (the earliest entry that may have been rewritten).
 */
import type { KeyObject } from 'node:crypto';
import type { Db } from '../db/db.js';
import { listCheckpoints } from '../db/checkpoints.js';
import { countLog, readLogPage } from '../db/deletion-log.js';
import { checkpointText } from './checkpoints.js';
import { keyIdOf, verifyText } from './checkpoint-key.js';
import { GENESIS_HASH, hashRow } from './deletion-log.js';

export interface VerifyResult {
  ok: boolean;
  count: number;
  headHash: string;
  firstInvalidSeq: number | null;
  /** Why it is invalid (a short code), when it is. */
  problem: 'gap' | 'prev_hash' | 'hash' | 'time' | 'checkpoint_mismatch' | 'checkpoint_signature' | 'truncated' | null;
  checkpoints: { count: number; verified: number };
}

export async function verifyDeletionLog(
  db: Db,
  options: { publicKey?: KeyObject; pageSize?: number; signal?: AbortSignal } = {},
): Promise<VerifyResult> {
  const pageSize = options.pageSize ?? 5000;
  const checkpoints = (await listCheckpoints(db.knex)).map((c) => ({ ...c, size: Number(c.size), at: Number(c.at) }));
  const knownKeyId = options.publicKey ? keyIdOf(options.publicKey) : undefined;
  let firstInvalidSeq: number | null = null;
  let problem: VerifyResult['problem'] = null;
  const invalid = (seq: number, why: NonNullable<VerifyResult['problem']>) => {
    if (firstInvalidSeq === null || seq < firstInvalidSeq) {
      firstInvalidSeq = seq;
      problem = why;
    }
  };

  // Signatures first: a checkpoint that does not verify proves nothing.
  let verifiedCheckpoints = 0;
  const trusted = checkpoints.filter((c) => {
    const ok =
      options.publicKey !== undefined &&
      c.key_id === knownKeyId &&
      verifyText(options.publicKey, checkpointText({ size: c.size, headHash: c.head_hash, at: c.at }), c.signature);
    if (ok) verifiedCheckpoints += 1;
    return ok;
  });
  if (verifiedCheckpoints < checkpoints.length) {
    const bad = checkpoints.find((c) => !trusted.includes(c))!;
    invalid(Math.max(1, bad.size), 'checkpoint_signature');
  }

  let expected = 1;
  let prevHash = GENESIS_HASH;
  let lastDeletedAt = Number.NEGATIVE_INFINITY;
  let lastGoodCheckpointSize = 0;
  let cpIndex = 0;
  const checkCheckpointsAt = (size: number, headHash: string) => {
    while (cpIndex < trusted.length && trusted[cpIndex]!.size <= size) {
      const cp = trusted[cpIndex]!;
      if (cp.size === size) {
        if (cp.head_hash === headHash) lastGoodCheckpointSize = Math.max(lastGoodCheckpointSize, size);
        else invalid(lastGoodCheckpointSize + 1, 'checkpoint_mismatch');
      }
      cpIndex += 1;
    }
  };
  checkCheckpointsAt(0, GENESIS_HASH);
  let chainBroken = false;
  for (;;) {
    options.signal?.throwIfAborted();
    const page = await readLogPage(db.knex, expected - 1, pageSize);
    if (page.length === 0) break;
    for (const row of page) {
      const seq = Number(row.seq);
      if (!chainBroken) {
        if (seq !== expected) {
          invalid(expected, 'gap');
          chainBroken = true;
        } else if (row.prev_hash !== prevHash) {
          invalid(seq, 'prev_hash');
          chainBroken = true;
        } else if (hashRow(row) !== row.hash) {
          invalid(seq, 'hash');
          chainBroken = true;
        } else if (Number(row.deleted_at) < lastDeletedAt) {
          invalid(seq, 'time');
          chainBroken = true;
        }
      }
      prevHash = row.hash;
      lastDeletedAt = Number(row.deleted_at);
      expected = seq + 1;
      checkCheckpointsAt(seq, row.hash);
    }
    if (page.length < pageSize) break;
  }
  const count = await countLog(db.knex);
  const size = expected - 1;
  // Checkpoints beyond the end of the log: entries were dropped from its end.
  for (const cp of trusted) if (cp.size > size) invalid(size + 1, 'truncated');
  return {
    ok: firstInvalidSeq === null,
    count,
    headHash: size === 0 ? GENESIS_HASH : prevHash,
    firstInvalidSeq,
    problem,
    checkpoints: { count: checkpoints.length, verified: verifiedCheckpoints },
  };
}
