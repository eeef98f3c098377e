/**
 * The hash-chained deletion log: building entries, appending them under the
 * log's lock, and verifying the chain.
 *
 * Each entry's `hash` is `sha256(prevHash ‖ canonicalJson(entry without hash))`
 * in lowercase hex, where the entry is exactly the object the audit API shows
 * (ISO 8601 UTC timestamps with milliseconds, `objects` as [{key, sha256,
 * sizeBytes}]) minus its `hash`. The first entry's prevHash is 64 zeros. An
 * auditor can therefore recompute every hash from the API output alone.
 *
 * An entry holds no phone numbers, names or audio: ids, keys, digests, sizes, times.
 */
import crypto, { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { Db } from '../db/db.js';
import { insertLogRows, lockDeletionLog, readLogHead } from '../db/deletion-log.js';
import type { DeletionLogRow, DeletionReason } from '../db/deletion-log.js';
import { canonicalJson } from './canonical-json.js';

export const GENESIS_HASH = '0'.repeat(64);

export interface DeletedObject {
  key: string;
  sha256: string;
  sizeBytes: number;
}

export interface DeletionEntry {
  seq: number;
  recordingId: string;
  source: string;
  callId: string;
  reason: DeletionReason;
  actor: string;
  reference: string | null;
  startedAt: string;
  expiresAt: string;
  deletedAt: string;
  objects: DeletedObject[];
  verified: boolean;
  prevHash: string;
  hash: string;
  /**
   * Present (true) when the deletion destroyed the recording's data key in the same
   * transaction (crypto-shredding): every copy of its objects (replicas, versions, backups)
   * became undecryptable. Absent on entries of recordings stored in plaintext and on entries
   * written before encryption existed (their hashes are unchanged).
   */
  keyShredded?: boolean;
  /** The key-encryption key that had wrapped the destroyed data key (with `keyShredded`). */
  kekId?: string | null;
  /**
   * A `redaction` entry's silenced span (ms from the call's start, end exclusive). Absent on
   * every other entry (their hashes are unchanged).
   */
  span?: RedactedSpan;
}

export interface RedactedSpan {
  startMs: number;
  endMs: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);
const pad3 = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

/**
 * `new Date(ms).toISOString()` for the years 0000–9999 without building a Date (the
 * verifier formats three per entry, millions of times); other values fall back to Date.
 * Civil-from-days after H. Hinnant's public-domain algorithm.
 */
export function fastIso(ms: number): string {
  if (!Number.isInteger(ms) || ms < -62_167_219_200_000 || ms > 253_402_300_799_999) return iso(ms);
  const days = Math.floor(ms / 86_400_000);
  let rest = ms - days * 86_400_000;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = Math.floor(rest / 1000);
  const milli = rest - s * 1000;
  return (
    `${String(year).padStart(4, '0')}-${pad2(month)}-${pad2(day)}` + `T${pad2(h)}:${pad2(m)}:${pad2(s)}.${pad3(milli)}Z`
  );
}

export function rowToEntry(row: DeletionLogRow): DeletionEntry {
  return {
    seq: Number(row.seq),
    recordingId: row.recording_id,
    source: row.source,
    callId: row.call_id,
    reason: row.reason,
    actor: row.actor,
    reference: row.reference,
    startedAt: iso(Number(row.started_at)),
    expiresAt: iso(Number(row.expires_at)),
    deletedAt: iso(Number(row.deleted_at)),
    objects: JSON.parse(row.objects) as DeletedObject[],
    verified: Boolean(row.verified),
    prevHash: row.prev_hash,
    hash: row.hash,
    ...(row.key_shredded !== undefined && row.key_shredded !== null
      ? { keyShredded: Boolean(row.key_shredded), kekId: row.kek_id ?? null }
      : {}),
    ...(row.span !== undefined && row.span !== null ? { span: JSON.parse(row.span) as RedactedSpan } : {}),
  };
}

/**
 * sha256 of a text in lowercase hex: one-shot `crypto.hash` where Node has it (20.12+;
 * several times cheaper per call than a Hash object), `createHash` otherwise. Same digest.
 */
const sha256Hex: (text: string) => string =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (text) => crypto.hash('sha256', text, 'hex')
    : (text) => createHash('sha256').update(text).digest('hex');

/** The hash of an entry (its own `hash` member, if any, is ignored). */
export function hashEntry(entry: Omit<DeletionEntry, 'hash'> | DeletionEntry): string {
  const { hash: _ignored, ...body } = entry as DeletionEntry;
  return createHash('sha256').update(body.prevHash).update(canonicalJson(body)).digest('hex');
}

/**
 * The same hash computed straight from a stored row, without building objects: the
 * verifier's fast path. Equal to `hashEntry(rowToEntry(row))` whenever the stored
 * `objects` text is canonical (it is written canonical); any edit of it changes the hash.
 * Members are spelled out in canonical (sorted) order; `span` is written canonical too.
 */
export function hashRow(row: DeletionLogRow): string {
  const s = JSON.stringify;
  const text =
    `${row.prev_hash}{"actor":${s(row.actor)},"callId":${s(row.call_id)},` +
    `"deletedAt":"${fastIso(Number(row.deleted_at))}",` +
    `"expiresAt":"${fastIso(Number(row.expires_at))}",` +
    (row.key_shredded === undefined || row.key_shredded === null
      ? ''
      : `"kekId":${row.kek_id == null ? 'null' : s(row.kek_id)},` +
        `"keyShredded":${row.key_shredded ? 'true' : 'false'},`) +
    `"objects":${row.objects},"prevHash":${s(row.prev_hash)},` +
    `"reason":${s(row.reason)},"recordingId":${s(row.recording_id)},` +
    `"reference":${row.reference === null ? 'null' : s(row.reference)},` +
    `"seq":${Number(row.seq)},"source":${s(row.source)},` +
    (row.span === undefined || row.span === null ? '' : `"span":${row.span},`) +
    `"startedAt":"${fastIso(Number(row.started_at))}",` +
    `"verified":${row.verified ? 'true' : 'false'}}`;
  return sha256Hex(text);
}

/** What the caller knows about a deletion; seq, hashes and the final deletedAt are assigned at append. */
export interface NewDeletion {
  recordingId: string;
  source: string;
  callId: string;
  reason: DeletionReason;
  actor: string;
  reference: string | null;
  startedAt: number;
  expiresAt: number;
  deletedAt: number;
  objects: DeletedObject[];
  verified: boolean;
  /** The data key destroyed in the same transaction (an encrypted recording), by the id of the key that wrapped it. */
  shreddedKey?: { kekId: string };
  /** A `redaction` entry's silenced span. */
  span?: RedactedSpan;
}

/**
 * Appends entries to the chain inside the caller's transaction `trx`: takes the log's
 * lock (see `lockDeletionLog`), reads the head, assigns seq = head + 1, … and hashes.
 * `deletedAt` never goes below the head's (monotone time even across instances whose
 * clocks differ). Atomic with whatever else `trx` does; a second entry for the same
 * recording violates the unique constraint and fails the transaction.
 *
 * The caller must not have read from the database in `trx` before this call on SQLite
 * unless it already wrote (a read first would pin a snapshot that may be stale).
 */
export async function appendDeletions(
  trx: Knex.Transaction,
  db: Pick<Db, 'client'>,
  deletions: NewDeletion[],
): Promise<DeletionLogRow[]> {
  if (deletions.length === 0) return [];
  await lockDeletionLog(trx, db.client);
  const head = await readLogHead(trx);
  let seq = head ? Number(head.seq) : 0;
  let prevHash = head?.hash ?? GENESIS_HASH;
  let lastDeletedAt = head ? Number(head.deleted_at) : 0;
  const rows: DeletionLogRow[] = [];
  for (const d of deletions) {
    seq += 1;
    lastDeletedAt = Math.max(lastDeletedAt, d.deletedAt);
    const row: DeletionLogRow = {
      seq,
      recording_id: d.recordingId,
      source: d.source,
      call_id: d.callId,
      reason: d.reason,
      actor: d.actor,
      reference: d.reference,
      started_at: d.startedAt,
      expires_at: d.expiresAt,
      deleted_at: lastDeletedAt,
      objects: canonicalJson(d.objects.map((o) => ({ key: o.key, sha256: o.sha256, sizeBytes: o.sizeBytes }))),
      verified: d.verified,
      prev_hash: prevHash,
      hash: '',
      ...(d.shreddedKey ? { key_shredded: true, kek_id: d.shreddedKey.kekId } : {}),
      ...(d.span ? { span: canonicalJson({ startMs: d.span.startMs, endMs: d.span.endMs }) } : {}),
    };
    row.hash = hashRow(row);
    prevHash = row.hash;
    rows.push(row);
  }
  await insertLogRows(trx, rows);
  return rows;
}
