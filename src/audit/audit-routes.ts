/**
 * The auditors' API (roles auditor and admin; auditors never reach audio):
 *
 * - `GET /v1/deletions?from=&to=&reason=&source=&recordingId=&cursor=&limit=` → `{items, nextCursor}`, oldest first;
 *   with `Accept: text/csv` the same entries as CSV (header row; `objects` as JSON text). A CSV
 *   request without `limit` streams every matching entry from the cursor on, page by page; with
 *   `limit` it is one page and the next cursor is in `X-Next-Cursor`. `format=csv` asks for CSV too
 *   (the web console's download links).
 * - `GET /v1/deletions/verify` → `{ok, count, headHash, firstInvalidSeq, problem, checkpoints, external}`: the chain,
 *   the stored checkpoints and the checkpoints published in the object store (503 `store_unavailable`
 *   when the store cannot be listed: the log is not declared valid without its external copies).
 * - `GET /v1/deletions/checkpoints` → `{publicKey (SPKI PEM), keyId, items}`: the signed checkpoints
 *   an auditor can keep to detect later rewriting or truncation.
 * - `GET /v1/access-log?from=&to=&recordingId=&user=&action=&cursor=&limit=` → `{items, nextCursor}` (CSV too).
 *
 * Times in queries are an RFC 3339 date (UTC midnight) or date-time with an offset; `from` is
 * inclusive, `to` exclusive. A cursor is the seq (deletions) or id (access log) after which the
 * page starts. Entries hold no phone numbers, names or audio.
 */
import { Router } from 'express';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { USERNAME_PATTERN } from '../auth/index.js';
import { createGuards } from '../auth/index.js';
import type { AppDeps } from '../deps.js';
import { ACCESS_ACTIONS, queryAccess } from '../db/access-log.js';
import type { AccessAction, AccessEntry } from '../db/access-log.js';
import { DELETION_REASONS, queryDeletionRows } from '../db/deletion-log.js';
import type { DeletionQuery } from '../db/deletion-log.js';
import { errors } from '../errors.js';
import { storeErrorToAppError } from '../http/store-errors.js';
import { storeErrorCode } from '../storage/store-errors.js';
import type { FieldProblem } from '../errors.js';
import { isoInstant, wholeNumber } from '../http/request-schemas.js';
import { allCheckpoints } from './checkpoints.js';
import { loadCheckpointKey } from './checkpoint-key.js';
import { rowToEntry } from './deletion-log.js';
import type { DeletionEntry } from './deletion-log.js';
import { verifyDeletionLog } from './verify.js';
import { csvField, writeChunk } from '../http/csv.js';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
const CSV_PAGE = 1000;

const limit = wholeNumber(1, MAX_LIMIT);
/** The position after which a page starts: the seq (deletions) or id (access log) of the previous page's last entry. */
const cursor = z
  .string()
  .regex(/^[0-9]{1,15}$/, 'expects a cursor returned by a previous page')
  .transform(Number)
  .describe('`nextCursor` of the previous page');
const encodeCursor = (n: number) => String(n);
/** `format=csv` asks for CSV as `Accept: text/csv` does (a plain download link cannot set Accept). */
const csvFormat = z
  .enum(['csv'], { message: 'expects csv' })
  .optional()
  .describe('`csv`: answer as CSV, as with `Accept: text/csv` (for download links)');

export const deletionQuerySchema = z.strictObject({
  from: isoInstant.optional(),
  to: isoInstant.optional(),
  reason: z
    .enum(DELETION_REASONS as [string, ...string[]], { message: `expects one of ${DELETION_REASONS.join(', ')}` })
    .optional(),
  recordingId: z
    .string()
    .regex(/^[0-9A-Za-z]{1,26}$/, 'expects a recording id')
    .optional(),
  source: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'expects a source id of [A-Za-z0-9._-]')
    .optional()
    .describe('The ingest source the recording came from'),
  cursor: cursor.optional(),
  limit: limit.optional(),
  format: csvFormat,
});

export const accessQuerySchema = z.strictObject({
  from: isoInstant.optional(),
  to: isoInstant.optional(),
  recordingId: z
    .string()
    .regex(/^[0-9A-Za-z]{1,26}$/, 'expects a recording id')
    .optional(),
  user: z.string().regex(USERNAME_PATTERN, 'expects a username').optional(),
  action: z.enum(ACCESS_ACTIONS, { message: `expects one of ${ACCESS_ACTIONS.join(', ')}` }).optional(),
  cursor: cursor.optional(),
  limit: limit.optional(),
  format: csvFormat,
});

function parseQuery<T extends z.ZodType>(schema: T, req: Request): z.output<T> {
  const parsed = schema.safeParse(req.query);
  if (!parsed.success) {
    const fields: FieldProblem[] = parsed.error.issues.map((i) => ({
      field: i.path.length ? i.path.join('.') : ((i as { keys?: string[] }).keys?.join(',') ?? ''),
      message: i.message,
    }));
    throw errors.invalidQuery(fields);
  }
  return parsed.data;
}

const DELETION_COLUMNS: Array<keyof DeletionEntry> = [
  'seq',
  'recordingId',
  'source',
  'callId',
  'reason',
  'actor',
  'reference',
  'startedAt',
  'expiresAt',
  'deletedAt',
  'objects',
  'verified',
  'prevHash',
  'hash',
  'keyShredded',
  'kekId',
  'span',
];
const ACCESS_COLUMNS: Array<keyof AccessEntry> = [
  'id',
  'at',
  'userId',
  'username',
  'role',
  'action',
  'recordingId',
  'requestId',
  'detail',
];

const csvLine = <T>(item: T, columns: Array<keyof T>) => `${columns.map((c) => csvField(item[c])).join(',')}\r\n`;

function wantsCsv(req: Request): boolean {
  return req.query.format === 'csv' || req.accepts(['application/json', 'text/csv']) === 'text/csv';
}

/** Streams pages as CSV until `fetchPage` returns fewer than a page (or the client leaves). */
async function streamCsv<T>(
  res: Response,
  options: {
    filename: string;
    columns: Array<keyof T>;
    fetchPage: (after: number | undefined) => Promise<T[]>;
    keyOf: (item: T) => number;
    start?: number;
  },
): Promise<void> {
  res
    .status(200)
    .type('text/csv; charset=utf-8')
    .setHeader('Content-Disposition', `attachment; filename="${options.filename}"`);
  res.setHeader('Cache-Control', 'no-store');
  if (!(await writeChunk(res, `${options.columns.join(',')}\r\n`))) return;
  let after = options.start;
  for (;;) {
    const page = await options.fetchPage(after);
    let text = '';
    for (const item of page) text += csvLine(item, options.columns);
    if (text && !(await writeChunk(res, text))) return;
    if (page.length < CSV_PAGE) break;
    after = options.keyOf(page[page.length - 1]!);
  }
  res.end();
}

export function createAuditRouter(deps: AppDeps): Router {
  const router = Router();
  const guard = createGuards(deps).requireRole('auditor', 'admin');

  router.get('/v1/deletions', guard, async (req, res) => {
    const q = parseQuery(deletionQuerySchema, req);
    const base: Omit<DeletionQuery, 'limit' | 'afterSeq'> = {
      from: q.from,
      to: q.to,
      reason: q.reason as DeletionQuery['reason'],
      recordingId: q.recordingId,
      source: q.source,
    };
    if (wantsCsv(req) && q.limit === undefined) {
      await streamCsv<DeletionEntry>(res, {
        filename: 'deletions.csv',
        columns: DELETION_COLUMNS,
        start: q.cursor,
        fetchPage: async (afterSeq) =>
          (await queryDeletionRows(deps.db.knex, { ...base, afterSeq, limit: CSV_PAGE })).map(rowToEntry),
        keyOf: (e) => e.seq,
      });
      return;
    }
    const pageSize = q.limit ?? DEFAULT_LIMIT;
    const rows = await queryDeletionRows(deps.db.knex, { ...base, afterSeq: q.cursor, limit: pageSize + 1 });
    const items = rows.slice(0, pageSize).map(rowToEntry);
    const nextCursor = rows.length > pageSize ? encodeCursor(items[items.length - 1]!.seq) : null;
    res.setHeader('Cache-Control', 'no-store');
    if (wantsCsv(req)) {
      if (nextCursor) res.setHeader('X-Next-Cursor', nextCursor);
      res
        .type('text/csv; charset=utf-8')
        .send(`${DELETION_COLUMNS.join(',')}\r\n${items.map((e) => csvLine(e, DELETION_COLUMNS)).join('')}`);
      return;
    }
    res.json({ items, nextCursor });
  });

  router.get('/v1/deletions/verify', guard, async (req, res) => {
    parseQuery(z.strictObject({}), req);
    const controller = new AbortController();
    const onClose = () => controller.abort();
    res.on('close', onClose);
    try {
      const key = loadCheckpointKey(deps.config.audit.checkpointKeyFile);
      let result;
      try {
        result = await verifyDeletionLog(deps.db, {
          publicKey: key.publicKey,
          signal: controller.signal,
          dbConfig: deps.config.db,
          store: deps.store,
        });
      } catch (error) {
        throw storeErrorCode(error) === undefined ? error : storeErrorToAppError(error);
      }
      if (!result.ok)
        deps.logger.warn(
          { firstInvalidSeq: result.firstInvalidSeq, problem: result.problem },
          'deletion log verification failed',
        );
      res.setHeader('Cache-Control', 'no-store');
      res.json(result);
    } finally {
      res.off('close', onClose);
    }
  });

  router.get('/v1/deletions/checkpoints', guard, async (req, res) => {
    parseQuery(z.strictObject({}), req);
    const key = loadCheckpointKey(deps.config.audit.checkpointKeyFile);
    res.setHeader('Cache-Control', 'no-store');
    res.json({ publicKey: key.publicKeyPem, keyId: key.keyId, items: await allCheckpoints(deps.db) });
  });

  router.get('/v1/access-log', guard, async (req, res) => {
    const q = parseQuery(accessQuerySchema, req);
    const base = {
      from: q.from,
      to: q.to,
      recordingId: q.recordingId,
      username: q.user,
      action: q.action as AccessAction | undefined,
    };
    if (wantsCsv(req) && q.limit === undefined) {
      await streamCsv<AccessEntry>(res, {
        filename: 'access-log.csv',
        columns: ACCESS_COLUMNS,
        start: q.cursor,
        fetchPage: (afterId) => queryAccess(deps.db.knex, { ...base, afterId, limit: CSV_PAGE }),
        keyOf: (e) => e.id,
      });
      return;
    }
    const pageSize = q.limit ?? DEFAULT_LIMIT;
    const rows = await queryAccess(deps.db.knex, { ...base, afterId: q.cursor, limit: pageSize + 1 });
    const items = rows.slice(0, pageSize);
    const nextCursor = rows.length > pageSize ? encodeCursor(items[items.length - 1]!.id) : null;
    res.setHeader('Cache-Control', 'no-store');
    if (wantsCsv(req)) {
      if (nextCursor) res.setHeader('X-Next-Cursor', nextCursor);
      res
        .type('text/csv; charset=utf-8')
        .send(`${ACCESS_COLUMNS.join(',')}\r\n${items.map((e) => csvLine(e, ACCESS_COLUMNS)).join('')}`);
      return;
    }
    res.json({ items, nextCursor });
  });

  return router;
}
