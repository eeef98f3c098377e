/**
 * Adapter, first half: `POST /v1/hooks/twilio/recording-status`, Twilio's recording status
 * callback (`recordingStatusCallback`, method POST, form-encoded). The second half, the worker
 * that fetches, stores and deletes at Twilio, is ./twilio-worker.ts.
 *
 * Contract:
 * - 404 `not_found` while no Twilio account is configured (CALLREC_TWILIO_ACCOUNT_SID and
 *   CALLREC_TWILIO_AUTH_TOKEN).
 * - 415 `unsupported_media_type` unless the body is `application/x-www-form-urlencoded`; 413 above 64 KiB.
 * - `X-Twilio-Signature` is checked as Twilio documents it (./twilio-signature.ts) over
 *   CALLREC_PUBLIC_URL + the path and query this request came in on, and every POST parameter:
 *   401 `invalid_signature` otherwise, logged as the security event `twilio_signature_invalid`
 *   (request id and client address only). Nothing is queued.
 * - Signed, but a field at fault or another account's AccountSid: 400 `invalid_metadata` naming
 *   the fields (never their values). Parameters this version does not use are ignored: Twilio
 *   adds parameters over time and signs them all.
 * - `RecordingStatus` other than `completed` (in-progress, absent, failed): 204, nothing queued.
 * - `completed`: the job is written to the job table (one row per RecordingSid; a replayed
 *   callback finds the row and adds none) and only then answered 202 `{recordingSid, status}`.
 *   A database failure answers 503 (Twilio's callback then fails; nothing half-written stays).
 */
import express, { Router } from 'express';
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { Config } from '../../config.js';
import { enqueueTwilioJob } from '../../db/twilio-jobs.js';
import type { NewTwilioJob } from '../../db/twilio-jobs.js';
import { errors } from '../../errors.js';
import type { FieldProblem } from '../../errors.js';
import { sendProblem, toAppError } from '../../http/problem.js';
import { dbError } from '../db-failure.js';
import type { IngestAdapter, IngestRuntime } from '../service.js';
import { parseRfc2822, verifyTwilioSignature } from './twilio-signature.js';
import type { TwilioParams } from './twilio-signature.js';

export const TWILIO_HOOK_PATH = '/v1/hooks/twilio/recording-status';
/** The source every Twilio recording is stored under (its callId is the RecordingSid). */
export const TWILIO_SOURCE = 'twilio';

const SID = (prefix: string) =>
  z.string().regex(new RegExp(`^${prefix}[0-9a-fA-F]{32}$`), `expects a ${prefix} SID (${prefix} and 32 hex digits)`);

/** The callback parameters callrec reads (the OpenAPI request schema too); any other is ignored. */
export const twilioCallbackSchema = z.object({
  AccountSid: SID('AC'),
  CallSid: SID('CA'),
  RecordingSid: SID('RE'),
  RecordingUrl: z.string().min(1).max(2048).describe('Fetched (+ `.wav`) only from CALLREC_TWILIO_API_BASE'),
  RecordingStatus: z.string().min(1).max(32).describe('Only `completed` queues an import; others are answered 204'),
  RecordingStartTime: z
    .string()
    .min(1)
    .max(64)
    .describe('RFC 2822, e.g. `Tue, 01 Dec 2026 14:03:07 +0000`; required when RecordingStatus is completed')
    .optional(),
  RecordingDuration: z
    .string()
    .regex(/^\d{1,7}$/, 'expects whole seconds')
    .optional(),
  RecordingChannels: z.enum(['1', '2'], { message: 'expects 1 or 2' }).optional(),
});

export type TwilioCallback = z.infer<typeof twilioCallbackSchema>;

/** The URL Twilio called and signed: CALLREC_PUBLIC_URL (without a trailing slash) + path and query. */
export function signedUrlOf(publicUrl: string, originalUrl: string): string {
  return publicUrl.replace(/\/+$/, '') + originalUrl;
}

/** The job of a completed callback, or the fields at fault. */
export function twilioJobOf(
  params: Record<string, unknown>,
  accountSid: string,
): { ok: true; job: NewTwilioJob; completed: boolean } | { ok: false; problems: FieldProblem[] } {
  const strings: Record<string, string> = {};
  for (const [name, value] of Object.entries(params)) if (typeof value === 'string') strings[name] = value;
  const parsed = twilioCallbackSchema.safeParse(strings);
  const problems: FieldProblem[] = parsed.success
    ? []
    : parsed.error.issues.map((issue) => ({
        field: String(issue.path[0] ?? 'body'),
        message: issue.code === 'invalid_type' ? 'is required' : issue.message,
      }));
  if (!parsed.success) return { ok: false, problems };
  const p = parsed.data;
  if (p.AccountSid !== accountSid)
    return { ok: false, problems: [{ field: 'AccountSid', message: 'is not the configured Twilio account' }] };
  const completed = p.RecordingStatus === 'completed';
  const startedAt = p.RecordingStartTime === undefined ? undefined : parseRfc2822(p.RecordingStartTime);
  if (completed && startedAt === undefined)
    return {
      ok: false,
      problems: [
        {
          field: 'RecordingStartTime',
          message: 'expects an RFC 2822 date-time such as Tue, 01 Dec 2026 14:03:07 +0000',
        },
      ],
    };
  return {
    ok: true,
    completed,
    job: {
      recording_sid: p.RecordingSid,
      account_sid: p.AccountSid,
      call_sid: p.CallSid,
      recording_url: p.RecordingUrl,
      started_at: startedAt ?? 0,
      duration_s: p.RecordingDuration === undefined ? null : Number(p.RecordingDuration),
      channels: p.RecordingChannels === undefined ? null : Number(p.RecordingChannels),
    },
  };
}

function twilioOf(config: Config) {
  return config.ingest.twilio && config.publicUrl
    ? { ...config.ingest.twilio, publicUrl: config.publicUrl }
    : undefined;
}

/** The callback route (see the module comment) on the shared ingest runtime. */
export function createTwilioHook(runtime: IngestRuntime): IngestAdapter & { router: Router } {
  const { deps } = runtime;
  const { config, logger, clock, db } = deps;
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 200, type: () => true });

  router.post(TWILIO_HOOK_PATH, (req: Request, res: Response) => {
    const twilio = twilioOf(config);
    const fail = (error: unknown) => {
      const problem = toAppError(error);
      if (problem.status >= 500)
        logger.error(
          { err: problem.cause ?? problem, code: problem.code, requestId: req.id },
          'twilio callback failed',
        );
      res.setHeader('Connection', 'close');
      sendProblem(res, problem);
    };
    if (!twilio)
      return fail(
        errors.notFound('Route', { detail: 'Twilio callbacks are not configured (CALLREC_TWILIO_ACCOUNT_SID)' }),
      );
    if (!req.is('application/x-www-form-urlencoded'))
      return fail(errors.unsupportedMediaType('Twilio callbacks are application/x-www-form-urlencoded'));
    form(req, res, (parseError?: unknown) => {
      if (parseError) return fail(parseError);
      void (async () => {
        const params = (req.body ?? {}) as Record<string, string | string[]>;
        const valid = verifyTwilioSignature({
          authToken: twilio.authToken,
          url: signedUrlOf(twilio.publicUrl, req.originalUrl),
          params: params as TwilioParams,
          header: req.get('x-twilio-signature'),
        });
        if (!valid) {
          logger.warn(
            {
              event: 'twilio_signature_invalid',
              reason: req.get('x-twilio-signature') ? 'signature_mismatch' : 'missing_signature',
              requestId: req.id,
              ip: req.ip,
            },
            'twilio callback refused',
          );
          throw errors.invalidSignature({ detail: 'X-Twilio-Signature does not match this request' });
        }
        const parsed = twilioJobOf(params, twilio.accountSid);
        if (!parsed.ok) throw errors.invalidMetadata(parsed.problems);
        if (!parsed.completed) {
          logger.info(
            { requestId: req.id, recordingSid: parsed.job.recording_sid },
            'twilio callback: recording not completed; nothing queued',
          );
          res.status(204).end();
          return;
        }
        const row = await enqueueTwilioJob(db.knex, parsed.job, clock.now()).catch((error: unknown) => {
          throw dbError(error);
        });
        logger.info(
          { requestId: req.id, recordingSid: row.recording_sid, status: row.status, attempts: row.attempts },
          'twilio import queued',
        );
        res.status(202).json({ recordingSid: row.recording_sid, status: row.status });
      })().catch(fail);
    });
  });

  return {
    router,
    async stop() {
      // Each callback is one short database write: nothing to drain.
    },
  };
}
