/**
 * `/healthz`: the process answers. `/readyz`: the database and the object
 * store both answer within a short deadline; 503 otherwise (which one failed is
 * named, never why).
 */
import { Router } from 'express';
import type { AppDeps } from '../deps.js';

const READY_TIMEOUT_MS = 2_000;

async function check(probe: (signal: AbortSignal) => Promise<void>): Promise<boolean> {
  const signal = AbortSignal.timeout(READY_TIMEOUT_MS);
  try {
    await Promise.race([
      probe(signal),
      new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
    ]);
    return true;
  } catch {
    return false;
  }
}

export function createHealthRouter(deps: Pick<AppDeps, 'db' | 'store' | 'logger'>): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const [db, store] = await Promise.all([check(() => deps.db.ping()), check((signal) => deps.store.ping({ signal }))]);
    const ok = db && store;
    if (!ok) deps.logger.warn({ db, store }, 'not ready');
    res.setHeader('Cache-Control', 'no-store');
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'unavailable', checks: { db: db ? 'ok' : 'fail', store: store ? 'ok' : 'fail' } });
  });
  return router;
}
