/**
 * The administrators' API (src/auth/admin-routes.ts) on both databases: users (add with a
 * generated password, display name, queues, disable, reset password) and API tokens (create
 * shown once, list without secrets, revoke), with the CLI's rules.
 */
import { expect } from 'chai';
import { createManualClock } from '../../src/clock.js';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { createTestUser, signIn } from '../support/users.js';
import type { TestSession } from '../support/users.js';

const fsBackend = storeBackends.find((s) => s.name === 'fs')!;

for (const dbBackend of dbBackends) {
  describe(`administration API (${dbBackend.name})`, function () {
    this.timeout(60_000);
    let tdb: TestDb;
    let tstore: TestStore;
    let app: TestApp;
    let admin: TestSession;
    let adminName: string;

    const call = (method: string, path: string, body?: unknown, session: TestSession = admin) =>
      fetch(`${app.url}${path}`, {
        method,
        headers: { ...session.headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });

    before(async () => {
      tdb = await dbBackend.create();
      tstore = await fsBackend.create();
      app = await startTestApp({ db: tdb.db, store: tstore.store, clock: createManualClock(Date.now()) });
      const created = await createTestUser(tdb.db, { role: 'admin' });
      adminName = created.user.username;
      admin = await signIn(app.url, adminName, created.password);
    });
    after(async () => {
      await app?.close();
      await tstore?.dispose();
      await tdb?.dispose();
    });

    it('when an admin adds a trainer with queues and a display name, then the password is shown once and works, and the list shows the user without secrets', async () => {
      const res = await call('POST', '/v1/users', {
        username: 'tess',
        role: 'trainer',
        queues: ['billing'],
        displayName: 'Tess de Vries',
      });
      expect(res.status).to.equal(201);
      expect(res.headers.get('cache-control')).to.equal('no-store');
      const body = (await res.json()) as { user: Record<string, unknown>; password: string };
      expect(body.user).to.include({
        username: 'tess',
        role: 'trainer',
        displayName: 'Tess de Vries',
        disabled: false,
      });
      expect(body.user.queues).to.deep.equal(['billing']);
      await signIn(app.url, 'tess', body.password);
      const list = await (await call('GET', '/v1/users')).text();
      expect(list)
        .to.contain('"username":"tess"')
        .and.not.contain(body.password)
        .and.not.match(/hash|scrypt/i);
      expect((await call('POST', '/v1/users', { username: 'tess', role: 'trainer' })).status).to.equal(409);
      const wrongQueues = await call('POST', '/v1/users', { username: 'aud', role: 'auditor', queues: ['x'] });
      expect(wrongQueues.status).to.equal(400);
      expect((await wrongQueues.json()).code).to.equal('invalid_request');
    });

    it('when an admin changes the display name and queues, disables and resets a password, then each takes effect at once', async () => {
      const created = (await (await call('POST', '/v1/users', { username: 'rita', role: 'trainer' })).json()) as {
        password: string;
      };
      const rita = await signIn(app.url, 'rita', created.password);
      const changed = await call('PATCH', '/v1/users/rita', { displayName: 'Rita', queues: ['sales', 'billing'] });
      expect(changed.status).to.equal(200);
      expect(await changed.json()).to.include({ displayName: 'Rita' });
      expect(
        ((await (await call('GET', '/v1/session', undefined, rita)).json()) as { user: { queues: string[] } }).user
          .queues,
      ).to.deep.equal(['sales', 'billing']);
      const cleared = (await (await call('PATCH', '/v1/users/rita', { displayName: '' })).json()) as Record<
        string,
        unknown
      >;
      expect(cleared.displayName).to.equal(null);

      expect((await call('PATCH', '/v1/users/rita', { disabled: true })).status).to.equal(200);
      expect((await call('GET', '/v1/session', undefined, rita)).status).to.equal(401);
      expect((await call('PATCH', '/v1/users/rita', { disabled: false })).status).to.equal(200);

      const reset = (await (await call('POST', '/v1/users/rita/password')).json()) as { password: string };
      expect(reset.password).to.be.a('string').and.not.equal(created.password);
      await signIn(app.url, 'rita', reset.password);
      const old = await fetch(`${app.url}/v1/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: new URL(app.url).origin },
        body: JSON.stringify({ username: 'rita', password: created.password }),
      });
      expect(old.status).to.equal(401);

      expect((await call('PATCH', `/v1/users/${adminName}`, { disabled: true })).status).to.equal(409);
      expect((await call('PATCH', '/v1/users/nobody', { displayName: 'x' })).status).to.equal(404);
      expect((await call('PATCH', '/v1/users/rita', { role: 'admin' })).status).to.equal(400);
      expect((await call('PATCH', `/v1/users/${adminName}`, { queues: ['billing'] })).status).to.equal(409);
      expect((await call('PATCH', '/v1/users/rita', { displayName: 'R\u0007' })).status).to.equal(400);
    });

    it('when an admin creates an API token, then it is shown once, works, is listed without the secret, and stops working when revoked', async () => {
      await call('POST', '/v1/users', { username: 'auditbot', role: 'auditor' });
      const res = await call('POST', '/v1/tokens', { username: 'auditbot', name: 'nightly export' });
      expect(res.status).to.equal(201);
      const created = (await res.json()) as { id: string; token: string; name: string };
      expect(created.name).to.equal('nightly export');
      const bearer = { authorization: `Bearer ${created.token}` };
      expect((await fetch(`${app.url}/v1/deletions`, { headers: bearer })).status).to.equal(200);
      const list = await (await call('GET', '/v1/tokens?user=auditbot')).text();
      expect(list).to.contain(created.id).and.not.contain(created.token);
      const revoked = await call('DELETE', `/v1/tokens/${created.id}`);
      expect(revoked.status).to.equal(200);
      expect(((await revoked.json()) as { revokedAt: string | null }).revokedAt).to.be.a('string');
      expect((await fetch(`${app.url}/v1/deletions`, { headers: bearer })).status).to.equal(401);
      expect((await call('DELETE', '/v1/tokens/nightly%20export')).status).to.equal(404);
    });
  });
}
