/**
 * `POST /v1/recordings/:id/redactions` `{startMs, endMs, reason}` (roles privacy and admin):
 * silences the span in the recording's original and rendition (./redact.ts) and answers 201
 * with the recording as it is now (`redactions` lists the span as `manual`). Refusals are
 * problem+json: 400 invalid_request (with `fields`: a bad or missing field, startMs not before
 * endMs, a span past the call's end, a phone number in `reason`), 404 not_found, 409
 * conflict / legal_hold, 415 unsupported_audio, 503.
 */
import { Router } from 'express';
import type { Request, Response } from 'express';
import type { z } from 'zod';
import { createGuards } from '../auth/index.js';
import { toRecording } from '../db/recordings.js';
import type { AppDeps } from '../deps.js';
import { errors } from '../errors.js';
import type { FieldProblem } from '../errors.js';
import { createIngestTemp } from '../ingest/index.js';
import { refusingPhoneNumbers } from '../subjects/index.js';
import { redactRecording } from './redact.js';
import { redactionBodySchema } from './schemas.js';

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

function issues(error: z.ZodError): FieldProblem[] {
  return error.issues.map((i) => ({ field: i.path.join('.') || 'body', message: i.message }));
}

export function createRedactionRouter(deps: AppDeps): Router {
  const router = Router();
  const privacyOrAdmin = createGuards(deps).requireRole('privacy', 'admin');
  const body = refusingPhoneNumbers(redactionBodySchema, deps.config.phoneRegion, ['reason']);
  const temp = createIngestTemp({ dataDir: deps.config.dataDir, clock: deps.clock });

  router.post('/v1/recordings/:id/redactions', privacyOrAdmin, async (req: Request, res: Response) => {
    const id = req.params.id;
    // An id that cannot exist is simply not found (no echo of the input).
    if (typeof id !== 'string' || !ULID.test(id)) throw errors.notFound('Recording');
    const parsed = body.safeParse(req.body ?? {});
    if (!parsed.success)
      throw errors.invalidRequest('Invalid request body', { extra: { fields: issues(parsed.error) } });
    const controller = new AbortController();
    const abort = () => {
      if (!res.writableFinished) controller.abort();
    };
    res.once('close', abort);
    try {
      const row = await redactRecording(deps, {
        recordingId: id,
        span: { startMs: parsed.data.startMs, endMs: parsed.data.endMs },
        reason: parsed.data.reason,
        principal: req.principal!,
        requestId: req.id,
        temp,
        signal: controller.signal,
      });
      res.setHeader('Cache-Control', 'private, no-store');
      res.status(201).json(toRecording(row));
    } finally {
      res.off('close', abort);
    }
  });
  return router;
}
