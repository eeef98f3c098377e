/**
 * The authorization matrix: every route × every kind of caller → the expected
 * status, as one table. Adding a route is one row of ROUTES.
 *
 * Callers: trainer (every queue), a trainer scoped to another queue than the
 * recording's, auditor, privacy, admin, anonymous, a revoked token, a disabled
 * user, and a privacy officer's session that passed the password but must enrol a
 * second factor first (`enrolOnly`: every route but the public ones refuses it), and users
 * provisioned by an OpenID Provider (`oidc*`: a real `oidc-provider` on loopback, roles from
 * its groups claim, session cookies from the full redirect flow), who must be judged exactly
 * like local users of their role. Each cell gets a fresh recording (queue `billing`, a unique caller
 * number), so destructive routes (erasure, holds) never affect another cell. Agents (#20): `agent` is
 * bound to the agent of a submitted evaluation of each cell's recording; `otherAgent` to another agent
 * (another agent's call or evaluation is 404 to them, as the issue asks). Single sign-on grants no agent.
 */
import { expect } from 'chai';
import { revokeToken } from '../../src/auth/accounts.js';
import { createManualClock } from '../../src/clock.js';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { startTestApp, testConfig } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { createStoredEvaluation, createStoredForm } from '../support/evaluation-rows.js';
import type { StoredForm } from '../support/evaluation-rows.js';
import { createStoredPrivacyRequest, privacyRequestBody } from '../support/privacy-requests.js';
import { insertEvaluation, insertForm } from '../../src/db/evaluations.js';
import { buildEvaluation, buildForm } from '../support/evaluations.js';
import { createStoredRecording } from '../support/recordings.js';
import type { StoredRecordingOverrides } from '../support/recordings.js';
import { createTestUser, signInStep } from '../support/users.js';
import {
  signInThroughProvider,
  startOidcProvider,
  TEST_CLIENT_ID,
  TEST_CLIENT_SECRET,
} from '../support/oidc-provider.js';
import type { TestOidcProvider } from '../support/oidc-provider.js';
import { seededRandom } from '../support/random.js';

const matrixPhones = seededRandom('authorization-matrix-phones');

const CALLERS = [
  'trainer',
  'scopedOut',
  'auditor',
  'privacy',
  'admin',
  'anonymous',
  'revoked',
  'disabled',
  'enrolOnly',
  'oidcTrainer',
  'oidcAuditor',
  'oidcPrivacy',
  'oidcAdmin',
  'agent',
  'otherAgent',
] as const;
type Caller = (typeof CALLERS)[number];
type Expectation = Record<Caller, number>;
type RoleName = 'trainer' | 'auditor' | 'privacy' | 'admin' | 'agent';
/** The agent of every cell's evaluated call (`agent` caller); `otherAgent` is bound to OTHER_AGENT. */
const MATRIX_AGENT = 'matrix-agent';
const OTHER_AGENT = 'matrix-other-agent';

/**
 * Expected statuses for a route: `ok` for the listed roles, 403 for other roles, 401 without
 * valid credentials. A trainer outside the recording's queue gets `scopedOut` (404 on object
 * routes: ids cannot be probed; the list answers 200 without the recording). An agent bound to
 * another agent than the cell's evaluation gets `otherAgent` when agents pass the guard (404 on
 * object routes, like a trainer outside the queue).
 */
function allow(roles: RoleName[], ok: number, options: { scopedOut?: number; otherAgent?: number } = {}): Expectation {
  const role = (r: RoleName) => (roles.includes(r) ? ok : 403);
  return {
    trainer: role('trainer'),
    scopedOut: roles.includes('trainer') ? (options.scopedOut ?? 404) : 403,
    auditor: role('auditor'),
    privacy: role('privacy'),
    admin: role('admin'),
    anonymous: 401,
    revoked: 401,
    disabled: 401,
    enrolOnly: 403,
    oidcTrainer: role('trainer'),
    oidcAuditor: role('auditor'),
    oidcPrivacy: role('privacy'),
    oidcAdmin: role('admin'),
    agent: role('agent'),
    otherAgent: roles.includes('agent') ? (options.otherAgent ?? 404) : 403,
  };
}

/** Open to everyone, credentials or not. */
const PUBLIC: Expectation = Object.fromEntries(CALLERS.map((c) => [c, 200])) as Expectation;

interface RouteRow {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /**
   * `:id` is the cell's recording (or its privacy request with `id: 'request'`), `{phone}` its
   * caller number (URL-encoded). In a body, `{phone}` and `{requestId}` are replaced too: every
   * cell also gets an open privacy request for its number.
   */
  path: string;
  /** What `:id` is: the cell's recording (default), its privacy request, the matrix form, or an evaluation of the recording. */
  id?: 'recording' | 'request' | 'form' | 'evaluation';
  body?: unknown;
  recording?: StoredRecordingOverrides;
  expect: Expectation;
}

const PLAYBACK_READERS: RoleName[] = ['trainer', 'privacy', 'admin'];
/** Who opens one call: the readers, and the agent of a submitted evaluation of it. */
const CALL_OPENERS: RoleName[] = [...PLAYBACK_READERS, 'agent'];
/** The user the administration rows create and change (`:username` in their paths). */
const MATRIX_USER = 'matrix-user';
const erasure = { reason: 'erasure_request', reference: 'REQ-1' };
/** The evaluation form of the training rows (`:id` of `id: 'form'`, `{formId}` in a body). */
const MATRIX_FORM = '01JMATR1XF0RM0000000000000';
/** Evaluations of `id: 'evaluation'` rows: submitted by this trainer (not a caller). */
const MATRIX_EVALUATOR = 'matrix-evaluator';

const ROUTES: RouteRow[] = [
  // operations: open by design (no personal data; see README "Observability")
  { method: 'GET', path: '/healthz', expect: PUBLIC },
  { method: 'GET', path: '/readyz', expect: PUBLIC },
  { method: 'GET', path: '/metrics', expect: PUBLIC },
  { method: 'GET', path: '/openapi.json', expect: PUBLIC },
  // sessions
  {
    method: 'GET',
    path: '/v1/session',
    expect: allow(['trainer', 'auditor', 'privacy', 'admin', 'agent'], 200, { scopedOut: 200, otherAgent: 200 }),
  },
  { method: 'GET', path: '/v1/session/providers', expect: PUBLIC },
  // playback
  { method: 'GET', path: '/v1/recordings', expect: allow(PLAYBACK_READERS, 200, { scopedOut: 200 }) },
  { method: 'GET', path: '/v1/recordings/:id', expect: allow(CALL_OPENERS, 200) },
  { method: 'GET', path: '/v1/recordings/:id/audio', expect: allow(CALL_OPENERS, 200) },
  { method: 'GET', path: '/v1/recordings/:id/waveform', expect: allow(CALL_OPENERS, 200) },
  { method: 'GET', path: '/v1/recordings/:id/notes', expect: allow(PLAYBACK_READERS, 200) },
  {
    method: 'POST',
    path: '/v1/recordings/:id/notes',
    body: { offsetMs: 1000, text: 'note' },
    expect: allow(['trainer', 'admin'], 201),
  },
  // a note that does not exist: past the guard and the recording's visibility, 404
  {
    method: 'PATCH',
    path: '/v1/recordings/:id/notes/:noteId',
    body: { text: 'changed' },
    expect: allow(['trainer', 'admin'], 404),
  },
  { method: 'DELETE', path: '/v1/recordings/:id/notes/:noteId', expect: allow(['trainer', 'admin'], 404) },
  // audit
  { method: 'GET', path: '/v1/deletions', expect: allow(['auditor', 'admin'], 200) },
  { method: 'GET', path: '/v1/deletions/verify', expect: allow(['auditor', 'admin'], 200) },
  { method: 'GET', path: '/v1/deletions/checkpoints', expect: allow(['auditor', 'admin'], 200) },
  { method: 'GET', path: '/v1/access-log', expect: allow(['auditor', 'admin'], 200) },
  // administration: only the admin cell passes the guard, so one fixed username serves every row
  { method: 'GET', path: '/v1/users', expect: allow(['admin'], 200) },
  {
    method: 'POST',
    path: '/v1/users',
    // A new name per call: every admin caller (local and OIDC) creates one; MATRIX_USER exists already.
    body: { username: 'matrix-new-{n}', role: 'trainer' },
    expect: allow(['admin'], 201),
  },
  {
    method: 'PATCH',
    path: '/v1/users/:username',
    body: { displayName: 'Matrix' },
    expect: allow(['admin'], 200),
  },
  { method: 'POST', path: '/v1/users/:username/password', expect: allow(['admin'], 200) },
  { method: 'GET', path: '/v1/tokens', expect: allow(['admin'], 200) },
  { method: 'POST', path: '/v1/tokens', body: { username: MATRIX_USER }, expect: allow(['admin'], 201) },
  { method: 'DELETE', path: '/v1/tokens/:id', expect: allow(['admin'], 404) },
  // training reviews: scorecards (#20); a trainer outside a queue and another agent get 200 without those rows
  {
    method: 'GET',
    path: '/v1/scorecards',
    expect: allow(['trainer', 'admin', 'agent'], 200, { scopedOut: 200, otherAgent: 200 }),
  },
  // data subjects
  { method: 'GET', path: '/v1/subjects/recordings?phone={phone}', expect: allow(['privacy'], 200) },
  { method: 'GET', path: '/v1/subjects/export?phone={phone}', expect: allow(['privacy'], 200) },
  { method: 'DELETE', path: '/v1/subjects/recordings?phone={phone}', body: erasure, expect: allow(['privacy'], 200) },
  { method: 'DELETE', path: '/v1/recordings/:id', body: erasure, expect: allow(['privacy'], 200) },
  {
    method: 'PUT',
    path: '/v1/recordings/:id/hold',
    body: { reason: 'litigation' },
    expect: allow(['privacy', 'admin'], 200),
  },
  {
    method: 'DELETE',
    path: '/v1/recordings/:id/hold',
    body: { reason: 'case closed' },
    recording: { legal_hold: true, hold_reason: 'litigation', hold_by: 'someone', hold_at: Date.now() - 1000 },
    expect: allow(['privacy', 'admin'], 200),
  },
  // restriction and correction (privacy only, under a request)
  { method: 'GET', path: '/v1/subjects/restriction?phone={phone}', expect: allow(['privacy'], 200) },
  {
    method: 'PUT',
    path: '/v1/subjects/restriction',
    body: { phone: '{phone}', requestId: '{requestId}', mode: 'object' },
    expect: allow(['privacy'], 200),
  },
  {
    method: 'DELETE',
    path: '/v1/subjects/restriction',
    body: { phone: '{phone}', requestId: '{requestId}' },
    expect: allow(['privacy'], 200),
  },
  {
    method: 'PATCH',
    path: '/v1/recordings/:id',
    body: { requestId: '{requestId}', agentId: 'agent-2' },
    expect: allow(['privacy'], 200),
  },
  // the privacy-request register: privacy officers only (trainers, auditors and admins 403)
  {
    method: 'POST',
    path: '/v1/privacy-requests',
    body: privacyRequestBody({ phone: '{phone}' }),
    expect: allow(['privacy'], 201),
  },
  { method: 'GET', path: '/v1/privacy-requests', expect: allow(['privacy'], 200) },
  { method: 'GET', path: '/v1/privacy-requests/:id', id: 'request', expect: allow(['privacy'], 200) },
  {
    method: 'POST',
    path: '/v1/privacy-requests/:id/extend',
    id: 'request',
    body: { months: 1, reason: 'many recordings to review' },
    expect: allow(['privacy'], 200),
  },
  {
    method: 'POST',
    path: '/v1/privacy-requests/:id/close',
    id: 'request',
    body: { outcome: 'fulfilled' },
    expect: allow(['privacy'], 200),
  },
  { method: 'GET', path: '/v1/privacy-requests/:id/letter?lang=en', id: 'request', expect: allow(['privacy'], 200) },
  // training reviews (#20): forms by admins; evaluations by trainers (their queues) and admins.
  { method: 'POST', path: '/v1/evaluation-forms', body: buildForm(), expect: allow(['admin'], 201) },
  // agents read the forms (the questions they are judged on)
  {
    method: 'GET',
    path: '/v1/evaluation-forms',
    expect: allow(['trainer', 'admin', 'agent'], 200, { scopedOut: 200, otherAgent: 200 }),
  },
  {
    method: 'GET',
    path: '/v1/evaluation-forms/:id',
    id: 'form',
    expect: allow(['trainer', 'admin', 'agent'], 200, { scopedOut: 200, otherAgent: 200 }),
  },
  {
    method: 'GET',
    path: '/v1/evaluation-forms/:id/versions/:version',
    id: 'form',
    expect: allow(['trainer', 'admin', 'agent'], 200, { scopedOut: 200, otherAgent: 200 }),
  },
  { method: 'PUT', path: '/v1/evaluation-forms/:id', id: 'form', body: buildForm(), expect: allow(['admin'], 201) },
  {
    method: 'POST',
    path: '/v1/recordings/:id/evaluations',
    body: { formId: '{formId}', answers: { greet: 'yes' }, status: 'submitted' },
    expect: allow(['trainer', 'admin'], 201),
  },
  // an agent: their own submitted evaluations of the call; another agent's call is 404
  { method: 'GET', path: '/v1/recordings/:id/evaluations', expect: allow(['trainer', 'admin', 'agent'], 200) },
  // blind calibration: a trainer who has not submitted their own calibration evaluation of the call gets 403
  {
    method: 'GET',
    path: '/v1/recordings/:id/calibration',
    expect: { ...allow(['trainer', 'admin'], 200), trainer: 403, oidcTrainer: 403 },
  },
  {
    method: 'GET',
    path: '/v1/evaluations',
    expect: allow(['trainer', 'admin', 'agent'], 200, { scopedOut: 200, otherAgent: 200 }),
  },
  { method: 'GET', path: '/v1/evaluations/:id', id: 'evaluation', expect: allow(['trainer', 'admin', 'agent'], 200) },
  // another trainer's evaluation: only its evaluator changes it (403), out of scope 404
  {
    method: 'PUT',
    path: '/v1/evaluations/:id',
    id: 'evaluation',
    body: { answers: { greet: 'no' }, status: 'submitted' },
    expect: allow(['trainer', 'admin'], 403),
  },
  // the agent of the evaluation acknowledges or disputes it; another agent 404, every other role 403
  {
    method: 'POST',
    path: '/v1/evaluations/:id/acknowledge',
    id: 'evaluation',
    body: {},
    expect: allow(['agent'], 200),
  },
  {
    method: 'POST',
    path: '/v1/evaluations/:id/dispute',
    id: 'evaluation',
    body: { comment: 'not my call' },
    expect: allow(['agent'], 200),
  },
];

/**
 * Routes outside the matrix, each with the reason and the suite that covers it. Every other
 * route, mounted or documented, must have a row in ROUTES.
 */
const EXEMPT: Record<string, string> = {
  'POST /v1/recordings': 'the signed upload hook: no user credentials; test/http/ingest.test.ts',
  'POST /v1/hooks/twilio/recording-status':
    "Twilio's callback: no user credentials, X-Twilio-Signature; test/http/twilio-hook.test.ts",
  'POST /v1/hooks/s3-events/:name':
    'S3 event notifications: no user credentials, a per-source bearer secret; test/process/s3-drop-events.test.ts',
  'POST /v1/session': 'sign-in itself; test/http/auth.test.ts',
  'DELETE /v1/session': "sign-out of the caller's own session; test/http/auth.test.ts",
  'POST /v1/session/code': 'the second-factor step of sign-in itself; test/http/mfa.test.ts',
  'GET /v1/session/oidc/login': 'start of single sign-on (the oidc* callers come through it); test/e2e/oidc.test.ts',
  'GET /v1/session/oidc/callback': 'end of single sign-on (the oidc* callers come through it); test/e2e/oidc.test.ts',
  'POST /v1/session/enrolment': "enrolment of the caller's own second factor; test/http/mfa.test.ts",
  'POST /v1/session/enrolment/confirm': "enrolment of the caller's own second factor; test/http/mfa.test.ts",
  'GET /': 'static web page, its data comes through the API rows; test/http/web.test.ts',
  'GET /:page': 'static web page; test/http/web.test.ts',
  'GET /recordings/:id': 'static web page; test/http/web.test.ts',
  'GET /assets/:file': 'static web asset; test/http/web.test.ts',
  'GET /vendor/wavesurfer.esm.js': 'static web asset; test/http/web.test.ts',
};

interface RouterLayer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: RouterLayer[] };
}

/** `METHOD /path` of every route mounted in the Express app (routers at the root, as app.ts mounts them). */
function mountedRoutes(stack: RouterLayer[]): string[] {
  return stack.flatMap((layer) => {
    if (layer.route)
      return Object.keys(layer.route.methods)
        .filter((m) => m !== '_all')
        .map((m) => `${m.toUpperCase()} ${layer.route!.path}`);
    return layer.handle?.stack ? mountedRoutes(layer.handle.stack) : [];
  });
}

describe('authorization matrix: every route × every caller (sqlite, fs)', function () {
  this.timeout(120_000);
  let testDb: TestDb;
  let testStore: TestStore;
  let app: TestApp;
  let op: TestOidcProvider;
  let form: StoredForm;
  const headers = {} as Record<Caller, Record<string, string>>;

  before(async () => {
    testDb = await dbBackends.find((b) => b.name === 'sqlite')!.create();
    testStore = await storeBackends.find((b) => b.name === 'fs')!.create();
    const clock = createManualClock(Date.now());
    op = await startOidcProvider();
    app = await startTestApp({
      db: testDb.db,
      store: testStore.store,
      clock,
      config: testConfig({
        CALLREC_MFA_REQUIRED_ROLES: 'privacy,admin',
        CALLREC_OIDC_ISSUER: op.issuer,
        CALLREC_OIDC_CLIENT_ID: TEST_CLIENT_ID,
        CALLREC_OIDC_CLIENT_SECRET: TEST_CLIENT_SECRET,
        CALLREC_OIDC_SCOPES: 'openid profile groups',
        CALLREC_OIDC_ROLE_MAP: 'g-trainer:trainer,g-auditor:auditor,g-privacy:privacy,g-admin:admin',
      }),
    });
    await op.register(app.url);
    for (const role of ['trainer', 'auditor', 'privacy', 'admin'] as const) {
      const login = `oidc-${role}`;
      op.users.set(login, { groups: [`g-${role}`] });
      const caller = `oidc${role[0]!.toUpperCase()}${role.slice(1)}` as Caller;
      headers[caller] = (await signInThroughProvider(app.url, login)).headers;
    }
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    headers.trainer = bearer((await createTestUser(testDb.db, { role: 'trainer' })).token);
    headers.scopedOut = bearer((await createTestUser(testDb.db, { role: 'trainer', queues: ['sales'] })).token);
    headers.auditor = bearer((await createTestUser(testDb.db, { role: 'auditor' })).token);
    headers.privacy = bearer((await createTestUser(testDb.db, { role: 'privacy' })).token);
    headers.admin = bearer((await createTestUser(testDb.db, { role: 'admin' })).token);
    headers.anonymous = {};
    const revoked = await createTestUser(testDb.db, { role: 'admin' });
    await revokeToken({ db: testDb.db, clock }, revoked.tokenId);
    headers.revoked = bearer(revoked.token);
    headers.disabled = bearer((await createTestUser(testDb.db, { role: 'admin', disabled: true })).token);
    const unenrolled = await createTestUser(testDb.db, { role: 'privacy' });
    headers.enrolOnly = (await signInStep(app.url, unenrolled.user.username, unenrolled.password, 'enrol')).headers;
    headers.agent = bearer((await createTestUser(testDb.db, { role: 'agent', agentId: MATRIX_AGENT })).token);
    headers.otherAgent = bearer((await createTestUser(testDb.db, { role: 'agent', agentId: OTHER_AGENT })).token);
    form = await createStoredForm(testDb.db.knex);
  });
  after(async () => {
    await app?.close();
    await op?.close();
    await testStore?.dispose();
    await testDb?.dispose();
  });

  it('when a route is mounted in the app or documented in the OpenAPI document, then it has a row in the matrix or a stated exemption', async () => {
    const covered = new Set([...ROUTES.map((r) => `${r.method} ${r.path.split('?')[0]}`), ...Object.keys(EXEMPT)]);
    const mounted = mountedRoutes((app.app as unknown as { router: { stack: RouterLayer[] } }).router.stack);
    const doc = (await (await fetch(`${app.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.keys(ops)
        .filter((m) => ['get', 'put', 'post', 'delete', 'patch'].includes(m))
        .map((m) => `${m.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ':$1')}`),
    );
    expect(mounted.length).to.be.greaterThan(20);
    expect(documented.length).to.be.greaterThan(15);
    expect([...new Set([...mounted, ...documented])].filter((r) => !covered.has(r)).sort()).to.deep.equal([]);
  });

  it('when each caller calls each route, then the status is the one in the table', async () => {
    const expected: Record<string, Expectation> = {};
    const actual: Record<string, Expectation> = {};
    let calls = 0;
    await createTestUser(testDb.db, { username: MATRIX_USER, role: 'trainer' });
    await insertForm(testDb.db.knex, { id: MATRIX_FORM, definition: buildForm(), createdBy: 'admin', at: Date.now() });
    for (const route of ROUTES) {
      const label = `${route.method} ${route.path}`;
      expected[label] = route.expect;
      actual[label] = {} as Expectation;
      for (const caller of CALLERS) {
        const phone = `+3161${String(matrixPhones.int(1_000_000, 9_999_999))}`;
        const rec = await createStoredRecording({
          db: testDb.db,
          store: testStore.store,
          overrides: {
            queue: 'billing',
            agent_id: MATRIX_AGENT,
            caller_number: phone,
            waveform: JSON.stringify({ durationMs: 4000, channels: 1, peaks: [[0.1, 0.2]] }),
            ...route.recording,
          },
        });
        await createStoredEvaluation(testDb.db.knex, {
          form,
          overrides: { recording_id: rec.row.id, agent_id: MATRIX_AGENT, queue: rec.row.queue },
        });
        const request = await createStoredPrivacyRequest(testDb.db, { numbers: [phone] });
        const evaluation = buildEvaluation(MATRIX_FORM, {
          recordingId: rec.row.id,
          queue: 'billing',
          evaluator: MATRIX_EVALUATOR,
          agentId: MATRIX_AGENT,
        });
        if (route.id === 'evaluation') await insertEvaluation(testDb.db.knex, evaluation);
        const ids = { recording: rec.row.id, request: request.id, form: MATRIX_FORM, evaluation: evaluation.id };
        const path = route.path
          .replace(':id', ids[route.id ?? 'recording'])
          .replace(':version', '1')
          .replace('{phone}', encodeURIComponent(phone))
          .replace(':username', MATRIX_USER);
        const body =
          route.body === undefined
            ? undefined
            : JSON.stringify(route.body)
                .replace('{phone}', phone)
                .replace('{requestId}', request.id)
                .replace('{formId}', MATRIX_FORM)
                .replace('{n}', String(++calls));
        const res = await fetch(`${app.url}${path}`, {
          method: route.method,
          headers: { ...headers[caller], ...(route.body === undefined ? {} : { 'content-type': 'application/json' }) },
          body,
        });
        await res.arrayBuffer();
        actual[label]![caller] = res.status;
      }
    }
    // Only the differing cells, so that a failure names them (a whole-table diff is cut short).
    const differing: Record<string, string> = {};
    for (const [label, want] of Object.entries(expected))
      for (const caller of CALLERS)
        if (actual[label]![caller] !== want[caller])
          differing[`${label} as ${caller}`] = `${actual[label]![caller]}, expected ${want[caller]}`;
    expect(differing).to.deep.equal({});
  });
});
