/**
 * Verifies the deletion log, streaming it in pages (bounded memory):
 * - seq is gapless from 1;
 * - every prev_hash is the previous entry's hash (genesis: 64 zeros) and every hash
 *   recomputes;
 * - deleted_at never decreases;
 * - every stored checkpoint's signature verifies with the checkpoint key and its
 *   {size, headHash} matches the log's prefix of that size (so dropping the last
 *   entries, or rewriting and re-hashing the whole chain, is caught);
 * - given the object store (`store`), every checkpoint published under `checkpoints/`
 *   (listed once; the key names size and head hash) matches the log's prefix of its size
 *   too. These are the copies the database cannot change: a log cut at its tail, wiped
 *   together with its checkpoints, or rewritten and re-chained is caught against them. A
 *   published checkpoint that disagrees with the log is read and its signature checked: a
 *   genuine one proves the log wrong (`truncated`, `checkpoint_mismatch`), one that is not
 *   genuine (planted, or under another key) is reported as `external_checkpoint_signature`.
 *
 * `firstInvalidSeq` names the first entry at fault: the entry that breaks the chain,
 * the first missing seq of a gap or truncation, or — when only a checkpoint exposes a
 * consistently re-hashed chain — the first seq after the last checkpoint that still
 * matches (the earliest entry that may have been rewritten).
 *
 * A large log is split into seq ranges checked in parallel by worker threads (each with
 * its own database connection, given `dbConfig`); the ranges are then stitched: each
 * range's first prev_hash must be the previous range's last hash. The verdict is the same
 * as a single pass.
 */
import type { KeyObject } from 'node:crypto';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { DbConfig } from '../config.js';
import type { Db } from '../db/db.js';
import type { ObjectStore } from '../storage/object-store.js';
import { listCheckpoints } from '../db/checkpoints.js';
import { countLog } from '../db/deletion-log.js';
import { checkpointText, keyIdOf, verifyText } from './checkpoint-key.js';
import { listPublishedCheckpoints, verifyPublishedCheckpoint } from './checkpoint-publish.js';
import type { PublishedCheckpoint } from './checkpoint-publish.js';
import { GENESIS_HASH } from './deletion-log.js';
import { verifyRange } from './verify-range.js';
import type { RangeResult } from './verify-range.js';

export type VerifyProblem =
  | 'gap'
  | 'prev_hash'
  | 'hash'
  | 'time'
  | 'checkpoint_mismatch'
  | 'checkpoint_signature'
  | 'truncated'
  | 'external_checkpoint_signature';

export interface VerifyResult {
  ok: boolean;
  count: number;
  headHash: string;
  firstInvalidSeq: number | null;
  /** Why it is invalid (a short code), when it is. */
  problem: VerifyProblem | null;
  checkpoints: { count: number; verified: number };
  /**
   * The checkpoints published in the object store, when they were checked: how many there
   * are, how many match the log, and the largest size among them. Null when not checked.
   */
  external: { count: number; matched: number; largestSize: number | null } | null;
}

/** Below this many entries one pass in this thread is as fast as starting workers. */
const PARALLEL_THRESHOLD = 200_000;

function runWorker(data: {
  dbConfig: DbConfig;
  from: number;
  to: number;
  pageSize: number;
  sizes: number[];
}): Promise<RangeResult> {
  return new Promise((resolve, reject) => {
    // Compiled: verify-worker.js beside this file. From source (development, tests): the
    // worker registers tsx itself first, since loader hooks do not reach worker threads.
    const fromSource = import.meta.url.endsWith('.ts');
    const url = new URL(fromSource ? './verify-worker.ts' : './verify-worker.js', import.meta.url);
    const worker = fromSource
      ? new Worker(
          `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); });`,
          { eval: true, workerData: data },
        )
      : new Worker(url, { workerData: data });
    worker.once('message', (message: { result?: RangeResult; error?: string }) => {
      if (message.result) resolve(message.result);
      else reject(new Error(`deletion-log verify worker failed: ${message.error ?? 'unknown'}`));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`deletion-log verify worker exited with code ${code}`)));
  });
}

export async function verifyDeletionLog(
  db: Db,
  options: {
    publicKey?: KeyObject;
    pageSize?: number;
    signal?: AbortSignal;
    /** Enables parallel ranges (worker threads open their own connections). */
    dbConfig?: DbConfig;
    workers?: number;
    /** Entries from which ranges run in parallel (default 200,000). */
    parallelThreshold?: number;
    /** Where the checkpoints are published: checks the log against them too. */
    store?: ObjectStore;
  } = {},
): Promise<VerifyResult> {
  // 2,500 rows a page: measured cheaper than 10,000 on both databases (less garbage per page).
  const pageSize = options.pageSize ?? 2_500;
  // Listed before the log's end is read: every checkpoint seen was published of a log at
  // least this long (one published meanwhile is simply not seen).
  const published = options.store
    ? await listPublishedCheckpoints(options.store, { signal: options.signal })
    : undefined;
  const checkpoints = (await listCheckpoints(db.knex)).map((c) => ({ ...c, size: Number(c.size), at: Number(c.at) }));
  const knownKeyId = options.publicKey ? keyIdOf(options.publicKey) : undefined;
  let firstInvalidSeq: number | null = null;
  let problem: VerifyProblem | null = null;
  const invalid = (seq: number, why: VerifyProblem) => {
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
  const sizes = [...new Set([...trusted.map((c) => c.size), ...(published ?? []).map((p) => p.size)])];

  // The chain, in one or several seq ranges.
  const maxRow = (await db.knex('deletion_log').max({ m: 'seq' }).first()) as { m: number | string | null } | undefined;
  const maxSeq = Number(maxRow?.m ?? 0);
  const workers = Math.max(1, Math.min(options.workers ?? os.availableParallelism(), 4));
  const parallel =
    options.dbConfig !== undefined &&
    !(options.dbConfig.client === 'sqlite' && options.dbConfig.filename === ':memory:') &&
    workers > 1 &&
    maxSeq >= (options.parallelThreshold ?? PARALLEL_THRESHOLD);
  let segments: RangeResult[];
  if (parallel) {
    const step = Math.ceil(maxSeq / workers);
    const ranges = Array.from({ length: workers }, (_, i) => ({
      from: i * step + 1,
      to: Math.min(maxSeq, (i + 1) * step),
    })).filter((r) => r.from <= r.to);
    segments = await Promise.all(ranges.map((r) => runWorker({ dbConfig: options.dbConfig!, ...r, pageSize, sizes })));
  } else {
    segments = [await verifyRange(db, { from: 1, to: Math.max(maxSeq, 0), pageSize, sizes, signal: options.signal })];
  }

  // Stitch the ranges: links and time order across their borders.
  const hashAt = new Map<number, string>([[0, GENESIS_HASH]]);
  let prevLast: RangeResult['last'] = { seq: 0, hash: GENESIS_HASH, deletedAt: Number.NEGATIVE_INFINITY };
  for (const segment of segments) {
    if (segment.invalid) invalid(segment.invalid.seq, segment.invalid.problem);
    if (segment.first && prevLast) {
      if (segment.first.seq === prevLast.seq + 1) {
        if (segment.first.prevHash !== prevLast.hash) invalid(segment.first.seq, 'prev_hash');
        else if (segment.first.deletedAt < prevLast.deletedAt) invalid(segment.first.seq, 'time');
      }
    }
    for (const [size, hash] of Object.entries(segment.hashes)) hashAt.set(Number(size), hash);
    if (segment.last) prevLast = segment.last;
  }
  const size = maxSeq;

  // Checkpoints (stored, and published) against the prefixes of the log, smallest first.
  const anchors: Array<{ size: number; headHash: string; published?: PublishedCheckpoint }> = [
    ...trusted.map((c) => ({ size: c.size, headHash: c.head_hash })),
    ...(published ?? []).map((p) => ({ size: p.size, headHash: p.headHash, published: p })),
  ].sort((a, b) => a.size - b.size);
  let lastGoodCheckpointSize = 0;
  let matchedPublished = 0;
  // Once a genuine published checkpoint disagrees, no later (larger) one can name an earlier seq.
  let publishedDisagreement = false;
  for (const cp of anchors) {
    const hash = cp.size <= size ? hashAt.get(cp.size) : undefined;
    if (cp.size <= size && hash === undefined) continue; // its entry is missing: reported as a gap
    if (hash === cp.headHash) {
      lastGoodCheckpointSize = Math.max(lastGoodCheckpointSize, cp.size);
      if (cp.published) matchedPublished += 1;
      continue;
    }
    if (cp.published) {
      if (publishedDisagreement) continue;
      const genuine =
        options.publicKey !== undefined &&
        (await verifyPublishedCheckpoint(options.store!, cp.published, {
          publicKey: options.publicKey,
          signal: options.signal,
        }));
      if (!genuine) {
        invalid(Math.max(1, cp.size), 'external_checkpoint_signature');
        continue;
      }
      publishedDisagreement = true;
    }
    if (cp.size > size) invalid(size + 1, 'truncated');
    else invalid(lastGoodCheckpointSize + 1, 'checkpoint_mismatch');
  }

  const count = await countLog(db.knex);
  return {
    ok: firstInvalidSeq === null,
    count,
    headHash: size === 0 ? GENESIS_HASH : (prevLast?.hash ?? GENESIS_HASH),
    firstInvalidSeq,
    problem,
    checkpoints: { count: checkpoints.length, verified: verifiedCheckpoints },
    external: published
      ? { count: published.length, matched: matchedPublished, largestSize: published.at(-1)?.size ?? null }
      : null,
  };
}
