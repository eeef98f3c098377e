/**
 * Shared rendering of the training-review pages: an evaluation read-only (score, section scores,
 * every answer with its comment, the timed comments, the agent's answer), status and score
 * texts, a form version fetched for its question texts. Used by the player's evaluation panel
 * (evaluation-panel.js) and the /evaluations page. Text only through the catalogues.
 */
import { api, formatClock, formatDateTime, t } from '/assets/layout.js';
import { formatNumber, problemMessage } from '/assets/i18n.js';
import { answerOptions, formQuestions, roundScore } from '/assets/evaluation-model.js';

const STATUS_KEYS = {
  draft: 'evaluation.status.draft',
  submitted: 'evaluation.status.submitted',
  acknowledged: 'evaluation.status.acknowledged',
  disputed: 'evaluation.status.disputed',
};
const ANSWER_KEYS = { yes: 'evaluation.answer.yes', no: 'evaluation.answer.no', na: 'evaluation.answer.na' };
const TYPE_KEYS = { yesno: 'forms.type.yesno', scale: 'forms.type.scale', choice: 'forms.type.choice' };

/** "Submitted", "Draft", … */
export function statusText(status) {
  return STATUS_KEYS[status] ? t(STATUS_KEYS[status]) : status;
}

/** "Yes/no/N.A.", "Scale 1–5", "Choice". */
export function typeText(type) {
  return TYPE_KEYS[type] ? t(TYPE_KEYS[type]) : type;
}

/** "85.5" in the page's language, or "—" without a score. */
export function scoreText(score) {
  const rounded = roundScore(score);
  return rounded === null ? t('evaluation.noScore') : formatNumber(rounded);
}

/** The label of an answer option (a catalogue text for yes/no/N.A., else the value itself). */
export function optionText(option) {
  return option.label ? t(option.label) : String(option.value);
}

/** The text of a given answer: "Yes", "4", a choice's value; "not answered" when absent. */
export function answerText(question, value) {
  if (value === undefined || value === null || value === '') return t('evaluation.unanswered');
  if (value === 'na' || (ANSWER_KEYS[value] && question?.type !== 'choice')) return t(ANSWER_KEYS[value]);
  const option = question ? answerOptions(question).find((o) => o.value === value) : undefined;
  return option ? optionText(option) : String(value);
}

/**
 * The message for a refused evaluation, response or form: texts holding a phone number are named
 * as such (the API refuses them with `invalid_request` and "must not contain a phone number" per
 * field); anything else as the UI says every problem.
 */
export function reviewProblem(error) {
  const fields = error?.problem?.fields ?? [];
  const phone = fields.filter((f) => /phone number/.test(f.message ?? '')).map((f) => f.field);
  if (error?.name === 'ApiError' && phone.length) return t('evaluation.phoneRefused', { fields: phone.join(', ') });
  return problemMessage(error);
}

/** `document.createElement` with a class, a text and attributes. */
export function el(tag, { className, text, attrs } = {}, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attrs ?? {})) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/** One `<div><dt/><dd/></div>` of a definition list. */
export function definition(dl, term, value) {
  dl.append(el('div', {}, [el('dt', { text: term }), el('dd', { text: value ?? '—' })]));
}

/**
 * The filter fields of `form` follow the page address, except while the user edits them: a field
 * typed in or changed is left alone by `fillFilters` until the form is submitted or reset, so a
 * page that finishes loading after the user began typing keeps what was typed.
 */
export function trackFilterEdits(form) {
  const mark = (event) => {
    if (event.target.name) event.target.dataset.edited = '';
  };
  form.addEventListener('input', mark);
  form.addEventListener('change', mark);
  const clear = () => {
    for (const field of form.elements) if (field.dataset) delete field.dataset.edited;
  };
  form.addEventListener('submit', clear);
  form.addEventListener('reset', clear);
}

/** Sets each named field of `form` not being edited (trackFilterEdits) from `params`, else `fallback(field)`. */
export function fillFilters(form, params, fallback = () => '') {
  for (const field of form.elements)
    if (field.name && !('edited' in field.dataset)) field.value = params.get(field.name) ?? fallback(field);
}

/**
 * Fills the form filter `select` with the forms and `names` with id → name. A role that may not
 * read the forms, or a refused read, hides the filter (an expired session, 401, is thrown on).
 */
export async function loadFormFilter(role, select, names) {
  const hide = () => {
    select.closest('.field').hidden = true;
  };
  if (!FORM_READERS.includes(role)) return hide();
  try {
    const { items } = await api('/v1/evaluation-forms');
    for (const f of items) {
      names.set(f.id, f.name);
      select.append(el('option', { text: f.name, attrs: { value: f.id } }));
    }
  } catch (error) {
    if (error?.status === 401) throw error;
    hide();
  }
}

const formCache = new Map();
/** Who may read forms (the API's rule, src/training/access.ts FORM_READ_ROLES). */
export const FORM_READERS = ['trainer', 'admin', 'agent'];

/**
 * The form version an evaluation was made with (for its question texts), or null when `role` may
 * not read forms or it cannot be read: the detail then names questions by their ids.
 */
export async function loadFormVersion(formId, version, role) {
  if (!FORM_READERS.includes(role)) return null;
  const key = `${formId}@${version}`;
  if (!formCache.has(key))
    formCache.set(
      key,
      api(`/v1/evaluation-forms/${encodeURIComponent(formId)}/versions/${encodeURIComponent(version)}`).catch(
        (error) => {
          formCache.delete(key);
          if (error?.status === 401) throw error;
          return null;
        },
      ),
    );
  return formCache.get(key);
}

/**
 * An evaluation read-only: summary, section scores, answers with comments, timed comments (a
 * button that seeks the player when `onSeek` is given), the agent's answer. `form` may be null.
 */
export function renderEvaluation(evaluation, form, { onSeek, headingLevel = 3 } = {}) {
  const root = el('div', { className: 'evaluation-view' });
  const summary = el('dl', { className: 'meta' });
  definition(summary, t('evaluation.score'), scoreText(evaluation.score));
  definition(summary, t('evaluation.status'), statusText(evaluation.status));
  definition(
    summary,
    t('evaluation.form'),
    form ? t('evaluation.formVersion', { name: form.name, version: form.version }) : evaluation.formId,
  );
  definition(summary, t('evaluation.evaluator'), evaluation.evaluator);
  definition(summary, t('field.agent'), evaluation.agentId);
  definition(summary, t('field.queue'), evaluation.queue);
  definition(summary, t('evaluation.callStarted'), formatDateTime(evaluation.callStartedAt));
  if (evaluation.submittedAt) definition(summary, t('evaluation.submittedAt'), formatDateTime(evaluation.submittedAt));
  if (evaluation.calibration) definition(summary, t('evaluation.calibration'), t('evaluation.calibrationYes'));
  root.append(summary);
  const h = (key) => el(`h${headingLevel}`, { text: t(key) });

  if (evaluation.sectionScores?.length) {
    root.append(h('evaluation.sectionScores'));
    const list = el('dl', { className: 'meta section-scores' });
    for (const s of evaluation.sectionScores)
      definition(list, s.title ?? form?.sections?.[Number(s.section)]?.title ?? s.section, scoreText(s.score));
    root.append(list);
  }

  root.append(h('evaluation.answers'));
  const answers = el('ol', { className: 'answer-list' });
  const questions = form
    ? formQuestions(form).map(({ question }) => question)
    : Object.keys(evaluation.answers ?? {}).map((id) => ({ id, text: id, type: null }));
  for (const question of questions) {
    const li = el('li', {}, [
      el('span', { className: 'answer-question', text: question.text }),
      el('span', { className: 'answer-value', text: answerText(question, evaluation.answers?.[question.id]) }),
    ]);
    if (question.critical) li.append(el('span', { className: 'badge critical', text: t('forms.critical') }));
    const comment = evaluation.comments?.[question.id];
    if (comment) li.append(el('p', { className: 'answer-comment', text: comment }));
    answers.append(li);
  }
  root.append(answers);

  if (evaluation.timedComments?.length) {
    root.append(h('evaluation.timedComments'));
    const list = el('ol', { className: 'notes-list' });
    for (const c of evaluation.timedComments) {
      const at = formatClock(c.offsetMs);
      const time = onSeek
        ? el('button', {
            className: 'note-time',
            text: at,
            attrs: { type: 'button', 'aria-label': t('notes.goTo', { at }) },
          })
        : el('span', { className: 'note-time', text: at });
      if (onSeek) time.addEventListener('click', () => onSeek(c.offsetMs));
      list.append(el('li', {}, [time, el('span', { className: 'note-text', text: c.text })]));
    }
    root.append(list);
  }

  if (evaluation.agentComment || evaluation.respondedAt) {
    root.append(h('evaluation.agentAnswer'));
    const answer = el('dl', { className: 'meta wide' });
    if (evaluation.respondedAt)
      definition(answer, statusText(evaluation.status), formatDateTime(evaluation.respondedAt));
    if (evaluation.agentComment) definition(answer, t('evaluation.agentComment'), evaluation.agentComment);
    root.append(answer);
  }
  return root;
}
