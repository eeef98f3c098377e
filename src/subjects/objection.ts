/**
 * The objection check ingest runs before storing a recording (`IngestScreen`, deps.ts; composed
 * in app.ts): a call from or to a number under an objection that says "do not keep" is not kept.
 *
 * Contract: `keep: false` with reason `objection` and the reference of the objection's request
 * (null once that request was deleted) when the caller or the callee number (E.164; withheld and
 * internal numbers are null and never match) has such an objection; `keep: true` otherwise.
 * Read at every upload from `subject_restrictions` (no cache: an objection placed now applies to
 * the next upload). A database failure throws.
 */
import type { AppDeps, IngestScreen } from '../deps.js';
import { findDoNotKeepObjection } from '../db/privacy-requests.js';

export function createObjectionScreen(deps: Pick<AppDeps, 'db'>): IngestScreen {
  return {
    async screen({ callerNumber, calleeNumber }) {
      const numbers = [callerNumber, calleeNumber].filter((n): n is string => n !== null);
      const objection = await findDoNotKeepObjection(deps.db.knex, numbers);
      return objection ? { keep: false, reason: 'objection', reference: objection.requestReference } : { keep: true };
    },
  };
}
