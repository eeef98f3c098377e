/**
 * Assembles the Express app from its features. Never listens, never reads the
 * environment: everything comes in through `deps`. `createAppService` also hands
 * back `stop`, which the process runs on shutdown (uploads in flight).
 */
import express from 'express';
import type { Express } from 'express';
import { createAuditRouter } from './audit/audit-routes.js';
import { createAuthenticate } from './auth/authenticate.js';
import { createSessionRouter } from './auth/session-routes.js';
import { createAdminRouter } from './auth/admin-routes.js';
import type { AppDeps } from './deps.js';
import { createHealthRouter } from './http/health-routes.js';
import { allowedMethods } from './http/allowed-methods.js';
import { callrecOperations, createOpenApiRoute } from './openapi-operations.js';
import { createErrorMiddleware, notFoundHandler } from './http/problem.js';
import { requestId } from './http/request-id.js';
import { createRequestLog } from './http/request-log.js';
import { createSecurityHeaders } from './http/security-headers.js';
import { createIngestService } from './ingest/service.js';
import type { IngestRuntime } from './ingest/service.js';
import { registerTwilioGauges } from './ingest/adapters/twilio-worker.js';
import { createPlaybackRouter } from './playback/playback-routes.js';
import { createScorecardRouter } from './training/scorecard-routes.js';
import { registerPrivacyGauges } from './privacy/gauges.js';
import { createPrivacyRouter } from './privacy/privacy-routes.js';
import { registerRetentionGauges } from './retention/jobs.js';
import { createObjectionScreen } from './subjects/objection.js';
import { createSubjectsRouter } from './subjects/subject-routes.js';
import { createEvaluationRouter } from './training/evaluation-routes.js';
import { createFormRouter } from './training/form-routes.js';
import { createWebRouter } from './web/web-routes.js';

export type { AppDeps } from './deps.js';

export interface AppService {
  app: Express;
  /** Lets uploads in flight finish for `drainMs`, then aborts and cleans up the rest. */
  stop(options: { drainMs: number }): Promise<void>;
  /** The ingest runtime the hooks use (its limiter is shared with the background import workers). */
  ingest: IngestRuntime;
}

export function createApp(deps: AppDeps): Express {
  return createAppService(deps).app;
}

export function createAppService(deps: AppDeps, options: { importPolling?: boolean } = {}): AppService {
  const app = express();
  app.disable('x-powered-by');
  // X-Forwarded-* only from the configured proxies: req.ip, req.protocol and req.hostname follow them.
  app.set('trust proxy', deps.config.trustedProxies.length > 0 ? [...deps.config.trustedProxies] : false);
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use(requestId);
  app.use(createRequestLog(deps));
  app.use(createSecurityHeaders(deps.config));
  app.use((req, res, next) => {
    const end = deps.metrics.httpDuration.startTimer({ method: req.method });
    res.on('finish', () =>
      end({ route: req.route?.path ? `${req.baseUrl}${req.route.path}` : 'unmatched', status: String(res.statusCode) }),
    );
    next();
  });
  // OPTIONS and undeclared methods on documented paths (204 / 405 with Allow), from the OpenAPI catalog.
  app.use(allowedMethods(callrecOperations()));
  app.use(createHealthRouter(deps));
  registerRetentionGauges(deps);
  registerPrivacyGauges(deps);
  registerTwilioGauges(deps);
  app.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  app.use(createOpenApiRoute(deps));

  // The upload hook streams its multipart body itself: mounted before any body parser.
  // Ingest asks the subjects feature whether a call may be kept (a "do not keep" objection).
  const ingest = createIngestService(
    { ...deps, ingestScreen: deps.ingestScreen ?? createObjectionScreen(deps) },
    { importPolling: options.importPolling },
  );
  app.use(ingest.router);

  app.use(express.json({ limit: '64kb' }));
  app.use(createAuthenticate(deps));
  app.use(createSessionRouter(deps));
  app.use(createPlaybackRouter(deps));
  app.use(createAuditRouter(deps));
  app.use(createAdminRouter(deps));
  app.use(createSubjectsRouter(deps));
  app.use(createPrivacyRouter(deps));
  app.use(createScorecardRouter(deps));
  app.use(createFormRouter(deps));
  app.use(createEvaluationRouter(deps));
  app.use(createWebRouter(deps));

  app.use(notFoundHandler);
  app.use(createErrorMiddleware(deps));
  return { app, stop: (options) => ingest.stop(options), ingest: ingest.runtime };
}
