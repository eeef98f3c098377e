/**
 * The privacy officer's API (role `privacy`; `admin` may also hold and release):
 *
 * - `GET    /v1/subjects/recordings?phone=`  every recording where the number is caller or callee
 * - `GET    /v1/subjects/export?phone=`      a zip of those recordings (see export.ts)
 * - `DELETE /v1/subjects/recordings?phone=`  erase all of them (`{reason, reference}`)
 * - `DELETE /v1/recordings/:id`              erase one (`{reason: "erasure_request", reference}`)
 * - `PUT    /v1/recordings/:id/hold`         place a legal hold (`{reason}`)
 * - `DELETE /v1/recordings/:id/hold`         release it
 *
 * Only these exact methods are mounted on `/v1/recordings/:id…`, so playback's GET routes on
 * the same paths are untouched. Trainers and auditors are refused every route here (403).
 *
 * Logging: the phone number is never logged and never written to the access or deletion log;
 * a search is logged as `search` with the hit count only, an export as one `export` entry per
 * recording, a hold or release as `hold`/`release` with its reason, an erasure as `erase`
 * (access log) plus the chained deletion-log entry.
 */
import { Router } from 'express';
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { Principal } from '../domain/roles.js';
import { createGuards } from '../auth/index.js';
import type { AppDeps } from '../deps.js';
import { appendAccess } from '../db/access-log.js';
import { toRecording } from '../db/recordings.js';
import { errors } from '../errors.js';
import type { FieldProblem } from '../errors.js';
import { eraseRecording, eraseSubject } from './erasure.js';
import { writeSubjectExport } from './export.js';
import { placeHold, releaseHold } from './hold.js';
import { normalizeQueryPhone } from './phone.js';
import {
  erasureBodySchema,
  holdBodySchema,
  refusingPhoneNumbers,
  releaseBodySchema,
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

  router.get('/v1/subjects/recordings', privacy, async (req: Request, res: Response) => {
    // The number first (a bad one is reported alone), then the page parameters.
    const number = normalizeQueryPhone(req.query.phone, region);
    const parsed = subjectPageQuerySchema.safeParse(req.query);
    if (!parsed.success) throw errors.invalidQuery(issues(parsed.error));
    const { cursor, limit = SUBJECT_PAGE_DEFAULT } = parsed.data;

    const page = await findSubjectRecordings(deps.db.knex, { number, afterId: cursor, limit });
    const principal = principalOf(req);
    await appendAccess(deps.db.knex, {
      principal,
      recordingId: null,
      action: 'search',
      at: deps.clock.now(),
      requestId: req.id,
      detail: `count=${page.items.length}`,
    });
    res.setHeader('Cache-Control', 'private, no-store');
    res.json({ items: page.items.map(toRecording), nextCursor: page.nextCursor });
  });

  router.get('/v1/subjects/export', privacy, async (req: Request, res: Response) => {
    const number = normalizeQueryPhone(req.query.phone, region);
    const principal = principalOf(req);
    const now = deps.clock.now();
    const recordings = await collectExport(deps.db.knex, number);
    await deps.db.knex.transaction(async (trx) => {
      for (const r of recordings) {
        await appendAccess(trx, { principal, recordingId: r.row.id, action: 'export', at: now, requestId: req.id });
      }
    });

    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    const stamp = new Date(now).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
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
      deps.logger.info({ requestId: req.id, user: principal.username, recordings: recordings.length }, 'subject export sent');
    } catch (error) {
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
    const result = await eraseSubject(deps, {
      number,
      principal: principalOf(req),
      reference: body.reference,
      requestId: req.id,
    });
    res.json(result);
  });

  router.delete('/v1/recordings/:id', privacy, async (req: Request, res: Response) => {
    const id = recordingId(req);
    const body = parseBody(erasureBody, req.body);
    const result = await eraseRecording(deps, {
      id,
      principal: principalOf(req),
      reference: body.reference,
      requestId: req.id,
    });
    res.json(result);
  });

  router.put('/v1/recordings/:id/hold', privacyOrAdmin, async (req: Request, res: Response) => {
    const id = recordingId(req);
    const body = parseBody(holdBody, req.body);
    const row = await placeHold(deps, { id, principal: principalOf(req), reason: body.reason, requestId: req.id });
    res.setHeader('Cache-Control', 'private, no-store');
    res.json(toRecording(row));
  });

  router.delete('/v1/recordings/:id/hold', privacyOrAdmin, async (req: Request, res: Response) => {
    const id = recordingId(req);
    const body = parseBody(releaseBody, req.body);
    const row = await releaseHold(deps, { id, principal: principalOf(req), reason: body.reason, requestId: req.id });
    res.setHeader('Cache-Control', 'private, no-store');
    res.json(toRecording(row));
  });

  return router;
}
