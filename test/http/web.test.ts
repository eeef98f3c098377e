import { expect } from 'chai';
import { createManualClock } from '../../src/clock.js';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';

describe('web UI routes (sqlite, fs)', function () {
  let testDb: TestDb;
  let testStore: TestStore;
  let app: TestApp;
  before(async () => {
    testDb = await dbBackends.find((b) => b.name === 'sqlite')!.create();
    testStore = await storeBackends.find((b) => b.name === 'fs')!.create();
    app = await startTestApp({ db: testDb.db, store: testStore.store, clock: createManualClock(Date.now()) });
  });
  after(async () => {
    await app?.close();
    await testStore?.dispose();
    await testDb?.dispose();
  });

  for (const [path, type] of [
    ['/login', 'text/html'],
    ['/recordings', 'text/html'],
    ['/recordings/01JDQ3K7Z8X9Y0A1B2C3D4E5F6', 'text/html'],
    ['/assets/app.css', 'text/css'],
    ['/assets/player.js', 'text/javascript'],
    ['/vendor/wavesurfer.esm.js', 'text/javascript'],
  ] as const) {
    it(`when ${path} is requested, then it is served as ${type} under the strict CSP`, async () => {
      const res = await fetch(`${app.url}${path}`);
      const body = await res.text();
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.contain(type);
      expect(res.headers.get('content-security-policy'))
        .to.contain("script-src 'self'")
        .and.not.contain('unsafe-inline');
      expect(res.headers.get('x-content-type-options')).to.equal('nosniff');
      if (type === 'text/html') {
        expect(body).to.match(/<script type="module" src="\/assets\/[a-z-]+\.js"><\/script>/);
        expect(body).not.to.match(/<script>|<style|\sstyle="|\son[a-z]+="/);
      }
    });
  }

  it('when the wavesurfer module is served, then its shadow-DOM styles come as an inert template, not an inline <style> the CSP would block', async () => {
    const body = await (await fetch(`${app.url}/vendor/wavesurfer.esm.js`)).text();
    expect(body).to.contain('<template class="ws-style">').and.contain(':host {');
    expect(body).not.to.contain('<style');
  });

  it("when the settings module is served, then it names the call center's time zone from the config", async () => {
    const res = await fetch(`${app.url}/assets/settings.js`);
    expect(res.headers.get('content-type')).to.contain('text/javascript');
    expect(await res.text()).to.equal('export const TIME_ZONE = "Europe/Amsterdam";\n');
  });

  it('when / is requested, then it redirects to the recordings list', async () => {
    const res = await fetch(`${app.url}/`, { redirect: 'manual' });
    expect(res.status).to.equal(302);
    expect(res.headers.get('location')).to.equal('/recordings');
  });

  for (const path of [
    '/assets/..%2fweb-routes.ts',
    '/assets/web-routes.ts',
    '/assets/%2e%2e%2fpackage.json',
    '/nosuchpage',
    '/player',
    '/vendor/other.js',
  ]) {
    it(`when ${path} is requested, then the answer is a 404 problem`, async () => {
      const res = await fetch(`${app.url}${path}`);
      expect(res.status).to.equal(404);
      expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
    });
  }
});
