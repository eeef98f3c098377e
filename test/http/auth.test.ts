/**
 * Sessions, tokens and guards over real HTTP, on SQLite and PostgreSQL (fs
 * store: no storage behaviour is claimed here).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import express from 'express';
import { createAuthenticate } from '../../src/auth/authenticate.js';
import { createGuards } from '../../src/auth/guard.js';
import { LOGIN_LIMITS } from '../../src/auth/session-routes.js';
import { revokeToken, setDisabled } from '../../src/auth/accounts.js';
import { createManualClock } from '../../src/clock.js';
import type { Config } from '../../src/config.js';
import { createErrorMiddleware } from '../../src/http/problem.js';
import { requestId } from '../../src/http/request-id.js';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { startTestApp, testConfig } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { createTestUser, signIn } from '../support/users.js';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 10, 27, 9, 0, 0);

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function call(url: string, init: RequestInit & { json?: unknown } = {}): Promise<Answer> {
  const headers = new Headers(init.headers);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(init.json);
  }
  const res = await fetch(url, { ...init, headers, body });
  const text = await res.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    parsed = { text };
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

for (const backend of dbBackends) {
  describe(`auth over HTTP (${backend.name})`, function () {
    let testDb: TestDb;
    let testStore: TestStore;
    let app: TestApp;
    let clock: ReturnType<typeof createManualClock>;
    let extraApps: TestApp[] = [];

    const config = (overrides: Record<string, string> = {}): Config =>
      testConfig({ CALLREC_SESSION_IDLE: '30m', CALLREC_SESSION_MAX: '2h', ...overrides });
    const start = async (overrides: Record<string, string> = {}): Promise<TestApp> => {
      const started = await startTestApp({ db: testDb.db, store: testStore.store, clock, config: config(overrides) });
      extraApps.push(started);
      return started;
    };
    const login = (username: string, password: string, headers: Record<string, string> = {}) =>
      call(`${app.url}/v1/session`, { method: 'POST', json: { username, password }, headers });
    const whoami = (headers: Record<string, string>) => call(`${app.url}/v1/session`, { headers });
    /** Usernames to fail against from one IP, each staying under the per-user limit (real users: cheap test hashes). */
    const guessTargets = async () => {
      const count = Math.ceil(LOGIN_LIMITS.perAddress / (LOGIN_LIMITS.perUserAddress.freeFailures - 1));
      return Promise.all(Array.from({ length: count }, async () => (await createTestUser(testDb.db)).user.username));
    };
    const sessionRows = async (userId: string) =>
      Number(
        (
          (await testDb.db.knex('sessions').where({ user_id: userId }).count({ n: '*' }).first()) as {
            n: number | string;
          }
        ).n,
      );

    before(async () => {
      testDb = await backend.create();
      testStore = await storeBackends[0]!.create();
    });
    after(async () => {
      await testStore.dispose();
      await testDb.dispose();
    });
    beforeEach(async () => {
      clock = createManualClock(T0);
      extraApps = [];
      app = await start();
    });
    afterEach(async () => {
      for (const a of extraApps) await a.close();
    });

    it('when a user signs in with the right password, then 200 names the user and sets an httpOnly SameSite=Strict cookie that authenticates', async () => {
      const { user, password } = await createTestUser(testDb.db, { role: 'trainer', queues: ['sales', 'billing'] });
      const res = await fetch(`${app.url}/v1/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: user.username, password }),
      });
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.equal({
        user: { username: user.username, role: 'trainer', queues: ['sales', 'billing'] },
      });
      const [cookie] = res.headers.getSetCookie();
      expect(cookie).to.match(/^callrec_session=[A-Za-z0-9_-]{43}; /);
      expect(cookie).to.include('HttpOnly').and.include('SameSite=Strict').and.include('Path=/');
      expect(cookie).not.to.include('Secure');
      const me = await whoami({ cookie: cookie!.split(';')[0]! });
      expect(me.status).to.equal(200);
      expect(me.body).to.deep.include({
        user: { username: user.username, role: 'trainer', queues: ['sales', 'billing'] },
        via: 'session',
      });
      expect(await sessionRows(user.id)).to.equal(1);
      const stored = (await testDb.db.knex('sessions').where({ user_id: user.id }).first()) as { id_hash: string };
      expect(stored.id_hash).to.match(/^[0-9a-f]{64}$/);
      expect(cookie).not.to.include(stored.id_hash);
    });

    it('when the service is public over HTTPS, then the cookie is __Host-callrec with Secure, and only that name authenticates', async () => {
      app = await start({ CALLREC_PUBLIC_URL: 'https://callrec.example.com' });
      const { user, password } = await createTestUser(testDb.db, { role: 'auditor' });
      const res = await login(user.username, password);
      expect(res.status).to.equal(200);
      const [cookie] = res.headers.getSetCookie();
      expect(cookie).to.match(/^__Host-callrec=[A-Za-z0-9_-]{43}; /);
      expect(cookie).to.include('Secure').and.include('HttpOnly').and.include('SameSite=Strict').and.include('Path=/');
      const value = cookie!.split(';')[0]!.split('=')[1]!;
      expect((await whoami({ cookie: `__Host-callrec=${value}` })).status).to.equal(200);
      expect((await whoami({ cookie: `callrec_session=${value}` })).status).to.equal(401);
    });

    it('when a user signs out, then 204, the session row is deleted and the cookie no longer authenticates', async () => {
      const { user, password } = await createTestUser(testDb.db);
      const session = await signIn(app.url, user.username, password);
      const out = await call(`${app.url}/v1/session`, { method: 'DELETE', headers: session.headers });
      expect(out.status).to.equal(204);
      expect(out.headers.getSetCookie()[0]).to.match(/^callrec_session=; .*Max-Age=0/);
      expect(await sessionRows(user.id)).to.equal(0);
      const me = await whoami(session.headers);
      expect(me.status).to.equal(401);
      expect(me.body.code).to.equal('unauthenticated');
    });

    it('when the username is unknown, the password wrong or the user disabled, then the same 401 invalid_credentials and no session', async () => {
      const { user, password } = await createTestUser(testDb.db);
      const disabled = await createTestUser(testDb.db, { disabled: true });
      const answers = [
        await login(user.username, `${password}x`),
        await login('nobody-here', password),
        await login(disabled.user.username, disabled.password),
      ];
      for (const answer of answers) {
        expect(answer.status).to.equal(401);
        expect(answer.body).to.deep.equal(answers[0]!.body);
        expect(answer.body.code).to.equal('invalid_credentials');
        expect(answer.headers.getSetCookie()).to.deep.equal([]);
      }
      expect(await sessionRows(user.id)).to.equal(0);
      expect(await sessionRows(disabled.user.id)).to.equal(0);
    });

    it('when the login body is not {username, password}, then 400 invalid_request', async () => {
      const res = await call(`${app.url}/v1/session`, { method: 'POST', json: { username: 'x' } });
      expect(res.status).to.equal(400);
      expect(res.body.code).to.equal('invalid_request');
    });

    it('when a session is used within the idle timeout, then it slides; when idle longer, then it ends and its row is deleted', async () => {
      const { user, password } = await createTestUser(testDb.db);
      const session = await signIn(app.url, user.username, password);
      clock.advance(25 * MINUTE);
      expect((await whoami(session.headers)).status).to.equal(200);
      clock.advance(25 * MINUTE); // 50 min after sign-in, 25 after last use
      expect((await whoami(session.headers)).status).to.equal(200);
      clock.advance(30 * MINUTE); // exactly the idle timeout
      const me = await whoami(session.headers);
      expect(me.status).to.equal(401);
      expect(me.headers.getSetCookie()[0]).to.match(/^callrec_session=; /);
      expect(await sessionRows(user.id)).to.equal(0);
    });

    it('when a session is kept busy past its absolute lifetime, then it ends anyway', async () => {
      const { user, password } = await createTestUser(testDb.db);
      const session = await signIn(app.url, user.username, password);
      for (let elapsed = 20; elapsed < 120; elapsed += 20) {
        clock.advance(20 * MINUTE);
        expect((await whoami(session.headers)).status, `after ${elapsed} min`).to.equal(200);
      }
      clock.advance(20 * MINUTE); // 120 min = CALLREC_SESSION_MAX
      expect((await whoami(session.headers)).status).to.equal(401);
      expect(await sessionRows(user.id)).to.equal(0);
    });

    it('when a username fails too often from one address, then 429 rate_limited with Retry-After even for the right password, each further failure doubling the wait', async () => {
      const { user, password } = await createTestUser(testDb.db);
      const { freeFailures, baseDelayMs } = LOGIN_LIMITS.perUserAddress;
      for (let i = 0; i < freeFailures; i++)
        expect((await login(user.username, 'wrong-password')).status).to.equal(401);
      const limited = await login(user.username, password);
      expect(limited.status).to.equal(429);
      expect(limited.body.code).to.equal('rate_limited');
      expect(limited.headers.get('retry-after')).to.equal(String(baseDelayMs / 1000));
      expect(limited.headers.getSetCookie()).to.deep.equal([]);
      clock.advance(baseDelayMs);
      expect((await login(user.username, 'wrong-password')).status).to.equal(401);
      const doubled = await login(user.username, password);
      expect(doubled.status).to.equal(429);
      expect(doubled.headers.get('retry-after')).to.equal(String((2 * baseDelayMs) / 1000));
      clock.advance(2 * baseDelayMs);
      expect((await login(user.username, password)).status).to.equal(200);
      const metrics = await (await fetch(`${app.url}/metrics`)).text();
      expect(metrics).to.match(
        new RegExp(`callrec_logins_total\\{outcome="invalid_credentials"\\} ${freeFailures + 1}\\b`),
      );
      expect(metrics).to.match(/callrec_logins_total\{outcome="rate_limited"\} 2\b/);
      expect(metrics).to.match(/callrec_logins_total\{outcome="success"\} 1\b/);
    });

    it('when many wrong passwords arrive at once, then no more than the limit are checked and the rest get 429', async () => {
      const { user } = await createTestUser(testDb.db);
      const { freeFailures } = LOGIN_LIMITS.perUserAddress;
      const answers = await Promise.all(
        Array.from({ length: freeFailures * 2 }, () => login(user.username, 'parallel-guess')),
      );
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses.filter((s) => s === 401)).to.have.length(freeFailures);
      expect(statuses.filter((s) => s === 429)).to.have.length(freeFailures);
    });

    it('when a user signs in successfully between failures, then the success does not count against the IP', async () => {
      const { user, password } = await createTestUser(testDb.db);
      const guessed = await guessTargets();
      for (let i = 0; i < LOGIN_LIMITS.perAddress - 1; i++) {
        expect((await login(user.username, password)).status).to.equal(200);
        expect((await login(guessed[i % guessed.length]!, 'wrong-password')).status).to.equal(401);
      }
      expect((await login(user.username, password)).status).to.equal(200);
    });

    it('when one client IP fails across many usernames, then it is limited too', async () => {
      const { user, password } = await createTestUser(testDb.db);
      const guessed = await guessTargets();
      for (let i = 0; i < LOGIN_LIMITS.perAddress; i++)
        expect((await login(guessed[i % guessed.length]!, 'wrong-password')).status).to.equal(401);
      const limited = await login(user.username, password);
      expect(limited.status).to.equal(429);
      expect(limited.body.code).to.equal('rate_limited');
    });

    it('when 20 wrong passwords for the admin come from one forwarded address, then the admin signs in from another address at once, and the attacker waits', async () => {
      app = await start({ CALLREC_TRUSTED_PROXIES: 'loopback' });
      const { user, password } = await createTestUser(testDb.db, { role: 'admin' });
      const attacker = { 'x-forwarded-for': '203.0.113.9' };
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) statuses.push((await login(user.username, `guess-${i}`, attacker)).status);
      expect(statuses.filter((s) => s === 401)).to.have.length(LOGIN_LIMITS.perUserAddress.freeFailures);
      expect(statuses.filter((s) => s === 429)).to.have.length(20 - LOGIN_LIMITS.perUserAddress.freeFailures);
      expect(
        (await login(user.username, password, attacker)).status,
        'the attacker address, even with the password',
      ).to.equal(429);
      const admin = await login(user.username, password, { 'x-forwarded-for': '198.51.100.7' });
      expect(admin.status).to.equal(200);
      expect(admin.body).to.deep.include({ user: { username: user.username, role: 'admin', queues: null } });
    });

    it('when the peer is a trusted proxy, then the login is counted and logged under the X-Forwarded-For client, the rightmost untrusted hop', async () => {
      app = await start({ CALLREC_TRUSTED_PROXIES: '127.0.0.1/8,::1,10.0.0.0/8' });
      const { user } = await createTestUser(testDb.db);
      await login(user.username, 'wrong-password', { 'x-forwarded-for': '192.0.2.1, 203.0.113.9, 10.1.2.3' });
      const failed = app.logs
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((e) => e.msg === 'login failed');
      expect(failed).to.include({ ip: '203.0.113.9', username: user.username });
    });

    it('when the peer is not a trusted proxy, then X-Forwarded-For is ignored: a spoofed address neither escapes the backoff nor is logged', async () => {
      for (const trusted of [undefined, '10.0.0.0/8']) {
        app = await start(trusted ? { CALLREC_TRUSTED_PROXIES: trusted } : {});
        const { user, password } = await createTestUser(testDb.db);
        for (let i = 0; i < LOGIN_LIMITS.perUserAddress.freeFailures; i++) {
          expect(
            (await login(user.username, 'wrong-password', { 'x-forwarded-for': `203.0.113.${i}` })).status,
          ).to.equal(401);
        }
        expect(
          (await login(user.username, password, { 'x-forwarded-for': '198.51.100.7' })).status,
          `trusted: ${trusted}`,
        ).to.equal(429);
        const ips = app.logs
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .filter((e) => e.msg === 'login failed')
          .map((e) => e.ip);
        expect(ips, `trusted: ${trusted}`).to.have.length(LOGIN_LIMITS.perUserAddress.freeFailures);
        for (const ip of ips) expect(ip).to.match(/^(::ffff:)?127\.0\.0\.1$/);
      }
    });

    it('when a cookie-authenticated state-changing request has no or a foreign Origin, then 403 origin_mismatch and nothing changes', async () => {
      const { user, password } = await createTestUser(testDb.db);
      const session = await signIn(app.url, user.username, password);
      const none = await call(`${app.url}/v1/session`, { method: 'DELETE', headers: { cookie: session.cookie } });
      expect(none.status).to.equal(403);
      expect(none.body.code).to.equal('origin_mismatch');
      const foreign = await call(`${app.url}/v1/session`, {
        method: 'DELETE',
        headers: { cookie: session.cookie, origin: 'https://evil.example' },
      });
      expect(foreign.status).to.equal(403);
      const nullOrigin = await call(`${app.url}/v1/session`, {
        method: 'DELETE',
        headers: { cookie: session.cookie, origin: 'null' },
      });
      expect(nullOrigin.status).to.equal(403);
      expect(await sessionRows(user.id)).to.equal(1);
      expect((await whoami({ cookie: session.cookie })).status).to.equal(200);
      const viaReferer = await call(`${app.url}/v1/session`, {
        method: 'DELETE',
        headers: { cookie: session.cookie, referer: `${app.url}/recordings` },
      });
      expect(viaReferer.status).to.equal(204);
      expect(await sessionRows(user.id)).to.equal(0);
    });

    it('when a login form is posted from another origin, then 403 origin_mismatch', async () => {
      const { user, password } = await createTestUser(testDb.db);
      const res = await login(user.username, password, { origin: 'https://evil.example' });
      expect(res.status).to.equal(403);
      expect(res.body.code).to.equal('origin_mismatch');
      expect(await sessionRows(user.id)).to.equal(0);
    });

    it('when a bearer token is sent, then it authenticates without an Origin, even for state-changing requests, and records its use', async () => {
      const { user, token, tokenId } = await createTestUser(testDb.db, { role: 'privacy' });
      const me = await whoami({ authorization: `Bearer ${token}` });
      expect(me.status).to.equal(200);
      expect(me.body).to.deep.include({
        user: { username: user.username, role: 'privacy', queues: null },
        via: 'token',
      });
      const row = (await testDb.db.knex('api_tokens').where({ id: tokenId }).first()) as {
        last_used_at: number;
        token_hash: string;
      };
      expect(row.last_used_at).to.equal(T0);
      expect(row.token_hash)
        .to.match(/^[0-9a-f]{64}$/)
        .and.not.equal(token);
      const del = await call(`${app.url}/v1/session`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(del.status).to.equal(204);
    });

    it('when a token is revoked, its user disabled, or the Authorization header malformed, then 401', async () => {
      const revoked = await createTestUser(testDb.db);
      expect((await whoami({ authorization: `Bearer ${revoked.token}` })).status).to.equal(200);
      await revokeToken({ db: testDb.db, clock }, revoked.tokenId);
      expect((await whoami({ authorization: `Bearer ${revoked.token}` })).status).to.equal(401);

      const builtRevoked = await createTestUser(testDb.db, { tokenRevoked: true });
      expect((await whoami({ authorization: `Bearer ${builtRevoked.token}` })).status).to.equal(401);

      const later = await createTestUser(testDb.db);
      const session = await signIn(app.url, later.user.username, later.password);
      expect((await whoami({ authorization: `Bearer ${later.token}` })).status).to.equal(200);
      await setDisabled({ db: testDb.db, clock }, later.user.username, true);
      expect((await whoami({ authorization: `Bearer ${later.token}` })).status).to.equal(401);
      expect((await whoami(session.headers)).status).to.equal(401);

      const valid = await createTestUser(testDb.db);
      for (const header of [
        `Basic ${valid.token}`,
        `Bearer`,
        `Bearer ${valid.token} extra`,
        `Bearer crt_${'A'.repeat(43)}`,
      ]) {
        const me = await whoami({ authorization: header });
        expect(me.status, header.slice(0, 12)).to.equal(401);
        expect(me.body.code).to.equal('unauthenticated');
      }
    });

    it('when a token is revoked or its user disabled by another process (the CLI), then the server refuses it at the next request (tokens are never cached)', async () => {
      const revoked = await createTestUser(testDb.db);
      const disabled = await createTestUser(testDb.db);
      for (const t of [revoked, disabled])
        expect((await whoami({ authorization: `Bearer ${t.token}` })).status).to.equal(200);
      // Straight to the database, as another process would: this process is not told.
      await testDb.db.knex('api_tokens').where({ id: revoked.tokenId }).update({ revoked_at: clock.now() });
      await testDb.db.knex('users').where({ id: disabled.user.id }).update({ disabled: true });
      for (const t of [revoked, disabled]) {
        const me = await whoami({ authorization: `Bearer ${t.token}` });
        expect(me.status).to.equal(401);
        expect(me.body.code).to.equal('unauthenticated');
      }
    });

    it('when a guarded route is called anonymously, then 401; with a role not allowed, then 403; with an allowed role, then 200', async () => {
      const guarded = express();
      guarded.use(requestId);
      guarded.use(createAuthenticate(app.deps));
      guarded.get('/audit-only', createGuards(app.deps).requireRole('auditor', 'admin'), (req, res) => {
        res.json({ username: req.principal!.username });
      });
      guarded.use(createErrorMiddleware(app.deps));
      const server: Server = guarded.listen(0, '127.0.0.1');
      await new Promise<void>((resolve) => server.once('listening', resolve));
      try {
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/audit-only`;
        const trainer = await createTestUser(testDb.db, { role: 'trainer' });
        const auditor = await createTestUser(testDb.db, { role: 'auditor' });
        const anonymous = await call(url);
        expect(anonymous.status).to.equal(401);
        expect(anonymous.body.code).to.equal('unauthenticated');
        expect(anonymous.headers.get('www-authenticate')).to.match(/^Bearer/);
        const wrongRole = await call(url, { headers: { authorization: `Bearer ${trainer.token}` } });
        expect(wrongRole.status).to.equal(403);
        expect(wrongRole.body.code).to.equal('forbidden');
        const allowed = await call(url, { headers: { authorization: `Bearer ${auditor.token}` } });
        expect(allowed.status).to.equal(200);
        expect(allowed.body).to.deep.equal({ username: auditor.user.username });
        expect(app.logs.some((l) => l.includes('authorization refused') && l.includes(trainer.user.username))).to.equal(
          true,
        );
      } finally {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });

    it('when users sign in, fail, and use tokens, then the logs record the logins but hold no password, token or session id', async () => {
      const { user, password, token } = await createTestUser(testDb.db);
      const wrongPassword = 'Wr0ng-but-secret-Passw0rd';
      expect((await login(user.username, wrongPassword)).status).to.equal(401);
      const session = await signIn(app.url, user.username, password);
      expect((await whoami({ authorization: `Bearer ${token}` })).status).to.equal(200);
      expect((await whoami({ authorization: `Bearer ${token}x` })).status).to.equal(401);
      expect((await call(`${app.url}/v1/session`, { method: 'DELETE', headers: session.headers })).status).to.equal(
        204,
      );

      const logs = app.logs.join('\n');
      expect(
        app.logs.some(
          (l) =>
            l.includes('"login failed"') &&
            l.includes(user.username) &&
            l.includes('"requestId"') &&
            l.includes('"ip"'),
        ),
      ).to.equal(true);
      expect(app.logs.some((l) => l.includes('"login succeeded"') && l.includes(user.username))).to.equal(true);
      const sessionId = session.cookie.split('=')[1]!;
      for (const secret of [password, wrongPassword, token, token.slice(4), sessionId])
        expect(logs).not.to.include(secret);
    });
  });
}
