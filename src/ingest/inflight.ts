/**
 * The in-flight markers of this process's uploads (src/db/ingest-inflight.ts): written before an
 * upload's first put, renewed every OWNER_HEARTBEAT_MS while it runs (one UPDATE for all of them,
 * by an unref'd timer that runs only while some upload is in flight), taken in the transaction
 * that inserts the recording row, and deleted after a failed upload's objects were deleted.
 *
 * A marker of an upload whose objects could not be deleted is left in place and no longer
 * renewed: once its lease runs out, crash recovery deletes those objects (see
 * src/retention/abandoned.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Db, Knex } from '../db/db.js';
import { deleteInflight, insertInflight, renewInflight, takeInflight } from '../db/ingest-inflight.js';
import { errors } from '../errors.js';
import type { Logger } from '../logger.js';
import { OWNER_HEARTBEAT_MS, OWNER_LEASE_MS, currentOwner, formatOwner } from '../process-owner.js';
import { dbError } from './db-failure.js';

export interface InflightTracker {
  /** Records the upload as in flight (committed before it returns). */
  begin(options: { recordingId: string; objectPrefix: string }): Promise<void>;
  /**
   * In the transaction that inserts the recording row: removes the marker. Throws 503
   * `db_unavailable` when it is gone (its lease lapsed and a reconciler took the upload over).
   */
  commitIn(trx: Knex.Transaction, recordingId: string): Promise<void>;
  /**
   * The upload is over: stops renewing its marker; with `deleteMarker` (a failed upload whose
   * objects are all deleted), deletes it too. A marker left in place expires, and crash recovery
   * then deletes what remains under its prefix.
   */
  end(recordingId: string, options: { deleteMarker: boolean }): Promise<void>;
  /** Extends the leases of the uploads in flight (what the heartbeat timer runs). */
  renew(): Promise<void>;
}

export function createInflightTracker(
  deps: { db: Db; clock: Clock; logger: Logger },
  options: { heartbeatMs?: number; leaseMs?: number } = {},
): InflightTracker {
  const owner = formatOwner(currentOwner(), `ingest-${randomBytes(4).toString('hex')}`);
  const leaseMs = options.leaseMs ?? OWNER_LEASE_MS;
  const active = new Set<string>();
  let timer: NodeJS.Timeout | undefined;

  const renew = async () => {
    try {
      await renewInflight(deps.db.knex, {
        recordingIds: [...active],
        owner,
        leaseExpiresAt: deps.clock.now() + leaseMs,
      });
    } catch (error) {
      deps.logger.warn({ err: error, uploads: active.size }, 'could not renew the leases of uploads in flight');
    }
  };
  const track = (id: string) => {
    active.add(id);
    if (!timer) {
      timer = setInterval(() => void renew(), options.heartbeatMs ?? OWNER_HEARTBEAT_MS);
      timer.unref();
    }
  };
  const untrack = (id: string) => {
    active.delete(id);
    if (active.size === 0 && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  };

  return {
    async begin({ recordingId, objectPrefix }) {
      const now = deps.clock.now();
      try {
        await insertInflight(deps.db.knex, {
          recording_id: recordingId,
          object_prefix: objectPrefix,
          owner,
          created_at: now,
          lease_expires_at: now + leaseMs,
        });
      } catch (error) {
        throw dbError(error);
      }
      track(recordingId);
    },
    async commitIn(trx, recordingId) {
      if (!(await takeInflight(trx, { recordingId, owner }))) {
        throw errors.dbUnavailable({
          cause: new Error('the upload was taken over by crash recovery after its lease lapsed'),
        });
      }
    },
    async end(recordingId, { deleteMarker }) {
      untrack(recordingId);
      if (!deleteMarker) return;
      await deleteInflight(deps.db.knex, { recordingId, owner }).catch((error: unknown) => {
        // Harmless: the marker's lease runs out and crash recovery removes it.
        deps.logger.warn({ err: error, recordingId }, 'could not remove the in-flight marker of an upload');
      });
    },
    renew,
  };
}
