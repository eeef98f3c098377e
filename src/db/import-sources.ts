/**
 * The `import_sources` and `s3_imports` tables (see their migration): S3 drop-bucket sources and
 * the state of each source object. Claims are conditional updates on the row as it was read, so
 * several instances may list one source: exactly one of them takes an object.
 *
 * Inside a transaction, pass the transaction as `q` (SQLite has one connection).
 */
import type { Knex } from 'knex';

export type DropLayout = 'amazon-connect' | 'sidecar-json';
export const DROP_LAYOUTS = ['amazon-connect', 'sidecar-json'] as const satisfies readonly DropLayout[];

export interface ImportSourceRow {
  name: string;
  kind: 's3';
  endpoint: string | null;
  region: string;
  force_path_style: boolean;
  bucket: string;
  prefix: string;
  layout: DropLayout;
  delete_source: boolean;
  sidecar_wait_ms: number;
  secret_sha256: string;
  list_cursor: string | null;
  last_pass_at: number | null;
  last_pass_error: string | null;
  created_at: number;
  updated_at: number;
}

/**
 * `queued` (seen; waiting for its first try or for its backoff), `importing` (claimed),
 * `stored` (the recording is stored; the source object is not yet proven gone), `imported`
 * (stored, and the source object deleted and proven gone, or kept when the source keeps them),
 * `failed` (refused for good: the object stays, the reason is in last_error_code/last_error),
 * `vanished` (the object went away before it was stored: nothing was imported).
 */
export type ImportStatus = 'queued' | 'importing' | 'stored' | 'imported' | 'failed' | 'vanished';

export interface S3ImportRow {
  source: string;
  object_key: string;
  status: ImportStatus;
  etag: string;
  sidecar_etag: string | null;
  size: number;
  attempts: number;
  last_error_code: string | null;
  last_error: string | null;
  recording_id: string | null;
  claimed_by: string | null;
  claim_expires_at: number | null;
  next_attempt_at: number | null;
  created_at: number;
  updated_at: number;
}

const SOURCES = 'import_sources';
const IMPORTS = 's3_imports';

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

function normalizeSource(row: ImportSourceRow): ImportSourceRow {
  return {
    ...row,
    force_path_style: Boolean(row.force_path_style),
    delete_source: Boolean(row.delete_source),
    sidecar_wait_ms: Number(row.sidecar_wait_ms),
    last_pass_at: num(row.last_pass_at),
    created_at: Number(row.created_at),
    updated_at: Number(row.updated_at),
  };
}

function normalizeImport(row: S3ImportRow): S3ImportRow {
  return {
    ...row,
    size: Number(row.size),
    attempts: Number(row.attempts),
    claim_expires_at: num(row.claim_expires_at),
    next_attempt_at: num(row.next_attempt_at),
    created_at: Number(row.created_at),
    updated_at: Number(row.updated_at),
  };
}

/** Inserts a source; throws the database's unique violation when the name is taken. */
export async function insertImportSource(q: Knex | Knex.Transaction, row: ImportSourceRow): Promise<void> {
  await q(SOURCES).insert(row);
}

export async function listImportSources(q: Knex | Knex.Transaction): Promise<ImportSourceRow[]> {
  return ((await q(SOURCES).orderBy('name', 'asc')) as ImportSourceRow[]).map(normalizeSource);
}

export async function findImportSource(q: Knex | Knex.Transaction, name: string): Promise<ImportSourceRow | undefined> {
  const row = (await q(SOURCES).where({ name }).first()) as ImportSourceRow | undefined;
  return row && normalizeSource(row);
}

/** Removes a source and its import rows; false when there is none by that name. */
export async function deleteImportSource(q: Knex, name: string): Promise<boolean> {
  return q.transaction(async (trx) => {
    await trx(IMPORTS).where({ source: name }).del();
    return (await trx(SOURCES).where({ name }).del()) === 1;
  });
}

/** Sets the StartAfter key of the listing pass under way (null: the next pass starts over). */
export async function setListCursor(
  q: Knex | Knex.Transaction,
  options: { name: string; cursor: string | null; now: number },
): Promise<void> {
  await q(SOURCES).where({ name: options.name }).update({ list_cursor: options.cursor, updated_at: options.now });
}

/** Records the end of a listing pass and the problem code it ended with (null: none). */
export async function recordPass(
  q: Knex | Knex.Transaction,
  options: { name: string; error: string | null; now: number },
): Promise<void> {
  await q(SOURCES).where({ name: options.name }).update({ last_pass_at: options.now, last_pass_error: options.error });
}

/** The rows of these keys of `source`. */
export async function findImports(
  q: Knex | Knex.Transaction,
  source: string,
  keys: readonly string[],
): Promise<Map<string, S3ImportRow>> {
  const found = new Map<string, S3ImportRow>();
  // SQLite binds at most 999 variables per statement.
  for (let i = 0; i < keys.length; i += 500) {
    const rows = (await q(IMPORTS)
      .where({ source })
      .whereIn('object_key', keys.slice(i, i + 500))) as S3ImportRow[];
    for (const row of rows) found.set(row.object_key, normalizeImport(row));
  }
  return found;
}

/** Inserts a `queued` row unless the key has one. */
export async function insertQueuedImport(
  q: Knex | Knex.Transaction,
  row: Pick<S3ImportRow, 'source' | 'object_key' | 'etag' | 'sidecar_etag' | 'size'> & { now: number },
): Promise<void> {
  const { now, ...rest } = row;
  await q(IMPORTS)
    .insert({ ...rest, status: 'queued', attempts: 0, created_at: now, updated_at: now })
    .onConflict(['source', 'object_key'])
    .ignore();
}

/**
 * Claims the row for `owner` if it is still exactly as read (same status, claim and update
 * time): true when this caller took it. The object's current ETags are recorded with the claim.
 */
export async function claimImport(
  q: Knex | Knex.Transaction,
  read: Pick<S3ImportRow, 'source' | 'object_key' | 'status' | 'claimed_by' | 'updated_at'>,
  claim: { owner: string; leaseExpiresAt: number; now: number; etag: string; sidecarEtag: string | null; size: number },
): Promise<boolean> {
  const where: Record<string, unknown> = {
    source: read.source,
    object_key: read.object_key,
    status: read.status,
    updated_at: read.updated_at,
  };
  const query = q(IMPORTS).where(where);
  if (read.claimed_by === null) query.whereNull('claimed_by');
  else query.andWhere({ claimed_by: read.claimed_by });
  const updated = await query.update({
    status: read.status === 'stored' ? 'stored' : 'importing',
    claimed_by: claim.owner,
    claim_expires_at: claim.leaseExpiresAt,
    etag: claim.etag,
    sidecar_etag: claim.sidecarEtag,
    size: claim.size,
    updated_at: claim.now,
  });
  return updated === 1;
}

/** Updates `owner`'s claimed row (only while `owner` holds it); false when the claim was lost. */
export async function updateClaimedImport(
  q: Knex | Knex.Transaction,
  key: { source: string; objectKey: string; owner: string },
  changes: Partial<Omit<S3ImportRow, 'source' | 'object_key'>> & { updated_at: number },
): Promise<boolean> {
  const updated = await q(IMPORTS)
    .where({ source: key.source, object_key: key.objectKey, claimed_by: key.owner })
    .update(changes);
  return updated === 1;
}

/** Rows of `source` in these statuses (the claims to look after once a listing pass ends). */
export async function importsInStatus(
  q: Knex | Knex.Transaction,
  source: string,
  statuses: readonly ImportStatus[],
): Promise<S3ImportRow[]> {
  return ((await q(IMPORTS).where({ source }).whereIn('status', statuses)) as S3ImportRow[]).map(normalizeImport);
}

/** Every import row, newest change first, optionally of one source and status. */
export async function listImports(
  q: Knex | Knex.Transaction,
  options: { source?: string; status?: ImportStatus; limit: number },
): Promise<S3ImportRow[]> {
  const query = q(IMPORTS)
    .orderBy([
      { column: 'updated_at', order: 'desc' },
      { column: 'object_key', order: 'asc' },
    ])
    .limit(options.limit);
  if (options.source) query.where({ source: options.source });
  if (options.status) query.where({ status: options.status });
  return ((await query) as S3ImportRow[]).map(normalizeImport);
}
