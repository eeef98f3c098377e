/**
 * `callrec imports list [--status …] [--adapter twilio|s3-drop] [--source s] [--limit N] [--json]`:
 * the imports of the platform adapters (Twilio callbacks, S3 drop-bucket objects; one lister
 * each in IMPORT_LISTERS), newest change first. Default: every job not done. stdout: a table (or
 * JSON lines with --json); rows carry ids and error codes, never numbers or URLs.
 *
 * `callrec imports retry <adapter> <externalId>`: puts a failed job back in the queue (due at
 * once, attempts from zero, at the step it failed at). Exit 1 when there is no such failed job.
 */
import { listTwilioJobs, retryTwilioJob } from '../db/twilio-jobs.js';
import type { ImportStatus as DropImportStatus } from '../db/import-sources.js';
import { listDropImports } from '../ingest/index.js';
import type { TwilioJobStatus } from '../db/twilio-jobs.js';
import type { CliCommand, CliContext } from './context.js';
import { parseCommandArgs } from './context.js';

/** One import job of any adapter, as `imports list` shows it. */
export interface ImportRow {
  /** `twilio`, … */
  adapter: string;
  /** The recording source it is stored under. */
  source: string;
  /** The platform's id of the recording (Twilio: RecordingSid). */
  externalId: string;
  /** pending (not stored yet), stored (the source copy still to delete), done, failed (gave up). */
  status: string;
  attempts: number;
  lastErrorCode: string | null;
  recordingId: string | null;
  /** ISO 8601 */
  updatedAt: string;
  /** Drop buckets: why the object was refused (problem fields and codes, never values). */
  lastError?: unknown;
}

/**
 * Twilio jobs: pending, stored, done, failed; drop-bucket objects: queued, importing, stored, imported, failed,
 * vanished.
 */
export const IMPORT_STATUSES = [
  'pending',
  'stored',
  'done',
  'failed',
  'queued',
  'importing',
  'imported',
  'vanished',
] as const;
const TWILIO_STATUSES: readonly string[] = ['pending', 'stored', 'done', 'failed'];
const DROP_STATUSES: readonly string[] = ['queued', 'importing', 'stored', 'imported', 'failed', 'vanished'];
/** What `imports list` shows without --status: everything not finished. */
const OPEN_STATUSES = 'pending,queued,importing,stored,failed';
export type ImportStatus = (typeof IMPORT_STATUSES)[number];

export type ImportLister = (
  ctx: Pick<CliContext, 'db'>,
  options: { statuses: readonly ImportStatus[]; limit: number; source?: string },
) => Promise<ImportRow[]>;

/** The Twilio import jobs as import rows. */
export const listTwilioImports: ImportLister = async (ctx, options) => {
  const statuses = options.statuses.filter((s) => TWILIO_STATUSES.includes(s)) as TwilioJobStatus[];
  if (statuses.length === 0 || (options.source !== undefined && options.source !== 'twilio')) return [];
  return (await listTwilioJobs(ctx.db.knex, { statuses, limit: options.limit })).map((job) => ({
    adapter: 'twilio',
    source: 'twilio',
    externalId: job.recording_sid,
    status: job.status,
    attempts: job.attempts,
    lastErrorCode: job.last_error_code,
    recordingId: job.recording_id,
    updatedAt: new Date(Number(job.updated_at)).toISOString(),
  }));
};

/** The drop-bucket objects (src/ingest/adapters/s3-drop.ts) as import rows. */
export const listDropBucketImports: ImportLister = async (ctx, options) => {
  const statuses = options.statuses.filter((s) => DROP_STATUSES.includes(s)) as DropImportStatus[];
  const lists = await Promise.all(
    statuses.map((status) => listDropImports(ctx.db, { source: options.source, status, limit: options.limit })),
  );
  return lists.flat();
};

/** One lister per adapter; `imports list` merges them. */
export const IMPORT_LISTERS: Record<string, ImportLister> = {
  twilio: listTwilioImports,
  's3-drop': listDropBucketImports,
};

/** Puts a failed job of `adapter` back in the queue; false when there is none. */
const RETRIERS: Record<string, (ctx: CliContext, externalId: string) => Promise<boolean>> = {
  twilio: (ctx, externalId) => retryTwilioJob(ctx.db.knex, { recordingSid: externalId, now: ctx.clock.now() }),
};

/** Every adapter's rows, newest change first, at most `limit`. */
export async function listImports(
  ctx: Pick<CliContext, 'db'>,
  options: { statuses: readonly ImportStatus[]; limit: number; source?: string; adapters?: readonly string[] },
): Promise<ImportRow[]> {
  const adapters = options.adapters ?? Object.keys(IMPORT_LISTERS);
  const rows = (await Promise.all(adapters.map((a) => IMPORT_LISTERS[a]!(ctx, options)))).flat();
  return rows.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt)).slice(0, options.limit);
}

const COLUMNS = ['adapter', 'externalId', 'status', 'attempts', 'lastErrorCode', 'recordingId', 'updatedAt'] as const;

function table(rows: readonly ImportRow[]): string[] {
  const cells = [[...COLUMNS], ...rows.map((r) => COLUMNS.map((c) => String(r[c] ?? '-')))];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  return cells.map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
}

export const importsCommand: CliCommand = {
  summary: 'import jobs of platform adapters: list [--status …] [--json], retry <adapter> <id>',
  async run(args, ctx) {
    const [sub, ...rest] = args;
    if (sub === 'list') {
      const { values, positionals } = parseCommandArgs(rest, {
        status: { type: 'string' },
        adapter: { type: 'string' },
        source: { type: 'string' },
        limit: { type: 'string' },
        json: { type: 'boolean' },
      });
      const statuses = (values.status ?? OPEN_STATUSES).split(',').map((s) => s.trim());
      const unknown = statuses.filter((s) => !(IMPORT_STATUSES as readonly string[]).includes(s));
      const limit = values.limit === undefined ? 100 : Number(values.limit);
      if (positionals.length > 0 || unknown.length > 0 || !Number.isInteger(limit) || limit < 1 || limit > 10_000) {
        ctx.err(`imports list: --status expects ${IMPORT_STATUSES.join(', ')} (comma-separated), --limit 1 to 10000`);
        return 2;
      }
      if (values.adapter !== undefined && !IMPORT_LISTERS[values.adapter]) {
        ctx.err(`imports list: --adapter expects ${Object.keys(IMPORT_LISTERS).join(', ')}`);
        return 2;
      }
      const rows = await listImports(ctx, {
        statuses: statuses as ImportStatus[],
        limit,
        ...(values.source ? { source: values.source } : {}),
        ...(values.adapter ? { adapters: [values.adapter] } : {}),
      });
      if (values.json) for (const row of rows) ctx.out(JSON.stringify(row));
      else for (const line of table(rows)) ctx.out(line);
      ctx.err(`imports: ${rows.length} job(s)`);
      return 0;
    }
    if (sub === 'retry') {
      const [adapter, externalId, ...extra] = rest;
      const retry = adapter ? RETRIERS[adapter] : undefined;
      if (!retry || !externalId || extra.length > 0) {
        ctx.err(`usage: callrec imports retry <${Object.keys(RETRIERS).join('|')}> <externalId>`);
        return 2;
      }
      if (!(await retry(ctx, externalId))) {
        ctx.err(`imports retry: no failed ${adapter} job ${externalId}`);
        return 1;
      }
      ctx.err(`imports retry: ${adapter} ${externalId} queued again`);
      return 0;
    }
    ctx.err(
      'usage: callrec imports list [--status pending,stored,failed,done,…] [--adapter a] [--source s] [--limit N] ' +
        '[--json]',
    );
    ctx.err('       callrec imports retry <adapter> <externalId>');
    return 2;
  },
};
