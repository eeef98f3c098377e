/**
 * The privacy officer's page in a real Chromium (playwright-core driving /usr/bin/chromium)
 * against the real app on SQLite + the filesystem store, in Dutch and English (the browser's
 * Accept-Language picks the language; the browser's own zone is Los Angeles, so every time shown
 * in the call center's zone is the page's doing): search by a national number, export, hold,
 * erase with a reference and confirmation, release, erase all; register a request (its date of
 * receipt typed as dd-mm-jjjj in Dutch) and act under it; extend its deadline with a reason
 * (GDPR art. 12(3)) and close it with a reasoned answer. Every text is read from the catalogues;
 * axe-core finds nothing on the states reached; screenshots go to test-output/ui/.
 */
import path from 'node:path';
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
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
import { axeViolations, LANGS, loadCatalogues, screenshot, SIZES, text } from '../support/ui.js';
import type { Catalogue, Lang } from '../support/ui.js';

const PASSWORD = 'correct horse battery staple';
const DAY_MS = 86_400_000;
/** The call center's zone (CALLREC_TIME_ZONE's default) and the locale each language formats in. */
const ZONE = 'Europe/Amsterdam';
const LOCALE: Record<Lang, string> = { en: 'en-GB', nl: 'nl-NL' };
const LANGUAGE: Record<Lang, string> = { en: 'English', nl: 'Dutch' };

/** An instant as the pages show it: the call center's zone, named ("30 nov 2026 15:04 CET"). */
function shownDateTime(lang: Lang, at: string | number): string {
  return new Intl.DateTimeFormat(LOCALE[lang], {
    timeZone: ZONE,
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZoneName: 'short',
  }).format(new Date(at));
}

/** The calendar date of an instant in the call center's zone, as the pages show it ("30 nov 2026"). */
function shownDate(lang: Lang, at: string | number): string {
  return new Intl.DateTimeFormat(LOCALE[lang], { timeZone: ZONE, dateStyle: 'medium' }).format(new Date(at));
}

/** The local date and time of an instant in the call center's zone: "2026-11-27, 00:00". */
function zonedWall(at: string | number): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: ZONE,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(new Date(at));
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** A catalogue text with its unfilled `{name}` placeholders matching anything. */
const textPattern = (filled: string) =>
  new RegExp(
    filled
      .split(/\{\w+\}/)
      .map(escapeRegExp)
      .join('.+?'),
  );
const exactly = (s: string) => new RegExp(`^${escapeRegExp(s)}$`);

interface RequestView {
  id: string;
  reference: string;
  receivedAt: string;
  dueAt: string;
  extensionMonths: number;
}

describe('the privacy page in Dutch and English (Chromium, sqlite, fs)', function () {
  this.timeout(240_000);
  let testDb: TestDb;
  let testStore: TestStore;
  let app: TestApp;
  let browser: Browser;
  let T: Record<Lang, Catalogue>;
  const now = Date.now();

  before(async () => {
    T = await loadCatalogues();
    testDb = await dbBackends.find((b) => b.name === 'sqlite')!.create();
    testStore = await storeBackends.find((b) => b.name === 'fs')!.create();
    app = await startTestApp({ db: testDb.db, store: testStore.store, clock: createManualClock(now) });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    await testStore?.dispose();
    await testDb?.dispose();
  });

  /** A browser that prefers `lang` (Accept-Language, navigator.languages) and lives in another zone. */
  async function openContext(lang: Lang): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
    const { page, problems } = await openWatchedPage(browser, {
      locale: lang === 'nl' ? 'nl-NL' : 'en-US',
      timezoneId: 'America/Los_Angeles',
      viewport: SIZES.desktop,
      acceptDownloads: true,
    });
    return { context: page.context(), page, problems };
  }

  /** Signs in through /login?next=/privacy in the page's language and lands on the privacy page. */
  async function signIn(page: Page, lang: Lang, username: string): Promise<void> {
    const L = (key: string) => text(T[lang], key);
    await page.goto(`${app.url}/privacy`);
    await page.waitForURL(/\/login\?next=/);
    await page.getByLabel(L('login.username'), { exact: true }).fill(username);
    await page.getByLabel(L('login.password'), { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: L('login.submit'), exact: true }).click();
    await page.waitForURL(/\/privacy$/);
    expect(await page.locator('html').getAttribute('lang')).to.equal(lang);
    expect(await page.locator('#time-zone').innerText()).to.equal(text(T[lang], 'header.timeZone', { zone: ZONE }));
  }

  /** The request as the API (the page's own calls) returns it. */
  function readRequest(page: Page, id: string): Promise<RequestView> {
    return page.evaluate(async (rid) => {
      const res = await fetch(`/v1/privacy-requests/${rid}`);
      return (await res.json()) as RequestView;
    }, id);
  }

  /** The value beside `term` in the request's facts. */
  function fact(page: Page, term: string): Promise<string> {
    return page
      .locator('#request-facts dt', { hasText: exactly(term) })
      .locator('xpath=following-sibling::dd[1]')
      .innerText();
  }

  for (const lang of LANGS) {
    const L = (key: string, params: Record<string, string | number> = {}) => text(T[lang], key, params);
    const LN = (key: string, n: number, params: Record<string, string | number> = {}) =>
      text(T[lang], `${key}.${n === 1 ? 'one' : 'other'}`, { ...params, n });
    const button = (page: Page, key: string, params: Record<string, string | number> = {}) =>
      page.getByRole('button', { name: L(key, params), exact: true });

    describe(`in ${LANGUAGE[lang]}`, () => {
      it(`when a privacy officer searches, exports, holds, erases and releases in ${LANGUAGE[lang]}, then each step works, is said in ${LANGUAGE[lang]} where the officer looks and is logged`, async () => {
        const username = `pia-${lang}`;
        await createTestUser(testDb.db, { role: 'privacy', username, password: PASSWORD });
        const phone = newPhone();
        const make = (overrides: Record<string, unknown>) =>
          createStoredRecording({
            db: testDb.db,
            store: testStore.store,
            overrides: { started_at: now - DAY_MS, ...overrides },
          });
        const first = await make({ caller_number: phone.e164, started_at: now - 2 * DAY_MS });
        const second = await make({ callee_number: phone.e164, direction: 'outbound' });
        const other = await make({ caller_number: newPhone().e164 });
        const { context, page, problems } = await openContext(lang);
        const rows = () => page.locator('#subject-recordings tbody tr');

        await signIn(page, lang, username);

        // Search in national form; the calls' times in the call center's zone, named, in the language's format.
        await page.getByLabel(L('privacy.phone'), { exact: true }).fill(phone.national);
        await button(page, 'privacy.search').click();
        await page.waitForFunction(() => document.querySelectorAll('#subject-recordings tbody tr').length === 2);
        expect(await page.locator('#search-status').innerText()).to.equal(LN('privacy.found', 2));
        expect(await page.locator('#subject-recordings').innerText()).to.contain(phone.e164);
        expect(page.url()).not.to.contain(phone.digits);
        const firstRow = page.locator(`#subject-recordings tbody tr[data-id="${first.row.id}"]`);
        expect(await firstRow.locator('td.time').innerText()).to.equal(shownDateTime(lang, first.row.started_at));
        expect(shownDateTime(lang, first.row.started_at)).to.match(/ CES?T$/);

        // Garbage is refused with a message in the language, and the table goes away.
        await page.getByLabel(L('privacy.phone'), { exact: true }).fill('not a number');
        await button(page, 'privacy.search').click();
        await page.locator('#search-error').waitFor({ state: 'visible' });
        expect(await page.locator('#search-error').innerText()).to.equal(L('privacy.badPhone'));
        expect(await page.locator('#results').isHidden()).to.equal(true);
        await page.getByLabel(L('privacy.phone'), { exact: true }).fill(phone.national);
        await button(page, 'privacy.search').click();
        await page.waitForFunction(() => document.querySelectorAll('#subject-recordings tbody tr').length === 2);

        // Export: the zip downloads with both recordings in it; the status region says so.
        const [download] = await Promise.all([
          page.waitForEvent('download'),
          page.getByRole('link', { name: L('privacy.exportAll'), exact: true }).click(),
        ]);
        expect(download.suggestedFilename()).to.match(/^callrec-export-[0-9TZ]+\.zip$/);
        expect(await page.locator('#action-status').innerText()).to.equal(LN('privacy.exportStarted', 2));
        const zipFile = path.join(tempDir('callrec-e2e-'), 'export.zip');
        await download.saveAs(zipFile);
        expect([...readZip(zipFile).keys()]).to.include.members([
          'README.txt',
          'manifest.json',
          `recordings/${first.row.id}/original.wav`,
          `recordings/${second.row.id}/playback.opus`,
        ]);

        // Hold the first recording.
        await firstRow.getByRole('button', { name: L('privacy.holdDots'), exact: true }).click();
        await page.getByLabel(L('hold.placeReason'), { exact: true }).fill('claim 2026-11');
        await button(page, 'hold.placeSubmit').click();
        await firstRow.getByRole('button', { name: L('privacy.releaseHoldDots'), exact: true }).waitFor();
        expect(await firstRow.innerText())
          .to.contain(L('privacy.onHold', { reason: 'claim 2026-11' }))
          .and.contain(L('privacy.heldBy', { user: username }));
        expect(await page.locator('#action-status').innerText()).to.equal(L('hold.placed', { id: first.row.id }));
        expect(await button(page, 'privacy.eraseAll').isDisabled()).to.equal(true);
        expect(await page.locator('#erase-all-why').innerText()).to.equal(L('privacy.eraseAllWhy'));
        expect(await axeViolations(page)).to.deep.equal([]);
        await screenshot(page, `privacy-held-${lang}`);

        // Erase the second: the confirm step is required.
        const secondRow = page.locator(`#subject-recordings tbody tr[data-id="${second.row.id}"]`);
        await secondRow.getByRole('button', { name: L('privacy.eraseDots'), exact: true }).click();
        await page.getByLabel(L('erase.reference'), { exact: true }).fill('DSR-2026-0099');
        await button(page, 'erase.submitOne').click();
        expect(await page.locator('#erase-error').innerText()).to.equal(L('erase.needReference'));
        expect(await rows().count()).to.equal(2);
        await page.getByLabel(L('erase.confirm'), { exact: true }).check();
        await button(page, 'erase.submitOne').click();
        await page.waitForFunction(() => document.querySelectorAll('#subject-recordings tbody tr').length === 1);
        expect(await page.locator('#action-status').innerText()).to.match(textPattern(L('erase.doneOne')));

        // Release the hold, then erase all that is left.
        await firstRow.getByRole('button', { name: L('privacy.releaseHoldDots'), exact: true }).click();
        await button(page, 'hold.releaseSubmit').click();
        await firstRow.getByRole('button', { name: L('privacy.holdDots'), exact: true }).waitFor();
        await button(page, 'privacy.eraseAll').click();
        await page.getByLabel(L('erase.reference'), { exact: true }).fill('DSR-2026-0099');
        await page.getByLabel(L('erase.confirm'), { exact: true }).check();
        await page.getByRole('button', { name: LN('erase.submitAll', 1), exact: true }).click();
        await page.locator('#results').waitFor({ state: 'hidden' });
        expect(await page.locator('#page-status').innerText()).to.equal(LN('erase.doneAll', 1));
        expect(await axeViolations(page)).to.deep.equal([]);
        await screenshot(page, `privacy-erased-${lang}`);
        await context.close();

        // What the server did.
        const deletions = (await deletionLogRows(testDb.db)).filter((d) => d.actor === username);
        expect(deletions.map((d) => [d.recording_id, d.reason, d.reference])).to.have.deep.members([
          [second.row.id, 'erasure_request', 'DSR-2026-0099'],
          [first.row.id, 'erasure_request', 'DSR-2026-0099'],
        ]);
        expect((await verifyDeletionLog(testDb.db)).ok).to.equal(true);
        expect(await testDb.db.knex('recordings').where({ id: other.row.id }).first()).to.not.equal(undefined);
        const actions = (await accessLogRows(testDb.db)).map((r) => r.action);
        expect(actions).to.include.members(['search', 'export', 'hold', 'release', 'erase']);
        // Allowed: the 401 of GET /v1/session before signing in, and the 400 of the garbage search.
        expect(problems.filter((p) => !p.includes('status of 401') && !p.includes('status of 400'))).to.deep.equal([]);
      });

      it(`when a privacy officer registers a request in ${LANGUAGE[lang]} and acts from it, then its date of receipt is the one typed, it shows its due date and days left, and the actions appear on its timeline`, async () => {
        const username = `priya-${lang}`;
        await createTestUser(testDb.db, { role: 'privacy', username, password: PASSWORD });
        const phone = newPhone();
        const rec = await createStoredRecording({
          db: testDb.db,
          store: testStore.store,
          overrides: { caller_number: phone.e164, started_at: now - DAY_MS },
        });
        const { context, page, problems } = await openContext(lang);
        await signIn(page, lang, username);
        await page.locator('#requests-section').waitFor({ state: 'visible' });

        // An older request, past its deadline, registered through the API the page uses.
        const overdue = await page.evaluate(
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
            receivedAt: new Date(now - 60 * DAY_MS).toISOString(),
            channel: 'letter',
            identityVerified: true,
          },
        );

        // Register a new erasure request with the form, received three days ago (typed dd-mm-jjjj in Dutch).
        const received = zonedWall(now - 3 * DAY_MS).slice(0, 10);
        await page.getByText(L('requests.new'), { exact: true }).click();
        await page.getByLabel(L('requests.kind'), { exact: true }).selectOption('erasure');
        await page.getByLabel(L('requests.phones'), { exact: true }).fill(phone.national);
        const receivedField = page.getByLabel(L('requests.received'), { exact: true });
        if (lang === 'nl') {
          expect(await receivedField.getAttribute('placeholder')).to.equal(L('date.placeholder'));
          expect(await receivedField.inputValue()).to.match(/^\d{2}-\d{2}-\d{4}$/);
          // Not a date: the form does not go, and the field says why in Dutch.
          await receivedField.fill('31-02-2026');
          await button(page, 'requests.register').click();
          expect(await receivedField.evaluate((el) => (el as HTMLInputElement).validationMessage)).to.equal(
            L('date.invalid'),
          );
          expect(page.url()).to.match(/\/privacy$/);
          await receivedField.fill(received.split('-').reverse().join('-'));
        } else {
          await receivedField.fill(received);
        }
        await page.getByLabel(L('requests.channel'), { exact: true }).selectOption('email');
        await page.getByLabel(L('requests.identityVerified'), { exact: true }).check();
        await button(page, 'requests.register').click();
        await page.waitForURL(/\/privacy\?request=[0-9A-Z]{26}$/);
        const id = new URL(page.url()).searchParams.get('request')!;
        const heading = page.locator('#request-heading');
        await heading.waitFor({ state: 'visible' });
        const request = await readRequest(page, id);
        expect(zonedWall(request.receivedAt)).to.equal(`${received}, 00:00`);
        expect(await heading.innerText()).to.equal(
          L('request.heading', { reference: request.reference, kind: L('requestKind.erasure') }),
        );
        expect(await fact(page, L('requests.received'))).to.equal(shownDate(lang, request.receivedAt));
        expect(await fact(page, L('requests.due'))).to.equal(shownDate(lang, request.dueAt));
        expect(await page.locator('#request-facts').innerText()).to.match(textPattern(L('requests.daysLeftN.other')));
        expect(await page.locator('#timeline').innerText()).to.contain(L('requestEvent.created'));
        expect(await page.locator('#letter-en').getAttribute('href')).to.equal(
          `/v1/privacy-requests/${id}/letter?lang=en`,
        );
        expect(await axeViolations(page)).to.deep.equal([]);

        // The subject search is prefilled and works under the request; correct, then erase the recording from it.
        await button(page, 'privacy.search').click();
        const row = page.locator(`#subject-recordings tbody tr[data-id="${rec.row.id}"]`);
        await row.waitFor();
        await row.getByRole('button', { name: L('correct.dots'), exact: true }).click();
        await page.getByLabel(L('field.queue'), { exact: true }).fill('complaints');
        await button(page, 'correct.submit').click();
        await page.locator('#timeline li', { hasText: L('requestEvent.correct') }).waitFor();
        await row.getByRole('button', { name: L('privacy.eraseDots'), exact: true }).click();
        await page.getByLabel(L('erase.reference'), { exact: true }).fill('DSR-2026-0100');
        await page.getByLabel(L('erase.confirm'), { exact: true }).check();
        await button(page, 'erase.submitOne').click();
        await page.locator('#timeline li', { hasText: L('requestEvent.erase') }).waitFor();
        // Restrict processing of the number under the same request.
        await button(page, 'privacy.restrict').click();
        await page.locator('#timeline li', { hasText: L('requestEvent.restrict') }).waitFor();
        expect(await page.locator('#restrict-status').innerText()).to.match(textPattern(L('privacy.restricted.other')));
        const searched = page.locator('#timeline li', { hasText: L('requestEvent.search') }).first();
        expect(await searched.innerText()).to.contain(L('privacy.heldBy', { user: username }));
        const at = (await searched.locator('time').getAttribute('datetime'))!;
        expect(await searched.locator('time').innerText()).to.equal(shownDateTime(lang, at));
        const events = await testDb.db.knex('privacy_request_events').where({ request_id: id }).select('action');
        expect(events.map((e: { action: string }) => e.action)).to.include.members([
          'created',
          'search',
          'correct',
          'erase',
          'restrict',
        ]);
        await screenshot(page, `privacy-request-${lang}`);

        // Back in the register: soonest due first, with the due date and days left; overdue in words.
        await page.getByRole('link', { name: L('request.back'), exact: true }).click();
        await page.waitForURL(/\/privacy$/);
        const mine = page.locator(`#requests tbody tr[data-id="${id}"]`);
        await mine.waitFor();
        expect(await mine.innerText())
          .to.contain(L('requestKind.erasure'))
          .and.contain(shownDate(lang, request.dueAt))
          .and.match(textPattern(L('requests.daysLeftN.other')));
        const late = page.locator(`#requests tbody tr[data-id="${overdue.id}"]`);
        expect(await late.innerText())
          .to.match(textPattern(L('requests.overdueBy.other')))
          .and.contain(overdue.reference);
        expect(await late.locator('td.days-left.overdue').count()).to.equal(1);
        const order = await page
          .locator('#requests tbody tr')
          .evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.id));
        expect(order.indexOf(overdue.id)).to.be.lessThan(order.indexOf(id));
        expect(await axeViolations(page)).to.deep.equal([]);
        await screenshot(page, `privacy-register-${lang}`);
        await context.close();
        expect(problems.filter((p) => p.startsWith('pageerror'))).to.deep.equal([]);
      });

      it(`when a privacy officer extends a request's deadline with a reason and then closes it with a reasoned answer in ${LANGUAGE[lang]}, then the status region, the due date, the facts and the timeline show each step`, async () => {
        const username = `pat-${lang}`;
        await createTestUser(testDb.db, { role: 'privacy', username, password: PASSWORD });
        const { context, page, problems } = await openContext(lang);
        await signIn(page, lang, username);
        const created = await page.evaluate(
          async (body) => {
            const res = await fetch('/v1/privacy-requests', {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify(body),
            });
            return (await res.json()) as { id: string };
          },
          {
            kind: 'access',
            phone: newPhone().e164,
            receivedAt: new Date(now - 10 * DAY_MS).toISOString(),
            channel: 'email',
            identityVerified: true,
          },
        );
        await page.goto(`${app.url}/privacy?request=${created.id}`);
        await page.locator('#request-heading').waitFor({ state: 'visible' });
        const before = await readRequest(page, created.id);
        expect(await fact(page, L('requests.due'))).to.equal(shownDate(lang, before.dueAt));

        // Extend by one month, with the reason told to the subject.
        const extendReason = lang === 'nl' ? 'Veel opnamen in het archief' : 'Many recordings in the archive';
        await page.getByLabel(L('request.months'), { exact: true }).selectOption('1');
        await page.getByLabel(L('request.extendReason'), { exact: true }).fill(extendReason);
        await button(page, 'request.extend').click();
        await page.locator('#request-status').waitFor({ state: 'visible' });
        const extended = await readRequest(page, created.id);
        expect(extended.extensionMonths).to.equal(1);
        expect(Date.parse(extended.dueAt)).to.be.greaterThan(Date.parse(before.dueAt));
        const newDue = shownDate(lang, extended.dueAt);
        expect(await page.locator('#request-status').innerText()).to.equal(L('request.extended', { due: newDue }));
        expect(await fact(page, L('requests.due'))).to.equal(newDue);
        const extendedEvent = page.locator('#timeline li', { hasText: L('requestEvent.extended') });
        expect(await extendedEvent.innerText())
          .to.contain(LN('request.extendedBy', 1, { due: newDue, reason: extendReason }))
          .and.contain(L('privacy.heldBy', { user: username }));
        const at = (await extendedEvent.locator('time').getAttribute('datetime'))!;
        expect(await extendedEvent.locator('time').innerText()).to.equal(shownDateTime(lang, at));
        // One month of the two is used: two more is no longer offered.
        expect(await page.locator('#extend-months option[value="2"]').isDisabled()).to.equal(true);
        expect(await axeViolations(page)).to.deep.equal([]);
        await screenshot(page, `privacy-request-extended-${lang}`);

        // Close as refused: a reason is required, then the answer is on the request.
        const refused = L('requestOutcome.refused');
        await page.getByLabel(L('request.outcome'), { exact: true }).selectOption({ label: refused });
        await button(page, 'request.closeSubmit').click();
        await page.locator('#request-error').waitFor({ state: 'visible' });
        expect(await page.locator('#request-error').innerText()).to.equal(L('request.needReason'));
        const answer = lang === 'nl' ? 'Het nummer is niet van de verzoeker' : 'The number is not the requester’s';
        await page.getByLabel(L('request.closeReason'), { exact: true }).fill(answer);
        await button(page, 'request.closeSubmit').click();
        await page.locator('#request-forms').waitFor({ state: 'hidden' });
        expect(await page.locator('#request-status').innerText()).to.equal(L('request.closed'));
        expect(await page.locator('#request-error').isHidden()).to.equal(true);
        expect(await fact(page, L('request.outcome'))).to.equal(`${refused} ${answer}`);
        expect(await fact(page, L('request.state'))).to.contain(L('requestStatus.closed'));
        expect(await page.locator('#timeline li', { hasText: L('requestEvent.closed') }).innerText()).to.contain(
          L('request.closedWith', { outcome: refused, reason: answer }),
        );
        expect(await axeViolations(page)).to.deep.equal([]);
        await screenshot(page, `privacy-request-closed-${lang}`);
        await context.close();

        const row = await testDb.db.knex('privacy_requests').where({ id: created.id }).first();
        expect([row.outcome, row.close_reason, row.closed_by, row.extension_months]).to.deep.equal([
          'refused',
          answer,
          username,
          1,
        ]);
        const events = await testDb.db
          .knex('privacy_request_events')
          .where({ request_id: created.id })
          .select('action');
        expect(events.map((e: { action: string }) => e.action)).to.include.members(['extended', 'closed']);
        expect(problems.filter((p) => p.startsWith('pageerror'))).to.deep.equal([]);
      });
    });
  }

  it('when an admin opens the page, then only the hold-by-id form is offered and it places a hold', async () => {
    await createTestUser(testDb.db, { role: 'admin', username: 'ada', password: PASSWORD });
    const rec = await createStoredRecording({
      db: testDb.db,
      store: testStore.store,
      overrides: { started_at: now - DAY_MS },
    });
    const { context, page, problems } = await openContext('en');
    await page.goto(`${app.url}/login?next=/privacy`);
    await page.getByLabel('Username').fill('ada');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/privacy$/);
    await page.locator('#by-id-section').waitFor({ state: 'visible' });
    expect(await page.locator('#subject-section').isHidden()).to.equal(true);
    await page.getByRole('textbox', { name: 'Recording id' }).fill(rec.row.id);
    await page.getByRole('button', { name: 'Place hold…', exact: true }).click();
    await page.getByLabel(/^Reason/).fill('litigation');
    await page.getByRole('button', { name: 'Place hold', exact: true }).click();
    await page.locator('#by-id-status').waitFor({ state: 'visible' });
    expect(await page.locator('#by-id-status').innerText()).to.contain('is on legal hold');
    const row = await testDb.db.knex('recordings').where({ id: rec.row.id }).first();
    expect(Boolean(row.legal_hold)).to.equal(true);
    expect(row.hold_by).to.equal('ada');
    await context.close();
    expect(problems.filter((p) => p.startsWith('pageerror'))).to.deep.equal([]);
  });
});
