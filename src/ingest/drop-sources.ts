/**
 * S3 drop-bucket sources as the CLI manages them: add (a generated webhook secret, returned
 * once, stored as its sha256), list (never a secret or its hash), remove (with its import rows;
 * recordings stay), and the import rows as `imports list` shows them.
 */
import { randomBytes } from 'node:crypto';
import { parseDuration } from '../config.js';
import type { Config } from '../config.js';
import type { Db } from '../db/db.js';
import {
  DROP_LAYOUTS,
  deleteImportSource,
  insertImportSource,
  listImportSources,
  listImports,
} from '../db/import-sources.js';
import type { DropLayout, ImportSourceRow, ImportStatus } from '../db/import-sources.js';
import { isUniqueViolation } from '../db/recordings.js';
import { errors } from '../errors.js';
import type { FieldProblem } from '../errors.js';
import { sha256Hex } from './adapters/s3-drop.js';

const SOURCE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export interface NewDropSource {
  name: string;
  endpoint?: string;
  region?: string;
  bucket: string;
  prefix?: string;
  layout: string;
  deleteSource: boolean;
  pathStyle?: string;
  sidecarWait?: string;
}

/** One import as `callrec imports list` shows it (the shape every import adapter lists). */
export interface ImportListRow {
  adapter: string;
  source: string;
  externalId: string;
  status: string;
  attempts: number;
  lastErrorCode: string | null;
  recordingId: string | null;
  /** ISO 8601 */
  updatedAt: string;
}

/** A drop-bucket import: the common row, plus the problem (code, title, detail, fields; never values). */
export interface DropImportListRow extends ImportListRow {
  lastError: unknown;
}

/** Validates and stores a source; returns the webhook secret (shown once). 400 invalid_request on bad options. */
export async function addDropSource(
  deps: { db: Db; config: Config; now: number },
  input: NewDropSource,
): Promise<{ source: ImportSourceRow; secret: string }> {
  const problems: FieldProblem[] = [];
  if (!SOURCE_NAME.test(input.name)) problems.push({ field: 'name', message: 'expects 1-64 of A-Z a-z 0-9 . _ -' });
  if (input.name in deps.config.ingest.sources)
    problems.push({ field: 'name', message: 'is a source id of CALLREC_INGEST_SOURCES already' });
  if (!BUCKET.test(input.bucket)) problems.push({ field: 'bucket', message: 'expects an S3 bucket name' });
  if (!(DROP_LAYOUTS as readonly string[]).includes(input.layout))
    problems.push({ field: 'layout', message: `expects ${DROP_LAYOUTS.join(' or ')}` });
  if (input.endpoint !== undefined) {
    let ok: boolean;
    try {
      ok = ['http:', 'https:'].includes(new URL(input.endpoint).protocol);
    } catch {
      ok = false;
    }
    if (!ok) problems.push({ field: 'endpoint', message: 'expects an absolute http(s) URL' });
  }
  const prefix = input.prefix ?? '';
  if (prefix.length > 512 || prefix.startsWith('/'))
    problems.push({ field: 'prefix', message: 'expects a key prefix' });
  if (input.pathStyle !== undefined && !['true', 'false'].includes(input.pathStyle))
    problems.push({ field: 'path-style', message: 'expects true or false' });
  const sidecarWaitMs = input.sidecarWait === undefined ? 0 : parseDuration(input.sidecarWait);
  if (sidecarWaitMs === undefined) problems.push({ field: 'sidecar-wait', message: 'expects a duration such as 2m' });
  if (problems.length > 0) throw errors.invalidRequest(problems.map((p) => `--${p.field} ${p.message}`).join('; '));
  const secret = `crs_${randomBytes(32).toString('base64url')}`;
  const source: ImportSourceRow = {
    name: input.name,
    kind: 's3',
    endpoint: input.endpoint ?? null,
    region: input.region ?? 'us-east-1',
    force_path_style: (input.pathStyle ?? 'true') === 'true',
    bucket: input.bucket,
    prefix,
    layout: input.layout as DropLayout,
    delete_source: input.deleteSource,
    sidecar_wait_ms: sidecarWaitMs ?? 0,
    secret_sha256: sha256Hex(secret),
    list_cursor: null,
    last_pass_at: null,
    last_pass_error: null,
    created_at: deps.now,
    updated_at: deps.now,
  };
  try {
    await insertImportSource(deps.db.knex, source);
  } catch (error) {
    if (isUniqueViolation(error)) throw errors.conflict(`An import source named ${input.name} exists`);
    throw error;
  }
  return { source, secret };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The sources, without secrets. */
export async function listDropSources(db: Db): Promise<Array<Record<string, unknown>>> {
  return (await listImportSources(db.knex)).map((s) => ({
    name: s.name,
    kind: s.kind,
    endpoint: s.endpoint,
    region: s.region,
    bucket: s.bucket,
    prefix: s.prefix,
    layout: s.layout,
    deleteSource: s.delete_source,
    pathStyle: s.force_path_style,
    sidecarWaitMs: s.sidecar_wait_ms,
    lastPassAt: iso(s.last_pass_at),
    lastPassError: s.last_pass_error,
  }));
}

export async function removeDropSource(db: Db, name: string): Promise<void> {
  if (!(await deleteImportSource(db.knex, name))) throw errors.notFound('Import source');
}

/** Drop-bucket imports, newest change first. */
export async function listDropImports(
  db: Db,
  options: { source?: string; status?: ImportStatus; limit?: number } = {},
): Promise<DropImportListRow[]> {
  const rows = await listImports(db.knex, { ...options, limit: options.limit ?? 1000 });
  return rows.map((r) => ({
    adapter: 's3-drop',
    source: r.source,
    externalId: r.object_key,
    status: r.status,
    attempts: r.attempts,
    lastErrorCode: r.last_error_code,
    recordingId: r.recording_id,
    updatedAt: new Date(r.updated_at).toISOString(),
    lastError: r.last_error === null ? null : (JSON.parse(r.last_error) as unknown),
  }));
}
