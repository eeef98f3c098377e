/**
 * Adapter, second half: the Twilio import worker. It runs in-process as a background job
 * (src/background.ts); any number of instances share the job table (src/db/twilio-jobs.ts).
 *
 * One job (one RecordingSid), claimed for this worker alone (SKIP LOCKED on PostgreSQL, a
 * conditional UPDATE on SQLite; the claim is renewed while the job runs):
 * 1. `pending`: when a recording of source `twilio` with callId = RecordingSid is already stored
 *    (a run that crashed after storing it), straight to 2. Otherwise the media (`.wav`,
 *    `RequestedChannels=2` for two channels) and the Call resource are fetched (./twilio-api.ts:
 *    basic auth, only from CALLREC_TWILIO_API_BASE's origin), and the recording is stored by the
 *    one ingest pipeline: source `twilio`, callId = RecordingSid, callGroupId = CallSid,
 *    startedAt = RecordingStartTime, endedAt = start + RecordingDuration, numbers and direction
 *    from the Call resource. Then the job is `stored`.
 *    A recording already past retention when its job runs is not stored at all (it must not be
 *    kept anywhere): the job goes to 2 without a recording and ends with code `retention_elapsed`.
 * 2. `stored`: the recording is deleted at Twilio (404 counts as deleted) unless
 *    CALLREC_TWILIO_DELETE_AFTER_IMPORT=false; then `done`.
 *
 * Exactly once across crashes: the pipeline is idempotent on (source, callId), and each step is
 * written to the job row only after it happened, so a kill -9 anywhere leaves a job that the
 * next run (of any instance: a dead owner's claim is released at once on the same machine, and
 * after its lease elsewhere) finishes without storing twice; the source copy is deleted in the end.
 *
 * Failures: a permanent one (the media is gone at Twilio, a URL outside the API base, audio
 * the pipeline refuses, retention already elapsed, …) fails the job at once; a transient one
 * (Twilio or the store unavailable, a stalled download, wrong credentials) is retried after a
 * backoff that doubles from `backoffBaseMs` up to `backoffMaxMs`, and fails the job after
 * `maxAttempts`. A failed job stays in the table (`callrec imports list`), counts in the gauge
 * `callrec_twilio_import_jobs{status="failed"}` (alert CallrecTwilioImportFailed) and is
 * logged once as `twilio import gave up` with its RecordingSid and error code.
 *
 * Logs name the RecordingSid and stable codes only: never a number, URL, token or message of Twilio's.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { AppDeps } from '../../deps.js';
import { findRecordingByCall } from '../../db/recordings.js';
import {
  claimTwilioJob,
  countTwilioJobs,
  oldestOpenTwilioJob,
  listLiveTwilioClaims,
  releaseTwilioClaim,
  renewTwilioClaim,
  settleTwilioJob,
} from '../../db/twilio-jobs.js';
import type { TwilioJobRow, TwilioJobStatus } from '../../db/twilio-jobs.js';
import { AppError, errors, isAppError } from '../../errors.js';
import { toAppError } from '../../http/problem.js';
import { currentOwner, formatOwner, isOwnerAlive, parseOwner } from '../../process-owner.js';
import type { CallMetadata, NumberKind } from '../call-metadata.js';
import { dbError } from '../db-failure.js';
import { ingestRecording } from '../ingest.js';
import { STARTED_AT_SKEW_MS, classifyNumber } from '../metadata.js';
import type { IngestRuntime } from '../service.js';
import { isPermanentRefusal } from './spool.js';
import { TwilioApiError, TwilioUrlRefused, createTwilioApi } from './twilio-api.js';
import type { TwilioApi, TwilioCall } from './twilio-api.js';
import { TWILIO_SOURCE } from './twilio-hook.js';

/** Steps after which a test failpoint may fire (the crash tests kill the process there). */
export type TwilioStep = 'fetched' | 'stored' | 'sourceDeleted';

export const TWILIO_MAX_ATTEMPTS = 10;
export const TWILIO_BACKOFF_BASE_MS = 30_000;
export const TWILIO_BACKOFF_MAX_MS = 60 * 60_000;
export const TWILIO_LEASE_MS = 10 * 60_000;
/** How long a request may wait for Twilio's headers, and a download for its next bytes. */
export const TWILIO_IDLE_TIMEOUT_MS = 60_000;
/** Jobs one run takes at most (the next run follows at the poll interval). */
const JOBS_PER_RUN = 100;

export interface TwilioWorkerOptions {
  maxAttempts?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  leaseMs?: number;
  idleTimeoutMs?: number;
  /** Replaces the REST client (tests). */
  api?: TwilioApi;
  failpoint?: (step: TwilioStep) => void | Promise<void>;
}

export interface TwilioRun {
  /** Stored by this run (the pipeline created the recording). */
  stored: number;
  /** Found already stored (a crashed run stored it): went straight to the source delete. */
  alreadyStored: number;
  sourceDeleted: number;
  /** Past retention already when the job ran: not stored, deleted at Twilio. */
  expired: number;
  /** Not kept: a subject of the call objected (see the ingest pipeline's objection screen). */
  notKept: number;
  retrying: number;
  failed: number;
}

export interface TwilioWorker {
  /** Claims and runs due jobs one after another until none is due (or `signal` aborts). */
  runOnce(signal?: AbortSignal): Promise<TwilioRun>;
}

/** The backoff after `attempts` failed attempts: base × 2^(attempts-1), at most `max`. */
export function twilioBackoffMs(attempts: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1));
}

/**
 * Twilio's `direction` as callrec's: inbound, outbound (outbound-api, outbound-dial, trunking-…: by prefix), else null.
 */
export function directionOf(direction: string | null): CallMetadata['direction'] {
  if (!direction) return null;
  if (direction === 'inbound' || direction === 'trunking-originating') return 'inbound';
  if (direction.startsWith('outbound') || direction === 'trunking-terminating') return 'outbound';
  return null;
}

/**
 * A party of the Call resource: a number (E.164), a withheld stand-in, or an endpoint of the
 * platform itself (`client:…`, `sip:…`: internal, no number). Anything else keeps no number and no kind.
 */
export function partyOf(value: string | null, region: string): { number: string | null; kind: NumberKind | null } {
  if (value === null) return { number: null, kind: null };
  const trimmed = value.trim();
  if (/^(client|sip):/i.test(trimmed)) return { number: null, kind: 'internal' };
  const classified = classifyNumber(trimmed, region);
  return classified ? { number: classified.e164, kind: classified.kind } : { number: null, kind: null };
}

/** The call metadata of a job and its Call resource. */
export function twilioMetadataOf(
  job: TwilioJobRow,
  call: TwilioCall,
  context: { nowMs: number; region: string },
): CallMetadata {
  const caller = partyOf(call.from, context.region);
  const callee = partyOf(call.to, context.region);
  const endedAt = job.duration_s === null ? null : job.started_at + job.duration_s * 1000;
  return {
    callId: job.recording_sid,
    startedAt: job.started_at,
    agentId: null,
    queue: null,
    direction: directionOf(call.direction),
    endedAt: endedAt !== null && endedAt <= context.nowMs + STARTED_AT_SKEW_MS ? endedAt : null,
    callerNumber: caller.number,
    calleeNumber: callee.number,
    callerNumberKind: caller.kind,
    calleeNumberKind: callee.kind,
    agentChannel: null,
    callGroupId: job.call_sid,
    caseReference: null,
    // Twilio leaves paused stretches out of the recording itself (its pause API): nothing to silence here.
    pauses: [],
  };
}

/** A failure's stable code and whether a retry may help. */
export function classifyTwilioFailure(error: unknown): { code: string; permanent: boolean } {
  if (error instanceof TwilioUrlRefused) return { code: error.code, permanent: true };
  if (error instanceof TwilioApiError) return { code: error.code, permanent: !error.retryable };
  const problem: AppError = isAppError(error) ? error : toAppError(error);
  return { code: problem.code, permanent: isPermanentRefusal(problem) };
}

/**
 * Keeps the gauges `callrec_twilio_import_jobs{status}` and `callrec_twilio_import_oldest_open_seconds`
 * read from the database at each scrape (the previous values stay while it cannot be read).
 */
export function registerTwilioGauges(deps: Pick<AppDeps, 'db' | 'metrics' | 'clock'>): void {
  deps.metrics.setNamedScrapeRefresh('twilio-imports', async () => {
    const [counts, oldest] = await Promise.all([countTwilioJobs(deps.db.knex), oldestOpenTwilioJob(deps.db.knex)]);
    for (const [status, n] of Object.entries(counts)) deps.metrics.twilioImportJobs.set({ status }, n);
    deps.metrics.twilioImportOldestOpen.set(oldest === null ? 0 : Math.max(0, (deps.clock.now() - oldest) / 1000));
  });
}

export function createTwilioWorker(runtime: IngestRuntime, options: TwilioWorkerOptions = {}): TwilioWorker {
  const { deps, limiter, temp, inflight } = runtime;
  const { config, db, logger, clock, metrics } = deps;
  const twilio = config.ingest.twilio;
  if (!twilio) throw new Error('the Twilio worker needs CALLREC_TWILIO_ACCOUNT_SID and CALLREC_TWILIO_AUTH_TOKEN');
  const maxAttempts = options.maxAttempts ?? TWILIO_MAX_ATTEMPTS;
  const backoffBaseMs = options.backoffBaseMs ?? TWILIO_BACKOFF_BASE_MS;
  const backoffMaxMs = options.backoffMaxMs ?? TWILIO_BACKOFF_MAX_MS;
  const leaseMs = options.leaseMs ?? TWILIO_LEASE_MS;
  const api =
    options.api ??
    createTwilioApi({
      accountSid: twilio.accountSid,
      authToken: twilio.authToken,
      apiOrigin: twilio.apiOrigin,
      idleTimeoutMs: options.idleTimeoutMs ?? TWILIO_IDLE_TIMEOUT_MS,
    });
  const self = currentOwner();

  /** Releases claims whose owner died on this machine (a kill -9), so the job need not wait for the lease. */
  const releaseDeadClaims = async () => {
    const now = clock.now();
    for (const claim of await listLiveTwilioClaims(db.knex, now)) {
      const owner = parseOwner(claim.claimed_by);
      if (!owner || !claim.claimed_by || claim.claim_expires_at === null) continue;
      if (isOwnerAlive(owner, { leaseExpiresAt: claim.claim_expires_at, now, self })) continue;
      if (await releaseTwilioClaim(db.knex, { recordingSid: claim.recording_sid, claimedBy: claim.claimed_by }))
        logger.info({ recordingSid: claim.recording_sid }, 'twilio import: took over the job of a dead worker');
    }
  };

  /** Fetches media and call, stores the recording; returns its id and whether this run created it. */
  const fetchAndStore = async (job: TwilioJobRow, signal: AbortSignal) => {
    const ticket = limiter.admit();
    if (!ticket) throw errors.overloaded(Math.ceil(backoffBaseMs / 1000));
    let dir: string | undefined;
    try {
      dir = await temp.requestDir();
      const media = await api.downloadMedia({
        recordingUrl: job.recording_url,
        channels: job.channels,
        file: path.join(dir, 'media.wav'),
        maxBytes: config.ingest.maxUploadBytes,
        signal,
      });
      const call = await api.fetchCall(job.call_sid, signal);
      await options.failpoint?.('fetched');
      const work = path.join(dir, 'work');
      await fs.promises.mkdir(work);
      const outcome = await ingestRecording(deps, {
        source: TWILIO_SOURCE,
        meta: twilioMetadataOf(job, call, { nowMs: clock.now(), region: config.phoneRegion }),
        audio: media,
        dir: work,
        ticket,
        inflight,
        signal,
      });
      // An objecting subject's call is not kept (logged as such by the pipeline); Twilio's copy is deleted all the
      // same.
      if (outcome.discarded) return { recordingId: null, created: false, notKept: true };
      return { recordingId: outcome.recording.id, created: outcome.created, notKept: false };
    } finally {
      ticket.release();
      if (dir)
        await fs.promises
          .rm(dir, { recursive: true, force: true })
          .catch((error: unknown) =>
            logger.error({ code: (error as NodeJS.ErrnoException).code }, 'could not remove a twilio temp dir'),
          );
    }
  };

  /** Runs one claimed job to its next resting state, counting what happened into `run`. */
  const runJob = async (input: { job: TwilioJobRow; claimant: string; signal: AbortSignal; run: TwilioRun }) => {
    const { job, claimant, signal, run } = input;
    const renew = setInterval(
      () =>
        void renewTwilioClaim(db.knex, {
          recordingSid: job.recording_sid,
          claimant,
          until: clock.now() + leaseMs,
        }).catch(() => undefined),
      Math.max(1_000, Math.floor(leaseMs / 3)),
    );
    renew.unref();
    let status: TwilioJobStatus = job.status;
    /** Past retention when it came: not stored, only deleted at Twilio (also when resumed at the delete). */
    let expired = job.status === 'stored' && job.recording_id === null;
    try {
      if (status === 'pending') {
        const existing = await findRecordingByCall(db.knex, TWILIO_SOURCE, job.recording_sid).catch(
          (error: unknown) => {
            throw dbError(error);
          },
        );
        let recordingId: string | null;
        let result: 'stored' | 'alreadyStored' | 'expired' | 'notKept' = 'alreadyStored';
        if (existing) recordingId = existing.id;
        else if (job.started_at + config.retention.ms <= clock.now()) {
          // Past retention already: never stored here, and not left at Twilio either.
          recordingId = null;
          result = 'expired';
          expired = true;
        } else {
          const stored = await fetchAndStore(job, signal);
          recordingId = stored.recordingId;
          if (stored.created) result = 'stored';
          if (stored.notKept) {
            result = 'notKept';
            expired = true;
          }
        }
        await options.failpoint?.('stored');
        const ours = await settleTwilioJob(db.knex, {
          recordingSid: job.recording_sid,
          claimant,
          now: clock.now(),
          status: 'stored',
          recordingId,
          lastErrorCode: null,
          keepClaim: true,
        });
        if (!ours) {
          // The lease ran out and another worker took the job over: it finishes it (the store is idempotent).
          logger.warn(
            { recordingSid: job.recording_sid },
            'twilio import: claim lost to another worker; leaving the job',
          );
          return;
        }
        status = 'stored';
        if (result === 'notKept') {
          run.notKept += 1;
          metrics.twilioImports.inc({ outcome: 'not_kept' });
          logger.info(
            { recordingSid: job.recording_sid, code: 'objection' },
            'twilio recording not kept (the subject objected): deleting it at Twilio',
          );
        } else if (result === 'expired') {
          run.expired += 1;
          metrics.twilioImports.inc({ outcome: 'retention_elapsed' });
          logger.warn(
            { recordingSid: job.recording_sid, code: 'retention_elapsed' },
            'twilio recording past retention already: not stored; deleting it at Twilio',
          );
        } else {
          run[result] += 1;
          metrics.twilioImports.inc({ outcome: result === 'stored' ? 'stored' : 'already_stored' });
          logger.info({ recordingSid: job.recording_sid, recordingId, outcome: result }, 'twilio recording stored');
        }
      }
      if (twilio.deleteAfterImport) {
        await api.deleteRecording(job.recording_sid, signal);
        await options.failpoint?.('sourceDeleted');
        metrics.twilioImports.inc({ outcome: 'source_deleted' });
        run.sourceDeleted += 1;
      }
      await settleTwilioJob(db.knex, {
        recordingSid: job.recording_sid,
        claimant,
        now: clock.now(),
        status: 'done',
        // A job done without a recording says why.
        lastErrorCode: expired ? 'retention_elapsed' : null,
      });
      logger.info(
        { recordingSid: job.recording_sid, sourceDeleted: twilio.deleteAfterImport },
        twilio.deleteAfterImport ? 'twilio import done; deleted at Twilio' : 'twilio import done; kept at Twilio',
      );
    } catch (error) {
      if (signal.aborted) {
        // Stopped (shutdown): the job waits for the next run of any instance, at the step it reached.
        await releaseTwilioClaim(db.knex, { recordingSid: job.recording_sid, claimedBy: claimant }).catch(
          () => undefined,
        );
        throw error;
      }
      const { code, permanent } = classifyTwilioFailure(error);
      if (error instanceof TwilioUrlRefused) {
        logger.warn(
          { event: 'twilio_url_refused', recordingSid: job.recording_sid, origin: error.origin },
          'security: a Twilio URL outside CALLREC_TWILIO_API_BASE was refused',
        );
      }
      const gaveUp = permanent || job.attempts >= maxAttempts;
      const now = clock.now();
      const nextAttemptAt = gaveUp ? null : now + twilioBackoffMs(job.attempts, backoffBaseMs, backoffMaxMs);
      await settleTwilioJob(db.knex, {
        recordingSid: job.recording_sid,
        claimant,
        now,
        status: gaveUp ? 'failed' : status,
        lastErrorCode: code,
        nextAttemptAt,
      }).catch((settleError: unknown) =>
        logger.error(
          { err: dbError(settleError), recordingSid: job.recording_sid },
          'twilio import: could not record a failure',
        ),
      );
      const cause = error instanceof Error ? error : undefined;
      if (gaveUp) {
        metrics.twilioImports.inc({ outcome: 'failed' });
        logger.error(
          { recordingSid: job.recording_sid, code, attempts: job.attempts, stage: status, permanent },
          'twilio import gave up; the recording stays at Twilio',
        );
        run.failed += 1;
        return;
      }
      metrics.twilioImports.inc({ outcome: 'retry' });
      logger.warn(
        {
          recordingSid: job.recording_sid,
          code,
          attempts: job.attempts,
          stage: status,
          retryInMs: nextAttemptAt! - now,
          // A 5xx of our own (store, database) keeps its cause for the operator; Twilio's answers are codes only.
          ...(isAppError(error) && error.status >= 500 ? { err: error.cause ?? cause } : {}),
        },
        'twilio import failed; will retry',
      );
      run.retrying += 1;
    } finally {
      clearInterval(renew);
    }
  };

  return {
    async runOnce(outer) {
      const signal = outer ?? new AbortController().signal;
      const run: TwilioRun = {
        stored: 0,
        alreadyStored: 0,
        sourceDeleted: 0,
        expired: 0,
        notKept: 0,
        retrying: 0,
        failed: 0,
      };
      await releaseDeadClaims();
      for (let i = 0; i < JOBS_PER_RUN && !signal.aborted; i++) {
        const claimant = formatOwner(self, `twilio-${randomBytes(6).toString('hex')}`);
        const job = await claimTwilioJob(db, { now: clock.now(), claimant, leaseMs });
        if (!job) break;
        await runJob({ job, claimant, signal, run });
      }
      return run;
    },
  };
}
