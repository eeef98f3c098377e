/**
 * Typing dates into the filter forms in a real Chromium (playwright-core driving /usr/bin/chromium)
 * against the real app on SQLite + the filesystem store. Chromium draws `<input type="date">` in
 * its own UI language (mm/dd/yyyy here) whatever the page's language, so a Dutch page offers
 * text fields for dd-mm-jjjj (src/web/date-input.js); an English page keeps the browser's date
 * field. In both, a day typed filters the recordings list and the audit's deletion log to that
 * day in the call center's zone, and the page address keeps ISO dates (bookmarks and the API
 * are the same in both languages).
 */
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, newTestContext } from '../support/browser.js';
import { createManualClock } from '../../src/clock.js';
import { deleteRecording } from '../../src/retention/delete-recording.js';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { createStoredRecording } from '../support/recordings.js';
import { createTestUser } from '../support/users.js';
import { axeViolations, LANGS, loadCatalogues, SIZES, text } from '../support/ui.js';
import type { Catalogue, Lang } from '../support/ui.js';

const PASSWORD = 'correct horse battery staple';
const DAY_MS = 86_400_000;
const LANGUAGE: Record<Lang, string> = { en: 'English', nl: 'Dutch' };
/** Noon in Amsterdam (CET, UTC+1) on 26, 27 and 28 November 2026. */
const noon = (day: number) => Date.UTC(2026, 10, day, 11, 0, 0);
/** A day as the user types it: dd-mm-jjjj in Dutch, ISO into the browser's date field in English. */
const typed = (lang: Lang, iso: string) => (lang === 'nl' ? iso.split('-').reverse().join('-') : iso);

/**
 * Applies the filter form and answers the period (`from`, `to`) of the call to `api` it makes; a load still under
 * way without a period is not that call.
 */
async function appliedPeriod(page: Page, api: string, L: (key: string) => string): Promise<Array<string | null>> {
  const [asked] = await Promise.all([
    page.waitForRequest((r) => r.url().includes(api) && new URL(r.url()).searchParams.has('to')),
    page.getByRole('button', { name: L('filter.apply'), exact: true }).click(),
  ]);
  const query = new URL(asked.url()).searchParams;
  return [query.get('from'), query.get('to')];
}

describe('typing dates on the filter forms in Dutch (dd-mm-jjjj) and English (Chromium, sqlite, fs)', function () {
  this.timeout(180_000);
  let testDb: TestDb;
  let testStore: TestStore;
  let app: TestApp;
  let browser: Browser;
  let T: Record<Lang, Catalogue>;
  const clock = createManualClock(Date.UTC(2026, 10, 30, 14, 0, 0));
  /** The call of each day (26–28 Nov) and the deletion-log sequence number of each day (27, 28 Nov). */
  const calls: Record<number, string> = {};
  const deletions: Record<number, number> = {};

  before(async () => {
    T = await loadCatalogues();
    testDb = await dbBackends.find((b) => b.name === 'sqlite')!.create();
    testStore = await storeBackends.find((b) => b.name === 'fs')!.create();
    app = await startTestApp({ db: testDb.db, store: testStore.store, clock });
    browser = await launchChromium();
    await createTestUser(testDb.db, { role: 'admin', username: 'ada', password: PASSWORD, clock });
    const record = (day: number) =>
      createStoredRecording({
        db: testDb.db,
        store: testStore.store,
        overrides: { started_at: noon(day), expires_at: clock.now() + 20 * DAY_MS },
      });
    for (const day of [26, 27, 28]) calls[day] = (await record(day)).row.id;
    for (const day of [27, 28]) {
      const gone = await record(day - 1);
      const entry = await deleteRecording({
        deps: app.deps,
        recordingId: gone.row.id,
        reason: 'erasure_request',
        actor: 'dpo',
        reference: `DSR-${day}`,
        now: noon(day),
      });
      deletions[day] = entry.seq;
    }
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    await testStore?.dispose();
    await testDb?.dispose();
  });

  async function signedIn(lang: Lang): Promise<Page> {
    const context = await newTestContext(browser, {
      locale: lang === 'nl' ? 'nl-NL' : 'en-US',
      timezoneId: 'America/Los_Angeles',
      viewport: SIZES.desktop,
    });
    const page = await context.newPage();
    await page.goto(`${app.url}/login`);
    await page.getByLabel(text(T[lang], 'login.username'), { exact: true }).fill('ada');
    await page.getByLabel(text(T[lang], 'login.password'), { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: text(T[lang], 'login.submit'), exact: true }).click();
    await page.waitForURL(/\/admin$/);
    return page;
  }

  for (const lang of LANGS) {
    const L = (key: string) => text(T[lang], key);

    it(`when a day is typed into the recordings filters in ${LANGUAGE[lang]}, then only that day's calls are listed and the address holds ISO dates`, async () => {
      const page = await signedIn(lang);
      await page.goto(`${app.url}/recordings`);
      const listed = () =>
        page
          .locator('#recordings tbody tr a[href^="/recordings/"]')
          .evaluateAll((links) => links.map((a) => new URL((a as HTMLAnchorElement).href).pathname.split('/')[2]));
      await page.waitForFunction(() => document.querySelectorAll('#recordings tbody tr').length >= 3);
      const from = page.getByLabel(L('filter.from'), { exact: true });
      const to = page.getByLabel(L('filter.to'), { exact: true });
      if (lang === 'nl') {
        expect(await from.getAttribute('type')).to.equal('text');
        expect(await from.getAttribute('placeholder')).to.equal('dd-mm-jjjj');
        expect(L('date.placeholder')).to.equal('dd-mm-jjjj');
      } else {
        expect(await from.getAttribute('type')).to.equal('date');
      }
      await from.fill(typed(lang, '2026-11-27'));
      await to.fill(typed(lang, '2026-11-27'));
      await page
        .getByRole('button', { name: L('filter.apply'), exact: true })
        .first()
        .click();
      await page.waitForFunction(() => document.querySelectorAll('#recordings tbody tr').length === 1);
      expect(await listed()).to.deep.equal([calls[27]]);
      const address = new URL(page.url()).searchParams;
      expect([address.get('from'), address.get('to')]).to.deep.equal(['2026-11-27', '2026-11-27']);

      // The bookmarked address opens with the day shown the language's way and the same list.
      await page.reload();
      await page.waitForFunction(() => document.querySelectorAll('#recordings tbody tr').length === 1);
      expect(await from.inputValue()).to.equal(typed(lang, '2026-11-27'));
      expect(await listed()).to.deep.equal([calls[27]]);
      if (lang === 'nl') {
        // Other ways of writing the day are taken and shown in full; the list covers 26–27 Nov.
        await from.fill('26/11/2026');
        await from.blur();
        expect(await from.inputValue()).to.equal('26-11-2026');
        await page
          .getByRole('button', { name: L('filter.apply'), exact: true })
          .first()
          .click();
        await page.waitForFunction(() => document.querySelectorAll('#recordings tbody tr').length === 2);
        expect(await listed()).to.have.members([calls[26], calls[27]]);
        expect(await axeViolations(page)).to.deep.equal([]);
      }
      await page.context().close();
    });

    it(`when a day is typed into the deletion log's filters in ${LANGUAGE[lang]}, then only that day's deletions are listed`, async () => {
      const page = await signedIn(lang);
      await page.goto(`${app.url}/audit`);
      const rows = page.locator('#deletion-table tbody tr');
      await page.waitForFunction(() => document.querySelectorAll('#deletion-table tbody tr').length === 2);
      await page.locator('#d-from').fill(typed(lang, '2026-11-28'));
      await page.locator('#d-to').fill(typed(lang, '2026-11-28'));
      await page
        .locator('#deletion-filters')
        .getByRole('button', { name: L('filter.apply'), exact: true })
        .click();
      await page.waitForFunction(() => document.querySelectorAll('#deletion-table tbody tr').length === 1);
      expect(await rows.first().locator('td').first().innerText()).to.equal(`#${deletions[28]}`);
      expect(new URL(page.url()).searchParams.get('d.from')).to.equal('2026-11-28');
      if (lang === 'nl') expect(await axeViolations(page)).to.deep.equal([]);
      await page.context().close();
    });

    it(`when a period is typed into the evaluations and scorecards filters in ${LANGUAGE[lang]}, then the API is asked for those whole days in the call center's zone`, async () => {
      const page = await signedIn(lang);
      for (const [where, api] of [
        ['/evaluations', '/v1/evaluations?'],
        ['/scorecards', '/v1/scorecards?'],
      ] as const) {
        await page.goto(`${app.url}${where}`);
        const from = page.getByLabel(L('evaluations.callFrom'), { exact: true });
        await from.fill(typed(lang, '2026-11-26'));
        await page.getByLabel(L('evaluations.callTo'), { exact: true }).fill(typed(lang, '2026-11-27'));
        // Midnight in Amsterdam (CET) starts the 26th; the 28th's midnight ends the period.
        expect(await appliedPeriod(page, api, L), where).to.deep.equal([
          '2026-11-25T23:00:00.000Z',
          '2026-11-27T23:00:00.000Z',
        ]);
        const address = new URL(page.url()).searchParams;
        expect([address.get('from'), address.get('to')], where).to.deep.equal(['2026-11-26', '2026-11-27']);
        await page.reload();
        await page.waitForFunction(() => (document.getElementById('f-from') as HTMLInputElement).value !== '');
        expect(await from.inputValue(), where).to.equal(typed(lang, '2026-11-26'));
      }
      await page.context().close();
    });
  }

  it('when a period is typed before the evaluations and scorecards pages have finished loading, then what was typed is kept and asked for', async () => {
    const L = (key: string) => text(T.en, key);
    const page = await signedIn('en');
    for (const [where, api] of [
      ['/evaluations', '/v1/evaluations?'],
      ['/scorecards', '/v1/scorecards?'],
    ] as const) {
      // The page fills its filters from the address once the forms are read: that read waits until the user typed.
      let typedIn!: () => void;
      const typed = new Promise<void>((resolve) => (typedIn = resolve));
      await page.route('**/v1/evaluation-forms*', async (route) => {
        await typed;
        await route.continue();
      });
      await page.goto(`${app.url}${where}`, { waitUntil: 'domcontentloaded' });
      await page.getByLabel(L('evaluations.callFrom'), { exact: true }).fill('2026-11-26');
      await page.getByLabel(L('evaluations.callTo'), { exact: true }).fill('2026-11-27');
      typedIn();
      // The page's own first load asks with the address's (empty) filters; then the user applies theirs.
      await page.waitForRequest((r) => r.url().includes(api));
      expect(await appliedPeriod(page, api, L), where).to.deep.equal([
        '2026-11-25T23:00:00.000Z',
        '2026-11-27T23:00:00.000Z',
      ]);
      await page.unroute('**/v1/evaluation-forms*');
    }
    await page.context().close();
  });
});
