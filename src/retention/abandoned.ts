/**
 * Crash recovery of uploads: removes what uploads of dead processes left behind, and only that.
 * Runs before the service listens, every OWNER_LEASE_MS in the background, and as the first step
 * of reconcile.
 *
 * 1. Ingest temp folders (`<dataDir>/tmp/<process>/`) whose owner is dead (src/ingest/temp.ts).
 * 2. fs store: temp files of puts (`objects/.tmp/<process>/`) whose owner is dead.
 * 3. In-flight markers whose owner is dead (same machine: the process is gone; any machine: the
 *    lease ran out): the marker is taken over (only if still exactly as read, so an owner that
 *    renewed or committed meanwhile keeps its upload, and once taken the old owner can no longer
 *    commit), then every object under its prefix is deleted and, on S3, its incomplete multipart
 *    uploads aborted (a marker that lists its objects, written by `callrec encrypt-existing`:
 *    exactly those objects); then the marker goes. A recovery that fails half-way leaves the marker,
 *    now its own, to be retried once that lease runs out. A marker of a manual redaction that took
 *    effect (it carries the pending deletion-log entry, src/redaction/finish.ts) is finished
 *    instead: its old objects deleted and verified absent, then its `redaction` entry appended in
 *    the transaction that removes the marker (counted among the uploads and their objects).
 *
 * Logged without personal data: folder names, object keys and counts. A dry run reports what
 * it would remove and changes nothing.
 */
import type { Config } from '../config.js';
import type { Db } from '../db/db.js';
import { deleteOrphanKeys } from '../db/recording-keys.js';
import { deleteInflight, listInflight, markerObjectKeys, takeOverInflight } from '../db/ingest-inflight.js';
import type { InflightRow } from '../db/ingest-inflight.js';
import { removeStaleIngestTemp } from '../ingest/index.js';
import type { Logger } from '../logger.js';
import type { StaleRemoval } from '../owned-dirs.js';
import { OWNER_LEASE_MS, currentOwner, formatOwner, isOwnerAlive, parseOwner } from '../process-owner.js';
import type { ObjectStore } from '../storage/object-store.js';
import { finishRedaction, parsePendingRedaction } from '../redaction/index.js';

export interface AbandonedResult {
  dryRun: boolean;
  /** Ingest temp folders of dead processes (and bytes they held). */
  ingestTemp: { removed: number; bytes: number };
  /** fs store temp folders of dead processes' puts (and bytes they held). */
  storeTemp: { removed: number; bytes: number };
  /** Uploads whose process died before their row was written, and the objects and multipart uploads they left. */
  uploads: { found: number; objects: number; multipartAborted: number };
  errors: number;
}

export interface AbandonedDeps {
  db: Db;
  store: ObjectStore;
  logger: Logger;
  config: Pick<Config, 'dataDir' | 'store'>;
}

const PAGE = 200;

/** Whether a marker's upload may still be running (its owner lives and its lease holds). */
export function isInflightLive(row: Pick<InflightRow, 'owner' | 'lease_expires_at'>, now: number): boolean {
  const owner = parseOwner(row.owner);
  if (!owner) return now < row.lease_expires_at;
  return isOwnerAlive(owner, { leaseExpiresAt: row.lease_expires_at, now });
}

function summarize(removal: StaleRemoval): { removed: number; bytes: number } {
  return { removed: removal.removed.length, bytes: removal.removed.reduce((sum, r) => sum + r.bytes, 0) };
}

async function keysUnder(store: ObjectStore, prefix: string, signal?: AbortSignal): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list(prefix, { cursor, signal });
    keys.push(...page.items.map((i) => i.key));
    cursor = page.nextCursor;
  } while (cursor);
  return keys;
}

export async function removeAbandonedUploads(
  deps: AbandonedDeps,
  options: { now: number; dryRun?: boolean; signal?: AbortSignal },
): Promise<AbandonedResult> {
  const { now, signal } = options;
  const dryRun = Boolean(options.dryRun);
  const result: AbandonedResult = {
    dryRun,
    ingestTemp: { removed: 0, bytes: 0 },
    storeTemp: { removed: 0, bytes: 0 },
    uploads: { found: 0, objects: 0, multipartAborted: 0 },
    errors: 0,
  };
  const verb = dryRun ? 'would remove' : 'removed';

  // 1 + 2. Temp folders of dead processes.
  const removeStoreTemp = deps.store.upkeep?.removeStaleTemp;
  const tempSteps: Array<{ name: 'ingestTemp' | 'storeTemp'; run: () => Promise<StaleRemoval> }> = [
    { name: 'ingestTemp', run: () => removeStaleIngestTemp({ dataDir: deps.config.dataDir, now, dryRun }) },
  ];
  if (removeStoreTemp) tempSteps.push({ name: 'storeTemp', run: () => removeStoreTemp({ now, dryRun }) });
  for (const step of tempSteps) {
    signal?.throwIfAborted();
    try {
      const removal = await step.run();
      result[step.name] = summarize(removal);
      if (removal.removed.length) {
        deps.logger.info(
          { folders: removal.removed.map((r) => r.name), bytes: result[step.name].bytes, dryRun },
          `crash recovery: ${verb} temp folders of dead processes (${step.name})`,
        );
      }
    } catch (error) {
      result.errors += 1;
      deps.logger.error({ err: error }, `crash recovery: could not clear ${step.name}`);
    }
  }

  // 3. Uploads of dead processes.
  const self = formatOwner(currentOwner(), 'recovery');
  const taken: string[] = [];
  const prefixes: string[] = [];
  let afterId = '';
  for (;;) {
    signal?.throwIfAborted();
    const markers = await listInflight(deps.db.knex, { afterId, limit: PAGE });
    if (markers.length === 0) break;
    afterId = markers[markers.length - 1]!.recording_id;
    for (const marker of markers) {
      if (isInflightLive(marker, now)) continue;
      result.uploads.found += 1;
      try {
        if (
          !dryRun &&
          !(await takeOverInflight(deps.db.knex, marker, { owner: self, leaseExpiresAt: now + OWNER_LEASE_MS }))
        ) {
          result.uploads.found -= 1; // renewed or committed meanwhile: alive after all
          continue;
        }
        if (marker.redaction) {
          // A redaction that took effect: finish it (its entry is written with the marker's removal).
          const pending = parsePendingRedaction(marker.redaction);
          if (!dryRun) await finishRedaction(deps, { pending, owner: self, now, signal });
          result.uploads.objects += pending.objects.length;
          deps.logger.info(
            { recordingId: marker.recording_id, keys: pending.objects.map((o) => o.key), dryRun },
            `crash recovery: ${dryRun ? 'would finish' : 'finished'} a redaction whose process died`,
          );
          continue;
        }
        taken.push(marker.recording_id);
        // A marker that lists its objects (callrec encrypt-existing) owns those keys only.
        const listed = markerObjectKeys(marker);
        if (!listed) prefixes.push(marker.object_prefix);
        const keys = listed ?? (await keysUnder(deps.store, marker.object_prefix, signal));
        if (!dryRun && keys.length) {
          const deleted = await deps.store.deleteMany(keys, { signal });
          result.errors += deleted.failed.length;
          for (const failure of deleted.failed)
            deps.logger.error(
              { err: failure.error, key: failure.key },
              'crash recovery: could not delete an object of an abandoned upload',
            );
          if (deleted.failed.length) taken.pop(); // the marker stays: retried once its lease runs out
        }
        result.uploads.objects += keys.length;
        deps.logger.info(
          { recordingId: marker.recording_id, keys, dryRun },
          `crash recovery: ${verb} an upload whose process died before it was stored`,
        );
      } catch (error) {
        if (signal?.aborted) throw error;
        result.errors += 1;
        deps.logger.error(
          { err: error, recordingId: marker.recording_id },
          'crash recovery: could not remove an abandoned upload',
        );
      }
    }
    if (markers.length < PAGE) break;
  }
  const abortUploads = deps.store.upkeep?.abortUploads;
  if (prefixes.length && abortUploads) {
    try {
      const aborted = await abortUploads({
        select: (uploads) => uploads.filter((u) => prefixes.some((p) => u.key.startsWith(p))),
        dryRun,
        signal,
      });
      result.uploads.multipartAborted = dryRun ? aborted.found : aborted.aborted;
      if (aborted.found)
        deps.logger.info(
          { keys: aborted.keys, dryRun },
          `crash recovery: ${verb} multipart uploads of abandoned uploads`,
        );
    } catch (error) {
      if (signal?.aborted) throw error;
      result.errors += 1;
      taken.length = 0; // the markers stay: retried once their leases run out
      deps.logger.error({ err: error }, 'crash recovery: could not abort the multipart uploads of abandoned uploads');
    }
  }
  for (const recordingId of dryRun ? [] : taken) {
    await deleteInflight(deps.db.knex, { recordingId, owner: self }).catch((error: unknown) => {
      result.errors += 1; // the marker stays, now ours: retried once its lease runs out
      deps.logger.error(
        { err: error, recordingId },
        'crash recovery: could not remove the marker of an abandoned upload',
      );
    });
  }

  // 4. Data keys of uploads that never became a recording (a failed or abandoned upload, its
  // marker gone): nothing of theirs is left to decrypt. Never a key of a row or a live marker.
  if (!dryRun) {
    try {
      const removed = await deleteOrphanKeys(deps.db.knex, { createdBefore: now });
      if (removed)
        deps.logger.info(
          { keys: removed },
          'crash recovery: removed data keys of uploads that never became a recording',
        );
    } catch (error) {
      result.errors += 1;
      deps.logger.error({ err: error }, 'crash recovery: could not remove the data keys of failed uploads');
    }
  }
  return result;
}
