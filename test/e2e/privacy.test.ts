/**
 * The privacy officer's page in a real Chromium (playwright-core driving /usr/bin/chromium)
 * against the real app on SQLite + the filesystem store: search by a national number,
 * export, hold, erase with a reference and confirmation, release, erase all.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, openWatchedPage } from '../support/browser.js';
import { createManualClock } from '../../src/clock.js';
import { verifyDeletionLog } from '../../src/audit/verify.js';
import { dbBackends, storeBackends, tempDir } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { createStoredRecording } from '../support/recordings.js';
import { createTestUser } from '../support/users.js';
import { accessLogRows, deletionLogRows, newPhone, readZip } from '../http/subject-helpers.js';
import { axeViolations } from '../support/ui.js';

describe('the privacy page (Chromium, sqlite, fs)', function () {
  this.timeout(120_000);
  let testDb: TestDb;
  let testStore: TestStore;
  let app: TestApp;
  let browser: Browser;
  let page: Page;
  let problems: string[] = [];
  const now = Date.now();

  before(async () => {
    testDb = await dbBackends.find((b) => b.name === 'sqlite')!.create();
    testStore = await storeBackends.find((b) => b.name === 'fs')!.create();
    app = await startTestApp({ db: testDb.db, store: testStore.store, clock: createManualClock(now) });
    browser = await launchChromium();
    ({ page, problems } = await openWatchedPage(browser, { acceptDownloads: true }));
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    await testStore?.dispose();
    await testDb?.dispose();
  });

  const rows = () => page.locator('#subject-recordings tbody tr');

  it('when a privacy officer searches, exports, holds, erases and releases, then each step works and is logged', async () => {
    const phone = newPhone();
    const officer = await createTestUser(testDb.db, {
      role: 'privacy',
      username: 'pia',
      password: 'correct horse battery staple',
    });
    const make = (overrides: Record<string, unknown>) =>
      createStoredRecording({
        db: testDb.db,
        store: testStore.store,
        overrides: { started_at: now - 86_400_000, ...overrides },
      });
    const first = await make({ caller_number: phone.e164, started_at: now - 2 * 86_400_000 });
    const second = await make({ callee_number: phone.e164, direction: 'outbound' });
    const other = await make({ caller_number: newPhone().e164 });

    // Sign in and land on the privacy page.
    await page.goto(`${app.url}/privacy`);
    await page.waitForURL(/\/login\?next=/);
    await page.getByLabel('Username').fill('pia');
    await page.getByLabel('Password').fill(officer.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/privacy$/);

    // Search in national form.
    await page.getByLabel(/Phone number/).fill(phone.national);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForFunction(() => document.querySelectorAll('#subject-recordings tbody tr').length === 2);
    expect(await page.locator('#search-status').innerText()).to.equal('2 recordings found.');
    const table = await page.locator('#subject-recordings').innerText();
    expect(table).to.contain(phone.e164);
    expect(page.url()).not.to.contain(phone.digits);

    // Garbage is refused with a message, and the table goes away.
    await page.getByLabel(/Phone number/).fill('not a number');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.locator('#search-error').waitFor({ state: 'visible' });
    expect(await page.locator('#results').isHidden()).to.equal(true);
    await page.getByLabel(/Phone number/).fill(phone.national);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForFunction(() => document.querySelectorAll('#subject-recordings tbody tr').length === 2);

    // Export: the zip downloads with both recordings in it.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Export all as zip' }).click(),
    ]);
    expect(download.suggestedFilename()).to.match(/^callrec-export-[0-9TZ]+\.zip$/);
    const zipFile = path.join(tempDir('callrec-e2e-'), 'export.zip');
    await download.saveAs(zipFile);
    const zip = readZip(zipFile);
    expect([...zip.keys()]).to.include.members([
      'README.txt',
      'manifest.json',
      `recordings/${first.row.id}/original.wav`,
      `recordings/${second.row.id}/playback.opus`,
    ]);

    // Hold the first recording.
    const firstRow = page.locator(`#subject-recordings tbody tr[data-id="${first.row.id}"]`);
    await firstRow.getByRole('button', { name: 'Hold…', exact: true }).click();
    await page.getByLabel(/^Reason/).fill('claim 2026-11');
    await page.getByRole('button', { name: 'Place hold', exact: true }).click();
    await firstRow.getByRole('button', { name: 'Release hold…', exact: true }).waitFor();
    expect(await firstRow.innerText())
      .to.contain('On legal hold: claim 2026-11')
      .and.contain('pia');
    expect(await page.getByRole('button', { name: 'Erase all…', exact: true }).isDisabled()).to.equal(true);
    fs.mkdirSync('test-output', { recursive: true });
    await page.screenshot({ path: 'test-output/privacy-held.png', fullPage: true });

    // Erase the second: the confirm step is required.
    const secondRow = page.locator(`#subject-recordings tbody tr[data-id="${second.row.id}"]`);
    await secondRow.getByRole('button', { name: 'Erase…', exact: true }).click();
    await page.getByLabel(/Request reference/).fill('DSR-2026-0099');
    await page.getByRole('button', { name: 'Erase recording', exact: true }).click();
    expect(await page.locator('#erase-error').innerText()).to.contain('confirm');
    expect(await rows().count()).to.equal(2);
    await page.getByLabel(/I have verified/).check();
    await page.getByRole('button', { name: 'Erase recording', exact: true }).click();
    await page.waitForFunction(() => document.querySelectorAll('#subject-recordings tbody tr').length === 1);
    expect(await page.locator('#action-status').innerText()).to.match(/Recording erased; deletion log entry #\d+\./);

    // Release the hold, then erase all that is left.
    await firstRow.getByRole('button', { name: 'Release hold…', exact: true }).click();
    await page.getByRole('button', { name: 'Release hold', exact: true }).click();
    await firstRow.getByRole('button', { name: 'Hold…', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Erase all…', exact: true }).click();
    await page.getByLabel(/Request reference/).fill('DSR-2026-0099');
    await page.getByLabel(/I have verified/).check();
    await page.getByRole('button', { name: 'Erase 1 recording', exact: true }).click();
    await page.locator('#results').waitFor({ state: 'hidden' });
    expect(await page.locator('#page-status').innerText()).to.contain('1 recording erased');

    fs.mkdirSync('test-output', { recursive: true });
    await page.screenshot({ path: 'test-output/privacy.png', fullPage: true });

    // What the server did.
    const deletions = await deletionLogRows(testDb.db);
    expect(deletions.map((d) => [d.recording_id, d.reason, d.actor, d.reference])).to.have.deep.members([
      [second.row.id, 'erasure_request', 'pia', 'DSR-2026-0099'],
      [first.row.id, 'erasure_request', 'pia', 'DSR-2026-0099'],
    ]);
    expect((await verifyDeletionLog(testDb.db)).ok).to.equal(true);
    expect(await testDb.db.knex('recordings').where({ id: other.row.id }).first()).to.not.equal(undefined);
    const actions = (await accessLogRows(testDb.db)).map((r) => r.action);
    expect(actions).to.include.members(['search', 'export', 'hold', 'release', 'erase']);
    // Allowed: the 401 of GET /v1/session before signing in, and the 400 of the garbage search.
    expect(problems.filter((p) => !p.includes('status of 401') && !p.includes('status of 400'))).to.deep.equal([]);
  });

  it('when an admin opens the page, then only the hold-by-id form is offered and it places a hold', async () => {
    const admin = await createTestUser(testDb.db, {
      role: 'admin',
      username: 'ada',
      password: 'correct horse battery staple',
    });
    const rec = await createStoredRecording({
      db: testDb.db,
      store: testStore.store,
      overrides: { started_at: now - 86_400_000 },
    });
    const context = await browser.newContext();
    const adminPage = await context.newPage();
    adminPage.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    await adminPage.goto(`${app.url}/login?next=/privacy`);
    await adminPage.getByLabel('Username').fill('ada');
    await adminPage.getByLabel('Password').fill(admin.password);
    await adminPage.getByRole('button', { name: 'Sign in' }).click();
    await adminPage.waitForURL(/\/privacy$/);
    await adminPage.locator('#by-id-section').waitFor({ state: 'visible' });
    expect(await adminPage.locator('#subject-section').isHidden()).to.equal(true);
    await adminPage.getByRole('textbox', { name: 'Recording id' }).fill(rec.row.id);
    await adminPage.getByRole('button', { name: 'Place hold…', exact: true }).click();
    await adminPage.getByLabel(/^Reason/).fill('litigation');
    await adminPage.getByRole('button', { name: 'Place hold', exact: true }).click();
    await adminPage.locator('#by-id-status').waitFor({ state: 'visible' });
    expect(await adminPage.locator('#by-id-status').innerText()).to.contain('is on legal hold');
    const row = await testDb.db.knex('recordings').where({ id: rec.row.id }).first();
    expect(Boolean(row.legal_hold)).to.equal(true);
    expect(row.hold_by).to.equal('ada');
    await context.close();
    expect(problems.filter((p) => p.startsWith('pageerror'))).to.deep.equal([]);
  });

  it('when a privacy officer registers a request and opens it, then it is listed with its due date and days left, and an erasure launched from it appears on its timeline', async () => {
    const phone = newPhone();
    const officer = await createTestUser(testDb.db, {
      role: 'privacy',
      username: 'priya',
      password: 'correct horse battery staple',
    });
    const rec = await createStoredRecording({
      db: testDb.db,
      store: testStore.store,
      overrides: { caller_number: phone.e164, started_at: now - 86_400_000 },
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const officerPage = await context.newPage();
    officerPage.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    await officerPage.goto(`${app.url}/login?next=/privacy`);
    await officerPage.getByLabel('Username').fill('priya');
    await officerPage.getByLabel('Password').fill(officer.password);
    await officerPage.getByRole('button', { name: 'Sign in' }).click();
    await officerPage.waitForURL(/\/privacy$/);
    await officerPage.locator('#requests-section').waitFor({ state: 'visible' });

    // An older request, past its deadline, registered through the API the page uses.
    const overdue = await officerPage.evaluate(
      async (body) => {
        const res = await fetch('/v1/privacy-requests', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        return (await res.json()) as { id: string; reference: string };
      },
      {
        kind: 'access',
        phone: newPhone().e164,
        receivedAt: new Date(now - 60 * 86_400_000).toISOString(),
        channel: 'letter',
        identityVerified: true,
      },
    );

    // Register a new erasure request with the form.
    await officerPage.getByText('Register a new request').click();
    await officerPage.getByLabel('Kind').selectOption('erasure');
    await officerPage.getByLabel('Numbers of the subject').fill(phone.national);
    await officerPage.getByLabel('Channel').selectOption('email');
    await officerPage.getByLabel('Identity verified').check();
    await officerPage.getByRole('button', { name: 'Register request' }).click();
    await officerPage.waitForURL(/\/privacy\?request=[0-9A-Z]{26}$/);
    const id = new URL(officerPage.url()).searchParams.get('request')!;
    const heading = officerPage.locator('#request-heading');
    await heading.waitFor({ state: 'visible' });
    expect(await heading.innerText()).to.match(/^Request PR-\d{4}-\d{4} \(Erasure\)$/);
    expect(await officerPage.locator('#request-facts').innerText()).to.match(/\d+ days left/);
    expect(await officerPage.locator('#timeline').innerText()).to.contain('Registered');
    expect(await officerPage.locator('#letter-en').getAttribute('href')).to.equal(
      `/v1/privacy-requests/${id}/letter?lang=en`,
    );
    expect(await axeViolations(officerPage)).to.deep.equal([]);

    // The subject search is prefilled and works under the request; erase the recording from it.
    await officerPage.getByRole('button', { name: 'Search' }).click();
    const row = officerPage.locator(`#subject-recordings tbody tr[data-id="${rec.row.id}"]`);
    await row.waitFor();
    // Correct the queue, then erase.
    await row.getByRole('button', { name: 'Correct…', exact: true }).click();
    await officerPage.getByLabel('Queue', { exact: true }).fill('complaints');
    await officerPage.getByRole('button', { name: 'Save correction', exact: true }).click();
    await officerPage.locator('#timeline li', { hasText: 'Recording corrected' }).waitFor();
    await row.getByRole('button', { name: 'Erase…', exact: true }).click();
    await officerPage.getByLabel(/Request reference/).fill('DSR-2026-0100');
    await officerPage.getByLabel(/I have verified/).check();
    await officerPage.getByRole('button', { name: 'Erase recording', exact: true }).click();
    await officerPage.locator('#timeline li', { hasText: 'Recordings erased' }).waitFor();
    // Restrict processing of the number under the same request.
    await officerPage.getByRole('button', { name: 'Restrict processing', exact: true }).click();
    await officerPage.locator('#timeline li', { hasText: 'Processing restricted' }).waitFor();
    expect(await officerPage.locator('#restrict-status').innerText()).to.contain('is restricted');
    const timeline = await officerPage.locator('#timeline').innerText();
    expect(timeline).to.contain('Recordings searched').and.contain('priya');
    const events = await testDb.db.knex('privacy_request_events').where({ request_id: id }).select('action');
    expect(events.map((e: { action: string }) => e.action)).to.include.members([
      'created',
      'search',
      'erase',
      'restrict',
    ]);
    fs.mkdirSync('test-output', { recursive: true });
    await officerPage.screenshot({ path: 'test-output/privacy-request.png', fullPage: true });

    // Back in the register: soonest due first, with the due date and days left; overdue in words.
    await officerPage.getByRole('link', { name: 'Back to the register' }).click();
    await officerPage.waitForURL(/\/privacy$/);
    const mine = officerPage.locator(`#requests tbody tr[data-id="${id}"]`);
    await mine.waitFor();
    expect(await mine.innerText())
      .to.match(/Erasure/)
      .and.match(/\d+ days left/);
    const late = officerPage.locator(`#requests tbody tr[data-id="${overdue.id}"]`);
    expect(await late.innerText())
      .to.match(/Overdue by \d+ days/)
      .and.contain(overdue.reference);
    expect(await late.locator('td.days-left.overdue').count()).to.equal(1);
    const order = await officerPage
      .locator('#requests tbody tr')
      .evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.id));
    expect(order.indexOf(overdue.id)).to.be.lessThan(order.indexOf(id));
    expect(await axeViolations(officerPage)).to.deep.equal([]);
    await context.close();
    expect(problems.filter((p) => p.startsWith('pageerror'))).to.deep.equal([]);
  });
});
