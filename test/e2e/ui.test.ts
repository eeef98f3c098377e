/**
 * The whole web UI in a real Chromium (playwright-core driving /usr/bin/chromium) against the real
 * app on SQLite + the filesystem store, in Dutch and English, at desktop and phone sizes: every
 * page passes axe-core and does not scroll sideways (screenshots under test-output/ui/), each
 * role's main task works in both languages, the trainer's task works by keyboard alone, and an
 * expired session, a network failure and a failed audio load lose nothing and show a retry.
 * The browser runs in another time zone than the call center, so times must come out in
 * CALLREC_TIME_ZONE (Europe/Amsterdam), not the browser's.
 */
import fs from 'node:fs';
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, newTestContext } from '../support/browser.js';
import { createManualClock } from '../../src/clock.js';
import { maybeCheckpoint } from '../../src/audit/checkpoints.js';
import { insertNote, listNotes } from '../../src/db/notes.js';
import { deleteRecording } from '../../src/retention/delete-recording.js';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { startTestApp, testConfig } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { createStoredRecording } from '../support/recordings.js';
import { longToneCall } from '../support/long-call.js';
import { oathtoolCode } from '../support/totp.js';
import { createTestUser } from '../support/users.js';
import {
  axeViolations,
  LANGS,
  loadCatalogues,
  screenshot,
  SIZES,
  sidewaysOverflow,
  stereoOpus,
  text,
} from '../support/ui.js';
import type { Catalogue, Lang } from '../support/ui.js';

const SECONDS = 8;
const PASSWORD = 'correct horse battery staple';
/** The browser's own zone: far from Amsterdam, so a time shown in it would be caught. */
const BROWSER_ZONE = 'America/Los_Angeles';

describe('the web UI in Dutch and English (Chromium, sqlite, fs)', function () {
  this.timeout(300_000);
  let testDb: TestDb;
  let testStore: TestStore;
  let app: TestApp;
  let browser: Browser;
  let T: Record<Lang, Catalogue>;
  const clock = createManualClock(Date.UTC(2026, 10, 30, 14, 0, 0));
  const now = clock.now();
  const users: Record<string, string> = {};
  let playable: string;
  let longCall: string;
  let erasedId: string;

  before(async () => {
    T = await loadCatalogues();
    testDb = await dbBackends.find((b) => b.name === 'sqlite')!.create();
    testStore = await storeBackends.find((b) => b.name === 'fs')!.create();
    app = await startTestApp({ db: testDb.db, store: testStore.store, clock });
    browser = await launchChromium(['--autoplay-policy=no-user-gesture-required']);
    for (const role of ['trainer', 'auditor', 'privacy', 'admin'] as const) {
      users[role] = `${role}-ui`;
      await createTestUser(testDb.db, { role, username: users[role], password: PASSWORD, clock });
    }
    const audio = await stereoOpus(SECONDS);
    // 2026-11-28 13:00 UTC is 14:00 in Amsterdam and 05:00 in the browser's zone.
    const rec = await createStoredRecording({
      db: testDb.db,
      store: testStore.store,
      overrides: {
        started_at: Date.UTC(2026, 10, 28, 13, 0, 0),
        expires_at: now + 28 * 86_400_000,
        duration_ms: SECONDS * 1000,
        queue: 'billing',
        agent_id: 'agent-7',
        caller_number: '+31612345678',
        original_channels: 2,
        playbackBody: audio,
        playback_content_type: 'audio/ogg',
      },
    });
    playable = rec.row.id;
    // A 3-hour stereo call (remuxed from one minute: cheap), for zooming.
    const long = await createStoredRecording({
      db: testDb.db,
      store: testStore.store,
      overrides: {
        started_at: now - 2 * 86_400_000,
        expires_at: now + 27 * 86_400_000,
        duration_ms: 3 * 3_600_000,
        queue: 'sales',
        original_channels: 2,
        playbackBody: await longToneCall({ minutes: 180 }),
        playback_content_type: 'audio/ogg',
      },
    });
    longCall = long.row.id;
    // A user bound to agent-7 (users.agent_id) gives the agent its display name in the filter list.
    const agentUser = await createTestUser(testDb.db, { role: 'trainer', username: 'sanne-ui', clock });
    await testDb.db
      .knex('users')
      .where({ username: agentUser.user.username })
      .update({ agent_id: 'agent-7', display_name: 'Sanne de Vries' });
    for (const [i, queue] of ['sales', 'billing'].entries())
      await createStoredRecording({
        db: testDb.db,
        store: testStore.store,
        overrides: { started_at: now - (i + 3) * 3_600_000, queue, agent_id: `agent-${i}` },
      });
    // The audit console's material: one erasure and one expiry in the deletion log, a checkpoint.
    const erased = await createStoredRecording({
      db: testDb.db,
      store: testStore.store,
      overrides: { started_at: now - 86_400_000, source: 'twilio' },
    });
    erasedId = erased.row.id;
    await deleteRecording({
      deps: app.deps,
      recordingId: erasedId,
      reason: 'erasure_request',
      actor: 'privacy-ui',
      reference: 'DSR-42',
      now: now - 60_000,
    });
    const expired = await createStoredRecording({
      db: testDb.db,
      store: testStore.store,
      overrides: { started_at: now - 31 * 86_400_000, expires_at: now - 1000 },
    });
    await deleteRecording({
      deps: app.deps,
      recordingId: expired.row.id,
      reason: 'retention_expired',
      actor: 'sweeper',
      now: now - 30_000,
    });
    await maybeCheckpoint(app.deps, { now: now - 10_000, force: true });
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    await testStore?.dispose();
    await testDb?.dispose();
  });

  /** A browser context that prefers `lang` and lives in another zone than the call center. */
  async function openContext(lang: Lang): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
    const context = await newTestContext(browser, {
      locale: lang === 'nl' ? 'nl-NL' : 'en-US',
      timezoneId: BROWSER_ZONE,
      viewport: SIZES.desktop,
      acceptDownloads: true,
    });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    return { context, page, problems };
  }

  async function signInByForm(page: Page, lang: Lang, role: string): Promise<void> {
    await page.getByLabel(text(T[lang], 'login.username'), { exact: true }).fill(users[role]!);
    await page.getByLabel(text(T[lang], 'login.password'), { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: text(T[lang], 'login.submit'), exact: true }).click();
  }

  /** Opens `url` and waits until the page says it is ready (the layout marks <body> when the header is filled). */
  async function visit(page: Page, url: string, ready = 'body.ready'): Promise<void> {
    await page.goto(`${app.url}${url}`);
    await page.locator(ready).first().waitFor({ state: 'attached' });
  }

  /** axe, sideways scrolling and a screenshot at both sizes. */
  async function checkPage(page: Page, name: string, lang: Lang, findings: string[]): Promise<void> {
    for (const [size, viewport] of Object.entries(SIZES)) {
      await page.setViewportSize(viewport);
      await page.waitForTimeout(50);
      for (const v of await axeViolations(page)) findings.push(`${name} ${lang} ${size}: ${v}`);
      const overflow = await sidewaysOverflow(page);
      if (overflow > 0) findings.push(`${name} ${lang} ${size}: ${overflow}px sideways scroll`);
      await screenshot(page, `${name}-${lang}-${size}`);
    }
    await page.setViewportSize(SIZES.desktop);
  }

  it('when every page is opened in both languages at desktop and phone sizes, then axe-core finds no violations, nothing scrolls sideways and the page is in that language', async () => {
    const findings: string[] = [];
    for (const lang of LANGS) {
      const { context, page, problems } = await openContext(lang);
      await visit(page, '/login', '#login-form');
      expect(await page.locator('html').getAttribute('lang')).to.equal(lang);
      expect(await page.title()).to.equal(text(T[lang], 'title.login'));
      await checkPage(page, 'login', lang, findings);
      await signInByForm(page, lang, 'admin');
      await page.waitForURL(/\/admin$/);
      await page.locator('#user-table tbody tr').first().waitFor();
      await checkPage(page, 'admin', lang, findings);
      await page.locator(`#user-table tbody tr[data-username="${users.trainer}"] button`).first().click();
      await page.locator('#edit-dialog').waitFor({ state: 'visible' });
      await checkPage(page, 'admin-edit-dialog', lang, findings);
      await page.keyboard.press('Escape');
      await visit(page, '/recordings', '#recordings tbody tr');
      await checkPage(page, 'recordings', lang, findings);
      await visit(page, `/recordings/${playable}`);
      await page.locator('#waveform canvas').first().waitFor({ state: 'attached' });
      // The time ruler (a tick a second for 8 s) and the time under the pointer.
      expect(await page.locator('#ruler .tick').allInnerTexts()).to.deep.equal(
        Array.from({ length: SECONDS + 1 }, (_, i) => `0:0${i}`),
      );
      const wave = (await page.locator('#waveform').boundingBox())!;
      // 80 % of 8 s is 6.4 s: well inside the second shown (75 % fell on 6.0 s, and a sub-pixel box made it 0:05).
      await page.mouse.move(wave.x + wave.width * 0.8, wave.y + wave.height / 2);
      expect(await page.locator('#hover-time').innerText()).to.equal('0:06');
      expect(await page.locator('#skip-why').innerText()).to.not.equal('');
      await checkPage(page, 'player', lang, findings);
      await page.keyboard.press('?');
      await page.locator('#help-dialog').waitFor({ state: 'visible' });
      await checkPage(page, 'player-help', lang, findings);
      await page.keyboard.press('Escape');
      await visit(page, '/privacy', '#by-id-section:not([hidden])');
      await checkPage(page, 'privacy-admin', lang, findings);
      await visit(page, '/audit', '#deletion-table tbody tr');
      await page.locator('#chain-result:not([hidden])').waitFor();
      await page.locator('#deletion-table tbody tr button.link').first().click();
      await page.locator('#proof-result:not([hidden])').waitFor();
      await checkPage(page, 'audit', lang, findings);
      // The privacy officer's own view: a search with results.
      await page.getByRole('button', { name: text(T[lang], 'header.signOut') }).click();
      await page.waitForURL(/\/login$/);
      await signInByForm(page, lang, 'privacy');
      await page.waitForURL(/\/privacy$/);
      await page.locator('#phone').fill('06 12345678');
      await page.locator('#search button[type=submit]').click();
      await page.locator('#subject-recordings tbody tr').first().waitFor();
      await checkPage(page, 'privacy', lang, findings);
      await page.locator('#subject-recordings tbody tr button.danger').first().click();
      await page.locator('#erase-dialog').waitFor({ state: 'visible' });
      await checkPage(page, 'privacy-erase-dialog', lang, findings);
      await page.keyboard.press('Escape');
      expect(problems.filter((p) => !p.includes('status of 401'))).to.deep.equal([]);
      await context.close();
    }
    expect(findings).to.deep.equal([]);
  });

  it('when a user who needs a second factor enrols and later signs in, then the enrolment, recovery-code and code pages pass axe-core in both languages and are in that language', async () => {
    const mfaApp = await startTestApp({
      db: testDb.db,
      store: testStore.store,
      clock,
      config: testConfig({ CALLREC_MFA_REQUIRED_ROLES: 'trainer' }),
    });
    const findings: string[] = [];
    try {
      for (const lang of LANGS) {
        const { context, page, problems } = await openContext(lang);
        const username = `mfa-${lang}-ui`;
        await createTestUser(testDb.db, { role: 'trainer', username, password: PASSWORD, clock });
        const signIn = async () => {
          await page.goto(`${mfaApp.url}/login`);
          await page.getByLabel(text(T[lang], 'login.username'), { exact: true }).fill(username);
          await page.getByLabel(text(T[lang], 'login.password'), { exact: true }).fill(PASSWORD);
          await page.getByRole('button', { name: text(T[lang], 'login.submit'), exact: true }).click();
        };
        await signIn();
        await page.waitForURL(/\/enrol\?/);
        await page.locator('#enrol-secret:not(:empty)').waitFor();
        expect(await page.locator('html').getAttribute('lang')).to.equal(lang);
        expect(await page.title()).to.equal(text(T[lang], 'title.enrol'));
        await checkPage(page, 'enrol', lang, findings);
        const secret = (await page.locator('#enrol-secret').innerText()).replace(/\s/g, '');
        await page.getByLabel(text(T[lang], 'enrol.code'), { exact: true }).fill(oathtoolCode(secret, clock.now()));
        await page.getByRole('button', { name: text(T[lang], 'enrol.confirm'), exact: true }).click();
        await page.locator('#recovery-step:not([hidden])').waitFor();
        expect(await page.locator('#lang-switch').isHidden()).to.equal(true);
        await checkPage(page, 'enrol-recovery', lang, findings);
        await page.evaluate(() => fetch('/v1/session', { method: 'DELETE' }));
        await signIn();
        await page.waitForURL(/\/signin-code\?/);
        await page.locator('#code').waitFor();
        expect(await page.title()).to.equal(text(T[lang], 'title.signinCode'));
        await checkPage(page, 'signin-code', lang, findings);
        expect(problems.filter((p) => !p.includes('status of 401'))).to.deep.equal([]);
        await context.close();
      }
    } finally {
      await mfaApp.close();
    }
    expect(findings).to.deep.equal([]);
  });

  for (const lang of LANGS) {
    it(`when a trainer works by keyboard alone in ${lang}, then filters, playing, seeking, speed, a note stamped where it was started, and the way back with the filters all work`, async () => {
      const { context, page, problems } = await openContext(lang);
      const t = T[lang];
      await page.goto(`${app.url}/recordings`);
      await page.waitForURL(/\/login\?next=/);
      await page.keyboard.type(users.trainer!);
      await page.keyboard.press('Tab');
      await page.keyboard.type(PASSWORD);
      await page.keyboard.press('Enter');
      await page.waitForURL(/\/recordings$/);
      await page.locator('#recordings tbody tr').nth(2).waitFor();
      // Times are the call center's (14:00 in Amsterdam), with the zone named, not the browser's 05:00.
      const firstRow = await page.locator(`#recordings tbody tr:has(a[href^="/recordings/${playable}"])`).innerText();
      expect(firstRow).to.match(/14:00/).and.match(/CET/);
      expect(firstRow).to.contain(lang === 'nl' ? 'nov' : 'Nov');
      expect(await page.locator('#time-zone').innerText()).to.contain('Europe/Amsterdam');

      // Filter by queue with the keyboard: the queue field offers the queues seen.
      const queueLabel = text(t, 'field.queue');
      await page.getByLabel(queueLabel, { exact: true }).focus();
      expect(
        await page
          .locator('#queue-options option')
          .evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value).sort()),
      ).to.deep.equal(['billing', 'sales']);
      // Agents come with their display name where one is known.
      expect(await page.locator('#agent-options option[value="agent-7"]').getAttribute('label')).to.equal(
        'Sanne de Vries',
      );
      // Typed in another case, the queue still matches (the list's spelling is sent).
      await page.keyboard.type('Billing');
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => document.querySelectorAll('#recordings tbody tr').length === 2);
      expect(page.url()).to.contain('queue=billing');

      // Open the recording: tab to its link.
      const link = page.locator(`#recordings tbody a[href^="/recordings/${playable}"]`);
      for (let i = 0; i < 40 && !(await link.evaluate((a) => a === document.activeElement)); i++)
        await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      await page.waitForURL(new RegExp(`/recordings/${playable}\\?queue=billing$`));
      await page.locator('#player').waitFor({ state: 'visible' });
      await page.locator('#waveform canvas').first().waitFor({ state: 'attached' });
      expect(await page.locator('#rec-title').innerText()).to.contain('14:00');
      expect(await page.locator('#channel-labels span').allInnerTexts()).to.deep.equal([
        text(t, 'player.agent'),
        text(t, 'player.customer'),
      ]);
      const audioTime = () => page.evaluate(() => (document.getElementById('audio') as HTMLAudioElement).currentTime);

      // K plays, K pauses; J back 10 s (to the start), → 5 s, L 10 s (to the end), J, → again.
      await page.keyboard.press('k');
      await page.waitForFunction(() => (document.getElementById('audio') as HTMLAudioElement).currentTime > 0.3);
      await page.keyboard.press('k');
      await page.waitForFunction(() => (document.getElementById('audio') as HTMLAudioElement).paused);
      await page.keyboard.press('j');
      expect(await audioTime()).to.equal(0);
      await page.keyboard.press('ArrowRight');
      expect(await audioTime()).to.be.closeTo(5, 0.05);
      await page.keyboard.press('l');
      expect(await audioTime()).to.be.closeTo(SECONDS, 0.3);
      await page.keyboard.press('j');
      await page.keyboard.press('ArrowLeft');
      expect(await audioTime()).to.equal(0);
      await page.keyboard.press('ArrowRight');
      expect(await audioTime()).to.be.closeTo(5, 0.05);
      // ] twice: 1 → 1.25 → 1.5; [ once: 1.25.
      await page.keyboard.press(']');
      await page.keyboard.press(']');
      await page.keyboard.press('[');
      expect(await page.evaluate(() => (document.getElementById('audio') as HTMLAudioElement).playbackRate)).to.equal(
        1.25,
      );

      // N starts a note at 0:05 (and pauses); the player moving on while the note is typed does not move its stamp.
      await page.keyboard.press('n');
      expect(await page.evaluate(() => document.activeElement?.id)).to.equal('note-text');
      expect(await page.locator('#note-label').innerText()).to.equal(text(t, 'notes.at', { at: '0:05' }));
      // Keys typed in the note are text, not shortcuts.
      await page.keyboard.type(`Kalm gebleven (${lang}), j en l netjes.`);
      expect(await audioTime()).to.be.closeTo(5, 0.05);
      await page.evaluate(() => {
        (document.getElementById('audio') as HTMLAudioElement).currentTime = 7;
      });
      await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      await page
        .locator('#note-status')
        .filter({ hasText: text(t, 'notes.saved', { at: '0:05' }) })
        .waitFor();
      const notes = await listNotes(testDb.db.knex, playable);
      const mine = notes.filter(
        (n) => n.author === users.trainer && n.text === `Kalm gebleven (${lang}), j en l netjes.`,
      );
      expect(mine.map((n) => n.offsetMs)).to.deep.equal([5000]);
      expect(await page.locator('#note-status').innerText()).to.equal(text(t, 'notes.saved', { at: '0:05' }));

      // Back to the list keeps the filters.
      await page.locator('#back').focus();
      await page.keyboard.press('Enter');
      await page.waitForURL(/\/recordings\?queue=billing$/);
      await page.waitForFunction(() => document.querySelectorAll('#recordings tbody tr').length === 2);
      expect(await page.getByLabel(queueLabel, { exact: true }).inputValue()).to.equal('billing');
      expect(problems.filter((p) => !p.includes('status of 401'))).to.deep.equal([]);
      await context.close();
    });

    it(`when an auditor signs in in ${lang}, then the console opens with the chain verified, the deletion log filters by reason and source, a recording's proof shows its digests, and the CSV downloads`, async () => {
      const { context, page, problems } = await openContext(lang);
      const t = T[lang];
      await page.goto(`${app.url}/login`);
      await signInByForm(page, lang, 'auditor');
      await page.waitForURL(/\/audit$/);
      await page.locator('#chain-result:not([hidden])').waitFor();
      expect(await page.locator('#chain-status').innerText()).to.equal(text(t, 'audit.chainOk.other', { n: 2 }));
      expect(await page.locator('#checkpoint').innerText()).to.contain(text(t, 'audit.coversEntries.other', { n: 2 }));
      // Auditors see only their page; the recordings list sends them back here, never "Forbidden".
      expect(await page.locator('#site-nav a').allInnerTexts()).to.deep.equal([text(t, 'nav.audit')]);
      await page.goto(`${app.url}/recordings`);
      await page.waitForURL(/\/audit$/);
      await page.locator('#deletion-table tbody tr').nth(1).waitFor();

      await page.getByLabel(text(t, 'audit.reason'), { exact: true }).selectOption('erasure_request');
      await page.locator('#deletion-filters button[type=submit]').click();
      await page.waitForFunction(() => document.querySelectorAll('#deletion-table tbody tr').length === 1);
      const row = await page.locator('#deletion-table tbody tr').innerText();
      expect(row).to.contain(erasedId).and.contain('DSR-42').and.contain(text(t, 'reason.erasure_request'));
      await page.locator('#deletion-filters button[type=reset]').click();
      await page.waitForFunction(() => document.querySelectorAll('#deletion-table tbody tr').length === 2);
      await page.getByLabel(text(t, 'audit.source'), { exact: true }).first().fill('twilio');
      await page.locator('#deletion-filters button[type=submit]').click();
      await page.waitForFunction(() => document.querySelectorAll('#deletion-table tbody tr').length === 1);
      expect(await page.locator('#deletions-csv').getAttribute('href')).to.equal(
        '/v1/deletions?source=twilio&format=csv',
      );
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#deletions-csv').click()]);
      const csv = fs
        .readFileSync((await download.path())!, 'utf8')
        .trimEnd()
        .split('\r\n');
      expect(csv).to.have.length(2);
      expect(csv[1]).to.contain(erasedId);

      // The proof of the erased recording: entry, digests, absence, place in the chain.
      await page.locator('#deletion-table tbody tr button.link').click();
      await page.locator('#proof-result:not([hidden])').waitFor();
      const proof = await page.locator('#proof-result').innerText();
      const entry = (await testDb.db.knex('deletion_log').where({ recording_id: erasedId }).first()) as {
        hash: string;
        objects: string;
      };
      const objects = JSON.parse(entry.objects) as Array<{ sha256: string }>;
      expect(objects.length).to.be.greaterThan(0);
      for (const o of objects) expect(proof).to.contain(o.sha256);
      expect(proof).to.contain(entry.hash).and.contain(text(t, 'audit.absenceVerified'));
      expect(page.url()).to.contain(`proof=${erasedId}`);

      // The access log filters by action.
      await page.getByLabel(text(t, 'audit.action'), { exact: true }).selectOption('erase');
      await page.locator('#access-filters button[type=submit]').click();
      await page.waitForFunction(
        () =>
          document.querySelectorAll('#access-table tbody tr').length === 0 ||
          document.getElementById('access-status')?.textContent !== '',
      );
      expect(problems.filter((p) => !p.includes('status of 401'))).to.deep.equal([]);
      await context.close();
    });
  }

  for (const lang of LANGS) {
    it(`when an admin adds a user, sets a display name, resets a password, disables, and creates and revokes a token in ${lang}, then each result is announced where the admin acts and the password and token are shown once`, async () => {
      const { context, page, problems } = await openContext(lang);
      const t = T[lang];
      await page.goto(`${app.url}/login`);
      await signInByForm(page, lang, 'admin');
      await page.waitForURL(/\/admin$/);
      await page.locator('#user-table tbody tr').first().waitFor();
      const name = `new-${lang}`;
      await page.locator('#user-form').getByLabel(text(t, 'admin.username'), { exact: true }).fill(name);
      await page.locator('#user-form').getByLabel(text(t, 'admin.displayName'), { exact: true }).fill(`Nieuwe ${lang}`);
      await page.locator('#user-form').getByLabel(text(t, 'admin.queues'), { exact: true }).fill('billing, sales');
      await page.getByRole('button', { name: text(t, 'admin.addUser'), exact: true }).click();
      await page
        .locator('#users-status')
        .filter({ hasText: text(t, 'admin.userAdded', { user: name }) })
        .waitFor();
      const password = await page.locator('#users-secret-value').innerText();
      expect(password.length).to.be.greaterThan(10);
      const row = page.locator(`#user-table tbody tr[data-username="${name}"]`);
      expect(await row.innerText())
        .to.contain(`Nieuwe ${lang}`)
        .and.contain('billing, sales');
      const created = await testDb.db.knex('users').where({ username: name }).first();
      expect(created.display_name).to.equal(`Nieuwe ${lang}`);

      // The queue field says in text why it is off for another role.
      await page.locator('#user-form').getByLabel(text(t, 'admin.role'), { exact: true }).selectOption('auditor');
      expect(await page.locator('#u-queues').isDisabled()).to.equal(true);
      expect(await page.locator('#u-queues-help').innerText()).to.equal(text(t, 'admin.queuesOnlyTrainers'));

      await row.getByRole('button', { name: text(t, 'admin.resetPasswordOf', { user: name }) }).click();
      await page
        .locator('#users-status')
        .filter({ hasText: text(t, 'admin.passwordReset', { user: name }) })
        .waitFor();
      expect(await page.locator('#users-secret-value').innerText()).to.not.equal(password);
      await row.getByRole('button', { name: text(t, 'admin.disableOf', { user: name }) }).click();
      await page
        .locator('#users-status')
        .filter({ hasText: text(t, 'admin.userDisabled', { user: name }) })
        .waitFor();
      expect(await row.innerText()).to.contain(text(t, 'admin.disabled'));
      // Nobody can disable their own account here; the page says so in text.
      expect(await page.locator(`#user-table tbody tr[data-username="${users.admin}"]`).innerText()).to.contain(
        text(t, 'admin.cannotDisableSelf'),
      );

      await page.getByLabel(text(t, 'admin.tokenUser'), { exact: true }).selectOption(users.auditor!);
      await page.getByLabel(text(t, 'admin.tokenName'), { exact: true }).fill(`export ${lang}`);
      await page.getByRole('button', { name: text(t, 'admin.createToken'), exact: true }).click();
      await page.locator('#tokens-secret').waitFor({ state: 'visible' });
      const token = await page.locator('#tokens-secret-value').innerText();
      expect(
        (await fetch(`${app.url}/v1/deletions`, { headers: { authorization: `Bearer ${token}` } })).status,
      ).to.equal(200);
      await page
        .getByRole('button', { name: text(t, 'admin.revokeOf', { name: `export ${lang}`, user: users.auditor! }) })
        .click();
      await page
        .locator('#tokens-status')
        .filter({ hasText: text(t, 'admin.tokenRevoked', { name: `export ${lang}`, user: users.auditor! }) })
        .waitFor();
      expect(
        (await fetch(`${app.url}/v1/deletions`, { headers: { authorization: `Bearer ${token}` } })).status,
      ).to.equal(401);
      expect(problems.filter((p) => !p.includes('status of 401'))).to.deep.equal([]);
      await context.close();
    });
  }

  it('when the language is switched in the header, then the page reloads in the other language and stays so on the next page', async () => {
    const { context, page } = await openContext('en');
    await visit(page, '/login', '#login-form');
    expect(await page.locator('h1 + button, #lang-switch').first().innerText()).to.equal('Nederlands');
    await page.locator('#lang-switch').click();
    await page.waitForFunction(() => document.documentElement.lang === 'nl');
    await signInByForm(page, 'nl', 'trainer');
    await page.waitForURL(/\/recordings$/);
    await page.locator('body.ready').waitFor({ state: 'attached' });
    expect(await page.locator('h1').innerText()).to.equal(text(T.nl, 'recordings.heading'));
    expect(await page.locator('#lang-switch').innerText()).to.equal('English');
    await context.close();
  });

  it('when the session expires while a trainer writes a note, then signing in again brings the trainer back to the note, kept, with a message', async () => {
    const { context, page } = await openContext('nl');
    const t = T.nl;
    await page.goto(`${app.url}/recordings/${playable}`);
    await signInByForm(page, 'nl', 'trainer');
    await page.locator('#player').waitFor({ state: 'visible' });
    await page.evaluate(() => {
      (document.getElementById('audio') as HTMLAudioElement).currentTime = 2;
    });
    await page.locator('#note-text').fill('Goede samenvatting aan het eind.');
    clock.advance(31 * 60_000);
    await page.locator('#note-form button[type=submit]').click();
    await page.waitForURL(/\/login\?next=/);
    expect(await page.locator('#login-notice').innerText()).to.equal(text(t, 'login.expired'));
    await signInByForm(page, 'nl', 'trainer');
    await page.waitForURL(new RegExp(`/recordings/${playable}$`));
    await page.locator('#player').waitFor({ state: 'visible' });
    expect(await page.locator('#note-text').inputValue()).to.equal('Goede samenvatting aan het eind.');
    expect(await page.locator('#note-status').innerText()).to.equal(text(t, 'notes.restored'));
    expect(await page.locator('#note-label').innerText()).to.equal(text(t, 'notes.at', { at: '0:02' }));
    await page.locator('#note-form button[type=submit]').click();
    await page
      .locator('#note-status')
      .filter({ hasText: text(t, 'notes.saved', { at: '0:02' }) })
      .waitFor();
    const saved = (await listNotes(testDb.db.knex, playable)).filter(
      (n) => n.text === 'Goede samenvatting aan het eind.',
    );
    expect(saved.map((n) => n.offsetMs)).to.deep.equal([2000]);

    // The author changes the note, then deletes it.
    await page.getByRole('button', { name: text(t, 'notes.editAt', { at: '0:02' }) }).click();
    await page.getByRole('textbox', { name: text(t, 'notes.editAt', { at: '0:02' }) }).fill('Sterke samenvatting.');
    await page.getByRole('button', { name: text(t, 'notes.save'), exact: true }).click();
    await page
      .locator('#note-status')
      .filter({ hasText: text(t, 'notes.changed', { at: '0:02' }) })
      .waitFor();
    const changed = await testDb.db.knex('notes').where({ id: saved[0]!.id }).first();
    expect(changed.text).to.equal('Sterke samenvatting.');
    await page.getByRole('button', { name: text(t, 'notes.deleteAt', { at: '0:02' }) }).click();
    await page
      .locator('#note-status')
      .filter({ hasText: text(t, 'notes.deleted', { at: '0:02' }) })
      .waitFor();
    expect(await testDb.db.knex('notes').where({ id: saved[0]!.id }).first()).to.equal(undefined);
    await context.close();
  });

  it('when the network fails, then the list and the audio show what went wrong with a retry that works', async () => {
    const { context, page } = await openContext('en');
    const t = T.en;
    await page.goto(`${app.url}/login`);
    await signInByForm(page, 'en', 'trainer');
    await page.waitForURL(/\/recordings$/);
    await page.locator('#recordings tbody tr').first().waitFor();
    await page.route('**/v1/recordings?*', (route) => route.abort('internetdisconnected'));
    await page.locator('#filters button[type=submit]').click();
    await page.locator('#list-error').waitFor({ state: 'visible' });
    expect(await page.locator('#list-error').innerText()).to.equal(text(t, 'error.network'));
    await page.unroute('**/v1/recordings?*');
    await page.locator('#retry').click();
    await page.locator('#list-error').waitFor({ state: 'hidden' });
    await page.locator('#recordings tbody tr').first().waitFor();

    await page.route('**/v1/recordings/*/audio', (route) => route.abort('connectionreset'));
    await page.goto(`${app.url}/recordings/${playable}`);
    await page.locator('#player').waitFor({ state: 'visible' });
    await page.locator('#play').click();
    await page.locator('#audio-error').waitFor({ state: 'visible' });
    expect(await page.locator('#audio-error').innerText()).to.equal(text(t, 'player.audioFailed'));
    await page.unroute('**/v1/recordings/*/audio');
    await page.locator('#audio-retry').click();
    await page.locator('#audio-error').waitFor({ state: 'hidden' });
    await page.waitForFunction(() => (document.getElementById('audio') as HTMLAudioElement).readyState >= 1);
    await context.close();
  });

  for (const lang of LANGS) {
    it(`when a trainer zooms a 3-hour call to one minute in ${lang} (buttons and +/-), then the view shows at least one peak per 100 ms, follows a seek, zooms back out, and passes axe-core`, async () => {
      const { context, page, problems } = await openContext(lang);
      const t = T[lang];
      const findings: string[] = [];
      await page.goto(`${app.url}/login`);
      await signInByForm(page, lang, 'trainer');
      await page.waitForURL(/\/recordings$/);
      await visit(page, `/recordings/${longCall}`);
      await page.locator('#player').waitFor({ state: 'visible' });
      expect(await page.locator('#zoom-status').innerText()).to.equal(text(t, 'zoom.whole'));
      const zoomed = () =>
        page.locator('#zoom-view').evaluate((v) => ({
          hidden: (v as HTMLElement).hidden,
          fromMs: Number((v as HTMLElement).dataset.fromMs),
          toMs: Number((v as HTMLElement).dataset.toMs),
          points: Number((v as HTMLElement).dataset.points),
        }));
      // One hour, by the button; then + five times: 30, 10, 5, 2, 1 minute(s).
      await page.getByRole('button', { name: text(t, 'zoom.in'), exact: true }).click();
      await page.waitForFunction(() => document.getElementById('zoom-view')?.dataset.toMs === '3600000');
      await page.locator('#waveform').focus();
      for (let i = 0; i < 5; i++) await page.keyboard.press('+');
      await page.waitForFunction(() => {
        const v = document.getElementById('zoom-view')!;
        return v.getAttribute('aria-busy') === null && Number(v.dataset.toMs) - Number(v.dataset.fromMs) === 60_000;
      });
      const minute = await zoomed();
      expect(minute).to.deep.include({ hidden: false, fromMs: 0, toMs: 60_000 });
      expect(minute.points).to.be.at.least(60_000 / 100);
      expect(await page.locator('#zoom-status').innerText()).to.equal(
        text(t, 'zoom.window', { from: '0:00', to: '1:00' }),
      );
      const ticks = await page.locator('#zoom-ruler .tick').allInnerTexts();
      expect(ticks[0]).to.equal('0:00');
      await checkPage(page, 'player-zoomed', lang, findings);

      // A seek two hours in moves the window there, still a minute at the same resolution.
      await page.evaluate(() => {
        (document.getElementById('audio') as HTMLAudioElement).currentTime = 7200;
      });
      await page.waitForFunction(() => Number(document.getElementById('zoom-view')!.dataset.fromMs) > 7_000_000);
      const later = await zoomed();
      expect(later.toMs - later.fromMs).to.equal(60_000);
      expect(later.fromMs)
        .to.be.at.most(7_200_000)
        .and.at.least(7_200_000 - 60_000);
      expect(later.points).to.be.at.least(600);

      // - six times: back to the whole call, the view hidden.
      for (let i = 0; i < 6; i++) await page.keyboard.press('-');
      await page.locator('#zoom-view').waitFor({ state: 'hidden' });
      expect(await page.locator('#zoom-status').innerText()).to.equal(text(t, 'zoom.whole'));
      await page.keyboard.press('?');
      expect(await page.locator('#help-dialog').innerText()).to.contain(text(t, 'zoom.help'));
      await page.keyboard.press('Escape');
      expect(findings).to.deep.equal([]);
      expect(problems.filter((p) => !p.includes('status of 401'))).to.deep.equal([]);
      await context.close();
    });
  }

  for (const lang of LANGS) {
    it(`when a trainer looks at the list and searches notes in ${lang}, then each recording shows its note count and the hits link to their recordings without numbers, and the page passes axe-core`, async () => {
      const { context, page, problems } = await openContext(lang);
      const t = T[lang];
      const findings: string[] = [];
      const word = `Zoekwoord${lang}`;
      await insertNote(testDb.db.knex, {
        recordingId: playable,
        author: 'coach-ui',
        offsetMs: 3000,
        text: `Mooi ${word} gebruikt.`,
        at: now - 3_600_000,
      });
      const expected = (await listNotes(testDb.db.knex, playable)).length;
      await page.goto(`${app.url}/login`);
      await signInByForm(page, lang, 'trainer');
      await page.waitForURL(/\/recordings$/);
      await page.locator('#recordings tbody tr').first().waitFor();
      const count = page.locator(`#recordings tbody tr:has(a[href^="/recordings/${playable}"]) td.note-count`);
      expect(await count.innerText()).to.contain(String(expected));
      await page.getByLabel(text(t, 'noteSearch.words'), { exact: true }).fill(word.toLowerCase());
      await page.getByLabel(text(t, 'noteSearch.author'), { exact: true }).fill('COACH-UI');
      await page.getByRole('button', { name: text(t, 'noteSearch.submit'), exact: true }).click();
      await page
        .locator('#note-search-status')
        .filter({ hasText: text(t, 'noteSearch.found.one', { n: 1 }) })
        .waitFor();
      const hit = page.locator('#note-results li');
      expect(await hit.innerText())
        .to.contain(`Mooi ${word} gebruikt.`)
        .and.contain('0:03')
        .and.not.contain('612345678');
      expect(await hit.locator('a').getAttribute('href')).to.equal(`/recordings/${playable}`);
      await checkPage(page, 'recordings-note-search', lang, findings);
      expect(findings).to.deep.equal([]);
      expect(problems.filter((p) => !p.includes('status of 401'))).to.deep.equal([]);
      await context.close();
    });
  }
});
