/**
 * The privacy officer's API (role `privacy`; `admin` may also hold and release):
 *
 * - `GET    /v1/subjects/recordings?phone=`  every recording where the number is caller or callee
 * - `GET    /v1/subjects/export?phone=`      a zip of those recordings (see export.ts)
 * - `DELETE /v1/subjects/recordings?phone=`  erase all of them (`{reason, reference}`)
 * - `DELETE /v1/recordings/:id`              erase one (`{reason: "erasure_request", reference}`)
 * - `PUT    /v1/recordings/:id/hold`         place a legal hold (`{reason}`)
 * - `DELETE /v1/recordings/:id/hold`         release it
 * - `GET|PUT|DELETE /v1/subjects/restriction` restriction / objection of a number (restriction.ts)
 * - `PATCH  /v1/recordings/:id`              correct call metadata under a request (correction.ts)
 *
 * Each action may be done under a privacy request (`requestId` in the query or body; required
 * for restriction and correction): it is then checked against the request and appended to the
 * request's timeline (case.ts), an erasure refused for a legal hold included.
 *
 * Only these exact methods are mounted on `/v1/recordings/:id…`, so playback's GET routes on
 * the same paths are untouched. Trainers and auditors are refused every route here (403).
 *
 * Logging: the phone number is never logged and never written to the access or deletion log;
 * a search is logged as `search` with the hit count only, an export as one `export` entry per
 * recording, a hold or release as `hold`/`release` with its reason, an erasure as `erase`
 * (access log) plus the chained deletion-log entry, a restriction as `restrict`/`unrestrict`,
 * a correction as `correct` naming the fields changed (never their values).
 */
import { Router } from 'express';
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { Principal } from '../domain/roles.js';
import { createGuards } from '../auth/index.js';
import type { AppDeps } from '../deps.js';
import { appendAccess } from '../db/access-log.js';
import { toRecording } from '../db/recordings.js';
import { errors, isAppError } from '../errors.js';
import type { FieldProblem } from '../errors.js';
import { maybeOpenCase, openCase, recordOnCase } from './case.js';
import type { OpenCase } from './case.js';
import { correctRecordingMetadata } from './correction.js';
import { eraseRecording, eraseSubject } from './erasure.js';
import { writeSubjectExport } from './export.js';
import { placeHold, releaseHold } from './hold.js';
import { normalizeBodyPhone, normalizeQueryPhone } from './phone.js';
import { liftRestriction, restrictionStatus, restrictNumber } from './restriction.js';
import {
  correctionBodySchema,
  erasureBodySchema,
  holdBodySchema,
  liftRestrictionBodySchema,
  refusingPhoneNumbers,
  releaseBodySchema,
  requestIdSchema,
  restrictionBodySchema,
  restrictionQuerySchema,
  SUBJECT_PAGE_DEFAULT,
  subjectPageQuerySchema,
} from './schemas.js';
import { collectExport, findSubjectRecordings } from './search.js';

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

function principalOf(req: Request): Principal {
  // The guard ran first: a principal is always present here.
  return req.principal!;
}

function issues(error: z.ZodError): FieldProblem[] {
  return error.issues.map((i) => ({ field: i.path.join('.') || 'body', message: i.message }));
}

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) throw errors.invalidRequest('Invalid request body', { extra: { fields: issues(parsed.error) } });
  return parsed.data;
}

/** `?requestId=` (optional), checked like the other query parameters. */
function queryRequestId(req: Request): string | undefined {
  if (req.query.requestId === undefined) return undefined;
  const parsed = requestIdSchema.safeParse(req.query.requestId);
  if (!parsed.success) throw errors.invalidQuery([{ field: 'requestId', message: parsed.error.issues[0]!.message }]);
  return parsed.data;
}

/** The timeline event of an erasure refused because of a legal hold (the refusal is rethrown by the caller). */
async function recordRefusal(
  deps: AppDeps,
  kase: OpenCase | undefined,
  principal: Principal,
  error: unknown,
): Promise<void> {
  if (!kase || !isAppError(error) || error.code !== 'legal_hold') return;
  const held = (error.extra.heldIds as string[] | undefined) ?? [];
  await recordOnCase(deps.db.knex, kase, {
    at: deps.clock.now(),
    principal,
    action: 'erase_refused',
    recordingIds: held,
    detail: 'refused: under legal hold (Art. 17(3)(e): kept for legal claims until the hold is released)',
  });
}

function recordingId(req: Request): string {
  const id = req.params.id;
  // An id that cannot exist is simply not found (no echo of the input).
  if (typeof id !== 'string' || !ULID.test(id)) throw errors.notFound('Recording');
  return id;
}

export function createSubjectsRouter(deps: AppDeps): Router {
  const router = Router();
  const guards = createGuards(deps);
  const privacy = guards.requireRole('privacy');
  const privacyOrAdmin = guards.requireRole('privacy', 'admin');
  const region = deps.config.phoneRegion;

  // The request schemas of schemas.ts (also the OpenAPI document's), plus this region's phone-number rule.
  const erasureBody = refusingPhoneNumbers(erasureBodySchema, region, ['reference']);
  const holdBody = refusingPhoneNumbers(holdBodySchema, region, ['reason']);
  const releaseBody = refusingPhoneNumbers(releaseBodySchema, region, ['reason']);
  const liftBody = refusingPhoneNumbers(liftRestrictionBodySchema, region, ['reason']);

  router.get('/v1/subjects/recordings', privacy, async (req: Request, res: Response) => {
    // The number first (a bad one is reported alone), then the page parameters.
    const number = normalizeQueryPhone(req.query.phone, region);
    const parsed = subjectPageQuerySchema.safeParse(req.query);
    if (!parsed.success) throw errors.invalidQuery(issues(parsed.error));
    const { cursor, limit = SUBJECT_PAGE_DEFAULT } = parsed.data;
    const kase = await maybeOpenCase(deps, { requestId: queryRequestId(req), number });

    const page = await findSubjectRecordings(deps.db.knex, { number, afterId: cursor, limit });
    const principal = principalOf(req);
    const at = deps.clock.now();
    // The access-log entry and the request's timeline event commit together.
    await deps.db.knex.transaction(async (trx) => {
      await appendAccess(trx, {
        principal,
        recordingId: null,
        action: 'search',
        at,
        requestId: req.id,
        detail: `count=${page.items.length}`,
      });
      await recordOnCase(trx, kase, {
        at,
        principal,
        action: 'search',
        recordingIds: page.items.map((r) => r.id),
        detail: `count=${page.items.length}`,
      });
    });
    res.setHeader('Cache-Control', 'private, no-store');
    res.json({ items: page.items.map(toRecording), nextCursor: page.nextCursor });
  });

  router.get('/v1/subjects/export', privacy, async (req: Request, res: Response) => {
    const number = normalizeQueryPhone(req.query.phone, region);
    const kase = await maybeOpenCase(deps, { requestId: queryRequestId(req), number });
    const principal = principalOf(req);
    const now = deps.clock.now();
    const recordings = await collectExport(deps.db.knex, number);
    // Before the first byte is sent: the access-log entries and the request's timeline event, together.
    await deps.db.knex.transaction(async (trx) => {
      for (const r of recordings) {
        await appendAccess(trx, { principal, recordingId: r.row.id, action: 'export', at: now, requestId: req.id });
      }
      await recordOnCase(trx, kase, {
        at: now,
        principal,
        action: 'export',
        recordingIds: recordings.map((r) => r.row.id),
        detail: `count=${recordings.length}`,
      });
    });

    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    const stamp = new Date(now)
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
    res.status(200);
    res.setHeader('Content-Type', 'application/zip');
    res.setHeader('Content-Disposition', `attachment; filename="callrec-export-${stamp}.zip"`);
    res.setHeader('Cache-Control', 'private, no-store');
    try {
      await writeSubjectExport({
        store: deps.store,
        recordings,
        exportedAt: now,
        exportedBy: principal.username,
        output: res,
        signal: controller.signal,
      });
      deps.logger.info(
        { requestId: req.id, user: principal.username, recordings: recordings.length },
        'subject export sent',
      );
    } catch (error) {
      // The timeline said `export` before the first byte; it also says when the zip did not arrive whole.
      await recordOnCase(deps.db.knex, kase, {
        at: deps.clock.now(),
        principal,
        action: 'export_aborted',
        recordingIds: recordings.map((r) => r.row.id),
        detail: controller.signal.aborted ? 'the client went away' : 'the export failed',
      }).catch(() => undefined);
      if (controller.signal.aborted) {
        deps.logger.info({ requestId: req.id, user: principal.username }, 'subject export aborted by the client');
        return;
      }
      throw error;
    }
  });

  router.delete('/v1/subjects/recordings', privacy, async (req: Request, res: Response) => {
    const number = normalizeQueryPhone(req.query.phone, region);
    const body = parseBody(erasureBody, req.body);
    const principal = principalOf(req);
    const kase = await maybeOpenCase(deps, { requestId: body.requestId ?? queryRequestId(req), number });
    let result;
    try {
      // Each erasure's timeline event commits with its deletion-log entry (erasure.ts).
      result = await eraseSubject(deps, { number, principal, reference: body.reference, requestId: req.id, kase });
    } catch (error) {
      await recordRefusal(deps, kase, principal, error);
      throw error;
    }
    if (result.pending.length > 0)
      await recordOnCase(deps.db.knex, kase, {
        at: deps.clock.now(),
        principal,
        action: 'erase_pending',
        recordingIds: result.pending,
        detail: 'already being deleted; finished by the sweeper',
      });
    res.json(result);
  });

  router.delete('/v1/recordings/:id', privacy, async (req: Request, res: Response) => {
    const id = recordingId(req);
    const body = parseBody(erasureBody, req.body);
    const principal = principalOf(req);
    const kase = await maybeOpenCase(deps, { requestId: body.requestId });
    let result;
    try {
      result = await eraseRecording(deps, { id, principal, reference: body.reference, requestId: req.id, kase });
    } catch (error) {
      await recordRefusal(
        deps,
        kase,
        principal,
        isAppError(error) && error.code === 'legal_hold'
          ? errors.onLegalHold({ cause: error, extra: { heldIds: [id] } })
          : error,
      );
      throw error;
    }
    res.json(result);
  });

  router.put('/v1/recordings/:id/hold', privacyOrAdmin, async (req: Request, res: Response) => {
    const id = recordingId(req);
    const body = parseBody(holdBody, req.body);
    const kase = await maybeOpenCase(deps, { requestId: body.requestId });
    const row = await placeHold(deps, {
      id,
      principal: principalOf(req),
      reason: body.reason,
      requestId: req.id,
      kase,
    });
    res.setHeader('Cache-Control', 'private, no-store');
    res.json(toRecording(row));
  });

  router.delete('/v1/recordings/:id/hold', privacyOrAdmin, async (req: Request, res: Response) => {
    const id = recordingId(req);
    const body = parseBody(releaseBody, req.body);
    const kase = await maybeOpenCase(deps, { requestId: body.requestId });
    const row = await releaseHold(deps, {
      id,
      principal: principalOf(req),
      reason: body.reason,
      requestId: req.id,
      kase,
    });
    res.setHeader('Cache-Control', 'private, no-store');
    res.json(toRecording(row));
  });

  router.get('/v1/subjects/restriction', privacy, async (req: Request, res: Response) => {
    const number = normalizeQueryPhone(req.query.phone, region);
    const parsed = restrictionQuerySchema.safeParse(req.query);
    if (!parsed.success) throw errors.invalidQuery(issues(parsed.error));
    res.setHeader('Cache-Control', 'private, no-store');
    res.json(await restrictionStatus(deps, number));
  });

  router.put('/v1/subjects/restriction', privacy, async (req: Request, res: Response) => {
    const body = parseBody(restrictionBodySchema, req.body);
    const number = normalizeBodyPhone(body.phone, region, 'phone');
    const principal = principalOf(req);
    const kase = await openCase(deps, { requestId: body.requestId, number });
    const mode = body.mode ?? 'restrict';
    const doNotKeep = body.doNotKeep ?? false;
    const status = await restrictNumber(deps, { number, mode, doNotKeep, kase, principal, httpRequestId: req.id });
    res.setHeader('Cache-Control', 'private, no-store');
    res.json(status);
  });

  router.delete('/v1/subjects/restriction', privacy, async (req: Request, res: Response) => {
    const body = parseBody(liftBody, req.body);
    const number = normalizeBodyPhone(body.phone, region, 'phone');
    const principal = principalOf(req);
    const kase = await openCase(deps, { requestId: body.requestId, number });
    const status = await liftRestriction(deps, { number, kase, principal, reason: body.reason, httpRequestId: req.id });
    res.setHeader('Cache-Control', 'private, no-store');
    res.json(status);
  });

  router.patch('/v1/recordings/:id', privacy, async (req: Request, res: Response) => {
    const id = recordingId(req);
    const body = parseBody(correctionBodySchema, req.body);
    const phone = (field: 'callerNumber' | 'calleeNumber') => {
      const value = body[field];
      return value === undefined || value === null ? value : normalizeBodyPhone(value, region, field);
    };
    const correction = {
      callerNumber: phone('callerNumber'),
      calleeNumber: phone('calleeNumber'),
      agentId: body.agentId,
      queue: body.queue,
    };
    const principal = principalOf(req);
    const kase = await openCase(deps, { requestId: body.requestId });
    const { row } = await correctRecordingMetadata(deps, {
      id,
      correction,
      kase,
      principal,
      httpRequestId: req.id,
    });
    res.setHeader('Cache-Control', 'private, no-store');
    res.json(toRecording(row));
  });

  return router;
}
