import { expect } from 'chai';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { startTestApp, testConfig } from '../support/app.js';
import type { TestApp } from '../support/app.js';

for (const dbBackend of dbBackends) {
  for (const storeBackend of storeBackends) {
    describe(`health (${dbBackend.name} + ${storeBackend.name})`, () => {
      let db: TestDb;
      let store: TestStore;
      let app: TestApp;

      beforeEach(async () => {
        db = await dbBackend.create();
        store = await storeBackend.create();
        app = await startTestApp({ db: db.db, store: store.store });
      });
      afterEach(async () => {
        await app.close();
        await store.dispose();
        await db.dispose().catch(() => undefined);
      });

      it('when the process is up, then /healthz answers 200', async () => {
        const res = await fetch(`${app.url}/healthz`);
        expect(res.status).to.equal(200);
        expect(await res.json()).to.deep.equal({ status: 'ok' });
      });

      it('when the database and the store answer, then /readyz answers 200', async () => {
        const res = await fetch(`${app.url}/readyz`);
        expect(res.status).to.equal(200);
        expect(await res.json()).to.deep.equal({ status: 'ready', checks: { db: 'ok', store: 'ok', disk: 'ok' } });
      });

      it('when the database is gone, then /readyz answers 503 naming the database and no error text', async () => {
        await db.db.close();
        const res = await fetch(`${app.url}/readyz`);
        expect(res.status).to.equal(503);
        const body = await res.json();
        expect(body).to.deep.equal({ status: 'unavailable', checks: { db: 'fail', store: 'ok', disk: 'ok' } });
      });

      it('when a route does not exist, then the answer is problem+json 404 with code not_found', async () => {
        const res = await fetch(`${app.url}/v1/nothing-here`);
        expect(res.status).to.equal(404);
        expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
        const body = (await res.json()) as { code: string; status: number; type: string };
        expect(body).to.include({ code: 'not_found', status: 404, type: 'about:blank' });
      });

      it('when any response is sent, then the security headers are on it', async () => {
        const res = await fetch(`${app.url}/healthz`);
        expect(res.headers.get('content-security-policy')).to.contain("frame-ancestors 'none'");
        expect(res.headers.get('x-content-type-options')).to.equal('nosniff');
        expect(res.headers.get('referrer-policy')).to.equal('no-referrer');
        expect(res.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
      });

      it('when CALLREC_PUBLIC_URL is https, then every response carries Strict-Transport-Security; when it is http or unset, then none does', async () => {
        const https = await startTestApp({
          db: db.db,
          store: store.store,
          config: testConfig({ CALLREC_PUBLIC_URL: 'https://callrec.example.com' }),
        });
        const http = await startTestApp({
          db: db.db,
          store: store.store,
          config: testConfig({ CALLREC_PUBLIC_URL: 'http://callrec.internal:3000' }),
        });
        try {
          for (const path of ['/healthz', '/v1/nothing-here', '/login']) {
            expect((await fetch(`${https.url}${path}`)).headers.get('strict-transport-security'), path).to.equal(
              'max-age=31536000; includeSubDomains',
            );
            expect((await fetch(`${http.url}${path}`)).headers.get('strict-transport-security'), path).to.equal(null);
            expect((await fetch(`${app.url}${path}`)).headers.get('strict-transport-security'), path).to.equal(null);
          }
        } finally {
          await https.close();
          await http.close();
        }
      });
    });
  }
}
