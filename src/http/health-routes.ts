/**
 * `/healthz`: the process answers. `/readyz`: the database and the object
 * store both answer within a short deadline, and the disk under the data dir
 * (ingest temp files, the fs store) and under the SQLite file has at least
 * `config.minFreeBytes` free; 503 otherwise. Each check is `ok`, `fail` (does
 * not answer) or `full` (store or disk out of space): which one is named, never
 * the error text.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Router } from 'express';
import type { Config } from '../config.js';
import type { AppDeps } from '../deps.js';
import { isStoreFull } from '../storage/object-store.js';

const READY_TIMEOUT_MS = 2_000;

export type CheckResult = 'ok' | 'fail' | 'full';

async function check(probe: (signal: AbortSignal) => Promise<void>): Promise<CheckResult> {
  const signal = AbortSignal.timeout(READY_TIMEOUT_MS);
  try {
    await Promise.race([
      probe(signal),
      new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
    ]);
    return 'ok';
  } catch (error) {
    return isStoreFull(error) ? 'full' : 'fail';
  }
}

/** The folders whose filesystems this process writes to: the data dir, and the SQLite file's folder. */
export function writableDirs(config: Pick<Config, 'dataDir' | 'db'>): string[] {
  const dirs = [config.dataDir];
  if (config.db.client === 'sqlite' && config.db.filename !== ':memory:') dirs.push(path.dirname(config.db.filename));
  return [...new Set(dirs)];
}

/** Bytes an unprivileged writer may still use on the filesystem of `dir` (or of its nearest existing ancestor). */
export async function freeBytes(dir: string): Promise<number> {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    try {
      const stats = await fs.promises.statfs(current);
      return stats.bavail * stats.bsize;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'ENOENT' || path.dirname(current) === current) throw error;
    }
  }
}

/** `full` when any writable folder has less than `minFreeBytes` free, `fail` when that cannot be told. */
export async function diskCheck(config: Pick<Config, 'dataDir' | 'db' | 'minFreeBytes'>): Promise<CheckResult> {
  try {
    const free = await Promise.all(writableDirs(config).map(freeBytes));
    return free.every((bytes) => bytes >= config.minFreeBytes) ? 'ok' : 'full';
  } catch {
    return 'fail';
  }
}

export function createHealthRouter(deps: Pick<AppDeps, 'config' | 'db' | 'store' | 'logger'>): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const [db, store, disk] = await Promise.all([
      check(() => deps.db.ping()),
      check((signal) => deps.store.ping({ signal })),
      diskCheck(deps.config),
    ]);
    const ok = db === 'ok' && store === 'ok' && disk === 'ok';
    if (!ok) deps.logger.warn({ db, store, disk }, 'not ready');
    res.setHeader('Cache-Control', 'no-store');
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'unavailable', checks: { db, store, disk } });
  });
  return router;
}
