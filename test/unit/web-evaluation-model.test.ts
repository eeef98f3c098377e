/**
 * The training-review pages' pure helpers (src/web/evaluation-model.js): which answers a question
 * offers, what a submission still misses, the request bodies (never a score), the list and
 * scorecard queries, the form editor's checks, the link to the call or its deletion-log entry.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';

const WEB = path.resolve(import.meta.dirname, '..', '..', 'src', 'web');
type Question = {
  id: string;
  text: string;
  type: string;
  weight: number;
  critical?: boolean;
  choices?: Array<{ value: string; score: number }>;
};
type Form = { id: string; version: number; name: string; sections: Array<{ title: string; questions: Question[] }> };
type Problem = { key: string; params: Record<string, number> };
const m = (await import(pathToFileURL(path.join(WEB, 'evaluation-model.js')).href)) as {
  formQuestions: (form: Form) => Array<{ sectionIndex: number; question: Question }>;
  answerOptions: (q: Question) => Array<{ value: string | number; label: string | null }>;
  parseAnswer: (q: Question, raw: unknown) => string | number | undefined;
  missingAnswers: (form: Form, answers: Record<string, unknown>) => string[];
  evaluationBody: (o: Record<string, unknown>) => Record<string, unknown>;
  roundScore: (score: unknown) => number | null;
  markerLeft: (offsetMs: number, durationMs: number) => number;
  canRespond: (e: { status: string }, role: string) => boolean;
  canEdit: (e: { status: string; evaluator: string }, username: string) => boolean;
  recordingLink: (e: Record<string, unknown>) => { href?: string; deletionEntry?: number | null };
  evaluationsQuery: (
    p: URLSearchParams,
    dayStart: (d: string, add: number) => string,
    limit?: number,
  ) => URLSearchParams;
  scorecardsQuery: (p: URLSearchParams, dayStart: (d: string, add: number) => string) => URLSearchParams;
  scorecardsCsvHref: (q: URLSearchParams) => string;
  scorecardKey: (item: Record<string, string>, groupBy: string) => string;
  nextQuestionId: (ids: string[]) => string;
  formBody: (draft: Record<string, unknown>) => Form;
  formProblems: (body: Omit<Form, 'id' | 'version'>) => Problem[];
  editorDraft: (form: Form) => Record<string, unknown>;
};

const question = (overrides: Partial<Question> = {}): Question => ({
  id: 'q1',
  text: 'Greets the caller',
  type: 'yesno',
  weight: 1,
  ...overrides,
});
const form = (overrides: Partial<Form> = {}): Form => ({
  id: 'F1',
  version: 2,
  name: 'Service',
  sections: [
    { title: 'Opening', questions: [question(), question({ id: 'q2', type: 'scale', text: 'Tone' })] },
    {
      title: 'Closing',
      questions: [
        question({
          id: 'q3',
          type: 'choice',
          text: 'Offer',
          choices: [
            { value: 'full', score: 1 },
            { value: 'none', score: 0 },
          ],
        }),
      ],
    },
  ],
  ...overrides,
});
/** "2026-11-30" + n days → a marker string, so the test sees which day each bound got. */
const dayStart = (date: string, add: number) => `${date}+${add}`;

describe('the training-review pages’ helpers (src/web/evaluation-model.js)', () => {
  it('when a form is flattened, then every question comes in order with the index of its section', () => {
    expect(m.formQuestions(form()).map((x) => [x.sectionIndex, x.question.id])).to.deep.equal([
      [0, 'q1'],
      [0, 'q2'],
      [1, 'q3'],
    ]);
  });

  it('when a question is shown, then yes/no offers yes and no, a scale 1 to 5, a choice its own values, each then N.A.', () => {
    expect(m.answerOptions(question()).map((o) => o.value)).to.deep.equal(['yes', 'no', 'na']);
    expect(m.answerOptions(question({ type: 'scale' })).map((o) => o.value)).to.deep.equal([1, 2, 3, 4, 5, 'na']);
    expect(m.answerOptions(form().sections[1]!.questions[0]!)).to.deep.equal([
      { value: 'full', label: null },
      { value: 'none', label: null },
      { value: 'na', label: 'evaluation.answer.na' },
    ]);
  });

  it('when a radio value is read, then a scale point becomes a number and anything off the scale is no answer', () => {
    const scale = question({ type: 'scale' });
    expect(m.parseAnswer(scale, '4')).to.equal(4);
    expect(m.parseAnswer(scale, '6')).to.equal(undefined);
    expect(m.parseAnswer(scale, '')).to.equal(undefined);
    expect(m.parseAnswer(question(), 'na')).to.equal('na');
  });

  it('when some questions are unanswered, then missingAnswers names them in form order (N.A. counts as an answer)', () => {
    expect(m.missingAnswers(form(), { q2: 3 })).to.deep.equal(['q1', 'q3']);
    expect(m.missingAnswers(form(), { q1: 'na', q2: 1, q3: 'none' })).to.deep.equal([]);
  });

  it('when a new evaluation is sent, then the body carries the form and version, only this form’s answers, trimmed non-empty comments, timed comments in time order, and no score', () => {
    const body = m.evaluationBody({
      form: form(),
      answers: { q1: 'yes', q2: 4, other: 'no', q3: '' },
      comments: { q1: '  friendly  ', q2: '   ', ghost: 'x' },
      timedComments: [
        { offsetMs: 5000.4, text: ' later ' },
        { offsetMs: 1200, text: 'first' },
        { offsetMs: 3000, text: '  ' },
      ],
      status: 'draft',
      calibration: true,
      create: true,
      score: 100,
    });
    expect(body).to.deep.equal({
      formId: 'F1',
      version: 2,
      calibration: true,
      answers: { q1: 'yes', q2: 4 },
      comments: { q1: 'friendly' },
      timedComments: [
        { offsetMs: 1200, text: 'first' },
        { offsetMs: 5000, text: 'later' },
      ],
      status: 'draft',
    });
  });

  it('when a draft is updated, then the body has no form, version or calibration (the API takes them only at creation)', () => {
    const body = m.evaluationBody({ form: form(), answers: { q1: 'no' }, status: 'submitted', calibration: true });
    expect(body).to.deep.equal({ answers: { q1: 'no' }, timedComments: [], status: 'submitted' });
  });

  it('when scores are shown, then they keep the server’s two decimals and a missing score stays missing', () => {
    expect(m.roundScore(83.3333)).to.equal(83.33);
    expect(m.roundScore(0)).to.equal(0);
    expect(m.roundScore(null)).to.equal(null);
    expect(m.roundScore(Number.NaN)).to.equal(null);
  });

  it('when a timed comment is drawn, then its marker sits at its share of the call, clamped to the waveform', () => {
    expect(m.markerLeft(2000, 8000)).to.equal(25);
    expect(m.markerLeft(9000, 8000)).to.equal(100);
    expect(m.markerLeft(-5, 8000)).to.equal(0);
    expect(m.markerLeft(100, 0)).to.equal(0);
  });

  it('when who may act is asked, then only an agent answers a submitted evaluation and only its evaluator edits a draft', () => {
    expect(m.canRespond({ status: 'submitted' }, 'agent')).to.equal(true);
    expect(m.canRespond({ status: 'acknowledged' }, 'agent')).to.equal(false);
    expect(m.canRespond({ status: 'submitted' }, 'trainer')).to.equal(false);
    expect(m.canEdit({ status: 'draft', evaluator: 'tess' }, 'tess')).to.equal(true);
    expect(m.canEdit({ status: 'draft', evaluator: 'tess' }, 'tom')).to.equal(false);
    expect(m.canEdit({ status: 'submitted', evaluator: 'tess' }, 'tess')).to.equal(false);
  });

  it('when the call is linked, then an existing recording opens in the player with the evaluation and a deleted one names its deletion-log entry', () => {
    expect(m.recordingLink({ id: 'E 1', recordingId: 'R/1', recording: { exists: true } })).to.deep.equal({
      href: '/recordings/R%2F1?evaluation=E+1',
    });
    expect(
      m.recordingLink({ id: 'E1', recordingId: 'R1', recording: { exists: false, deletionEntry: 42 } }),
    ).to.deep.equal({ deletionEntry: 42 });
    expect(m.recordingLink({ id: 'E1', recordingId: 'R1', recording: { exists: false } })).to.deep.equal({
      deletionEntry: null,
    });
  });

  it('when the list is filtered, then dates become the starts of days in the call center’s zone (to: the next day) and empty filters are left out', () => {
    const q = m.evaluationsQuery(
      new URLSearchParams({
        from: '2026-11-01',
        to: '2026-11-30',
        agentId: ' agent-7 ',
        queue: '',
        status: 'submitted',
      }),
      dayStart,
    );
    expect(Object.fromEntries(q)).to.deep.equal({
      from: '2026-11-01+0',
      to: '2026-11-30+1',
      agentId: 'agent-7',
      status: 'submitted',
      limit: '50',
    });
  });

  it('when scorecards are asked, then they group by agent unless queue or form is chosen, and the CSV link is the same query with format=csv', () => {
    expect(m.scorecardsQuery(new URLSearchParams({ groupBy: 'bogus' }), dayStart).get('groupBy')).to.equal('agent');
    const q = m.scorecardsQuery(new URLSearchParams({ groupBy: 'queue', formId: 'F1' }), dayStart);
    expect(Object.fromEntries(q)).to.deep.equal({ formId: 'F1', groupBy: 'queue' });
    expect(m.scorecardsCsvHref(q)).to.equal('/v1/scorecards?formId=F1&groupBy=queue&format=csv');
    expect(m.scorecardKey({ agentId: 'a', queue: 'q', formId: 'f' }, 'queue')).to.equal('q');
    expect(m.scorecardKey({ agentId: 'a', queue: 'q', formId: 'f' }, 'form')).to.equal('f');
    expect(m.scorecardKey({ agentId: 'a', queue: 'q', formId: 'f' }, 'agent')).to.equal('a');
  });

  it('when a question is added, then it gets the first free id (ids of earlier versions are kept)', () => {
    expect(m.nextQuestionId([])).to.equal('q1');
    expect(m.nextQuestionId(['q1', 'q3'])).to.equal('q2');
    expect(m.nextQuestionId(['q1', 'q2'])).to.equal('q3');
  });

  it('when the editor’s state is published, then texts are trimmed, numbers are numbers, critical only when set and choices only on choice questions', () => {
    const body = m.formBody({
      name: ' Service ',
      sections: [
        {
          title: ' Opening ',
          questions: [
            {
              id: 'q1',
              text: ' Greets ',
              type: 'yesno',
              weight: '2',
              critical: true,
              choices: [{ value: 'x', score: 1 }],
            },
            {
              id: 'q2',
              text: 'Offer',
              type: 'choice',
              weight: 1,
              critical: false,
              choices: [
                { value: ' full ', score: '1' },
                { value: 'none', score: 0 },
              ],
            },
          ],
        },
      ],
    });
    expect(body).to.deep.equal({
      name: 'Service',
      sections: [
        {
          title: 'Opening',
          questions: [
            { id: 'q1', text: 'Greets', type: 'yesno', weight: 2, critical: true },
            {
              id: 'q2',
              text: 'Offer',
              type: 'choice',
              weight: 1,
              choices: [
                { value: 'full', score: 1 },
                { value: 'none', score: 0 },
              ],
            },
          ],
        },
      ],
    });
  });

  it('when a form breaks the rules, then each problem is named with its section and question, and a good form has none', () => {
    const good = m.formBody(m.editorDraft(form()));
    expect(m.formProblems(good)).to.deep.equal([]);
    const bad = m.formBody({
      name: ' ',
      sections: [
        {
          title: '',
          questions: [
            { id: 'q1', text: '', type: 'yesno', weight: 0 },
            { id: 'q1', text: 'Offer', type: 'choice', weight: 1, choices: [{ value: '', score: 2 }] },
          ],
        },
        { title: 'Empty', questions: [] },
      ],
    });
    expect(m.formProblems(bad).map((p) => [p.key, p.params])).to.deep.equal([
      ['forms.problem.name', {}],
      ['forms.problem.sectionTitle', { section: 1 }],
      ['forms.problem.questionText', { section: 1, question: 1 }],
      ['forms.problem.weight', { section: 1, question: 1 }],
      ['forms.problem.duplicateId', { section: 1, question: 2 }],
      ['forms.problem.fewChoices', { section: 1, question: 2 }],
      ['forms.problem.choiceValue', { section: 1, question: 2 }],
      ['forms.problem.choiceScore', { section: 1, question: 2 }],
      ['forms.problem.noQuestions', { section: 2 }],
    ]);
    expect(m.formProblems(m.formBody({ name: 'x', sections: [] })).map((p) => p.key)).to.deep.equal([
      'forms.problem.noSections',
    ]);
  });

  it('when a published version is edited, then the editor starts from a copy that keeps the question ids and leaves the version untouched', () => {
    const published = form();
    const draft = m.editorDraft(published) as { sections: Array<{ questions: Array<{ id: string; text: string }> }> };
    draft.sections[0]!.questions[0]!.text = 'changed';
    expect(published.sections[0]!.questions[0]!.text).to.equal('Greets the caller');
    expect(draft.sections.flatMap((s) => s.questions.map((q) => q.id))).to.deep.equal(['q1', 'q2', 'q3']);
  });
});
