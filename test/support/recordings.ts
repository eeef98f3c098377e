/**
 * Test builder: a stored recording created directly through the database and
 * the object store (no ingest, no ffmpeg). Objects are written first, then the
 * row, like the real ingest does. Every field can be overridden.
 *
 *   const rec = await createStoredRecording({ db, store, overrides: { expires_at: now - 1 } });
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { ulid } from 'ulid';
import type { Db } from '../../src/db/db.js';
import { insertRecording } from '../../src/db/recordings.js';
import type { NewRecordingRow, RecordingRow } from '../../src/db/recordings.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { recordingKey } from '../../src/storage/keys.js';

const DAY_MS = 86_400_000;

export interface StoredRecordingOverrides extends Partial<RecordingRow> {
  /** Bytes of the original object (default: 64 random bytes). */
  originalBody?: Buffer;
  /** Bytes of the playback object (default: 32 random bytes). */
  playbackBody?: Buffer;
  /** Tags put on both objects (default: `{ retention: '30d' }`). */
  tags?: Record<string, string>;
  /** When false, the objects are not written (a row pointing at nothing: lifecycle-expired). Default true. */
  writeObjects?: boolean;
}

export interface StoredRecording {
  row: RecordingRow;
  originalBody: Buffer;
  playbackBody: Buffer;
  keys: string[];
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let callCounter = 0;

/** Builds a NewRecordingRow plus bodies without touching db or store. */
export function buildRecordingRow(overrides: StoredRecordingOverrides = {}): {
  row: RecordingRow;
  originalBody: Buffer;
  playbackBody: Buffer;
} {
  const { originalBody: ob, playbackBody: pb, tags: _tags, writeObjects: _w, ...rowOverrides } = overrides;
  const originalBody = ob ?? randomBytes(64);
  const playbackBody = pb ?? randomBytes(32);
  const id = rowOverrides.id ?? ulid();
  const startedAt = rowOverrides.started_at ?? Date.now() - DAY_MS;
  callCounter += 1;
  const row: RecordingRow = {
    id,
    source: 'pbx-test',
    call_id: `call-${id}-${callCounter}`,
    started_at: startedAt,
    duration_ms: 4_000,
    agent_id: 'agent-1',
    queue: 'support',
    direction: 'inbound',
    caller_number: '+31201234567',
    callee_number: '+31207654321',
    ended_at: null,
    caller_number_kind: 'e164',
    callee_number_kind: 'e164',
    agent_channel: null,
    call_group_id: null,
    case_reference: null,
    flag_silent: false,
    flag_one_way: false,
    original_key: recordingKey({ id, startedAt: new Date(startedAt), name: 'original', ext: 'wav' }),
    original_sha256: sha256(originalBody),
    original_size: originalBody.length,
    original_codec: 'pcm_s16le',
    original_content_type: 'audio/wav',
    original_sample_rate: 8000,
    original_channels: 1,
    playback_key: recordingKey({ id, startedAt: new Date(startedAt), name: 'playback', ext: 'opus' }),
    playback_format: 'opus',
    playback_content_type: 'audio/ogg',
    playback_size: playbackBody.length,
    playback_sha256: sha256(playbackBody),
    waveform: null,
    expires_at: startedAt + 30 * DAY_MS,
    legal_hold: false,
    hold_reason: null,
    hold_by: null,
    hold_at: null,
    status: 'stored',
    claimed_by: null,
    claim_expires_at: null,
    delete_attempts: 0,
    next_attempt_at: null,
    last_error: null,
    created_at: startedAt,
    ...rowOverrides,
  };
  return { row, originalBody, playbackBody };
}

/** The columns `insertRecording` does not take, applied by a follow-up update when overridden. */
const STATE_COLUMNS = [
  'status',
  'claimed_by',
  'claim_expires_at',
  'delete_attempts',
  'next_attempt_at',
  'last_error',
  'legal_hold',
  'hold_reason',
  'hold_by',
  'hold_at',
] as const;

/**
 * Writes the original and playback objects (unless `writeObjects: false`), then inserts the row
 * (and applies overridden state columns such as `legal_hold`). Returns the row as stored.
 */
export async function createStoredRecording(options: {
  db: Db;
  store: ObjectStore;
  overrides?: StoredRecordingOverrides;
}): Promise<StoredRecording> {
  const overrides = options.overrides ?? {};
  const { row, originalBody, playbackBody } = buildRecordingRow(overrides);
  const tags = overrides.tags ?? { retention: '30d' };
  if (overrides.writeObjects !== false) {
    await options.store.put(row.original_key, Readable.from([originalBody]), {
      contentType: row.original_content_type,
      contentLength: originalBody.length,
      tags,
    });
    await options.store.put(row.playback_key, Readable.from([playbackBody]), {
      contentType: row.playback_content_type,
      contentLength: playbackBody.length,
      tags,
    });
  }
  const insert: Record<string, unknown> = { ...row };
  for (const column of STATE_COLUMNS) delete insert[column];
  await insertRecording(options.db.knex, insert as NewRecordingRow);
  const state: Record<string, unknown> = {};
  for (const column of STATE_COLUMNS) if (overrides[column] !== undefined) state[column] = overrides[column];
  if (Object.keys(state).length > 0) await options.db.knex('recordings').where({ id: row.id }).update(state);
  return { row, originalBody, playbackBody, keys: [row.original_key, row.playback_key] };
}

/**
 * Inserts many rows fast (objects optional, written with bounded concurrency), in insert batches of
 * ≤ 500 rows (SQLite's compound-select cap).
 */
export async function createStoredRecordings(options: {
  db: Db;
  store: ObjectStore;
  count: number;
  overrides?: (i: number) => StoredRecordingOverrides;
  concurrency?: number;
}): Promise<RecordingRow[]> {
  const built = Array.from({ length: options.count }, (_, i) => {
    const o = options.overrides?.(i) ?? {};
    return { ...buildRecordingRow(o), writeObjects: o.writeObjects !== false };
  });
  const concurrency = options.concurrency ?? 16;
  let next = 0;
  const worker = async () => {
    while (next < built.length) {
      const b = built[next++]!;
      if (!b.writeObjects) continue;
      await options.store.put(b.row.original_key, Readable.from([b.originalBody]), {
        contentType: b.row.original_content_type,
        contentLength: b.originalBody.length,
        tags: { retention: '30d' },
      });
      await options.store.put(b.row.playback_key, Readable.from([b.playbackBody]), {
        contentType: b.row.playback_content_type,
        contentLength: b.playbackBody.length,
        tags: { retention: '30d' },
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  for (let i = 0; i < built.length; i += 500) {
    await options.db.knex('recordings').insert(built.slice(i, i + 500).map((b) => b.row));
  }
  return built.map((b) => b.row);
}
