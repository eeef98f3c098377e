/**
 * Access logging of audio: one `play` entry per listening session, not one per
 * range request (a browser issues dozens of ranged requests while seeking).
 *
 * The rule: every audio request (whatever its range) belongs to the listening
 * session of (user, recording). A session starts with the first audio request
 * and stays open while requests keep coming: a `play` entry is appended only
 * when the same user has no `play` of the same recording in the access log
 * within the last PLAY_SESSION_MS (30 minutes) by `deps.clock`. The check reads
 * the access log itself, so it holds across restarts and across instances; an
 * in-process memo of recent entries saves that query on the hot path, and
 * concurrent requests of one (user, recording) wait on one decision.
 * A `download` (`?download=1`) is logged for every request that starts at
 * byte 0 (or has no Range): a resumed download is not a new download.
 */
import type { Principal } from '../domain/roles.js';
import type { Clock } from '../clock.js';
import type { Db } from '../db/db.js';
import { appendAccess } from '../db/access-log.js';

export const PLAY_SESSION_MS = 30 * 60_000;

export function createListenLog(deps: { db: Db; clock: Clock }) {
  const recent = new Map<string, number>();
  const pending = new Map<string, Promise<void>>();

  async function decideAndLog(principal: Principal, recordingId: string, requestId: string): Promise<void> {
    const key = `${principal.userId}\u0000${recordingId}`;
    const now = deps.clock.now();
    const last = recent.get(key);
    if (last !== undefined && now - last < PLAY_SESSION_MS) return;
    const existing = (await deps.db
      .knex('access_log')
      .where({ recording_id: recordingId, user_id: principal.userId, action: 'play' })
      .andWhere('at', '>', now - PLAY_SESSION_MS)
      .max({ at: 'at' })
      .first()) as { at: number | string | null } | undefined;
    const lastAt = existing?.at === null || existing?.at === undefined ? undefined : Number(existing.at);
    if (lastAt !== undefined && lastAt <= now) {
      recent.set(key, lastAt);
      return;
    }
    await appendAccess(deps.db.knex, { principal, recordingId, action: 'play', at: now, requestId });
    recent.set(key, now);
    if (recent.size > 10_000) {
      for (const [k, at] of recent) if (now - at >= PLAY_SESSION_MS) recent.delete(k);
    }
  }

  return {
    /** Appends `play` unless this user's listening session of this recording is already logged. */
    async play(principal: Principal, recordingId: string, requestId: string): Promise<void> {
      const key = `${principal.userId}\u0000${recordingId}`;
      for (;;) {
        const inFlight = pending.get(key);
        if (!inFlight) break;
        await inFlight.catch(() => undefined);
      }
      const decision = decideAndLog(principal, recordingId, requestId);
      pending.set(key, decision);
      try {
        await decision;
      } finally {
        if (pending.get(key) === decision) pending.delete(key);
      }
    },
    async download(principal: Principal, recordingId: string, requestId: string): Promise<void> {
      await appendAccess(deps.db.knex, { principal, recordingId, action: 'download', at: deps.clock.now(), requestId });
    },
    async view(principal: Principal, recordingId: string, requestId: string): Promise<void> {
      await appendAccess(deps.db.knex, { principal, recordingId, action: 'view', at: deps.clock.now(), requestId });
    },
  };
}

export type ListenLog = ReturnType<typeof createListenLog>;
