/**
 * The reconciler (daily, and `callrec reconcile [--dry-run]`): repairs what
 * crashes and the storage lifecycle leave behind.
 *
 * 0. Crash recovery (./abandoned.ts): temp folders and partial objects of dead processes,
 *    and the objects and multipart uploads of uploads whose process died before their row.
 * 1. Orphans: objects under `recordings/` that no row points at and that belong to no
 *    upload in flight (no in-flight marker; markers are read before rows, see
 *    src/db/ingest-inflight.ts) are deleted at once and written to the application log
 *    (key only; keys hold no personal data). They get no deletion-log entry: they
 *    never became a recording, have no source or call id, and the deletion log proves
 *    the deletion of recordings that were stored.
 * 2. Rows whose objects are all gone (the bucket lifecycle got there first) are deleted
 *    through the shared deletion path and logged with reason `lifecycle_expired`, actor
 *    `reconciler`. A row missing only some objects is reported, not touched.
 * 3. Objects missing their `retention` tag are re-tagged (the lifecycle rule needs it).
 * 4. S3 only: multipart uploads under `recordings/` that belong to no upload in flight are
 *    aborted at once (their process died), any other one of ours once older than `staleUploadMs`.
 *
 * Idempotent; a dry run reports what it would do and changes nothing.
 */
import type { Config } from '../config.js';
import { findInflight } from '../db/ingest-inflight.js';
import type { RecordingRow } from '../db/recordings.js';
import { normalizeRow, objectKeysOf } from '../db/recordings.js';
import { recordingTags } from '../storage/tags.js';
import { ObjectNotFoundError } from '../storage/object-store.js';
import { RECORDINGS_PREFIX, recordingIdOfKey } from '../storage/keys.js';
import { isAppError } from '../errors.js';
import { removeAbandonedUploads } from './abandoned.js';
import type { AbandonedResult } from './abandoned.js';
import type { DeletionDeps } from './delete-core.js';
import { deleteRecording } from './delete-recording.js';
import { mapLimit } from '../storage/store-helpers.js';

export interface ReconcileResult {
  dryRun: boolean;
  /** Step 0: what dead processes left (temp folders, abandoned uploads). */
  crashRecovery: Omit<AbandonedResult, 'dryRun' | 'errors'>;
  orphans: { found: number; deleted: number };
  lifecycleExpired: { found: number; deleted: string[] };
  partlyMissing: string[];
  retagged: number;
  uploads: { found: number; aborted: number };
  errors: number;
}

const PAGE = 500;
const CONCURRENCY = 8;

/** The recording ids (of keys built by `recordingKey`) that have an in-flight marker, live or not. */
async function idsInFlight(deps: DeletionDeps, ids: readonly string[]): Promise<Set<string>> {
  return new Set((await findInflight(deps.db.knex, ids)).map((m) => m.recording_id));
}

export async function reconcile(
  deps: DeletionDeps & { config: Pick<Config, 'sweep' | 'retention' | 'store' | 'dataDir'> },
  options: {
    now: number;
    dryRun?: boolean;
    graceMs?: number;
    staleUploadMs?: number;
    signal?: AbortSignal;
    progress?: (line: string) => void;
  },
): Promise<ReconcileResult> {
  const { now, signal } = options;
  const dryRun = Boolean(options.dryRun);
  const graceMs = options.graceMs ?? 3_600_000;
  const recovered = await removeAbandonedUploads(deps, { now, dryRun, signal });
  const result: ReconcileResult = {
    dryRun,
    crashRecovery: { ingestTemp: recovered.ingestTemp, storeTemp: recovered.storeTemp, uploads: recovered.uploads },
    orphans: { found: 0, deleted: 0 },
    lifecycleExpired: { found: 0, deleted: [] },
    partlyMissing: [],
    retagged: 0,
    uploads: { found: 0, aborted: 0 },
    errors: recovered.errors,
  };
  options.progress?.(
    `crash recovery: ${recovered.ingestTemp.removed} ingest temp folder(s), ${recovered.storeTemp.removed} store ` +
      `temp folder(s), ` +
      `${recovered.uploads.found} abandoned upload(s) with ${recovered.uploads.objects} object(s) ` +
      `${dryRun ? 'found' : 'removed'}`,
  );

  // 1. Orphans, page by page through the listing. Markers are read before rows: an upload that
  // commits between the two reads is then seen by one of them.
  let cursor: string | undefined;
  do {
    signal?.throwIfAborted();
    const page = await deps.store.list(RECORDINGS_PREFIX, { cursor, limit: PAGE, signal });
    cursor = page.nextCursor;
    const ids = [
      ...new Set(page.items.map((i) => recordingIdOfKey(i.key)).filter((id): id is string => id !== undefined)),
    ];
    const inFlight = await idsInFlight(deps, ids);
    const rows = ids.length
      ? ((await deps.db.knex('recordings').select('id', 'original_key', 'playback_key').whereIn('id', ids)) as Array<
          Pick<RecordingRow, 'id' | 'original_key' | 'playback_key'>
        >)
      : [];
    const owned = new Set(rows.flatMap((r) => objectKeysOf(r)));
    // An object of an upload in flight is left to it (or, when its process died, to crash recovery).
    const orphans = page.items
      .map((i) => i.key)
      .filter((key) => !owned.has(key) && !inFlight.has(recordingIdOfKey(key) ?? ''));
    result.orphans.found += orphans.length;
    if (orphans.length && !dryRun) {
      const deleted = await deps.store.deleteMany(orphans, { signal });
      result.orphans.deleted += deleted.deleted.length;
      result.errors += deleted.failed.length;
      for (const key of deleted.deleted) deps.logger.info({ key }, 'orphan object deleted');
    }
  } while (cursor);
  options.progress?.(`orphans: ${result.orphans.found} found, ${result.orphans.deleted} deleted`);

  // 2 + 3. Rows: missing objects and missing tags, in id order.
  let afterId = '';
  for (;;) {
    signal?.throwIfAborted();
    const rows = (
      (await deps.db
        .knex('recordings')
        .where('id', '>', afterId)
        .andWhere('status', 'stored')
        .andWhere('created_at', '<=', now - graceMs)
        .orderBy('id', 'asc')
        .limit(PAGE)) as RecordingRow[]
    ).map(normalizeRow);
    if (rows.length === 0) break;
    afterId = rows[rows.length - 1]!.id;
    await mapLimit(rows, CONCURRENCY, async (row) => {
      const keys = objectKeysOf(row);
      let missing = 0;
      for (const key of keys) {
        try {
          const tags = await deps.store.getTags(key, { signal });
          if (tags.retention === undefined) {
            if (!dryRun)
              await deps.store.putTags(
                key,
                { ...recordingTags(deps.config.retention.tag, Number(row.expires_at)), ...tags },
                { signal },
              );
            result.retagged += 1;
          }
        } catch (error) {
          if (error instanceof ObjectNotFoundError) missing += 1;
          else result.errors += 1;
        }
      }
      if (missing === 0) return;
      if (missing < keys.length) {
        result.partlyMissing.push(row.id);
        deps.logger.warn({ recordingId: row.id, missing }, 'recording is missing some of its objects');
        return;
      }
      result.lifecycleExpired.found += 1;
      if (dryRun) return;
      try {
        await deleteRecording({
          deps,
          recordingId: row.id,
          reason: 'lifecycle_expired',
          actor: 'reconciler',
          now,
          signal,
        });
        result.lifecycleExpired.deleted.push(row.id);
        deps.logger.info({ recordingId: row.id }, 'recording removed by the storage lifecycle: row deleted and logged');
      } catch (error) {
        if (!isAppError(error) || error.code !== 'not_found') result.errors += 1;
      }
    });
    if (rows.length < PAGE) break;
  }
  options.progress?.(`rows: ${result.lifecycleExpired.found} lifecycle-expired, ${result.retagged} re-tagged`);

  // 4. Multipart uploads (S3) of no upload in flight: listed first, markers read after (an
  // upload listed was begun after its marker; a marker gone since means it finished or died).
  const abortUploads = deps.store.upkeep?.abortUploads;
  if (abortUploads) {
    const olderThanMs = options.staleUploadMs ?? 86_400_000;
    const aborted = await abortUploads({
      async select(uploads) {
        const inFlight = await idsInFlight(deps, [
          ...new Set(uploads.map((u) => recordingIdOfKey(u.key)).filter((id): id is string => id !== undefined)),
        ]);
        return uploads.filter((u) => {
          const id = recordingIdOfKey(u.key);
          return id !== undefined ? !inFlight.has(id) : now - u.initiated.getTime() >= olderThanMs;
        });
      },
      dryRun,
      signal,
    });
    result.uploads = { found: aborted.found, aborted: aborted.aborted };
    if (aborted.found)
      deps.logger.info(
        { keys: aborted.keys, dryRun },
        dryRun ? 'multipart uploads of no upload in flight found' : 'multipart uploads of no upload in flight aborted',
      );
  }
  return result;
}
