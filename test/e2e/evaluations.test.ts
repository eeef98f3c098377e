/**
 * Training reviews (#20) in a real Chromium (playwright-core driving /usr/bin/chromium) against the
 * real app on SQLite + the filesystem store, in Dutch and English: an admin publishes a form on
 * /forms, a trainer scores a call from the player (answers, a comment per question, a comment
 * stamped on the call and drawn on the waveform, a draft, then the submission, the server's score
 * shown), and the agent, landing on /evaluations, reads one submitted to them, listens to the call
 * and acknowledges it; an evaluation whose recording was deleted names its deletion-log entry. Each
 * `it` builds the calls and evaluations it needs (through the API): any one passes alone. Every new page
 * passes axe-core and does not scroll sideways at desktop and phone sizes (screenshots under
 * test-output/ui/).
 */
import { expect } from 'chai';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, openWatchedPage } from '../support/browser.js';
import { createManualClock } from '../../src/clock.js';
import { deleteRecording } from '../../src/retention/delete-recording.js';
import { dbBackends, storeBackends } from '../support/backends.js';
import type { TestDb, TestStore } from '../support/backends.js';
import { startTestApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { createStoredRecording } from '../support/recordings.js';
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
const DAY_MS = 86_400_000;
/**
 * The form the admin publishes and the trainer's answers, with the score worked out by hand:
 * Greets (yes/no, weight 2, critical) yes = 1; Tone (scale, weight 1) 4 = (4 − 1) / 4 = 0.75;
 * Offer (choice, weight 1) "partial" = 0.5. Total 100 · (2 + 0.75 + 0.5) / 4 = 81.25; Opening
 * 100 · (2 + 0.75) / 3 = 91.67; Closing 50.
 */
const EXPECTED = { total: 81.25, opening: 91.67, closing: 50 };

describe('training reviews in the web UI, in Dutch and English (Chromium, sqlite, fs)', function () {
  this.timeout(300_000);
  let testDb: TestDb;
  let testStore: TestStore;
  let app: TestApp;
  let browser: Browser;
  let T: Record<Lang, Catalogue>;
  const clock = createManualClock(Date.UTC(2026, 10, 30, 14, 0, 0));
  const now = clock.now();
  const users = { admin: 'admin-ev', trainer: 'trainer-ev', agent: 'agent-ev' };
  let audio: Buffer;
  let adminToken = '';
  let trainerToken = '';

  before(async () => {
    T = await loadCatalogues();
    testDb = await dbBackends.find((b) => b.name === 'sqlite')!.create();
    testStore = await storeBackends.find((b) => b.name === 'fs')!.create();
    app = await startTestApp({ db: testDb.db, store: testStore.store, clock });
    browser = await launchChromium(['--autoplay-policy=no-user-gesture-required']);
    ({ token: adminToken } = await createTestUser(testDb.db, {
      role: 'admin',
      username: users.admin,
      password: PASSWORD,
      clock,
    }));
    ({ token: trainerToken } = await createTestUser(testDb.db, {
      role: 'trainer',
      username: users.trainer,
      password: PASSWORD,
      queues: ['billing'],
      clock,
    }));
    await createTestUser(testDb.db, {
      role: 'agent',
      username: users.agent,
      password: PASSWORD,
      agentId: 'agent-7',
      clock,
    });
    audio = await stereoOpus(SECONDS);
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    await testStore?.dispose();
    await testDb?.dispose();
  });

  async function openContext(lang: Lang): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
    const { page, problems } = await openWatchedPage(browser, {
      locale: lang === 'nl' ? 'nl-NL' : 'en-US',
      timezoneId: 'America/Los_Angeles',
      viewport: SIZES.desktop,
      acceptDownloads: true,
    });
    return { context: page.context(), page, problems };
  }

  async function signIn(page: Page, lang: Lang, username: string): Promise<void> {
    await page.goto(`${app.url}/login`);
    await page.getByLabel(text(T[lang], 'login.username'), { exact: true }).fill(username);
    await page.getByLabel(text(T[lang], 'login.password'), { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: text(T[lang], 'login.submit'), exact: true }).click();
  }

  async function signOut(page: Page, lang: Lang): Promise<void> {
    await page.getByRole('button', { name: text(T[lang], 'header.signOut'), exact: true }).click();
    await page.waitForURL(/\/login$/);
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

  /** A call of agent-7 in queue billing, with the stereo audio, 28 days before its deadline. */
  async function createCall(): Promise<string> {
    const rec = await createStoredRecording({
      db: testDb.db,
      store: testStore.store,
      overrides: {
        started_at: now - 2 * DAY_MS,
        expires_at: now + 28 * DAY_MS,
        duration_ms: SECONDS * 1000,
        queue: 'billing',
        agent_id: 'agent-7',
        caller_number: '+31612345678',
        original_channels: 2,
        playbackBody: audio,
        playback_content_type: 'audio/ogg',
      },
    });
    return rec.row.id;
  }

  /** POSTs `body` to the API as the holder of `token`; expects 201 and returns the created resource's id. */
  async function created(path: string, token: string, body: unknown): Promise<string> {
    const response = await fetch(`${app.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status, await response.clone().text()).to.equal(201);
    return ((await response.json()) as { id: string }).id;
  }

  /**
   * A call of agent-7 and its evaluation submitted by the trainer through the API: one question
   * "Greets the caller by name" answered yes with the comment "Warm welcome.", and a comment
   * stamped at 0:03.
   */
  async function submittedEvaluation(formName: string): Promise<{ callId: string; id: string }> {
    const callId = await createCall();
    const formId = await created('/v1/evaluation-forms', adminToken, {
      name: formName,
      sections: [
        { title: 'Opening', questions: [{ id: 'q1', text: 'Greets the caller by name', type: 'yesno', weight: 1 }] },
      ],
    });
    const id = await created(`/v1/recordings/${callId}/evaluations`, trainerToken, {
      formId,
      answers: { q1: 'yes' },
      comments: { q1: 'Warm welcome.' },
      timedComments: [{ offsetMs: 3000, text: 'Asks for the account number here.' }],
      status: 'submitted',
    });
    return { callId, id };
  }

  const evaluationRows = (recordingId: string) =>
    testDb.db.knex('evaluations').where({ recording_id: recordingId }).select('id', 'status', 'score', 'agent_comment');

  for (const lang of LANGS) {
    it(`when an admin publishes a form and a trainer scores a call from the player in ${lang}, then the draft and the submission are stored, the server's score is shown with its sections, the scorecard and its CSV count it, and every page passes axe-core at desktop and phone sizes`, async () => {
      const t = T[lang];
      const findings: string[] = [];
      const formName = `Service ${lang}`;
      const callId = await createCall();

      // The admin publishes a form with a critical yes/no, a scale and a choice question.
      {
        const { context, page, problems } = await openContext(lang);
        await signIn(page, lang, users.admin);
        await page.waitForURL(/\/admin$/);
        await page.getByRole('link', { name: text(t, 'nav.forms'), exact: true }).click();
        await page.waitForURL(/\/forms$/);
        await page.getByRole('button', { name: text(t, 'forms.new'), exact: true }).click();
        await page.getByLabel(text(t, 'forms.name'), { exact: true }).fill(formName);
        await page.locator('#s0-title').fill('Opening');
        await page.locator('#s0-q0-text').fill('Greets the caller by name');
        await page.locator('#s0-q0-weight').fill('2');
        await page.locator('#s0-q0-critical').check();
        await page.getByRole('button', { name: text(t, 'forms.addQuestionTo', { section: 1 }), exact: true }).click();
        await page.locator('#s0-q1-text').fill('Tone');
        await page.locator('#s0-q1-type').selectOption('scale');
        await page.getByRole('button', { name: text(t, 'forms.addSection'), exact: true }).click();
        await page.locator('#s1-title').fill('Closing');
        await page.locator('#s1-q0-text').fill('Offer');
        await page.locator('#s1-q0-type').selectOption('choice');
        await page.locator('#s1-q0-c0-value').fill('full');
        await page.locator('#s1-q0-c1-value').fill('partial');
        await page.locator('#s1-q0-c1-score').fill('0.5');
        await page
          .getByRole('button', { name: text(t, 'forms.addChoiceTo', { section: 2, question: 1 }), exact: true })
          .click();
        await page.locator('#s1-q0-c2-value').fill('none');
        await checkPage(page, 'forms-editor', lang, findings);
        await page.getByRole('button', { name: text(t, 'forms.publish'), exact: true }).click();
        await page
          .locator('#forms-status')
          .filter({ hasText: text(t, 'forms.published', { name: formName, version: 1 }) })
          .waitFor();
        expect(await page.locator('#forms tbody').innerText()).to.contain(formName);
        await checkPage(page, 'forms', lang, findings);
        expect(problems).to.deep.equal([]);
        await context.close();
      }

      // The trainer scores the call from the player: a draft, then the submission.
      {
        const { context, page, problems } = await openContext(lang);
        await signIn(page, lang, users.trainer);
        await page.waitForURL(/\/recordings$/);
        await page.goto(`${app.url}/recordings/${callId}`);
        await page.locator('#waveform canvas').first().waitFor({ state: 'attached' });
        await page.locator('#evaluation-panel:not([hidden]) .evaluation-start-form').waitFor();
        await page
          .getByLabel(text(t, 'evaluation.chooseForm'), { exact: true })
          .selectOption({ label: text(t, 'evaluation.formVersion', { name: formName, version: 1 }) });
        await page.getByRole('button', { name: text(t, 'evaluation.start'), exact: true }).click();
        const editor = page.locator('#evaluation-form');
        await editor.waitFor();
        const question = (id: string) => editor.locator(`[data-question="${id}"]`);
        await question('q1').getByLabel(text(t, 'evaluation.answer.yes'), { exact: true }).check();
        await editor.getByLabel(text(t, 'evaluation.commentOn', { n: 1 }), { exact: true }).fill('Warm welcome.');
        // A comment stamped on the call at 0:03 (where the player stood when typing began).
        await page.evaluate(() => {
          (document.getElementById('audio') as HTMLAudioElement).currentTime = 3;
        });
        await page.locator('#timed-comment').fill('Asks for the account number here.');
        await page.evaluate(() => {
          (document.getElementById('audio') as HTMLAudioElement).currentTime = 6;
        });
        await page.getByRole('button', { name: text(t, 'evaluation.addTimed'), exact: true }).click();
        expect(await editor.locator('.notes-list li .note-time').allInnerTexts()).to.deep.equal(['0:03']);
        expect(await page.locator('#evaluation-markers .evaluation-marker').count()).to.equal(1);
        // A phone number in a comment is refused by the server and named as such; nothing is stored.
        const comment2 = editor.getByLabel(text(t, 'evaluation.commentOn', { n: 2 }), { exact: true });
        await comment2.fill('Bel terug op 06 12345678');
        await page.getByRole('button', { name: text(t, 'evaluation.saveDraft'), exact: true }).click();
        await page
          .locator('#evaluation-panel .error')
          .filter({ hasText: text(t, 'evaluation.phoneRefused', { fields: 'comments.q2' }) })
          .waitFor();
        expect(await evaluationRows(callId)).to.deep.equal([]);
        await comment2.fill('');
        await page.getByRole('button', { name: text(t, 'evaluation.saveDraft'), exact: true }).click();
        await page
          .locator('#evaluation-panel .notice')
          .filter({ hasText: text(t, 'evaluation.draftSaved') })
          .waitFor();
        // The API scores at submission: a draft says so rather than show a score of its own.
        expect(await page.locator('#evaluation-score').innerText()).to.equal(text(t, 'evaluation.scoreOnSubmit'));
        expect((await evaluationRows(callId)).map((r) => r.status)).to.deep.equal(['draft']);
        await checkPage(page, 'player-evaluation', lang, findings);

        // Submitting with questions open says which; then every question answered.
        await page.getByRole('button', { name: text(t, 'evaluation.submit'), exact: true }).click();
        await page
          .locator('#evaluation-panel .error')
          .filter({ hasText: text(t, 'evaluation.answerAll', { numbers: '2, 3' }) })
          .waitFor();
        await question('q2').getByLabel('4', { exact: true }).check();
        await question('q3').getByLabel('partial', { exact: true }).check();
        await page.getByRole('button', { name: text(t, 'evaluation.submit'), exact: true }).click();
        const decimal = (n: number) => (lang === 'nl' ? String(n).replace('.', ',') : String(n));
        await page
          .locator('#evaluation-panel .notice')
          .filter({ hasText: text(t, 'evaluation.submitted', { score: decimal(EXPECTED.total) }) })
          .waitFor();
        const [row] = await evaluationRows(callId);
        expect(row).to.include({ status: 'submitted', score: EXPECTED.total });
        const view = await page.locator('#evaluation-panel .evaluation-view').innerText();
        expect(view).to.contain(decimal(EXPECTED.opening)).and.contain(decimal(EXPECTED.closing));
        expect(view).to.contain('Warm welcome.').and.contain('Asks for the account number here.');
        await checkPage(page, 'player-evaluation-submitted', lang, findings);

        // The trainer's list and the scorecard of their queue.
        await page.getByRole('link', { name: text(t, 'nav.evaluations'), exact: true }).click();
        await page.waitForURL(/\/evaluations$/);
        await page.locator(`#evaluations tbody tr`).first().waitFor();
        await checkPage(page, 'evaluations', lang, findings);
        await page.getByRole('link', { name: text(t, 'nav.scorecards'), exact: true }).click();
        await page.waitForURL(/\/scorecards$/);
        await page.locator('#scorecards tbody tr').first().waitFor();
        expect(await page.locator('#scorecards tbody tr').first().innerText()).to.contain('agent-7');
        const csvHref = (await page.locator('#csv').getAttribute('href'))!;
        expect(csvHref).to.match(/^\/v1\/scorecards\?.*format=csv/);
        const csv = await page.request.get(`${app.url}${csvHref}`);
        expect(csv.status()).to.equal(200);
        expect(csv.headers()['content-type']).to.match(/^text\/csv/);
        expect(await csv.text()).to.contain('agent-7');
        await checkPage(page, 'scorecards', lang, findings);
        // Allowed: the 400 of the refused phone number (the browser logs every failed response).
        expect(problems.filter((p) => !p.includes('status of 400'))).to.deep.equal([]);
        await context.close();
      }
      expect(findings).to.deep.equal([]);
    });

    it(`when the agent signs in in ${lang} with an evaluation of their call submitted, then they land on their evaluations, read it, listen to the call with its comment on the waveform, and acknowledge it with a comment`, async () => {
      const t = T[lang];
      const findings: string[] = [];
      const { callId, id } = await submittedEvaluation(`Agent view ${lang}`);
      const { context, page, problems } = await openContext(lang);
      await signIn(page, lang, users.agent);
      await page.waitForURL(/\/evaluations$/);
      const link = page.locator(`#evaluations tbody a[href="/evaluations?id=${id}"]`);
      await link.waitFor();
      expect(await page.locator('#site-nav a').allInnerTexts()).to.deep.equal([
        text(t, 'nav.evaluations'),
        text(t, 'nav.scorecards'),
      ]);
      await checkPage(page, 'evaluations-agent', lang, findings);
      await link.click();
      await page.locator('#respond:not([hidden])').waitFor();
      expect(await page.locator('#detail').innerText())
        .to.contain('Greets the caller by name')
        .and.contain('Warm welcome.');
      await checkPage(page, 'evaluation-agent', lang, findings);

      // Listen: the player shows the evaluation and its comment on the waveform.
      await page.getByRole('link', { name: text(t, 'evaluations.listen'), exact: true }).click();
      await page.waitForURL(new RegExp(`/recordings/${callId}\\?evaluation=${id}$`));
      await page.locator('#evaluation-panel:not([hidden]) .evaluation-view').waitFor();
      await page.locator('#waveform canvas').first().waitFor({ state: 'attached' });
      expect(await page.locator('#evaluation-markers .evaluation-marker').count()).to.equal(1);
      expect(await page.locator('section.notes').isHidden()).to.equal(true);
      await page.getByRole('button', { name: text(t, 'player.play'), exact: true }).click();
      await page.waitForFunction(() => (document.getElementById('audio') as HTMLAudioElement).currentTime > 0.3);
      await checkPage(page, 'player-agent', lang, findings);

      // Back to the evaluation; a dispute needs a comment; acknowledge with one.
      await page.getByRole('link', { name: text(t, 'evaluations.back'), exact: true }).click();
      await page.locator('#respond:not([hidden])').waitFor();
      await page.getByRole('button', { name: text(t, 'evaluations.dispute'), exact: true }).click();
      await page
        .locator('#detail-error')
        .filter({ hasText: text(t, 'evaluations.disputeNeedsComment') })
        .waitFor();
      await page.getByLabel(text(t, 'evaluations.yourComment'), { exact: true }).fill('Thanks, noted.');
      await page.getByRole('button', { name: text(t, 'evaluations.acknowledge'), exact: true }).click();
      await page
        .locator('#detail-status')
        .filter({ hasText: text(t, 'evaluations.acknowledged') })
        .waitFor();
      expect(await page.locator('#respond').isHidden()).to.equal(true);
      expect(await page.locator('#detail').innerText())
        .to.contain(text(t, 'evaluation.status.acknowledged'))
        .and.contain('Thanks, noted.');
      const [answered] = await evaluationRows(callId);
      expect(answered).to.include({ status: 'acknowledged', agent_comment: 'Thanks, noted.' });
      await checkPage(page, 'evaluation-acknowledged', lang, findings);
      await signOut(page, lang);
      expect(problems).to.deep.equal([]);
      await context.close();
      expect(findings).to.deep.equal([]);
    });
  }

  it('when the recording of a submitted evaluation is deleted, then the evaluation still reads in full and names the deletion-log entry instead of a link to listen', async () => {
    const rec = await createStoredRecording({
      db: testDb.db,
      store: testStore.store,
      overrides: { started_at: now - 2 * DAY_MS, queue: 'billing', agent_id: 'agent-7', duration_ms: 4000 },
    });
    const trainer = await createTestUser(testDb.db, {
      role: 'trainer',
      queues: ['billing'],
      password: PASSWORD,
      clock,
    });
    const formId = await created('/v1/evaluation-forms', adminToken, {
      name: 'Short',
      sections: [{ title: 'Opening', questions: [{ id: 'q1', text: 'Greets', type: 'yesno', weight: 1 }] }],
    });
    const evaluation = {
      id: await created(`/v1/recordings/${rec.row.id}/evaluations`, trainer.token, {
        formId,
        answers: { q1: 'yes' },
        status: 'submitted',
      }),
    };
    const entry = await deleteRecording({
      deps: app.deps,
      recordingId: rec.row.id,
      reason: 'erasure_request',
      actor: 'privacy-ui',
      reference: 'DSR-7',
      now,
    });
    const findings: string[] = [];
    for (const lang of LANGS) {
      const { context, page, problems } = await openContext(lang);
      await signIn(page, lang, trainer.user.username);
      await page.waitForURL(/\/recordings$/);
      await page.goto(`${app.url}/evaluations?id=${evaluation.id}`);
      await page.locator('#detail .evaluation-view').waitFor();
      expect(await page.locator('#detail').innerText()).to.contain('Greets');
      expect(await page.locator('#recording-link').innerText()).to.equal(
        text(T[lang], 'evaluations.recordingDeletedEntry', { n: entry.seq }),
      );
      expect(await page.locator('#recording-link a').count()).to.equal(0);
      await checkPage(page, 'evaluation-recording-deleted', lang, findings);
      expect(problems).to.deep.equal([]);
      await context.close();
    }
    expect(findings).to.deep.equal([]);
  });
});
