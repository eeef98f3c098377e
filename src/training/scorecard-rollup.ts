/**
 * Keeps the scorecards' weekly roll-up (src/db/scorecard-rollup.ts) in the configured zone: at start-up, when
 * the roll-up is of another zone than CALLREC_TIME_ZONE (or of none: a database just migrated), it is rebuilt
 * from the evaluation rows in one transaction. Until then scorecards come from the rows alone (always right,
 * only slower). Between rebuilds the database's triggers keep it exact; nothing here runs periodically.
 */
import type { AppDeps } from '../deps.js';
import { rebuildScorecardRollup, rollupTimeZone } from '../db/scorecard-rollup.js';
import type { OffsetPiece } from '../db/scorecard-rollup.js';
import { rollupOffsetPieces } from './weeks.js';

/** A zone's offset pieces over 1970–2200 (a pure function of the zone, about 0.1 s to compute). */
const piecesByZone = new Map<string, OffsetPiece[]>();

/** Rebuilds the roll-up when it is not of the configured zone; true when it did. */
export async function ensureScorecardRollup(deps: Pick<AppDeps, 'db' | 'config' | 'logger'>): Promise<boolean> {
  const timeZone = deps.config.timeZone;
  const was = await rollupTimeZone(deps.db.knex);
  if (was === timeZone) return false;
  let offsets = piecesByZone.get(timeZone);
  if (!offsets) piecesByZone.set(timeZone, (offsets = rollupOffsetPieces(timeZone)));
  await rebuildScorecardRollup(deps.db.knex, { timeZone, offsets });
  deps.logger.info({ timeZone, previousTimeZone: was }, 'scorecard roll-up rebuilt for the time zone');
  return true;
}
