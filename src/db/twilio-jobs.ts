/**
 * The Twilio import job table (migration 20261202151247): enqueue (idempotent per RecordingSid),
 * claims that several workers (threads, processes, hosts) never share, and the transitions.
 *
 * A claim holds while `claim_expires_at` lies ahead; the claiming worker renews it while it works.
 * A claim whose lease ran out may be taken by anyone; one whose owner died may be released early
 * (`releaseClaim`, after the caller checked the owner, see src/process-owner.ts).
 */
import type { Knex } from 'knex';

export type TwilioJobStatus = 'pending' | 'stored' | 'done' | 'failed';

export interface TwilioJobRow {
  recording_sid: string;
  account_sid: string;
  call_sid: string;
  recording_url: string;
  started_at: number;
  duration_s: number | null;
  channels: number | null;
  status: TwilioJobStatus;
  attempts: number;
  next_attempt_at: number | null;
  claimed_by: string | null;
  claim_expires_at: number | null;
  last_error_code: string | null;
  recording_id: string | null;
  created_at: number;
  updated_at: number;
}

export type NewTwilioJob = Pick<
  TwilioJobRow,
  'recording_sid' | 'account_sid' | 'call_sid' | 'recording_url' | 'started_at' | 'duration_s' | 'channels'
>;

const TABLE = 'twilio_import_jobs';

/**
 * PostgreSQL hands BIGINTs back as numbers (db.ts); SQLite may hand back integers as numbers too. Nothing to do but
 * type.
 */
function rowOf(raw: unknown): TwilioJobRow {
  return raw as TwilioJobRow;
}

/**
 * Queues the job unless a job for its RecordingSid exists (a replayed callback), in one
 * statement; returns the job as stored now. Resolves only once the row is committed.
 */
export async function enqueueTwilioJob(knex: Knex, job: NewTwilioJob, now: number): Promise<TwilioJobRow> {
  await knex(TABLE)
    .insert({ ...job, status: 'pending', attempts: 0, created_at: now, updated_at: now })
    .onConflict('recording_sid')
    .ignore();
  return rowOf(await knex(TABLE).where({ recording_sid: job.recording_sid }).first());
}

export async function getTwilioJob(knex: Knex, recordingSid: string): Promise<TwilioJobRow | undefined> {
  const row: unknown = await knex(TABLE).where({ recording_sid: recordingSid }).first();
  return row === undefined ? undefined : rowOf(row);
}

/** Open, due, and not held by a live lease. */
function whereClaimable(builder: Knex.QueryBuilder, now: number): Knex.QueryBuilder {
  return builder
    .whereIn('status', ['pending', 'stored'])
    .andWhere((b) => b.whereNull('next_attempt_at').orWhere('next_attempt_at', '<=', now))
    .andWhere((b) => b.whereNull('claim_expires_at').orWhere('claim_expires_at', '<', now));
}

/**
 * Claims the oldest claimable job for `claimant` until `now + leaseMs` and counts the attempt;
 * undefined when none is claimable. PostgreSQL: SELECT … FOR UPDATE SKIP LOCKED, then the UPDATE,
 * in one transaction. SQLite: one conditional UPDATE whose WHERE repeats the condition (SQLite runs
 * it under the database write lock), then the row is read back by claimant.
 */
export async function claimTwilioJob(
  db: { knex: Knex; client: 'sqlite' | 'pg' },
  options: { now: number; claimant: string; leaseMs: number },
): Promise<TwilioJobRow | undefined> {
  const { now, claimant, leaseMs } = options;
  const set = {
    claimed_by: claimant,
    claim_expires_at: now + leaseMs,
    attempts: db.knex.raw('attempts + 1'),
    updated_at: now,
  };
  if (db.client === 'pg') {
    return db.knex.transaction(async (trx) => {
      const picked = (await whereClaimable(trx(TABLE).select('recording_sid'), now)
        .orderBy('created_at', 'asc')
        .limit(1)
        .forUpdate()
        .skipLocked()) as Array<{ recording_sid: string }>;
      if (picked.length === 0) return undefined;
      const [row] = (await trx(TABLE)
        .where({ recording_sid: picked[0]!.recording_sid })
        .update(set)
        .returning('*')) as unknown[];
      return row === undefined ? undefined : rowOf(row);
    });
  }
  await whereClaimable(
    db
      .knex(TABLE)
      .whereIn(
        'recording_sid',
        whereClaimable(db.knex(TABLE).select('recording_sid'), now).orderBy('created_at', 'asc').limit(1),
      ),
    now,
  ).update(set);
  const row: unknown = await db
    .knex(TABLE)
    .where({ claimed_by: claimant })
    .andWhere('claim_expires_at', now + leaseMs)
    .first();
  return row === undefined ? undefined : rowOf(row);
}

/** Extends the claim; false when it is no longer ours (taken over after the lease ran out). */
export async function renewTwilioClaim(
  knex: Knex,
  options: { recordingSid: string; claimant: string; until: number },
): Promise<boolean> {
  const updated = await knex(TABLE)
    .where({ recording_sid: options.recordingSid, claimed_by: options.claimant })
    .update({ claim_expires_at: options.until });
  return updated === 1;
}

/** Claims held by someone else with a lease still running: the caller checks whether their owners live. */
export async function listLiveTwilioClaims(
  knex: Knex,
  now: number,
): Promise<Array<Pick<TwilioJobRow, 'recording_sid' | 'claimed_by' | 'claim_expires_at'>>> {
  return (await knex(TABLE)
    .select('recording_sid', 'claimed_by', 'claim_expires_at')
    .whereIn('status', ['pending', 'stored'])
    .whereNotNull('claimed_by')
    .andWhere('claim_expires_at', '>=', now)
    .limit(100)) as Array<Pick<TwilioJobRow, 'recording_sid' | 'claimed_by' | 'claim_expires_at'>>;
}

/** Ends a claim exactly as read (a dead owner's): claimable again at once. */
export async function releaseTwilioClaim(
  knex: Knex,
  options: { recordingSid: string; claimedBy: string },
): Promise<boolean> {
  const updated = await knex(TABLE)
    .where({ recording_sid: options.recordingSid, claimed_by: options.claimedBy })
    .update({ claimed_by: null, claim_expires_at: null });
  return updated === 1;
}

/**
 * Moves a job this claimant holds to its next state and ends the claim. False when the claim
 * was no longer ours (nothing changed).
 */
export async function settleTwilioJob(
  knex: Knex,
  options: {
    recordingSid: string;
    claimant: string;
    now: number;
    status: TwilioJobStatus;
    recordingId?: string | null;
    lastErrorCode?: string | null;
    nextAttemptAt?: number | null;
    /** Keep the claim (the job goes on in this run, e.g. stored → source delete). */
    keepClaim?: boolean;
  },
): Promise<boolean> {
  const updated = await knex(TABLE)
    .where({ recording_sid: options.recordingSid, claimed_by: options.claimant })
    .update({
      status: options.status,
      ...(options.recordingId !== undefined ? { recording_id: options.recordingId } : {}),
      ...(options.lastErrorCode !== undefined ? { last_error_code: options.lastErrorCode } : {}),
      next_attempt_at: options.nextAttemptAt ?? null,
      ...(options.keepClaim ? {} : { claimed_by: null, claim_expires_at: null }),
      updated_at: options.now,
    });
  return updated === 1;
}

/** Jobs by status, newest change first (the CLI's `imports list`). */
export async function listTwilioJobs(
  knex: Knex,
  options: { statuses?: readonly TwilioJobStatus[]; limit: number },
): Promise<TwilioJobRow[]> {
  const query = knex(TABLE).select('*').orderBy('updated_at', 'desc').limit(options.limit);
  if (options.statuses && options.statuses.length > 0) query.whereIn('status', [...options.statuses]);
  return ((await query) as unknown[]).map(rowOf);
}

/** When the oldest job not done (pending or stored) was queued (epoch ms), or null when there is none. */
export async function oldestOpenTwilioJob(knex: Knex): Promise<number | null> {
  const row = (await knex(TABLE).whereIn('status', ['pending', 'stored']).min({ at: 'created_at' }).first()) as
    { at: number | string | null } | undefined;
  return row?.at === null || row?.at === undefined ? null : Number(row.at);
}

/** How many jobs are in each status (the gauges). */
export async function countTwilioJobs(knex: Knex): Promise<Record<TwilioJobStatus, number>> {
  const rows = (await knex(TABLE).select('status').count({ n: '*' }).groupBy('status')) as Array<{
    status: TwilioJobStatus;
    n: number | string;
  }>;
  const counts: Record<TwilioJobStatus, number> = { pending: 0, stored: 0, done: 0, failed: 0 };
  for (const row of rows) counts[row.status] = Number(row.n);
  return counts;
}

/**
 * Puts a failed job back in the queue (an operator fixed the cause): due at once, attempts from
 * zero, at the step it failed at (stored → only the source delete remains). False unless it was failed.
 */
export async function retryTwilioJob(knex: Knex, options: { recordingSid: string; now: number }): Promise<boolean> {
  const updated = await knex(TABLE)
    .where({ recording_sid: options.recordingSid, status: 'failed' })
    .update({
      status: knex.raw("case when recording_id is null then 'pending' else 'stored' end"),
      attempts: 0,
      next_attempt_at: null,
      claimed_by: null,
      claim_expires_at: null,
      updated_at: options.now,
    });
  return updated === 1;
}
