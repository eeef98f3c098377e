/**
 * The second factor of local accounts over real HTTP, on SQLite and PostgreSQL: enrolment,
 * the code step, replay, clock skew, recovery codes, the rate limit, the enrolment-only
 * session of a privileged user, `reset-mfa` and the security log. Codes come from `oathtool`
 * (test/support/totp.ts) for the app's injected clock.
 */
import { expect } from 'chai';
import { resetMfa } from '../../src/auth/accounts.js';
import { CODE_LIMITS } from '../../src/auth/mfa-routes.js';
import { STEP_SESSION_MS } from '../../src/auth/sessions.js';
import { createManualClock } from '../../src/clock.js';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { startTestApp, testConfig } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { oathtoolCode } from '../support/totp.js';
import { createTestUser } from '../support/users.js';
import type { TestUserOptions } from '../support/users.js';

const T0 = Date.UTC(2026, 10, 27, 9, 0, 10);
const STEP = 30_000;
const SESSION_SECRET = 'test-session-secret-0123456789abcdef';

interface Answer {
  status: number;
  body: Record<string, unknown>;
  cookie: string | undefined;
}

for (const backend of dbBackends) {
  describe(`second factor (TOTP) over HTTP (${backend.name})`, function () {
    this.timeout(60_000);
    let testDb: TestDb;
    let testStore: TestStore;
    let app: TestApp;
    let clock: ReturnType<typeof createManualClock>;

    const call = async (
      path: string,
      init: { method?: string; cookie?: string; json?: unknown; headers?: Record<string, string> } = {},
    ): Promise<Answer> => {
      const headers: Record<string, string> = { origin: new URL(app.url).origin, ...init.headers };
      if (init.cookie) headers.cookie = init.cookie;
      if (init.json !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${app.url}${path}`, {
        method: init.method ?? 'GET',
        headers,
        body: init.json === undefined ? undefined : JSON.stringify(init.json),
      });
      const text = await res.text();
      const setCookie = res.headers.getSetCookie().find((c) => !/Max-Age=0/.test(c));
      return {
        status: res.status,
        body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
        cookie: setCookie?.split(';')[0],
      };
    };
    const password = (username: string, pw: string) =>
      call('/v1/session', { method: 'POST', json: { username, password: pw } });
    const sendCode = (cookie: string | undefined, code: string) =>
      call('/v1/session/code', { method: 'POST', cookie, json: { code } });
    const codeAt = (secret: string, offsetSteps = 0) => oathtoolCode(secret, clock.now() + offsetSteps * STEP);

    /** A user of `role` who enrolled at the current clock: their secret and recovery codes. */
    const enrolledUser = async (options: TestUserOptions = {}) => {
      const made = await createTestUser(testDb.db, { role: 'privacy', ...options });
      const step = await password(made.user.username, made.password);
      const started = await call('/v1/session/enrolment', { method: 'POST', cookie: step.cookie });
      expect(started.status, JSON.stringify(started.body)).to.equal(200);
      const secret = started.body.secret as string;
      const confirmed = await call('/v1/session/enrolment/confirm', {
        method: 'POST',
        cookie: step.cookie,
        json: { code: codeAt(secret) },
      });
      expect(confirmed.status, JSON.stringify(confirmed.body)).to.equal(200);
      return { ...made, secret, recoveryCodes: confirmed.body.recoveryCodes as string[], cookie: confirmed.cookie! };
    };
    const securityLog = async (username: string) =>
      (await testDb.db.knex('access_log').where({ username }).whereNull('recording_id').orderBy('id')) as Array<{
        action: string;
        detail: string | null;
      }>;

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
      app = await startTestApp({
        db: testDb.db,
        store: testStore.store,
        clock,
        config: testConfig({ CALLREC_MFA_REQUIRED_ROLES: 'privacy,admin', CALLREC_SESSION_SECRET: SESSION_SECRET }),
      });
    });
    afterEach(async () => {
      await app.close();
    });

    it('when a privacy officer without a factor signs in, then the answer names the enrolment step and the session reaches no guarded route', async () => {
      const { user, password: pw } = await createTestUser(testDb.db, { role: 'privacy' });
      const step = await password(user.username, pw);
      expect(step.status).to.equal(200);
      expect(step.body).to.deep.equal({ next: 'enrol', user: { username: user.username } });
      for (const path of ['/v1/session', '/v1/subjects/recordings?phone=%2B31612345678', '/v1/privacy-requests']) {
        const res = await call(path, { cookie: step.cookie });
        expect(res.status, path).to.equal(403);
        expect(res.body).to.deep.include({ code: 'second_factor_required', next: 'enrol' });
      }
      expect((await sendCode(step.cookie, '123456')).status).to.equal(403);
      expect(await securityLog(user.username)).to.deep.equal([]);
    });

    it('when a user enrols with the secret shown and a first oathtool code, then a full session begins with ten recovery codes, and the secret is stored sealed and logged nowhere', async () => {
      const { user, password: pw } = await createTestUser(testDb.db, { role: 'admin' });
      const step = await password(user.username, pw);
      const started = await call('/v1/session/enrolment', { method: 'POST', cookie: step.cookie });
      expect(started.status).to.equal(200);
      const secret = started.body.secret as string;
      expect(secret).to.match(/^[A-Z2-7]{32}$/);
      expect(started.body.otpauthUri).to.match(/^otpauth:\/\/totp\/callrec:/);
      expect(started.body.otpauthUri).to.include(`secret=${secret}`);
      expect(started.body.qrDataUrl).to.match(/^data:image\/svg\+xml;base64,/);
      const confirmed = await call('/v1/session/enrolment/confirm', {
        method: 'POST',
        cookie: step.cookie,
        json: { code: codeAt(secret) },
      });
      expect(confirmed.status).to.equal(200);
      const codes = confirmed.body.recoveryCodes as string[];
      expect(codes).to.have.length(10);
      expect(new Set(codes).size).to.equal(10);
      expect(confirmed.cookie).to.be.a('string').and.not.equal(step.cookie);
      expect((await call('/v1/session', { cookie: confirmed.cookie })).status).to.equal(200);
      expect((await call('/v1/session', { cookie: step.cookie })).status).to.equal(401);

      const row = (await testDb.db.knex('user_mfa').where({ user_id: user.id }).first()) as { secret: string };
      expect(row.secret).to.match(/^v1:/).and.not.include(secret);
      const stored = (await testDb.db.knex('user_recovery_codes').where({ user_id: user.id })) as Array<{
        code_hash: string;
      }>;
      expect(stored.map((r) => r.code_hash).join()).not.to.include(codes[0]!);
      const again = await call('/v1/session/enrolment', { method: 'POST', cookie: confirmed.cookie });
      expect(again.status).to.equal(409);
      expect(again.body).not.to.have.property('secret');
      const everything = app.logs.join('\n') + JSON.stringify(await securityLog(user.username));
      expect(everything).not.to.include(secret);
      for (const code of codes) expect(everything).not.to.include(code);
      expect((await securityLog(user.username)).map((e) => e.action)).to.deep.equal(['mfa_enrolled', 'sign_in']);
    });

    it('when an enrolled user passes the password, then only the code step is open, and an oathtool code starts a new full session', async () => {
      const enrolled = await enrolledUser();
      clock.advance(5 * STEP);
      const step = await password(enrolled.user.username, enrolled.password);
      expect(step.body).to.deep.equal({ next: 'code', user: { username: enrolled.user.username } });
      const refused = await call('/v1/privacy-requests', { cookie: step.cookie });
      expect(refused.status).to.equal(403);
      expect(refused.body).to.deep.include({ code: 'second_factor_required', next: 'code' });
      const passed = await sendCode(step.cookie, codeAt(enrolled.secret));
      expect(passed.status).to.equal(200);
      expect(passed.body.user).to.deep.include({ username: enrolled.user.username, role: 'privacy' });
      expect(passed.cookie).not.to.equal(step.cookie);
      expect((await call('/v1/privacy-requests', { cookie: passed.cookie })).status).to.equal(200);
      expect((await call('/v1/privacy-requests', { cookie: step.cookie })).status).to.equal(401);
    });

    it('when a wrong code is sent, then 401 invalid_code, and the security log has the failure without the code', async () => {
      const enrolled = await enrolledUser();
      clock.advance(5 * STEP);
      const step = await password(enrolled.user.username, enrolled.password);
      const right = codeAt(enrolled.secret);
      const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0');
      const res = await sendCode(step.cookie, wrong);
      expect(res.status).to.equal(401);
      expect(res.body).to.deep.include({ code: 'invalid_code' });
      const log = await securityLog(enrolled.user.username);
      expect(log.map((e) => e.action)).to.include('code_failed');
      expect(JSON.stringify(log) + app.logs.join('\n')).not.to.include(wrong);
      expect((await sendCode(step.cookie, right)).status).to.equal(200);
    });

    it('when a code that was accepted is sent again within its window, then it is refused, and the next step`s code is accepted', async () => {
      const enrolled = await enrolledUser();
      clock.advance(5 * STEP);
      const code = codeAt(enrolled.secret);
      expect(
        (await sendCode((await password(enrolled.user.username, enrolled.password)).cookie, code)).status,
      ).to.equal(200);
      clock.advance(10_000);
      const replay = await sendCode((await password(enrolled.user.username, enrolled.password)).cookie, code);
      expect(replay.status).to.equal(401);
      expect(replay.body).to.deep.include({ code: 'invalid_code' });
      clock.advance(STEP);
      const next = await sendCode(
        (await password(enrolled.user.username, enrolled.password)).cookie,
        codeAt(enrolled.secret),
      );
      expect(next.status).to.equal(200);
    });

    it('when the code is one step off either way, then it is accepted; two steps off either way, refused', async () => {
      const enrolled = await enrolledUser();
      clock.advance(20 * STEP);
      const attempt = async (offset: number) =>
        (
          await sendCode(
            (await password(enrolled.user.username, enrolled.password)).cookie,
            codeAt(enrolled.secret, offset),
          )
        ).status;
      expect(await attempt(-2)).to.equal(401);
      expect(await attempt(+2)).to.equal(401);
      expect(await attempt(-1)).to.equal(200);
      expect(await attempt(+1)).to.equal(200);
    });

    it('when a recovery code is used, then it signs in once and never again', async () => {
      const enrolled = await enrolledUser();
      const code = enrolled.recoveryCodes[3]!;
      const first = await sendCode(
        (await password(enrolled.user.username, enrolled.password)).cookie,
        code.toUpperCase(),
      );
      expect(first.status).to.equal(200);
      expect(first.body.recoveryCodesLeft).to.equal(9);
      const second = await sendCode((await password(enrolled.user.username, enrolled.password)).cookie, code);
      expect(second.status).to.equal(401);
      const actions = (await securityLog(enrolled.user.username)).map((e) => e.action);
      expect(actions).to.include('recovery_used').and.include('code_failed');
      expect(JSON.stringify(await securityLog(enrolled.user.username))).not.to.include(code);
    });

    it('when codes keep failing, then after the limit even the right code waits (429) until the window has passed', async () => {
      const enrolled = await enrolledUser();
      clock.advance(5 * STEP);
      const step = await password(enrolled.user.username, enrolled.password);
      const right = codeAt(enrolled.secret);
      const wrong = String((Number(right) + 500_000) % 1_000_000).padStart(6, '0');
      for (let i = 0; i < CODE_LIMITS.maxFailures; i++)
        expect((await sendCode(step.cookie, wrong)).status).to.equal(401);
      const limited = await sendCode(step.cookie, right);
      expect(limited.status).to.equal(429);
      clock.advance(CODE_LIMITS.windowMs);
      const later = await password(enrolled.user.username, enrolled.password);
      expect((await sendCode(later.cookie, codeAt(enrolled.secret))).status).to.equal(200);
    });

    it('when the code step is left waiting longer than its lifetime, then its session is gone', async () => {
      const enrolled = await enrolledUser();
      const step = await password(enrolled.user.username, enrolled.password);
      clock.advance(STEP_SESSION_MS);
      expect((await sendCode(step.cookie, codeAt(enrolled.secret))).status).to.equal(401);
    });

    it('when the second factor is reset, then the user`s sessions end, the reset is in the security log, and the next sign-in must enrol again', async () => {
      const enrolled = await enrolledUser();
      await resetMfa({ db: testDb.db, clock }, enrolled.user.username, { by: 'cli' });
      expect((await call('/v1/session', { cookie: enrolled.cookie })).status).to.equal(401);
      const step = await password(enrolled.user.username, enrolled.password);
      expect(step.body.next).to.equal('enrol');
      const log = await securityLog(enrolled.user.username);
      expect(log.at(-1)).to.deep.include({ action: 'mfa_reset', detail: '{"by":"cli"}' });
    });

    it('when a trainer (no factor required) enrols from a signed-in session, then later sign-ins need the code', async () => {
      const { user, password: pw } = await createTestUser(testDb.db, { role: 'trainer' });
      const signedIn = await password(user.username, pw);
      expect(signedIn.body).not.to.have.property('next');
      const started = await call('/v1/session/enrolment', { method: 'POST', cookie: signedIn.cookie });
      const confirmed = await call('/v1/session/enrolment/confirm', {
        method: 'POST',
        cookie: signedIn.cookie,
        json: { code: codeAt(started.body.secret as string) },
      });
      expect(confirmed.status).to.equal(200);
      expect((await password(user.username, pw)).body.next).to.equal('code');
    });

    it('when sign-ins happen, then an auditor reads them in the access log by action, with no secret in any entry', async () => {
      const enrolled = await enrolledUser({ role: 'admin' });
      await password(enrolled.user.username, 'wrong-password-123');
      const auditor = await createTestUser(testDb.db, { role: 'auditor' });
      const page = await call(`/v1/access-log?user=${enrolled.user.username}`, {
        headers: { authorization: `Bearer ${auditor.token}` },
      });
      expect(page.status).to.equal(200);
      const items = page.body.items as Array<{ action: string; recordingId: string | null; detail: string }>;
      expect(items.map((i) => i.action)).to.deep.equal(['mfa_enrolled', 'sign_in', 'sign_in_failed']);
      expect(items.every((i) => i.recordingId === null)).to.equal(true);
      expect(JSON.parse(items[2]!.detail)).to.deep.include({ method: 'password', reason: 'wrong_password' });
      expect(JSON.stringify(items)).not.to.include(enrolled.secret).and.not.include('wrong-password-123');
      const filtered = await call('/v1/access-log?action=sign_in_failed', {
        headers: { authorization: `Bearer ${auditor.token}` },
      });
      expect((filtered.body.items as unknown[]).length).to.be.greaterThan(0);
    });

    it('when local sign-in is admins-only, then a trainer`s right password is refused and an admin`s accepted; off refuses both, while API tokens keep working', async () => {
      await app.close();
      app = await startTestApp({
        db: testDb.db,
        store: testStore.store,
        clock,
        config: testConfig({ CALLREC_LOCAL_LOGIN: 'admins-only' }),
      });
      const trainer = await createTestUser(testDb.db, { role: 'trainer' });
      const admin = await createTestUser(testDb.db, { role: 'admin' });
      expect((await password(trainer.user.username, trainer.password)).status).to.equal(401);
      expect((await password(admin.user.username, admin.password)).status).to.equal(200);
      await app.close();
      app = await startTestApp({
        db: testDb.db,
        store: testStore.store,
        clock,
        config: testConfig({ CALLREC_LOCAL_LOGIN: 'off' }),
      });
      expect((await password(admin.user.username, admin.password)).status).to.equal(401);
      expect((await call('/v1/session', { headers: { authorization: `Bearer ${trainer.token}` } })).status).to.equal(
        200,
      );
    });
  });
}
