/**
 * The deletion path shared by the retention sweeper and erasure: for recordings
 * already claimed, delete every object, verify that none is left, then in ONE
 * transaction per chunk remove the rows (notes cascade), destroy their data keys
 * (crypto-shredding: every other copy of the objects becomes undecryptable) and
 * append their deletion-log entries (which record the shredding).
 *
 * Exactly once: the row removal is conditional on still holding the claim, and
 * the log entry is written in the same transaction, so a crash at any point
 * leaves either the claim (retried after its lease, objects already gone count
 * as deleted) or a finished deletion with its one entry. A recording whose
 * objects could not be deleted or verified gets no entry; its claim is released
 * with backoff.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Knex } from 'knex';
import type { Db } from '../db/db.js';
import { lockDeletionLog } from '../db/deletion-log.js';
import type { DeletionLogRow, DeletionReason } from '../db/deletion-log.js';
import { releaseClaimForRetry } from '../db/recordings.js';
import { deleteRecordingKeys } from '../db/recording-keys.js';
import type { ClaimedRecording } from '../db/recordings.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { ObjectStore, VersionItem } from '../storage/object-store.js';
import { appendDeletions } from '../audit/index.js';
import type { NewDeletion } from '../audit/index.js';
import { mapLimit } from '../storage/store-helpers.js';

/** The steps after which a test failpoint may fire (the crash-safety tests kill the process there). */
export const DELETION_STEPS = ['claimed', 'deleted', 'verified', 'beforeCommit', 'afterCommit'] as const;
export type DeletionStep = (typeof DELETION_STEPS)[number];
/** Test-only hook called after each step; production code never passes one. */
export type Failpoint = (step: DeletionStep) => void | Promise<void>;

export interface DeletionDeps {
  db: Db;
  store: ObjectStore;
  logger: Logger;
  metrics: Metrics;
}

export interface DeletedRecording {
  recordingId: string;
  seq: number;
  hash: string;
  reason: DeletionReason;
  deletedAt: number;
}

export interface DeletionFailure {
  id: string;
  /**
   * A short code: store_unavailable, versioned_bucket (the bucket keeps versions and
   * CALLREC_S3_VERSIONED=refuse), delete_failed, still_present (the object is still there),
   * versions_remain (older versions or delete markers of it are), verify_failed, db_error,
   * aborted, claim_lost.
   */
  reason: string;
}

export interface FinishResult {
  deleted: DeletedRecording[];
  /** Resumed deletions (an earlier attempt failed or crashed) whose objects were all gone already. */
  alreadyAbsent: string[];
  failed: DeletionFailure[];
}

const RETRY_BASE_MS = 30_000;
const RETRY_MAX_MS = 3_600_000;
const VERIFY_CONCURRENCY = 32;
const COMMIT_CHUNK = 100;

/**
 * How absence is verified after the delete. Both ask the store every time and see every
 * version and delete marker, never relying on what the bucket's versioning is thought to be:
 * - `exists`: `store.exists` per key (one version listing of the key on S3; stat on fs).
 * - `list`: version listings (`store.listVersions`) that must not show any trace of the keys:
 *   one contiguous key range per day folder of the batch, few pages for a whole batch (see
 *   `verifyByListing`), falling back to one listing of each recording's own folder for a
 *   sparse range.
 * `verifyModeFor` (the default) picks `list` for a store that can hold versions (a round trip
 * per day folder instead of one per key), `exists` for one that cannot (fs: a stat per key is
 * cheaper than a walk).
 */
export type VerifyMode = 'exists' | 'list';

export function verifyModeFor(store: Pick<ObjectStore, 'capabilities'>): VerifyMode {
  return store.capabilities.versions ? 'list' : 'exists';
}

/** A claim token unique to one claim: who (host, pid) plus randomness. */
export function newClaimant(kind: string): string {
  return `${kind}:${hostname().slice(0, 20)}:${process.pid}:${randomBytes(6).toString('hex')}`.slice(0, 64);
}

/** Backoff after `attempts` failed attempts: 30 s, 1 min, 2 min, … capped at 1 h. */
export function retryDelayMs(attempts: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(attempts, 20));
}

function objectsOf(row: ClaimedRecording) {
  return [
    { key: row.original_key, sha256: row.original_sha256, sizeBytes: Number(row.original_size) },
    { key: row.playback_key, sha256: row.playback_sha256, sizeBytes: Number(row.playback_size) },
  ];
}

function errorCode(error: unknown, fallback: string): string {
  const e = error as { name?: string; code?: unknown } | undefined;
  if (e?.name === 'AbortError') return 'aborted';
  if (typeof e?.code === 'string' && /^[a-z_]{3,40}$/.test(e.code)) return e.code;
  return fallback;
}

/**
 * Items one range listing may pass per claimed key before the rest of its folder is verified recording by recording.
 */
const RANGE_LIST_BUDGET_PER_KEY = 2;
const RANGE_LIST_BUDGET_MIN = 1000;
const LIST_PAGE = 1000;
const PLAIN_KEY = /^[\x21-\x7e]+$/;

/** Why a listed trace of a claimed key fails its recording. */
function traceReason(trace: VersionItem): string {
  return trace.latest && !trace.deleteMarker ? 'still_present' : 'versions_remain';
}

/**
 * `list` verification of a batch, by version listings (S3 and MinIO list strongly consistently
 * after a delete, versions and delete markers included). The keys of the recordings are
 * grouped by the folder that holds their recordings' own folders (`recordings/YYYY/MM/DD/`);
 * each group is listed once, in key order, from just before its smallest key (`startAfter`),
 * every truncated page followed by its cursor, until a listed key passes its largest key or
 * the listing ends. Every claimed key the contiguous listing passed without showing is absent
 * (no version, no delete marker); a claimed key it shows fails exactly its recording:
 * `still_present` when its current version is there, `versions_remain` when only older
 * versions or delete markers are (a delete on a bucket that became versioned).
 *
 * A group whose range holds many other objects (a sparse batch) stops after
 * `RANGE_LIST_BUDGET_PER_KEY` listed items per claimed key (at least
 * `RANGE_LIST_BUDGET_MIN`); its keys not yet passed are verified by listing each
 * recording's own folder (every page of it), as are keys outside printable ASCII (where the store's byte
 * order and JavaScript's string order could differ; valid keys never are). A listing
 * that fails fails the recordings it had not yet cleared (`verify_failed`, or the
 * store's error code).
 */
export async function verifyByListing(
  store: ObjectStore,
  rows: readonly ClaimedRecording[],
  options: {
    fail: (id: string, reason: string) => void;
    signal?: AbortSignal;
    /** Tuning (tests): items per listed page, and a fixed range budget instead of the per-key one. */
    pageSize?: number;
    budget?: number;
  },
): Promise<void> {
  const { fail, signal } = options;
  const pageSize = options.pageSize ?? LIST_PAGE;
  const rowOfKey = new Map<string, ClaimedRecording>();
  for (const row of rows) for (const o of objectsOf(row)) rowOfKey.set(o.key, row);
  const groups = new Map<string, string[]>();
  const oneByOne = new Set<ClaimedRecording>();
  for (const key of rowOfKey.keys()) {
    const own = key.lastIndexOf('/');
    const group = own < 0 ? '' : key.slice(0, key.lastIndexOf('/', own - 1) + 1);
    if (!PLAIN_KEY.test(key)) oneByOne.add(rowOfKey.get(key)!);
    else if (groups.has(group)) groups.get(group)!.push(key);
    else groups.set(group, [key]);
  }

  await mapLimit([...groups.entries()], VERIFY_CONCURRENCY, async ([group, unsorted]) => {
    const keys = unsorted.sort();
    const last = keys[keys.length - 1]!;
    const budget = options.budget ?? Math.max(RANGE_LIST_BUDGET_MIN, RANGE_LIST_BUDGET_PER_KEY * keys.length);
    // Every claimed key <= passed has been cleared or failed; `done`: all of them have.
    let passed = '';
    let done = false;
    let seen = 0;
    let failure: string | undefined;
    try {
      let cursor: string | undefined;
      do {
        signal?.throwIfAborted();
        const page = await store.listVersions(group, {
          startAfter: keys[0]!.slice(0, -1),
          limit: pageSize,
          signal,
          ...(cursor ? { cursor } : {}),
        });
        for (const item of page.items) {
          if (item.key > last) {
            done = true;
            break;
          }
          const row = rowOfKey.get(item.key);
          if (row) fail(row.id, traceReason(item));
          passed = item.key;
        }
        seen += page.items.length;
        cursor = page.nextCursor;
        if (!cursor) done = true;
      } while (!done && seen < budget);
    } catch (error) {
      if ((error as { name?: string })?.name === 'AbortError') throw error;
      failure = errorCode(error, 'verify_failed');
    }
    if (done) return;
    for (const key of keys) {
      if (key <= passed) continue;
      if (failure) fail(rowOfKey.get(key)!.id, failure);
      else oneByOne.add(rowOfKey.get(key)!);
    }
  });

  await mapLimit([...oneByOne], VERIFY_CONCURRENCY, async (row) => {
    try {
      signal?.throwIfAborted();
      const own = new Set(objectsOf(row).map((o) => o.key));
      const prefixes = new Set([...own].map((key) => key.slice(0, key.lastIndexOf('/') + 1)));
      for (const prefix of prefixes) {
        let cursor: string | undefined;
        do {
          const page = await store.listVersions(prefix, { limit: 100, signal, ...(cursor ? { cursor } : {}) });
          const trace = page.items.find((item) => own.has(item.key));
          if (trace) fail(row.id, traceReason(trace));
          cursor = page.nextCursor;
        } while (cursor);
      }
    } catch (error) {
      fail(row.id, errorCode(error, 'verify_failed'));
    }
  });
}

/**
 * Deletes, verifies and logs recordings claimed by `claimant`. Never throws for a
 * per-recording failure: failures are reported, counted in metrics and their claims
 * released for a retry at `now + backoff`.
 */
export async function finishDeletions(
  deps: DeletionDeps,
  claims: readonly ClaimedRecording[],
  options: {
    claimant: string;
    now: number;
    signal?: AbortSignal;
    failpoint?: Failpoint;
    /** Default: `verifyModeFor(deps.store)`. */
    verify?: VerifyMode;
    /**
     * Runs inside each transaction that removes rows and appends their deletion-log entries,
     * after the append, with the entries appended: what must be written atomically with the
     * deletion (an erasure's access-log entry and privacy-request timeline event). A throw
     * rolls the chunk back (its deletions are retried like a database failure).
     */
    onLogged?: (trx: Knex.Transaction, rows: readonly DeletionLogRow[]) => Promise<void>;
  },
): Promise<FinishResult> {
  const { claimant, now, signal, failpoint } = options;
  const failed = new Map<string, string>();
  const fail = (id: string, reason: string) => {
    if (!failed.has(id)) failed.set(id, reason);
  };
  const rowOfKey = new Map<string, ClaimedRecording>();
  for (const row of claims) for (const o of objectsOf(row)) rowOfKey.set(o.key, row);

  // 0. Resumed deletions only (rare): were their objects already gone before this attempt?
  const alreadyAbsent: string[] = [];
  const resumed = claims.filter((row) => Number(row.delete_attempts) > 1);
  if (resumed.length) {
    await mapLimit(resumed, VERIFY_CONCURRENCY, async (row) => {
      try {
        const present = await Promise.all(objectsOf(row).map((o) => deps.store.exists(o.key, { signal })));
        if (!present.some(Boolean)) alreadyAbsent.push(row.id);
      } catch {
        // The delete below reports the failure.
      }
    });
  }

  // 1. Delete every object (404 counts as deleted).
  try {
    signal?.throwIfAborted();
    const result = await deps.store.deleteMany([...rowOfKey.keys()], { signal });
    for (const f of result.failed) {
      const row = rowOfKey.get(f.key);
      if (row) fail(row.id, errorCode(f.error, 'delete_failed'));
    }
  } catch (error) {
    for (const row of claims) fail(row.id, errorCode(error, 'delete_failed'));
  }
  await failpoint?.('deleted');

  // 2. Verify that no trace is left of any object.
  try {
    if ((options.verify ?? verifyModeFor(deps.store)) === 'list') {
      await verifyByListing(
        deps.store,
        claims.filter((row) => !failed.has(row.id)),
        { fail, signal },
      );
    } else {
      const toVerify = [...rowOfKey.entries()].filter(([, row]) => !failed.has(row.id));
      await mapLimit(toVerify, VERIFY_CONCURRENCY, async ([key, row]) => {
        if (failed.has(row.id)) return;
        try {
          signal?.throwIfAborted();
          if (await deps.store.exists(key, { signal })) fail(row.id, 'still_present');
        } catch (error) {
          fail(row.id, errorCode(error, 'verify_failed'));
        }
      });
    }
  } catch (error) {
    for (const row of claims) fail(row.id, errorCode(error, 'verify_failed'));
  }
  await failpoint?.('verified');

  // 3. One transaction per chunk: remove the rows still claimed by us, append their entries.
  const verified = claims.filter((row) => !failed.has(row.id));
  const deleted: DeletedRecording[] = [];
  for (let i = 0; i < verified.length; i += COMMIT_CHUNK) {
    const chunk = verified.slice(i, i + COMMIT_CHUNK);
    try {
      const appended = await deps.db.knex.transaction(async (trx: Knex.Transaction) => {
        // Lock first: on SQLite this write takes the database write lock before any read.
        await lockDeletionLog(trx, deps.db.client);
        const kept: ClaimedRecording[] = [];
        if (deps.db.client === 'pg') {
          // One statement for the chunk; RETURNING says which rows were still ours.
          const gone = (await trx('recordings')
            .whereIn(
              'id',
              chunk.map((r) => r.id),
            )
            .andWhere({ claimed_by: claimant, status: 'deleting' })
            .del()
            .returning('id')) as Array<{ id: string }>;
          const ids = new Set(gone.map((r) => r.id));
          for (const row of chunk) {
            if (ids.has(row.id)) kept.push(row);
            else fail(row.id, 'claim_lost');
          }
        } else {
          for (const row of chunk) {
            const n = await trx('recordings').where({ id: row.id, claimed_by: claimant, status: 'deleting' }).del();
            if (n === 1) kept.push(row);
            else fail(row.id, 'claim_lost');
          }
        }
        // Crypto-shredding: the data keys go in the transaction that removes the rows and logs them.
        const shredded = await deleteRecordingKeys(
          trx,
          kept.map((row) => row.id),
        );
        const rows: DeletionLogRow[] = await appendDeletions(
          trx,
          deps.db,
          kept.map((row): NewDeletion => ({
            recordingId: row.id,
            source: row.source,
            callId: row.call_id,
            reason: row.delete_reason ?? 'retention_expired',
            actor: row.delete_actor ?? 'sweeper',
            reference: row.delete_reference ?? null,
            startedAt: Number(row.started_at),
            expiresAt: Number(row.expires_at),
            deletedAt: now,
            objects: objectsOf(row),
            verified: true,
            ...(shredded.has(row.id) ? { shreddedKey: { kekId: shredded.get(row.id)! } } : {}),
          })),
        );
        await options.onLogged?.(trx, rows);
        await failpoint?.('beforeCommit');
        return rows;
      });
      for (const r of appended) {
        deleted.push({
          recordingId: r.recording_id,
          seq: Number(r.seq),
          hash: r.hash,
          reason: r.reason,
          deletedAt: Number(r.deleted_at),
        });
        deps.metrics.sweeperDeletions.inc({ reason: r.reason });
        deps.logger.debug({ recordingId: r.recording_id, seq: Number(r.seq), reason: r.reason }, 'recording deleted');
      }
    } catch (error) {
      deps.logger.error(
        { err: { name: (error as Error)?.name, code: (error as { code?: unknown })?.code } },
        'deletion commit failed',
      );
      for (const row of chunk) fail(row.id, 'db_error');
    }
  }
  if (deleted.length) await failpoint?.('afterCommit');

  // 4. Release failed claims with backoff (claim_lost: someone else owns it now).
  const failures: DeletionFailure[] = [];
  for (const row of claims) {
    const reason = failed.get(row.id);
    if (reason === undefined) continue;
    failures.push({ id: row.id, reason });
    if (reason === 'claim_lost') continue;
    deps.metrics.sweeperFailures.inc({ kind: 'deletion', reason });
    try {
      await releaseClaimForRetry(deps.db.knex, {
        id: row.id,
        claimant,
        nextAttemptAt: reason === 'aborted' ? now : now + retryDelayMs(Math.max(0, Number(row.delete_attempts) - 1)),
        error: reason,
      });
    } catch {
      // The lease expires on its own; the next sweep takes the claim over.
    }
  }
  if (failures.length)
    deps.logger.warn(
      { failed: failures.length, reasons: [...new Set(failures.map((f) => f.reason))] },
      'deletions failed; will retry',
    );
  const done = new Set(deleted.map((d) => d.recordingId));
  return { deleted, alreadyAbsent: alreadyAbsent.filter((id) => done.has(id)), failed: failures };
}
