/**
 * The `deletion_checkpoints` table: signed statements "the log had `size`
 * entries and its head hash was `headHash` at `at`". Append-only.
 */
import type { Knex } from 'knex';

export interface CheckpointRow {
  id: number;
  size: number;
  head_hash: string;
  at: number;
  signature: string;
  key_id: string;
}

export async function insertCheckpoint(q: Knex | Knex.Transaction, row: Omit<CheckpointRow, 'id'>): Promise<void> {
  await q('deletion_checkpoints').insert(row);
}

/** Every checkpoint, smallest size first (there are size/N of them: small). */
export async function listCheckpoints(q: Knex | Knex.Transaction): Promise<CheckpointRow[]> {
  return (await q('deletion_checkpoints').orderBy([
    { column: 'size', order: 'asc' },
    { column: 'id', order: 'asc' },
  ])) as CheckpointRow[];
}

export async function latestCheckpoint(q: Knex | Knex.Transaction): Promise<CheckpointRow | undefined> {
  return (await q('deletion_checkpoints').orderBy('id', 'desc').first()) as CheckpointRow | undefined;
}
