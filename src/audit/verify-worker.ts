/**
 * Worker thread of the deletion-log verifier: checks one seq range with its own
 * connection, closes it, then posts the result and ends on its own.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { DbConfig } from '../config.js';
import { createDb } from '../db/db.js';
import { verifyRange } from './verify-range.js';
import type { RangeResult } from './verify-range.js';

const data = workerData as { dbConfig: DbConfig; from: number; to: number; pageSize: number; sizes: number[] };
const db = createDb(data.dbConfig);
let message: { result?: RangeResult; error?: string };
try {
  message = { result: await verifyRange(db, data) };
} catch (error) {
  message = { error: (error as Error)?.name ?? 'Error' };
}
await db.close();
parentPort!.postMessage(message);
