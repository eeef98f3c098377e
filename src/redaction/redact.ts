/**
 * Manual redaction (issue #18, item 3): a privacy officer or admin silences a span of a stored
 * recording after the fact. One recording at a time (its in-flight marker serializes them):
 *
 * 1. marked: an in-flight marker (src/db/ingest-inflight.ts) for the folder of the new objects
 *    (`<recording folder>/r<ULID>/`), committed before any put; the row is read again under it
 *    (still stored, not held, same objects);
 * 2. written: the stored original is read (its SHA-256 checked as it streams) into a temp folder
 *    of this process, the span silenced on every channel (src/audio/silence.ts, as ingest silences
 *    pauses), the rendition and its peaks encoded again from the silenced copy, and both put under
 *    FRESH keys through the service's store (encrypted with the recording's data key, like
 *    ingest's puts); the original's digest is checked by the store;
 * 3. switched: ONE transaction takes the marker (fails when crash recovery took it over), points
 *    the row at the new objects with their digests, sizes and peaks and the span added to
 *    `redactions` (only if the row is still as read), writes the `redact` access-log entry and a
 *    second marker that lists the old objects and carries their deletion-log entry;
 * 4. deleted / logged (./finish.ts): the old objects are deleted, their absence verified, and the
 *    deletion-log entry (reason `redaction`, the span, the old digests) appended in the
 *    transaction that removes the second marker.
 *
 * Anything failing before the switch deletes the new objects, then the marker (which stays for
 * crash recovery when that delete fails). A kill at any point leaves a marker whose owner is
 * dead: crash recovery deletes the new objects (first marker: its prefix), or finishes step 4
 * (second marker). So the row always points at objects that exist (the old ones before the
 * switch, the new ones after), nothing is left over, and the log has one entry per redaction
 * that took effect.
 *
 * Playback during the swap: a request reads the row once and streams from the key it named;
 * old and new bytes never share a key, so no response mixes them. A response still streaming
 * the old rendition when step 4 deletes it completes from the old object (fs: an open file
 * outlives its unlink; MinIO in the tests too) or, where a store cuts the read off, ends short of
 * its Content-Length: never continued from the new object. No grace period is needed for that.
 * A later range request sees the new ETag (If-Range then answers the whole new object).
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ulid } from 'ulid';
import { AudioDecodeError, AudioTimeoutError, identifyAudio, transcodeForPlayback } from '../audio/index.js';
import { silenceSpans } from '../audio/silence.js';
import { appendAccess } from '../db/access-log.js';
import { deleteInflight, insertInflight, renewInflight, takeInflight } from '../db/ingest-inflight.js';
import { readRecordingKey } from '../db/recording-keys.js';
import { findRecordingById, isUniqueViolation, redactionsOfRow, switchToRedactedObjects } from '../db/recordings.js';
import type { RecordingRedaction, RecordingRow } from '../db/recordings.js';
import type { AppDeps } from '../deps.js';
import type { Principal } from '../domain/roles.js';
import { AppError, errors } from '../errors.js';
import { originalTypeOf } from '../ingest/index.js';
import type { IngestTemp } from '../ingest/index.js';
import { OWNER_HEARTBEAT_MS, OWNER_LEASE_MS, currentOwner, formatOwner } from '../process-owner.js';
import { recordingPrefix, redactedKey } from '../storage/keys.js';
import { finishRedaction } from './finish.js';
import type { FinishStep, PendingRedaction } from './finish.js';

/** The steps after which a test failpoint may fire (the crash test kills the process there). */
export const REDACTION_STEPS = ['marked', 'written', 'switched', 'deleted', 'logged'] as const;
export type RedactionStep = (typeof REDACTION_STEPS)[number];

export type RedactDeps = Pick<AppDeps, 'config' | 'db' | 'store' | 'logger' | 'clock'>;

export interface RedactOptions {
  recordingId: string;
  span: { startMs: number; endMs: number };
  /** Why (free text without phone numbers: the access log keeps it, the deletion log does not). */
  reason: string;
  principal: Pick<Principal, 'userId' | 'username' | 'role'>;
  requestId?: string;
  /** Per-request temp folders of this process (removed by crash recovery when it dies). */
  temp: IngestTemp;
  signal: AbortSignal;
  /** Test-only hook called after each step. */
  failpoint?: (step: RedactionStep) => void | Promise<void>;
}

/** Refusals of the row as it is (404, 409) and of a span it cannot have (400). */
function checkRow(row: RecordingRow | undefined, span: { startMs: number; endMs: number }): RecordingRow {
  if (!row) throw errors.notFound('Recording');
  if (row.status !== 'stored') throw errors.conflict('The recording is being deleted');
  if (row.legal_hold) throw errors.onLegalHold({ detail: 'Release the hold to redact the recording' });
  if (span.endMs > Number(row.duration_ms))
    throw errors.invalidRequest('Invalid request body', {
      extra: { fields: [{ field: 'endMs', message: `lies after the end of the call (${row.duration_ms} ms)` }] },
    });
  return row;
}

/** sha256 (hex) and size of a file. */
async function digestOfFile(file: string, signal: AbortSignal): Promise<{ sha256: string; sizeBytes: number }> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  await pipeline(
    fs.createReadStream(file),
    new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        sizeBytes += chunk.length;
        callback();
      },
    }),
    { signal },
  );
  return { sha256: hash.digest('hex'), sizeBytes };
}

/** The span added to a recording's list (sorted like ingest sorts them). Pure. */
export function withManualSpan(
  existing: readonly RecordingRedaction[],
  span: { startMs: number; endMs: number },
): RecordingRedaction[] {
  return [...existing, { startMs: span.startMs, endMs: span.endMs, kind: 'manual' as const }].sort(
    (a, b) => a.startMs - b.startMs || a.endMs - b.endMs,
  );
}

function audioError(error: unknown, signal: AbortSignal): unknown {
  if (signal.aborted || error instanceof AppError) return error;
  if (error instanceof AudioTimeoutError)
    return errors.unsupportedAudio('The audio could not be redacted within the time limit', { cause: error });
  if (error instanceof AudioDecodeError)
    return errors.unsupportedAudio('The stored audio could not be decoded', { cause: error });
  return error;
}

function storeError(error: unknown, signal: AbortSignal): unknown {
  if (signal.aborted || error instanceof AppError) return error;
  return errors.storeUnavailable({ cause: error });
}

/**
 * Redacts a span of a recording (see the module comment) and answers the row as it is now.
 * Throws 404 not_found, 409 conflict (being deleted, another redaction in progress, changed
 * meanwhile, stored in plaintext while encryption is on), 409 legal_hold, 400 invalid_request (the
 * span lies past the call's end), 415 unsupported_audio, 503 for the store or the database.
 */
export async function redactRecording(deps: RedactDeps, options: RedactOptions): Promise<RecordingRow> {
  const { db, store, config, clock } = deps;
  const { recordingId: id, span, signal } = options;
  const failpoint = options.failpoint ?? (() => undefined);
  const before = checkRow(await findRecordingById(db.knex, id), span);
  // A recording stored before encryption was turned on has no data key: a put now would create
  // one and make its plaintext objects unreadable until the switch. `callrec encrypt-existing` first.
  if (store.encrypting && config.encryption.enabled && !(await readRecordingKey(db.knex, id)))
    throw errors.conflict('The recording is stored in plaintext: run `callrec encrypt-existing` first');

  const owner = formatOwner(currentOwner(), `redact-${randomBytes(4).toString('hex')}`);
  const redaction = ulid(clock.now());
  const startedAt = new Date(Number(before.started_at));
  const newPrefix = `${recordingPrefix(id, startedAt)}r${redaction}/`;
  const now = clock.now();
  try {
    await insertInflight(db.knex, {
      recording_id: id,
      object_prefix: newPrefix,
      owner,
      created_at: now,
      lease_expires_at: now + OWNER_LEASE_MS,
    });
  } catch (error) {
    if (isUniqueViolation(error))
      throw errors.conflict('Another redaction (or encryption) of this recording is in progress');
    throw errors.dbUnavailable({ cause: error });
  }
  const heartbeat = setInterval(() => {
    renewInflight(db.knex, { recordingIds: [id], owner, leaseExpiresAt: clock.now() + OWNER_LEASE_MS }).catch(
      (error: unknown) => deps.logger.warn({ err: error, recordingId: id }, 'could not renew a redaction marker'),
    );
  }, OWNER_HEARTBEAT_MS);
  heartbeat.unref();

  const written: string[] = [];
  let switched = false;
  let dir: string | undefined;
  try {
    dir = await options.temp.requestDir();
    // Read again under the marker: a deletion, hold or redaction that came first wins.
    const row = checkRow(await findRecordingById(db.knex, id), span);
    if (row.original_key !== before.original_key || row.playback_key !== before.playback_key)
      throw errors.conflict('The recording changed meanwhile; try again');
    await failpoint('marked');

    // The stored original, checked against its digest as it arrives.
    const source = path.join(dir, 'source');
    const hash = createHash('sha256');
    try {
      const got = await store.get(row.original_key, { signal });
      await pipeline(
        got.body,
        new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            hash.update(chunk);
            callback(null, chunk);
          },
        }),
        fs.createWriteStream(source),
        { signal },
      );
    } catch (error) {
      throw storeError(error, signal);
    }
    if (hash.digest('hex') !== row.original_sha256.toLowerCase()) throw errors.integrity();

    const limits = { timeoutMs: config.ingest.ffmpegTimeoutMs, signal };
    const silenced = path.join(dir, 'silenced');
    const playbackFile = path.join(dir, 'playback');
    let probe;
    let rendition;
    try {
      const sourceProbe = await identifyAudio(source, limits);
      await silenceSpans(source, silenced, { ...limits, spans: [span], source: sourceProbe });
      probe = await identifyAudio(silenced, limits);
      rendition = await transcodeForPlayback(silenced, playbackFile, {
        ...limits,
        format: config.ingest.playbackFormat,
        source: probe,
        peaks: true,
      });
    } catch (error) {
      throw audioError(error, signal);
    }
    // The unredacted copy is not needed any more.
    await fs.promises.rm(source, { force: true });
    const original = originalTypeOf(probe);
    const originalDigest = await digestOfFile(silenced, signal);
    const playbackDigest = await digestOfFile(playbackFile, signal);
    const originalKey = redactedKey({ id, startedAt, redaction, name: 'original', ext: original.ext });
    const playbackKey = redactedKey({ id, startedAt, redaction, name: 'playback', ext: rendition.ext });
    try {
      const tags = await store.getTags(row.original_key, { signal });
      for (const [key, file, contentType, digest] of [
        [originalKey, silenced, original.contentType, originalDigest],
        [playbackKey, playbackFile, rendition.contentType, playbackDigest],
      ] as const) {
        written.push(key);
        await store.put(key, fs.createReadStream(file), {
          contentType,
          contentLength: digest.sizeBytes,
          sha256: digest.sha256,
          tags,
          signal,
        });
      }
    } catch (error) {
      throw storeError(error, signal);
    }
    await failpoint('written');

    const pending: PendingRedaction = {
      recordingId: id,
      source: row.source,
      callId: row.call_id,
      actor: options.principal.username,
      startedAt: Number(row.started_at),
      expiresAt: Number(row.expires_at),
      span,
      objects: [
        { key: row.original_key, sha256: row.original_sha256, sizeBytes: Number(row.original_size) },
        { key: row.playback_key, sha256: row.playback_sha256, sizeBytes: Number(row.playback_size) },
      ],
    };
    const at = clock.now();
    await db.knex.transaction(async (trx) => {
      if (!(await takeInflight(trx, { recordingId: id, owner })))
        throw errors.dbUnavailable({ cause: new Error('the redaction was taken over by crash recovery') });
      const done = await switchToRedactedObjects(trx, {
        id,
        from: { originalKey: row.original_key, playbackKey: row.playback_key },
        to: {
          original_key: originalKey,
          original_sha256: originalDigest.sha256,
          original_size: originalDigest.sizeBytes,
          original_codec: probe.codec,
          original_content_type: original.contentType,
          playback_key: playbackKey,
          playback_format: rendition.format,
          playback_content_type: rendition.contentType,
          playback_size: playbackDigest.sizeBytes,
          playback_sha256: playbackDigest.sha256,
          waveform: JSON.stringify(rendition.waveform),
          redactions: JSON.stringify(withManualSpan(redactionsOfRow(row), span)),
        },
      });
      if (!done) throw errors.conflict('The recording changed meanwhile (deleted, held or redacted); try again');
      await insertInflight(trx, {
        recording_id: id,
        object_prefix: recordingPrefix(id, startedAt),
        object_keys: JSON.stringify(pending.objects.map((o) => o.key)),
        redaction: JSON.stringify(pending),
        owner,
        created_at: at,
        lease_expires_at: at + OWNER_LEASE_MS,
      });
      await appendAccess(trx, {
        principal: options.principal,
        recordingId: id,
        action: 'redact',
        at,
        requestId: options.requestId,
        detail: `${span.startMs}-${span.endMs} ms: ${options.reason}`,
      });
    });
    switched = true;
    written.length = 0;
    await failpoint('switched');

    try {
      // Not tied to the client any more: the redaction took effect, its old objects go now.
      await finishRedaction(deps, {
        pending,
        owner,
        now: clock.now(),
        failpoint: (step: FinishStep) => failpoint(step),
      });
    } catch (error) {
      // The marker stays and crash recovery finishes the redaction once its lease runs out.
      deps.logger.error(
        { err: error, recordingId: id },
        'redaction: the old objects could not be deleted yet; crash recovery will finish it',
      );
    }
    const after = await findRecordingById(db.knex, id);
    if (!after) throw errors.notFound('Recording');
    return after;
  } catch (error) {
    if (!switched) {
      try {
        if (written.length) {
          const result = await store.deleteMany(written);
          if (result.failed.length) throw result.failed[0]!.error;
        }
        await deleteInflight(db.knex, { recordingId: id, owner });
      } catch (cleanupError) {
        // The marker stays: crash recovery deletes the new objects once its lease runs out.
        deps.logger.error({ err: cleanupError, recordingId: id }, 'redaction cleanup could not delete its objects');
      }
    }
    throw error;
  } finally {
    clearInterval(heartbeat);
    if (dir) await fs.promises.rm(dir, { recursive: true, force: true });
  }
}
