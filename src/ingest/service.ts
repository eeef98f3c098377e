/**
 * The ingest service: what every transport adapter shares (the transcode limiter, the
 * in-flight markers, the process's temp folder) and the adapters themselves. Each adapter
 * turns its platform's input into typed call metadata plus an audio file and runs
 * `ingestRecording` (./ingest.ts) with a ticket of the one limiter, so that all transports
 * together never transcode more than CALLREC_TRANSCODE_CONCURRENCY at once.
 *
 * `stop` stops every adapter (each drains, then aborts, its work; see the adapter) and then
 * removes the process's temp folder.
 */
import { Router } from 'express';
import type { AppDeps } from '../deps.js';
import { createSignedHook } from './adapters/signed-hook.js';
import { createSpool } from './adapters/spool.js';
import { createTwilioHook } from './adapters/twilio-hook.js';
import { createS3Drop } from './adapters/s3-drop.js';
import type { SignedHookOptions } from './adapters/signed-hook.js';
import { createInflightTracker } from './inflight.js';
import type { InflightTracker } from './inflight.js';
import { createIngestLimiter } from './limiter.js';
import type { IngestLimiter } from './limiter.js';
import { createIngestTemp } from './temp.js';
import type { IngestTemp } from './temp.js';

/** What an adapter needs to run the pipeline. */
export interface IngestRuntime {
  deps: AppDeps;
  /** Transcode slots and queue places, shared by every adapter. */
  limiter: IngestLimiter;
  inflight: InflightTracker;
  /** Per-ingest temp folders (the rendition is encoded there; the hook receives its body there). */
  temp: IngestTemp;
}

/** One transport: an HTTP router (if it has one) and how to stop it. */
export interface IngestAdapter {
  router?: Router;
  /** Drains, then aborts, what the adapter has in flight; resolves once it cleaned up. */
  stop(options: { drainMs: number }): Promise<void>;
}

export interface IngestService {
  router: Router;
  /** The shared runtime (limiter, in-flight markers): background adapters such as the Twilio worker use it too. */
  runtime: IngestRuntime;
  /** Stops every adapter (see each adapter), then removes the process's temp folder. */
  stop(options: { drainMs: number }): Promise<void>;
}

export type IngestOptions = SignedHookOptions & {
  limiter?: IngestLimiter;
  /**
   * Poll the S3 drop buckets (the service process; tests drive passes themselves). The event webhook is mounted either
   * way.
   */
  importPolling?: boolean;
};

export function createIngestRuntime(deps: AppDeps, options: { limiter?: IngestLimiter } = {}): IngestRuntime {
  const { config, clock } = deps;
  return {
    deps,
    limiter:
      options.limiter ??
      createIngestLimiter({ concurrency: config.ingest.transcodeConcurrency, queueLimit: config.ingest.queueLimit }),
    inflight: createInflightTracker(deps),
    temp: createIngestTemp({ dataDir: config.dataDir, clock }),
  };
}

export function createIngestService(deps: AppDeps, options: IngestOptions = {}): IngestService {
  const runtime = createIngestRuntime(deps, options);
  const adapters: IngestAdapter[] = [createSignedHook(runtime, options), createTwilioHook(runtime)];
  if (deps.config.ingest.spool) {
    const spool = createSpool(runtime, deps.config.ingest.spool);
    spool.start();
    adapters.push(spool);
  }
  const drop = createS3Drop(runtime, { pollIntervalMs: deps.config.ingest.drop.pollIntervalMs });
  if (options.importPolling) drop.start();
  adapters.push(drop);
  const router = Router();
  for (const adapter of adapters) if (adapter.router) router.use(adapter.router);
  return {
    router,
    runtime,
    async stop(stopOptions) {
      await Promise.all(adapters.map((adapter) => adapter.stop(stopOptions)));
      await runtime.temp.release();
    },
  };
}

export function createIngestRouter(deps: AppDeps, options: IngestOptions = {}): Router {
  return createIngestService(deps, options).router;
}
