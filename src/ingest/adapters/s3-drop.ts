/**
 * Adapter: S3 drop buckets (Amazon Connect's recordings bucket, Genesys bulk exports, any
 * platform that writes files to a bucket). The sources are rows (`callrec import add-s3`,
 * src/db/import-sources.ts); credentials come from CALLREC_IMPORT_S3_CREDENTIALS by endpoint,
 * else, on the main store's endpoint, the main store's, else the AWS SDK's default chain.
 *
 * Contract:
 * - A listing pass walks the source's prefix page by page from its persisted cursor (the
 *   StartAfter key; saved after every page, so a stopped or killed pass resumes there) to the
 *   end, then starts over at the next pass. Passes run every CALLREC_IMPORT_POLL_INTERVAL, and
 *   at once when `POST /v1/hooks/s3-events/{name}` (the bucket's event notification,
 *   `Authorization: Bearer <the source's secret>`) arrives; a pass asked for while one runs
 *   runs right after it.
 * - Each recording key of the layout (./drop-layouts.ts) gets a row. It is claimed (conditional
 *   update; a claim of a dead process is taken over at once on the same machine, else when its
 *   lease ran out), fetched to a temp file while hashed, its metadata read from the key and/or
 *   sidecar, and ingested by the one pipeline under the source's name as source id (idempotent
 *   on (source, callId, audio)). Then the row says `stored` with the recording id; then, with
 *   `delete_source`, the sidecar and the audio are deleted at the source and proven gone
 *   (HeadObject 404; every version too in a versioned bucket); then the row says `imported`.
 * - A permanent refusal (bad metadata, undecodable audio, retention elapsed, another audio under
 *   the callId) marks the row `failed` with the problem's code and detail; the object stays and
 *   is tried again only once its audio or sidecar changed (another ETag). A transient failure
 *   (the source, the store or the database down) leaves it `queued` with a backoff that doubles
 *   from the poll interval up to 30 minutes; a failed source delete leaves it `stored` likewise.
 * - Exactly once across crashes (kill -9 anywhere): a claim of a dead process is taken over;
 *   a `stored` row goes straight to the source delete; an object stored but not yet marked is
 *   answered by the pipeline as already stored; a `stored` row whose object is gone (killed
 *   after the delete) becomes `imported` once a pass ends and a HeadObject proves it gone.
 * - Logs never name an object key (platforms may name files by caller number): source name,
 *   problem code and attempts only. The webhook secret is stored as its sha256.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import express, { Router } from 'express';
import type { Request, Response } from 'express';
import { endpointKey } from '../../config.js';
import {
  claimImport,
  findImportSource,
  findImports,
  importsInStatus,
  insertQueuedImport,
  listImportSources,
  recordPass,
  setListCursor,
  updateClaimedImport,
} from '../../db/import-sources.js';
import type { ImportSourceRow, S3ImportRow } from '../../db/import-sources.js';
import { AppError, errors, isAppError } from '../../errors.js';
import { problemBody, toAppError } from '../../http/problem.js';
import { currentOwner, formatOwner, isOwnerAlive, parseOwner } from '../../process-owner.js';
import { ObjectNotFoundError, StoreError } from '../../storage/object-store.js';
import { ObjectTooLargeError, openDropBucket } from '../../storage/s3-drop-bucket.js';
import type { DropBucket, DropObject } from '../../storage/s3-drop-bucket.js';
import type { AudioFile } from '../call-metadata.js';
import { dbError } from '../db-failure.js';
import { ingestRecording } from '../ingest.js';
import { parseIngestMetadata } from '../metadata.js';
import type { IngestAdapter, IngestRuntime } from '../service.js';
import { MAX_SIDECAR_BYTES, isRecordingKey, recordingFields, sidecarFields, sidecarKeyOf } from './drop-layouts.js';
import { isPermanentRefusal } from './spool.js';

/** Steps after which a test failpoint may fire (the crash tests kill the process there). */
export type DropStep = 'fetched' | 'stored' | 'sourceDeleted';

export interface DropPass {
  stored: number;
  replayed: number;
  failed: number;
  retrying: number;
  /** Recordings whose sidecar has not arrived yet, or in backoff, or claimed by another process. */
  waiting: number;
  /** Source objects deleted and proven gone. */
  deleted: number;
}

export interface S3DropOptions {
  pollIntervalMs: number;
  /** Objects worked on at once per source (default: twice the transcode concurrency). */
  concurrency?: number;
  /** Keys per listing page (default 1000, S3's maximum). */
  pageSize?: number;
  failpoint?: (step: DropStep) => void | Promise<void>;
}

export interface S3Drop extends IngestAdapter {
  router: Router;
  /** One listing pass over source `name` (to the end of its prefix), then the claims left behind. */
  passSource(name: string, signal?: AbortSignal): Promise<DropPass>;
  /** A pass over every source. */
  pollAll(signal?: AbortSignal): Promise<void>;
  /** Asks for a pass over `name` now (or right after the one running). */
  trigger(name: string): void;
  /** Polls every source every `pollIntervalMs` (unref'd timer) until `stop`. */
  start(): void;
}

const MAX_BACKOFF_MS = 30 * 60_000;
/** How long a claim holds without its process being seen alive (other machines). */
const CLAIM_LEASE_MS = 30 * 60_000;
const WEBHOOK_BODY_LIMIT = '1mb';

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function emptyPass(): DropPass {
  return { stored: 0, replayed: 0, failed: 0, retrying: 0, waiting: 0, deleted: 0 };
}

/** A failure of the source bucket as the problem the import row shows. */
function sourceProblem(error: unknown): AppError {
  if (isAppError(error)) return error;
  if (error instanceof ObjectTooLargeError)
    return errors.invalidMetadata([{ field: 'sidecar', message: 'is too long' }]);
  if (error instanceof StoreError) return errors.sourceUnavailable(error.message, { cause: error });
  return toAppError(error);
}

function isAbort(error: unknown, signal: AbortSignal): boolean {
  return signal.aborted || (error instanceof Error && error.name === 'AbortError');
}

export function createS3Drop(runtime: IngestRuntime, options: S3DropOptions): S3Drop {
  const { deps, limiter, temp, inflight } = runtime;
  const { logger, clock, config, db } = deps;
  const owner = formatOwner(currentOwner(), 'drop');
  const concurrency = options.concurrency ?? config.ingest.transcodeConcurrency * 2;
  const controller = new AbortController();
  /** Object keys (per source) this process works on right now. */
  const working = new Set<string>();
  const buckets = new Map<string, { signature: string; bucket: DropBucket }>();
  /** Per source: the running pass and whether another was asked for meanwhile. */
  const passes = new Map<string, { running: Promise<unknown>; again: boolean }>();
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<unknown> | undefined;
  let stopped = false;

  const credentialsOf = (source: ImportSourceRow) => {
    const key = endpointKey(source.endpoint ?? undefined);
    const own = key ? config.ingest.drop.credentials[key] : undefined;
    if (own) return own;
    const main = config.store;
    if (main.kind === 's3' && endpointKey(main.endpoint) === key && main.accessKeyId && main.secretAccessKey)
      return { accessKeyId: main.accessKeyId, secretAccessKey: main.secretAccessKey };
    return undefined;
  };

  const bucketOf = (source: ImportSourceRow): DropBucket => {
    const credentials = credentialsOf(source);
    const signature = JSON.stringify([
      source.endpoint,
      source.region,
      source.bucket,
      source.force_path_style,
      credentials?.accessKeyId,
      credentials ? sha256Hex(credentials.secretAccessKey) : null,
    ]);
    const cached = buckets.get(source.name);
    if (cached?.signature === signature) return cached.bucket;
    cached?.bucket.close();
    const bucket = openDropBucket({
      endpoint: source.endpoint ?? undefined,
      region: source.region,
      bucket: source.bucket,
      forcePathStyle: source.force_path_style,
      credentials,
    });
    buckets.set(source.name, { signature, bucket });
    return bucket;
  };

  const backoffMs = (attempts: number) =>
    Math.min(Math.max(MAX_BACKOFF_MS, options.pollIntervalMs), options.pollIntervalMs * 2 ** (attempts - 1));

  /** Whether a claimed row belongs to a live process other than this pass's work. */
  const claimIsLive = (row: S3ImportRow, now: number): boolean => {
    if (row.claimed_by === null) return false;
    if (row.claimed_by === owner) return working.has(`${row.source}\n${row.object_key}`);
    const claimant = parseOwner(row.claimed_by);
    if (!claimant) return false;
    return isOwnerAlive(claimant, { leaseExpiresAt: row.claim_expires_at ?? 0, now });
  };

  /** Downloads `key` into a file of `dir` while hashing it. */
  const fetchAudio = async (bucket: DropBucket, key: string, dir: string, signal: AbortSignal) => {
    const file = path.join(dir, 'source-audio');
    const hash = createHash('sha256');
    let sizeBytes = 0;
    const max = config.ingest.maxUploadBytes;
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        sizeBytes += chunk.length;
        if (sizeBytes > max) return callback(errors.tooLarge(`The object is larger than ${max} bytes`));
        hash.update(chunk);
        callback(null, chunk);
      },
    });
    const writing = pipeline(hashing, fs.createWriteStream(file), { signal });
    writing.catch(() => undefined); // awaited below
    try {
      const { etag } = await bucket.download(key, hashing, { signal });
      await writing;
      const audio: AudioFile = { path: file, sha256: hash.digest('hex'), sizeBytes };
      return { audio, etag };
    } catch (error) {
      hashing.destroy();
      await writing.catch(() => undefined);
      throw error;
    }
  };

  const deleteAtSource = async (bucket: DropBucket, source: ImportSourceRow, key: string, signal: AbortSignal) => {
    // The sidecar first: a crash between the two leaves the audio, whose `stored` row goes straight to this delete
    // again.
    const keys = [sidecarKeyOf(key), key];
    try {
      await bucket.deleteAndVerify(keys, { signal });
    } catch (error) {
      if (isAbort(error, signal)) throw error;
      throw errors.sourceNotDeleted(error instanceof Error ? error.message : 'delete failed', { cause: error });
    }
  };

  /** Imports one listed recording (claimed by this call); returns what happened to it. */
  const importObject = async (
    source: ImportSourceRow,
    bucket: DropBucket,
    object: DropObject & { sidecarEtag: string | null },
    row: S3ImportRow,
    signal: AbortSignal,
  ): Promise<keyof DropPass> => {
    const now = clock.now();
    const claimed = await claimImport(db.knex, row, {
      owner,
      leaseExpiresAt: now + CLAIM_LEASE_MS,
      now,
      etag: object.etag,
      sidecarEtag: object.sidecarEtag,
      size: object.size,
    });
    if (!claimed) return 'waiting';
    const workKey = `${source.name}\n${object.key}`;
    working.add(workKey);
    const update = (changes: Partial<S3ImportRow>) =>
      updateClaimedImport(
        db.knex,
        { source: source.name, objectKey: object.key, owner },
        { ...changes, updated_at: clock.now() },
      );
    let recordingId = row.status === 'stored' && row.etag === object.etag ? row.recording_id : null;
    let outcome: keyof DropPass;
    try {
      if (!recordingId) {
        if (object.size > config.ingest.maxUploadBytes)
          throw errors.tooLarge(`The object is larger than ${config.ingest.maxUploadBytes} bytes`);
        const sidecar =
          object.sidecarEtag === null
            ? undefined
            : await bucket.readSmall(sidecarKeyOf(object.key), { maxBytes: MAX_SIDECAR_BYTES, signal });
        let sidecarValues: Record<string, string> | undefined;
        if (sidecar) {
          const parsed = sidecarFields(sidecar.text);
          if (!parsed.ok) throw errors.invalidMetadata(parsed.problems);
          sidecarValues = parsed.fields;
        }
        const fields = recordingFields(source.layout, object.key, sidecarValues);
        if (!fields.ok) throw errors.invalidMetadata(fields.problems);
        const parsed = parseIngestMetadata(fields.fields, { nowMs: clock.now(), region: config.phoneRegion });
        if (!parsed.ok) throw errors.invalidMetadata(parsed.problems);
        const meta = parsed.value;
        // Connect puts the agent on the right channel, unless the sidecar or the source's setting says otherwise.
        if (
          source.layout === 'amazon-connect' &&
          meta.agentChannel === null &&
          !config.ingest.agentChannels[source.name]
        )
          meta.agentChannel = 'right';
        const dir = await temp.requestDir();
        try {
          const { audio } = await fetchAudio(bucket, object.key, dir, signal);
          await options.failpoint?.('fetched');
          let ticket = limiter.admit();
          while (!ticket) {
            await new Promise((resolve) => setTimeout(resolve, 50));
            if (signal.aborted) throw signal.reason;
            ticket = limiter.admit();
          }
          try {
            const result = await ingestRecording(deps, {
              source: source.name,
              meta,
              audio,
              dir,
              ticket,
              inflight,
              signal,
            });
            // An objecting subject's call is not kept (the pipeline logged it): no recording, the source copy still
            // goes.
            recordingId = result.recording?.id ?? null;
            outcome = result.created ? 'stored' : 'replayed';
          } finally {
            ticket.release();
          }
        } finally {
          await fs.promises.rm(dir, { recursive: true, force: true });
        }
        await update({ status: 'stored', recording_id: recordingId, last_error_code: null, last_error: null });
        await options.failpoint?.('stored');
      } else outcome = 'replayed';
      if (source.delete_source) {
        await deleteAtSource(bucket, source, object.key, signal);
        await options.failpoint?.('sourceDeleted');
      }
      await update({
        status: 'imported',
        claimed_by: null,
        claim_expires_at: null,
        next_attempt_at: null,
        last_error_code: null,
        last_error: null,
      });
      return outcome;
    } catch (error) {
      if (isAbort(error, signal)) throw error;
      const problem =
        error instanceof ObjectNotFoundError ? undefined : isAppError(error) ? error : sourceProblem(error);
      if (!problem) {
        // The object went away while it was fetched: nothing to import.
        await update({ status: recordingId ? 'imported' : 'vanished', claimed_by: null, claim_expires_at: null });
        return 'waiting';
      }
      const attempts = row.attempts + 1;
      const detail = JSON.stringify(problemBody(problem));
      if (isPermanentRefusal(problem)) {
        await update({
          status: 'failed',
          attempts,
          last_error_code: problem.code,
          last_error: detail,
          claimed_by: null,
          claim_expires_at: null,
          next_attempt_at: null,
        });
        logger.warn({ source: source.name, code: problem.code }, 's3 drop object refused; it stays in the bucket');
        return 'failed';
      }
      const delayMs = backoffMs(attempts);
      await update({
        status: recordingId ? 'stored' : 'queued',
        recording_id: recordingId,
        attempts,
        last_error_code: problem.code,
        last_error: detail,
        claimed_by: null,
        claim_expires_at: null,
        next_attempt_at: clock.now() + delayMs,
      });
      logger.warn(
        { source: source.name, code: problem.code, attempts, retryInMs: delayMs },
        's3 drop object not imported; will retry',
      );
      return 'retrying';
    } finally {
      working.delete(workKey);
    }
  };

  /** What to do with a listed recording given its row: work on it now, or wait. */
  const isDue = (
    source: ImportSourceRow,
    row: S3ImportRow,
    object: DropObject,
    sidecarEtag: string | null,
    now: number,
  ): boolean => {
    // Listed again after its import: with delete_source a new object under the key (or a delete
    // undone); a source that keeps its objects re-imports only a changed one.
    if (row.status === 'imported') return source.delete_source || row.etag !== object.etag;
    if (row.status === 'vanished') return true;
    if (row.status === 'failed') return row.etag !== object.etag || row.sidecar_etag !== sidecarEtag;
    if (claimIsLive(row, now)) return false;
    return row.next_attempt_at === null || row.next_attempt_at <= now;
  };

  /** Runs `work` over `items` with at most `limit` at once. */
  const eachLimited = async <T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) => {
    let next = 0;
    const worker = async () => {
      while (next < items.length) await work(items[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  };

  const handlePage = async (
    source: ImportSourceRow,
    bucket: DropBucket,
    objects: DropObject[],
    result: DropPass,
    signal: AbortSignal,
  ) => {
    const listed = new Map(objects.map((o) => [o.key, o]));
    const recordings = objects.filter((o) => isRecordingKey(source.layout, o.key));
    const now = clock.now();
    const known = await findImports(
      db.knex,
      source.name,
      recordings.map((o) => o.key),
    );
    const candidates: Array<DropObject & { sidecarEtag: string | null }> = [];
    for (const object of recordings) {
      const row = known.get(object.key);
      if (row?.status === 'stored' && row.etag === object.etag && row.recording_id !== null) {
        // Stored already (the sidecar may be gone: deleted first): only the source delete is left.
        candidates.push({ ...object, sidecarEtag: row.sidecar_etag });
        continue;
      }
      const sidecarKey = sidecarKeyOf(object.key);
      let sidecarEtag = listed.get(sidecarKey)?.etag ?? null;
      // On the next page, or not there yet.
      if (sidecarEtag === null && !listed.has(sidecarKey) && objects.at(-1)?.key === object.key) {
        sidecarEtag = (await bucket.etagOf(sidecarKey, { signal })) ?? null;
      }
      if (source.layout === 'sidecar-json' && sidecarEtag === null) {
        result.waiting += 1;
        continue;
      }
      if (
        source.layout === 'amazon-connect' &&
        sidecarEtag === null &&
        source.sidecar_wait_ms > 0 &&
        object.lastModified + source.sidecar_wait_ms > now
      ) {
        result.waiting += 1;
        continue;
      }
      candidates.push({ ...object, sidecarEtag });
    }
    for (const c of candidates) {
      if (known.has(c.key)) continue;
      await insertQueuedImport(db.knex, {
        source: source.name,
        object_key: c.key,
        etag: c.etag,
        sidecar_etag: c.sidecarEtag,
        size: c.size,
        now,
      });
    }
    const rows = await findImports(
      db.knex,
      source.name,
      candidates.map((c) => c.key),
    );
    const due = candidates.filter((c) => {
      const row = rows.get(c.key);
      if (!row) return false;
      if (isDue(source, row, c, c.sidecarEtag, now)) return true;
      if (row.status !== 'failed' && row.status !== 'imported') result.waiting += 1;
      return false;
    });
    await eachLimited(due, concurrency, async (object) => {
      if (signal.aborted || stopped) return;
      let row = rows.get(object.key)!;
      if (row.status === 'imported' || row.status === 'vanished' || row.status === 'failed') {
        // A new (or changed) object: its earlier import says nothing about it.
        row = { ...row, recording_id: null };
      }
      result[await importObject(source, bucket, object, row, signal)] += 1;
    });
  };

  /** After a full pass: rows claimed by dead processes whose object is no longer listed. */
  const settleLeftovers = async (source: ImportSourceRow, bucket: DropBucket, signal: AbortSignal) => {
    const now = clock.now();
    for (const row of await importsInStatus(db.knex, source.name, ['importing', 'stored'])) {
      if (claimIsLive(row, now)) continue;
      if (await bucket.exists(row.object_key, { signal })) continue; // the next pass takes it
      if (row.status === 'stored' && source.delete_source) {
        // Killed after (or during) the source delete: finish it (the sidecar may remain) and prove it.
        const claimed = await claimImport(db.knex, row, {
          owner,
          leaseExpiresAt: now + CLAIM_LEASE_MS,
          now,
          etag: row.etag,
          sidecarEtag: row.sidecar_etag,
          size: row.size,
        });
        if (!claimed) continue;
        try {
          await deleteAtSource(bucket, source, row.object_key, signal);
          await updateClaimedImport(
            db.knex,
            { source: source.name, objectKey: row.object_key, owner },
            { status: 'imported', claimed_by: null, claim_expires_at: null, updated_at: clock.now() },
          );
        } catch (error) {
          if (isAbort(error, signal)) throw error;
          await updateClaimedImport(
            db.knex,
            { source: source.name, objectKey: row.object_key, owner },
            { claimed_by: null, claim_expires_at: null, updated_at: clock.now() },
          );
        }
        continue;
      }
      const claimed = await claimImport(db.knex, row, {
        owner,
        leaseExpiresAt: now,
        now,
        etag: row.etag,
        sidecarEtag: row.sidecar_etag,
        size: row.size,
      });
      if (!claimed) continue;
      await updateClaimedImport(
        db.knex,
        { source: source.name, objectKey: row.object_key, owner },
        {
          status: row.status === 'stored' ? 'imported' : 'vanished',
          claimed_by: null,
          claim_expires_at: null,
          updated_at: clock.now(),
        },
      );
    }
  };

  const passSource = async (name: string, outer?: AbortSignal): Promise<DropPass> => {
    const signal = outer ? AbortSignal.any([outer, controller.signal]) : controller.signal;
    const result = emptyPass();
    const source = await findImportSource(db.knex, name).catch((error: unknown) => {
      throw dbError(error);
    });
    if (!source) throw errors.notFound('Import source');
    const bucket = bucketOf(source);
    let cursor = source.list_cursor ?? undefined;
    try {
      for (;;) {
        if (signal.aborted || stopped) return result;
        const page = await bucket.listPage({
          prefix: source.prefix,
          startAfter: cursor,
          limit: options.pageSize,
          signal,
        });
        await handlePage(source, bucket, page.objects, result, signal);
        if (signal.aborted || stopped) return result;
        cursor = page.truncated ? page.objects.at(-1)?.key : undefined;
        await setListCursor(db.knex, { name, cursor: cursor ?? null, now: clock.now() });
        if (!cursor) break;
      }
      await settleLeftovers(source, bucket, signal);
      await recordPass(db.knex, { name, error: null, now: clock.now() });
      return result;
    } catch (error) {
      if (isAbort(error, signal)) throw error;
      const problem = sourceProblem(error);
      await recordPass(db.knex, { name, error: problem.code, now: clock.now() }).catch(() => undefined);
      throw problem;
    }
  };

  /** Runs a pass over `name` unless one runs; then marks another to follow it. */
  const runPass = (name: string): Promise<unknown> => {
    const current = passes.get(name);
    if (current) {
      current.again = true;
      return current.running;
    }
    const entry = { running: Promise.resolve() as Promise<unknown>, again: false };
    const loop = async () => {
      do {
        entry.again = false;
        try {
          const result = await passSource(name);
          logger.debug({ source: name, ...result }, 's3 drop pass finished');
        } catch (error) {
          if (controller.signal.aborted) return;
          const problem = isAppError(error) ? error : toAppError(error);
          logger.error({ source: name, code: problem.code }, 's3 drop pass failed');
          return;
        }
      } while (entry.again && !stopped);
    };
    entry.running = loop().finally(() => passes.delete(name));
    passes.set(name, entry);
    return entry.running;
  };

  const pollAll = async (signal?: AbortSignal) => {
    const sources = await listImportSources(db.knex);
    if (signal?.aborted) return;
    await Promise.all(sources.map((s) => runPass(s.name)));
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      polling = pollAll()
        .catch((error: unknown) => {
          if (!controller.signal.aborted)
            logger.error({ code: (error as { code?: string }).code ?? (error as Error).name }, 's3 drop poll failed');
        })
        .finally(schedule);
    }, options.pollIntervalMs);
    timer.unref();
  };

  const router = Router();
  router.post(
    '/v1/hooks/s3-events/:name',
    async (req: Request, res: Response, next) => {
      try {
        const name = String(req.params.name);
        const header = req.get('authorization') ?? '';
        const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1] ?? '';
        const source = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)
          ? await findImportSource(db.knex, name).catch((error: unknown) => {
              throw dbError(error);
            })
          : undefined;
        const presented = Buffer.from(sha256Hex(token), 'hex');
        const expected = Buffer.from(source?.secret_sha256 ?? sha256Hex(`no source ${token}`), 'hex');
        if (!source || token === '' || !timingSafeEqual(presented, expected)) {
          logger.warn(
            { security: true, source: source ? name : undefined, reason: source ? 'invalid_secret' : 'unknown_source' },
            's3 event webhook refused',
          );
          throw errors.unauthenticated();
        }
        next();
      } catch (error) {
        next(error);
      }
    },
    express.raw({ type: () => true, limit: WEBHOOK_BODY_LIMIT }),
    (req: Request, res: Response) => {
      if (!stopped) void runPass(String(req.params.name));
      res.status(204).end();
    },
  );

  return {
    router,
    passSource,
    pollAll,
    trigger(name) {
      if (!stopped) void runPass(name);
    },
    start() {
      schedule();
      // A first pass soon after the start: what arrived while no instance ran.
      setTimeout(() => {
        if (!stopped) void pollAll().catch(() => undefined);
      }, 1_000).unref();
    },
    async stop({ drainMs }) {
      stopped = true;
      clearTimeout(timer);
      const running = () => Promise.all([polling, ...[...passes.values()].map((p) => p.running)]);
      let deadline: NodeJS.Timeout | undefined;
      await Promise.race([running(), new Promise<void>((resolve) => (deadline = setTimeout(resolve, drainMs)))]);
      clearTimeout(deadline);
      controller.abort();
      await running().catch(() => undefined);
      for (const { bucket } of buckets.values()) bucket.close();
      buckets.clear();
    },
  };
}
