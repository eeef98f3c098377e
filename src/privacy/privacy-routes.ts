/**
 * The register of privacy requests (role `privacy` only; trainers, auditors and admins get 403):
 *
 * - `POST /v1/privacy-requests`                register a request → 201 with `dueAt`, `reference`, `status`, timeline
 * - `GET  /v1/privacy-requests`                the register: filters status/kind/from/to/phone, sort newest|due,
 * keyset cursor; `Accept: text/csv` gives CSV (every match without `limit`)
 * - `GET  /v1/privacy-requests/:id`            one request with its numbers and timeline
 * - `POST /v1/privacy-requests/:id/extend`     extend the deadline by 1 or 2 months, with a reason
 * - `POST /v1/privacy-requests/:id/close`      close with an outcome and a reason (required unless fulfilled)
 * - `GET  /v1/privacy-requests/:id/letter`     the answer to the subject, printable HTML (`?lang=nl|en`; letter.ts)
 *
 * List items and the CSV leave the phone numbers out (data minimisation: a register export
 * travels); a single request shows them. No route writes a number to the application log.
 */
import { Router } from 'express';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { createGuards } from '../auth/index.js';
import type { Principal } from '../domain/roles.js';
import type { AppDeps } from '../deps.js';
import { queryRegister } from '../db/privacy-requests.js';
import type { PrivacyRequestRow, RegisterQuery, RequestOutcome } from '../db/privacy-requests.js';
import { errors } from '../errors.js';
import type { FieldProblem } from '../errors.js';
import { normalizeBodyPhone, normalizeQueryPhone } from '../subjects/index.js';
import { CONTENT_SECURITY_POLICY } from '../http/security-headers.js';
import { LETTER_STYLE_HASH, renderLetter } from './letter.js';
import { closeRequest, createRequest, DUE_SOON_MS, extendRequest, getRequest, toPrivacyRequest } from './register.js';
import type { PrivacyRequest } from './register.js';
import {
  closeBodySchema,
  createRequestBodySchema,
  encodeRegisterCursor,
  extendBodySchema,
  REGISTER_PAGE_DEFAULT,
  letterQuerySchema,
  registerQuerySchema,
} from './schemas.js';
import { csvField, writeChunk } from '../http/csv.js';

/** The service's policy with the letter's one inline stylesheet allowed by its hash. */
const LETTER_CSP = CONTENT_SECURITY_POLICY.replace("style-src 'self'", `style-src 'self' ${LETTER_STYLE_HASH}`);

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const CSV_PAGE = 500;

const CSV_COLUMNS: Array<keyof PrivacyRequest> = [
  'id',
  'reference',
  'kind',
  'channel',
  'identityVerified',
  'caseReference',
  'receivedAt',
  'dueAt',
  'extensionMonths',
  'status',
  'daysLeft',
  'outcome',
  'closeReason',
  'closedAt',
  'closedBy',
  'createdBy',
  'createdAt',
];

const csvLine = (item: PrivacyRequest) => `${CSV_COLUMNS.map((c) => csvField(item[c])).join(',')}\r\n`;

function fields(error: z.ZodError): FieldProblem[] {
  return error.issues.map((i) => ({
    field: i.path.length ? i.path.join('.') : ((i as { keys?: string[] }).keys?.join(',') ?? 'body'),
    message: i.message,
  }));
}

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) throw errors.invalidRequest('Invalid request body', { extra: { fields: fields(parsed.error) } });
  return parsed.data;
}

function principalOf(req: Request): Principal {
  return req.principal!;
}

function requestIdParam(req: Request): string {
  const id = req.params.id;
  if (typeof id !== 'string' || !ULID.test(id)) throw errors.notFound('Privacy request');
  return id;
}

export function createPrivacyRouter(deps: AppDeps): Router {
  const router = Router();
  const privacy = createGuards(deps).requireRole('privacy');
  const region = deps.config.phoneRegion;

  router.post('/v1/privacy-requests', privacy, async (req: Request, res: Response) => {
    const body = parseBody(createRequestBodySchema, req.body);
    const numbers = [
      normalizeBodyPhone(body.phone, region, 'phone'),
      ...(body.additionalPhones ?? []).map((p, i) => normalizeBodyPhone(p, region, `additionalPhones.${i}`)),
    ];
    const detail = await createRequest(deps, {
      principal: principalOf(req),
      input: {
        kind: body.kind,
        numbers,
        receivedAt: body.receivedAt,
        channel: body.channel,
        identityVerified: body.identityVerified,
        caseReference: body.caseReference,
      },
    });
    res.status(201).setHeader('Location', `/v1/privacy-requests/${detail.id}`);
    res.setHeader('Cache-Control', 'private, no-store');
    res.json(detail);
  });

  router.get('/v1/privacy-requests', privacy, async (req: Request, res: Response) => {
    const parsed = registerQuerySchema.safeParse(req.query);
    if (!parsed.success) throw errors.invalidQuery(fields(parsed.error));
    const q = parsed.data;
    const number = q.phone === undefined ? undefined : normalizeQueryPhone(q.phone, region);
    const order = q.sort ?? 'newest';
    const now = deps.clock.now();
    const base: Omit<RegisterQuery, 'after' | 'limit'> = {
      status: q.status,
      kind: q.kind,
      from: q.from,
      to: q.to,
      number,
      now,
      dueSoonMs: DUE_SOON_MS,
      order,
    };
    const keyOf = (row: PrivacyRequestRow) =>
      encodeRegisterCursor(order === 'newest' ? row.received_at : row.due_at, row.seq);
    const wantsCsv = req.accepts(['application/json', 'text/csv']) === 'text/csv';
    res.setHeader('Cache-Control', 'private, no-store');

    if (wantsCsv && q.limit === undefined) {
      res
        .status(200)
        .type('text/csv; charset=utf-8')
        .setHeader('Content-Disposition', 'attachment; filename="privacy-requests.csv"');
      if (!(await writeChunk(res, `${CSV_COLUMNS.join(',')}\r\n`))) return;
      let after = q.cursor;
      for (;;) {
        const rows = await queryRegister(deps.db.knex, { ...base, after, limit: CSV_PAGE });
        const text = rows.map((r) => csvLine(toPrivacyRequest(r, now))).join('');
        if (text && !(await writeChunk(res, text))) return;
        if (rows.length < CSV_PAGE) break;
        const last = rows[rows.length - 1]!;
        after = { time: order === 'newest' ? last.received_at : last.due_at, seq: last.seq };
      }
      res.end();
      return;
    }

    const limit = q.limit ?? REGISTER_PAGE_DEFAULT;
    const rows = await queryRegister(deps.db.knex, { ...base, after: q.cursor, limit: limit + 1 });
    const page = rows.slice(0, limit);
    const nextCursor = rows.length > limit ? keyOf(page[page.length - 1]!) : null;
    const items = page.map((r) => toPrivacyRequest(r, now));
    if (wantsCsv) {
      if (nextCursor) res.setHeader('X-Next-Cursor', nextCursor);
      res.type('text/csv; charset=utf-8').send(`${CSV_COLUMNS.join(',')}\r\n${items.map(csvLine).join('')}`);
      return;
    }
    res.json({ items, nextCursor });
  });

  router.get('/v1/privacy-requests/:id', privacy, async (req: Request, res: Response) => {
    const detail = await getRequest(deps, requestIdParam(req));
    res.setHeader('Cache-Control', 'private, no-store');
    res.json(detail);
  });

  router.post('/v1/privacy-requests/:id/extend', privacy, async (req: Request, res: Response) => {
    const id = requestIdParam(req);
    const body = parseBody(extendBodySchema, req.body);
    const detail = await extendRequest(deps, {
      id,
      principal: principalOf(req),
      months: body.months,
      reason: body.reason,
    });
    res.setHeader('Cache-Control', 'private, no-store');
    res.json(detail);
  });

  router.post('/v1/privacy-requests/:id/close', privacy, async (req: Request, res: Response) => {
    const id = requestIdParam(req);
    const body = parseBody(closeBodySchema, req.body);
    const detail = await closeRequest(deps, {
      id,
      principal: principalOf(req),
      outcome: body.outcome as RequestOutcome,
      reason: body.reason,
    });
    res.setHeader('Cache-Control', 'private, no-store');
    res.json(detail);
  });

  router.get('/v1/privacy-requests/:id/letter', privacy, async (req: Request, res: Response) => {
    const id = requestIdParam(req);
    const parsed = letterQuerySchema.safeParse(req.query);
    if (!parsed.success) throw errors.invalidQuery(fields(parsed.error));
    const detail = await getRequest(deps, id);
    const html = renderLetter({ request: detail, lang: parsed.data.lang ?? 'nl', now: deps.clock.now() });
    res.setHeader('Content-Security-Policy', LETTER_CSP);
    res.setHeader('Cache-Control', 'private, no-store');
    res.type('text/html; charset=utf-8').send(html);
  });

  return router;
}
