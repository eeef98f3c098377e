/**
 * Assertions of `callrec encrypt-existing` tests: what a finished run leaves in the store and the
 * database (test/contract/encrypt-existing.test.ts, test/crash/encrypt-existing-crash.test.ts).
 */
import { buffer } from 'node:stream/consumers';
import { expect } from 'chai';
import { hasMagic } from '../../src/storage/encrypted-format.js';
import { RECORDINGS_PREFIX } from '../../src/storage/keys.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import type { TestDb } from './backends.js';
import type { StoredRecording } from './recordings.js';

/** How many runs of 33 bytes of `plain` occur in `stored` (none expected). */
export function sharedRuns(plain: Buffer, stored: Buffer, length = 33): number {
  const windows = new Set<string>();
  for (let i = 0; i + length <= stored.length; i++) windows.add(stored.toString('latin1', i, i + length));
  let shared = 0;
  for (let i = 0; i + length <= plain.length; i++)
    if (windows.has(plain.toString('latin1', i, i + length))) shared += 1;
  return shared;
}

/** Every key under `recordings/` in the store. */
export async function allRecordingKeys(store: ObjectStore): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list(RECORDINGS_PREFIX, { cursor });
    keys.push(...page.items.map((i) => i.key));
    cursor = page.nextCursor;
  } while (cursor);
  return keys.sort();
}

/**
 * The end state of a finished run: every recording row points at encrypted objects under a
 * stored key that play as `bodies` say, no other object exists (no plaintext, no orphan copy), no
 * marker is left and no key lacks its recording.
 */
export async function assertAllEncrypted(options: {
  db: TestDb;
  raw: ObjectStore;
  store: ObjectStore;
  recordings: readonly StoredRecording[];
}): Promise<void> {
  const { db, raw, store } = options;
  const rows = (await db.db.knex('recordings').select('id', 'original_key', 'playback_key')) as Array<{
    id: string;
    original_key: string;
    playback_key: string;
  }>;
  const owned = rows.flatMap((r) => [r.original_key, r.playback_key]).sort();
  expect(await allRecordingKeys(raw), 'objects in the store: exactly those of the rows').to.deep.equal(owned);
  expect(await db.db.knex('ingest_inflight').select('recording_id'), 'markers left').to.deep.equal([]);
  const keyIds = ((await db.db.knex('recording_keys').select('recording_id')) as Array<{ recording_id: string }>)
    .map((r) => r.recording_id)
    .sort();
  expect(keyIds, 'data keys: exactly one per recording').to.deep.equal(rows.map((r) => r.id).sort());
  for (const rec of options.recordings) {
    const row = rows.find((r) => r.id === rec.row.id)!;
    for (const [key, body] of [
      [row.original_key, rec.originalBody],
      [row.playback_key, rec.playbackBody],
    ] as const) {
      expect(key, 'the row points at the encrypted copy').to.match(/\/enc\/[a-z]+\.[a-z0-9]+$/);
      const stored = await buffer((await raw.get(key)).body);
      expect(hasMagic(stored), `${key} is stored encrypted`).to.equal(true);
      if (body.length > 64) expect(sharedRuns(body, stored)).to.equal(0);
      expect((await buffer((await store.get(key)).body)).equals(body), `${key} plays`).to.equal(true);
    }
  }
}
