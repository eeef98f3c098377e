/* global URLSearchParams */
/**
 * Pure helpers of the training-review pages (the player's evaluation panel, /evaluations,
 * /scorecards, /forms): no DOM, no imports, so unit tests import them in Node
 * (test/unit/web-evaluation-model.test.ts). The score is never computed here: the pages show the
 * server's.
 *
 * A form (as the API serves a version) is `{id, version, name, sections: [{title, questions: [{id,
 * text, type: "yesno"|"scale"|"choice", weight, critical?, choices?: [{value, score}]}]}]}`.
 */

export const QUESTION_TYPES = ['yesno', 'scale', 'choice'];
export const EVALUATION_STATUSES = ['draft', 'submitted', 'acknowledged', 'disputed'];

/** Every question of a form in order, with the index of its section (the section id is that index as text). */
export function formQuestions(form) {
  return (form?.sections ?? []).flatMap((section, sectionIndex) =>
    (section.questions ?? []).map((question) => ({ sectionIndex, question })),
  );
}

/**
 * The answers a question offers, in order: `{value, label}` where `label` is a catalogue key or
 * null (then the value is shown: a scale point, or a choice's own text). Every type offers N.A.
 * last (the API leaves "na" out of the score for any type; a choice is never named "na").
 */
export function answerOptions(question) {
  const na = { value: 'na', label: 'evaluation.answer.na' };
  if (question.type === 'yesno')
    return [{ value: 'yes', label: 'evaluation.answer.yes' }, { value: 'no', label: 'evaluation.answer.no' }, na];
  if (question.type === 'scale') return [...[1, 2, 3, 4, 5].map((value) => ({ value, label: null })), na];
  return [...(question.choices ?? []).map((choice) => ({ value: choice.value, label: null })), na];
}

/** An answer as sent to the API: scale points are numbers, the rest strings; '' or null means unanswered. */
export function parseAnswer(question, raw) {
  if (raw === undefined || raw === null || raw === '') return undefined;
  if (question.type === 'scale') {
    const n = Number(raw);
    return Number.isInteger(n) && n >= 1 && n <= 5 ? n : undefined;
  }
  return String(raw);
}

/** The ids of the questions of `form` that `answers` leaves unanswered (a submission needs none). */
export function missingAnswers(form, answers) {
  return formQuestions(form)
    .map(({ question }) => question.id)
    .filter((qid) => answers?.[qid] === undefined || answers[qid] === null || answers[qid] === '');
}

/**
 * The body of `POST /v1/recordings/:id/evaluations` (with `formId`) or `PUT /v1/evaluations/:id`
 * (without): only the form's questions' answers, non-empty trimmed comments, timed comments in time
 * order; never a score (the server refuses one).
 */
export function evaluationBody({ form, answers, comments, timedComments, status, calibration, create }) {
  const ids = new Set(formQuestions(form).map(({ question }) => question.id));
  const body = { answers: {} };
  if (create) {
    body.formId = form.id;
    body.version = form.version;
    if (calibration) body.calibration = true;
  }
  for (const [qid, value] of Object.entries(answers ?? {}))
    if (ids.has(qid) && value !== undefined && value !== null && value !== '') body.answers[qid] = value;
  const kept = Object.entries(comments ?? {})
    .filter(([qid, text]) => ids.has(qid) && typeof text === 'string' && text.trim() !== '')
    .map(([qid, text]) => [qid, text.trim()]);
  if (kept.length) body.comments = Object.fromEntries(kept);
  body.timedComments = [...(timedComments ?? [])]
    .filter((c) => typeof c.text === 'string' && c.text.trim() !== '')
    .map((c) => ({ offsetMs: Math.max(0, Math.round(c.offsetMs)), text: c.text.trim() }))
    .sort((a, b) => a.offsetMs - b.offsetMs);
  body.status = status;
  return body;
}

/** A 0–100 score as the server rounds it (two decimals), or null when there is none (a partial draft). */
export function roundScore(score) {
  return typeof score === 'number' && Number.isFinite(score) ? Math.round(score * 100) / 100 : null;
}

/** The left edge (percent of the call) of a timed comment's marker on the waveform, clamped to 0–100. */
export function markerLeft(offsetMs, durationMs) {
  if (!(durationMs > 0)) return 0;
  return Math.min(100, Math.max(0, (offsetMs / durationMs) * 100));
}

/** True when `role` may acknowledge or dispute `evaluation`: an agent, and the evaluation awaits their answer. */
export function canRespond(evaluation, role) {
  return role === 'agent' && evaluation?.status === 'submitted';
}

/** True when `username` may still change `evaluation` (its own draft). */
export function canEdit(evaluation, username) {
  return evaluation?.status === 'draft' && evaluation.evaluator === username;
}

/**
 * Where the evaluated call is: `{href}` of the player (with the evaluation, so its timed comments
 * are drawn) while the recording exists, else `{deletionEntry}` (the deletion-log entry, or null).
 */
export function recordingLink(evaluation) {
  if (evaluation?.recording?.exists === false) return { deletionEntry: evaluation.recording.deletionEntry ?? null };
  const id = encodeURIComponent(evaluation.recordingId);
  return { href: `/recordings/${id}?${new URLSearchParams({ evaluation: evaluation.id })}` };
}

/**
 * The API query of the list pages' filters (the page address). `dayStart(date, addDays)` turns a
 * "YYYY-MM-DD" into the instant that day starts in the call center's zone; `to` includes its day.
 */
export function filterQuery(params, names, dayStart) {
  const q = new URLSearchParams();
  const from = params.get('from');
  const to = params.get('to');
  if (from) q.set('from', dayStart(from, 0));
  if (to) q.set('to', dayStart(to, 1));
  for (const name of names) {
    const value = params.get(name)?.trim();
    if (value) q.set(name, value);
  }
  return q;
}

/** `GET /v1/evaluations` query of the /evaluations page's address. */
export function evaluationsQuery(params, dayStart, limit = 50) {
  const q = filterQuery(params, ['agentId', 'queue', 'formId', 'status'], dayStart);
  q.set('limit', String(limit));
  return q;
}

/** `GET /v1/scorecards` query of the /scorecards page's address (grouped by agent unless said). */
export function scorecardsQuery(params, dayStart) {
  const q = filterQuery(params, ['agentId', 'queue', 'formId'], dayStart);
  const groupBy = params.get('groupBy');
  q.set('groupBy', ['agent', 'queue', 'form'].includes(groupBy) ? groupBy : 'agent');
  return q;
}

/** The CSV download of the same scorecard (`format=csv`, which the API answers as text/csv). */
export function scorecardsCsvHref(query) {
  const q = new URLSearchParams(query);
  q.set('format', 'csv');
  return `/v1/scorecards?${q}`;
}

/** What a scorecard row is about: its agent, queue or form id, by the grouping. */
export function scorecardKey(item, groupBy) {
  return groupBy === 'queue' ? item.queue : groupBy === 'form' ? item.formId : item.agentId;
}

/** The next free question id `q<n>` of a form being edited (existing ids keep theirs across versions). */
export function nextQuestionId(ids) {
  let n = 1;
  const taken = new Set(ids);
  while (taken.has(`q${n}`)) n += 1;
  return `q${n}`;
}

/**
 * The form editor's state as the API's body `{name, sections}`: trimmed texts, numbers for weights
 * and scores, `critical` only when set, choices only on choice questions.
 */
export function formBody(draft) {
  return {
    name: String(draft.name ?? '').trim(),
    sections: (draft.sections ?? []).map((section) => ({
      title: String(section.title ?? '').trim(),
      questions: (section.questions ?? []).map((q) => {
        const out = { id: q.id, text: String(q.text ?? '').trim(), type: q.type, weight: Number(q.weight) };
        if (q.critical) out.critical = true;
        if (q.type === 'choice')
          out.choices = (q.choices ?? []).map((c) => ({ value: String(c.value ?? '').trim(), score: Number(c.score) }));
        return out;
      }),
    })),
  };
}

/**
 * What keeps a form body from being published, as `{key, params}` (catalogue keys), in the order
 * the editor shows them; empty when the body is fine. The API checks the same rules; this says
 * it before the round trip, in the page's language.
 */
export function formProblems(body) {
  const problems = [];
  if (!body.name) problems.push({ key: 'forms.problem.name', params: {} });
  if (!body.sections.length) problems.push({ key: 'forms.problem.noSections', params: {} });
  const seen = new Set();
  body.sections.forEach((section, s) => {
    const sectionNo = s + 1;
    if (!section.title) problems.push({ key: 'forms.problem.sectionTitle', params: { section: sectionNo } });
    if (!section.questions.length) problems.push({ key: 'forms.problem.noQuestions', params: { section: sectionNo } });
    section.questions.forEach((q, i) => {
      const where = { section: sectionNo, question: i + 1 };
      if (seen.has(q.id)) problems.push({ key: 'forms.problem.duplicateId', params: where });
      seen.add(q.id);
      if (!q.text) problems.push({ key: 'forms.problem.questionText', params: where });
      if (!(Number.isFinite(q.weight) && q.weight > 0)) problems.push({ key: 'forms.problem.weight', params: where });
      if (q.type === 'choice') {
        if ((q.choices ?? []).length < 2) problems.push({ key: 'forms.problem.fewChoices', params: where });
        for (const c of q.choices ?? []) {
          if (!c.value) problems.push({ key: 'forms.problem.choiceValue', params: where });
          if (!(Number.isFinite(c.score) && c.score >= 0 && c.score <= 1))
            problems.push({ key: 'forms.problem.choiceScore', params: where });
        }
        const values = (q.choices ?? []).map((c) => c.value);
        if (new Set(values).size !== values.length) problems.push({ key: 'forms.problem.choiceTwice', params: where });
      }
    });
  });
  return problems;
}

/** A form version as the editor's starting point for the next version (a deep copy; ids kept). */
export function editorDraft(form) {
  return {
    name: form?.name ?? '',
    sections: (form?.sections ?? []).map((section) => ({
      title: section.title ?? '',
      questions: (section.questions ?? []).map((q) => ({
        id: q.id,
        text: q.text ?? '',
        type: q.type,
        weight: q.weight,
        critical: Boolean(q.critical),
        choices: (q.choices ?? []).map((c) => ({ value: c.value, score: c.score })),
      })),
    })),
  };
}
