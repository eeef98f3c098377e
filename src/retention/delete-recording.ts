/**
 * Deleting one recording now (erasure request, or the reconciler), through the
 * same claim → delete → verify → log path as the sweeper.
 *
 * Contract:
 * - missing recording → AppError not_found (404); legal hold → legal_hold (409);
 *   another deletion of it in progress → conflict (409).
 * - on success the row, its notes and every object are gone and exactly one
 *   deletion-log entry exists; the entry is returned.
 * - when the store (or database) fails, the recording stays claimed as `deleting`
 *   (never served again) with its reason, actor and reference, the sweeper finishes
 *   it after the backoff under that reason, and this throws store_unavailable (503).
 */
import type { Config } from '../config.js';
import { readLogPage } from '../db/deletion-log.js';
import type { Knex } from 'knex';
import type { DeletionLogRow, DeletionReason } from '../db/deletion-log.js';
import { claimRecordingById } from '../db/recordings.js';
import { errors } from '../errors.js';
import { rowToEntry } from '../audit/index.js';
import type { DeletionEntry } from '../audit/index.js';
import { finishDeletions, newClaimant } from './delete-core.js';
import type { DeletionDeps, Failpoint } from './delete-core.js';

export interface DeleteRecordingOptions {
  deps: DeletionDeps & { config: Pick<Config, 'sweep'> };
  recordingId: string;
  reason: DeletionReason;
  /** Who asked: a username, or `sweeper` / `reconciler`. Never a phone number. */
  actor: string;
  /** An external reference such as a ticket number (no personal data). */
  reference?: string | null;
  now: number;
  signal?: AbortSignal;
  /** Test-only. */
  failpoint?: Failpoint;
  /** Written in the transaction that appends the deletion-log entry (see `finishDeletions`). */
  onLogged?: (trx: Knex.Transaction, entry: DeletionLogRow) => Promise<void>;
}

export async function deleteRecording(options: DeleteRecordingOptions): Promise<DeletionEntry> {
  const { deps, recordingId, now } = options;
  const claimant = newClaimant(options.reason === 'erasure_request' ? 'erasure' : 'delete');
  const claim = await claimRecordingById(deps.db.knex, {
    id: recordingId,
    now,
    claimant,
    leaseMs: deps.config.sweep.leaseMs,
    reason: options.reason,
    actor: options.actor.slice(0, 64),
    reference: options.reference ? options.reference.slice(0, 256) : null,
  });
  if ('refused' in claim) {
    if (claim.refused === 'not_found') throw errors.notFound('Recording');
    if (claim.refused === 'legal_hold') throw errors.onLegalHold();
    throw errors.conflict('The recording is already being deleted');
  }
  await options.failpoint?.('claimed');
  const result = await finishDeletions(deps, [claim.claimed], {
    claimant,
    now,
    signal: options.signal,
    failpoint: options.failpoint,
    onLogged: options.onLogged
      ? async (trx, rows) => {
          for (const row of rows) await options.onLogged!(trx, row);
        }
      : undefined,
  });
  const done = result.deleted[0];
  if (!done) {
    const reason = result.failed[0]?.reason;
    if (reason === 'claim_lost') throw errors.conflict('The recording is already being deleted');
    if (reason === 'db_error') throw errors.dbUnavailable({ detail: 'The deletion will be retried automatically' });
    throw errors.storeUnavailable({ detail: 'The deletion will be retried automatically' });
  }
  const [row] = await readLogPage(deps.db.knex, done.seq - 1, 1);
  return rowToEntry(row!);
}
