/**
 * Prometheus metrics (prom-client), one registry per app instance. Labels
 * never carry personal data: no numbers, no call ids, no user names.
 *
 * The retention gauges (backlog, oldest overdue, log length) are read from the
 * database when scraped, through the refresh the retention feature registers
 * with `setScrapeRefresh`: they do not depend on a sweep having succeeded.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type Metrics = ReturnType<typeof createMetrics>;

/** Deletion failure reasons exported at 0 before any failure (deploy/prometheus-alerts.yml watches them). */
export const FAILURE_REASONS_ALERTED = ['store_unavailable', 'versions_remain', 'versioned_bucket'] as const;
/** How long a scrape waits for the database-derived gauges before it answers with their previous values. */
export const SCRAPE_REFRESH_WAIT_MS = 2_000;

export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'callrec_process_' });
  const registers = [registry];

  // At most one refresh runs at a time; the three gauges of one scrape share it. A scrape waits for
  // it at most SCRAPE_REFRESH_WAIT_MS (SQLite has one connection, which a sweep may hold); a refresh
  // still running then goes on, and the next scrape waits for that one instead of starting another.
  let scrapeRefresh: (() => Promise<void>) | undefined;
  // Further refreshes by feature (the privacy register's gauges), run beside the retention one.
  const namedRefreshes = new Map<string, () => Promise<void>>();
  let refreshing: Promise<void> | undefined;
  const collect = async (): Promise<void> => {
    if (!scrapeRefresh && namedRefreshes.size === 0) return;
    const all = [scrapeRefresh, ...namedRefreshes.values()].filter((f): f is () => Promise<void> => f !== undefined);
    refreshing ??= Promise.all(all.map((f) => f().catch(() => undefined)))
      .then(() => undefined)
      .finally(() => {
        refreshing = undefined;
      });
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, SCRAPE_REFRESH_WAIT_MS);
      timer.unref();
    });
    await Promise.race([refreshing, waited]);
    clearTimeout(timer);
  };

  const sweeperFailures = new Counter({
    name: 'callrec_sweeper_failures_total',
    help:
      'Retention sweeper failures: kind="deletion" per recording whose deletion failed (retried with backoff; ' +
      'reason: a short code such as store_unavailable, versions_remain, versioned_bucket), kind="run" per sweep that ' +
      'failed as a whole (reason="run": nothing deleted)',
    labelNames: ['kind', 'reason'] as const,
    registers,
  });
  // The series the alerts watch exist from the start at 0, so that rate() and increase() see the first failure.
  sweeperFailures.inc({ kind: 'run', reason: 'run' }, 0);

  const twilioImports = new Counter({
    name: 'callrec_twilio_imports_total',
    help:
      'Twilio import worker steps by outcome: stored, already_stored (found stored after a crash), ' +
      'source_deleted (deleted at Twilio), retention_elapsed (past retention when it came: not stored, deleted at ' +
      'Twilio), retry (an attempt failed; retried with backoff), failed (the job gave up)',
    labelNames: ['outcome'] as const,
    registers,
  });
  twilioImports.inc({ outcome: 'failed' }, 0);
  for (const reason of FAILURE_REASONS_ALERTED) sweeperFailures.inc({ kind: 'deletion', reason }, 0);

  return {
    registry,
    /**
     * Sets the function that recomputes the database-derived gauges on each scrape. It must
     * leave the previous values when the database cannot be read; a rejection is ignored.
     */
    setScrapeRefresh(refresh: (() => Promise<void>) | undefined): void {
      scrapeRefresh = refresh;
    },
    /** As `setScrapeRefresh`, for a further feature's gauges under `name` (set again: replaced). */
    setNamedScrapeRefresh(name: string, refresh: () => Promise<void>): void {
      namedRefreshes.set(name, refresh);
    },
    httpDuration: new Histogram({
      name: 'callrec_http_request_duration_seconds',
      help: 'HTTP request durations by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60],
      registers,
    }),
    ingestTotal: new Counter({
      name: 'callrec_ingest_total',
      help: 'Upload hook requests by outcome code',
      labelNames: ['outcome'] as const,
      registers,
    }),
    ingestDuration: new Histogram({
      name: 'callrec_ingest_duration_seconds',
      help: 'Upload hook wall time by outcome code',
      labelNames: ['outcome'] as const,
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
      registers,
    }),
    ingestInFlight: new Gauge({
      name: 'callrec_ingest_in_flight',
      help:
        'Uploads in flight by stage: unverified (v1 bodies being received before their signature can be ' +
        'checked), admitted (holding a transcode slot or queue place)',
      labelNames: ['stage'] as const,
      registers,
    }),
    transcodeSeconds: new Histogram({
      name: 'callrec_transcode_seconds',
      help: 'Wall time of one playback transcode',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 120],
      registers,
    }),
    bytesStored: new Counter({
      name: 'callrec_bytes_stored_total',
      help: 'Bytes written to the object store by object kind',
      labelNames: ['kind'] as const,
      registers,
    }),
    playbackRequests: new Counter({
      name: 'callrec_playback_requests_total',
      help: 'Audio requests by status',
      labelNames: ['status'] as const,
      registers,
    }),
    playbackBytes: new Counter({ name: 'callrec_playback_bytes_total', help: 'Audio bytes sent', registers }),
    sweeperDeletions: new Counter({
      name: 'callrec_sweeper_deletions_total',
      help: 'Recordings deleted and logged, by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    sweeperFailures,
    sweeperLastSuccess: new Gauge({
      name: 'callrec_sweeper_last_success_timestamp_seconds',
      help: 'When this instance last finished a sweep without error (Unix seconds; 0 before the first)',
      registers,
    }),
    sweeperBacklog: new Gauge({
      name: 'callrec_sweeper_backlog',
      help:
        'Recordings past their deadline, not yet deleted (read when scraped; the last value read while the ' +
        'database cannot be read)',
      registers,
      collect,
    }),
    sweeperOldestOverdue: new Gauge({
      name: 'callrec_sweeper_oldest_overdue_seconds',
      help:
        'Age past its deadline of the oldest recording not yet deleted (read when scraped; the last value read ' +
        'while the database cannot be read)',
      registers,
      collect,
    }),
    deletionLogLength: new Gauge({
      name: 'callrec_deletion_log_entries',
      help: 'Entries in the deletion log',
      registers,
      collect,
    }),
    privacyRequests: new Gauge({
      name: 'callrec_privacy_requests',
      help:
        'Privacy requests not yet closed, by state: open (every one not closed), due_soon (due within 7 days), ' +
        'overdue (past dueAt); read when scraped',
      labelNames: ['state'] as const,
      registers,
      collect,
    }),
    twilioImports,
    twilioImportJobs: new Gauge({
      name: 'callrec_twilio_import_jobs',
      help:
        'Twilio import jobs by status: pending (not stored yet), stored (the copy at Twilio still to delete), ' +
        'done, failed (gave up; see callrec imports list); read when scraped',
      labelNames: ['status'] as const,
      registers,
      collect,
    }),
    twilioImportOldestOpen: new Gauge({
      name: 'callrec_twilio_import_oldest_open_seconds',
      help: 'Age of the oldest Twilio import job not done (pending or stored; 0 when none); read when scraped',
      registers,
      collect,
    }),
    logins: new Counter({
      name: 'callrec_logins_total',
      help: 'Sign-in attempts by outcome (success, invalid_credentials, invalid_code, rate_limited)',
      labelNames: ['outcome'] as const,
      registers,
    }),
  };
}
