/**
 * The register's gauges (`callrec_privacy_requests{state="open|due_soon|overdue"}`), read from
 * the database on each scrape with the injected clock, so that a request is never silently left
 * open: deploy/prometheus-alerts.yml alerts on overdue ones. While the database cannot be read,
 * the previous values are served.
 */
import type { AppDeps } from '../deps.js';
import { registerCounts } from '../db/privacy-requests.js';
import { DUE_SOON_MS } from './register.js';

export function registerPrivacyGauges(deps: Pick<AppDeps, 'db' | 'metrics' | 'clock' | 'logger'>): void {
  const gauge = deps.metrics.privacyRequests;
  for (const state of ['open', 'due_soon', 'overdue']) gauge.set({ state }, 0);
  deps.metrics.setNamedScrapeRefresh('privacy', async () => {
    try {
      const counts = await registerCounts(deps.db.knex, { now: deps.clock.now(), dueSoonMs: DUE_SOON_MS });
      gauge.set({ state: 'open' }, counts.open);
      gauge.set({ state: 'due_soon' }, counts.dueSoon);
      gauge.set({ state: 'overdue' }, counts.overdue);
    } catch (error) {
      deps.logger.warn(
        { err: { name: (error as Error)?.name, code: (error as { code?: unknown })?.code } },
        'privacy register gauges could not be read; the previous values are served',
      );
    }
  });
}
