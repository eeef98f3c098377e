/* global CSS, location, URLSearchParams */
/**
 * The player's evaluation panel (issue #20), mounted by player.js with one call once the
 * recording is shown: `mountEvaluationPanel({ recording, session, seekTo })`.
 *
 * - trainer/admin: the call's evaluations (own drafts can be continued), a new evaluation against
 *   a chosen form (optionally a blind calibration one): an answer per question (yes/no/N.A., 1–5,
 *   choices), a comment per question, comments stamped on the call (drawn on the waveform like
 *   notes: stamped when typing starts), Save draft / Submit. The score shown is the server's.
 * - agent: the evaluation named by `?evaluation=` read-only, its timed comments on the waveform;
 *   the trainers' notes are hidden and "back" leads to /evaluations.
 * - other roles: nothing (the evaluation routes refuse them).
 */
import { api, formatClock, t } from '/assets/layout.js';
import {
  answerOptions,
  canEdit,
  evaluationBody,
  formQuestions,
  markerLeft,
  missingAnswers,
  parseAnswer,
} from '/assets/evaluation-model.js';
import {
  answerText,
  el,
  loadFormVersion,
  optionText,
  renderEvaluation,
  reviewProblem,
  scoreText,
  statusText,
} from '/assets/evaluation-view.js';

const $ = (id) => document.getElementById(id);
const EVALUATORS = ['trainer', 'admin'];

/** The marker layer under the waveform (beside the notes' one), made once. */
function markerLayer() {
  let layer = $('evaluation-markers');
  if (!layer) {
    layer = el('div', { className: 'note-markers evaluation-markers', attrs: { 'aria-hidden': 'true' } });
    layer.id = 'evaluation-markers';
    const notes = $('note-markers');
    if (notes) notes.after(layer);
  }
  return layer;
}

/** Draws `comments` (`[{offsetMs, text}]`) as markers on the waveform. */
function drawMarkers(comments, durationMs) {
  const layer = markerLayer();
  layer.replaceChildren(
    ...comments.map((c) => {
      const marker = el('span', { className: 'evaluation-marker' });
      marker.style.left = `${markerLeft(c.offsetMs, durationMs)}%`;
      marker.title = `${formatClock(c.offsetMs)} ${c.text}`;
      return marker;
    }),
  );
}

export async function mountEvaluationPanel({ recording, session, seekTo }) {
  const role = session.user.role;
  const panel = $('evaluation-panel');
  if (!panel) return;
  const body = $('evaluation-body');
  const onSeek = (ms) => seekTo(ms / 1000);
  const evaluationId = new URLSearchParams(location.search).get('evaluation');

  if (role === 'agent') {
    // The agent's own call: no trainers' notes, back to their evaluations.
    const notes = document.querySelector('section.notes');
    if (notes) notes.hidden = true;
    const back = $('back');
    if (back) {
      back.href = evaluationId ? `/evaluations?${new URLSearchParams({ id: evaluationId })}` : '/evaluations';
      back.textContent = t('evaluations.back');
    }
    if (!evaluationId) return;
    const evaluation = await api(`/v1/evaluations/${encodeURIComponent(evaluationId)}`);
    const form = await loadFormVersion(evaluation.formId, evaluation.formVersion, role);
    drawMarkers(evaluation.timedComments ?? [], recording.durationMs);
    body.replaceChildren(renderEvaluation(evaluation, form, { onSeek }));
    panel.hidden = false;
    return;
  }
  if (!EVALUATORS.includes(role)) return;
  panel.hidden = false;
  await new EvaluationEditor({ recording, session, body, onSeek, evaluationId }).start();
}

/** The trainer's side of the panel: the call's evaluations and the editor. */
class EvaluationEditor {
  constructor({ recording, session, body, onSeek, evaluationId }) {
    this.recording = recording;
    this.username = session.user.username;
    this.role = session.user.role;
    this.body = body;
    this.onSeek = onSeek;
    this.openId = evaluationId;
    this.audio = $('audio');
    this.listBox = el('div', { className: 'evaluation-list' });
    this.startBox = el('div', { className: 'evaluation-start' });
    this.work = el('div', { className: 'evaluation-work' });
    this.status = el('p', { className: 'notice', attrs: { role: 'status', 'aria-live': 'polite' } });
    this.status.hidden = true;
    this.error = el('p', { className: 'error', attrs: { role: 'alert' } });
    this.error.hidden = true;
    body.replaceChildren(this.listBox, this.startBox, this.status, this.error, this.work);
  }

  async start() {
    const [list, forms] = await Promise.all([
      api(`/v1/recordings/${encodeURIComponent(this.recording.id)}/evaluations`),
      api('/v1/evaluation-forms'),
    ]);
    this.items = list.items;
    this.forms = forms.items;
    this.renderList();
    this.renderStart();
    const open = this.items.find((e) => e.id === this.openId);
    if (open) await this.open(open);
  }

  say(message) {
    this.status.textContent = message;
    this.status.hidden = !message;
    this.error.hidden = true;
  }

  fail(error) {
    this.status.hidden = true;
    if (error?.status === 401) return;
    this.error.textContent = reviewProblem(error);
    this.error.hidden = false;
  }

  renderList() {
    if (!this.items.length) {
      this.listBox.replaceChildren(el('p', { className: 'muted', text: t('evaluation.noneForCall') }));
      return;
    }
    const list = el('ul', { className: 'evaluation-items' });
    for (const item of this.items) {
      const line = el('span', {
        text: t('evaluation.itemLine', {
          evaluator: item.evaluator,
          status: statusText(item.status),
          score: scoreText(item.score),
        }),
      });
      const li = el('li', {}, [line]);
      if (item.calibration) li.append(el('span', { className: 'badge', text: t('evaluation.calibration') }));
      const action = canEdit(item, this.username)
        ? el('button', {
            className: 'quiet small',
            text: t('evaluation.continueDraft'),
            attrs: { type: 'button', 'aria-label': t('evaluation.continueDraftOf', { evaluator: item.evaluator }) },
          })
        : el('button', {
            className: 'quiet small',
            text: t('evaluation.show'),
            attrs: { type: 'button', 'aria-label': t('evaluation.showOf', { evaluator: item.evaluator }) },
          });
      action.addEventListener('click', () => void this.open(item).catch((error) => this.fail(error)));
      li.append(action);
      list.append(li);
    }
    const parts = [el('h3', { text: t('evaluation.ofThisCall') }), list];
    if (this.items.some((e) => e.calibration && e.status !== 'draft')) {
      const open = el('button', { className: 'quiet', text: t('calibration.show'), attrs: { type: 'button' } });
      open.addEventListener('click', () => void this.showCalibration().catch((error) => this.fail(error)));
      parts.push(el('div', { className: 'note-actions' }, [open]));
    }
    this.listBox.replaceChildren(...parts);
  }

  /** The calibration view: each trainer's answer per question and their spread (after one's own submission). */
  async showCalibration() {
    this.say('');
    let view;
    try {
      view = await api(`/v1/recordings/${encodeURIComponent(this.recording.id)}/calibration`);
    } catch (error) {
      if (error?.status !== 403) throw error;
      this.error.textContent = t('calibration.blind');
      this.error.hidden = false;
      return;
    }
    const evaluators = view.scores?.items?.map((s) => s.evaluator) ?? [];
    const table = el('table', { className: 'recordings cards calibration' }, [
      el('caption', { text: t('calibration.caption', { n: view.evaluators }) }),
    ]);
    const headers = [t('calibration.question'), ...evaluators, t('calibration.spread')];
    table.append(
      el('thead', {}, [
        el(
          'tr',
          {},
          headers.map((h) => el('th', { text: h, attrs: { scope: 'col' } })),
        ),
      ]),
    );
    const body = el('tbody');
    const cell = (text, index) => {
      const td = el('td', { text: text ?? '—' });
      td.dataset.label = headers[index];
      return td;
    };
    for (const q of view.questions ?? []) {
      const byEvaluator = new Map(q.answers.map((a) => [a.evaluator, a.answer]));
      body.append(
        el('tr', {}, [
          cell(q.text, 0),
          ...evaluators.map((name, i) => cell(answerText(q, byEvaluator.get(name)), i + 1)),
          cell(scoreText(q.spread), evaluators.length + 1),
        ]),
      );
    }
    body.append(
      el('tr', {}, [
        cell(t('evaluation.score'), 0),
        ...view.scores.items.map((s, i) => cell(scoreText(s.score), i + 1)),
        cell(scoreText(view.scores.spread), evaluators.length + 1),
      ]),
    );
    table.append(body);
    this.work.replaceChildren(el('h3', { text: t('calibration.heading') }), table);
  }

  renderStart() {
    if (!this.forms.length) {
      this.startBox.replaceChildren(el('p', { className: 'muted', text: t('evaluation.noForms') }));
      return;
    }
    const select = el('select', { attrs: { id: 'evaluation-form-choice' } });
    for (const form of this.forms)
      select.append(
        el('option', {
          text: t('evaluation.formVersion', { name: form.name, version: form.version }),
          attrs: { value: form.id },
        }),
      );
    const calibration = el('input', { attrs: { type: 'checkbox', id: 'evaluation-calibration' } });
    const button = el('button', { className: 'primary', text: t('evaluation.start'), attrs: { type: 'submit' } });
    const form = el(
      'form',
      { className: 'filters evaluation-start-form', attrs: { 'aria-label': t('evaluation.new') } },
      [
        el('div', { className: 'field wide' }, [
          el('label', { text: t('evaluation.chooseForm'), attrs: { for: 'evaluation-form-choice' } }),
          select,
        ]),
        el('label', { className: 'check' }, [calibration, el('span', { text: t('evaluation.calibrationBlind') })]),
        el('div', { className: 'actions' }, [button]),
      ],
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.begin(select.value, calibration.checked).catch((error) => this.fail(error));
    });
    this.startBox.replaceChildren(el('h3', { text: t('evaluation.new') }), form);
  }

  /** Shows an evaluation of the list: the editor for an own draft, else read-only. */
  async open(item) {
    const evaluation = await api(`/v1/evaluations/${encodeURIComponent(item.id)}`);
    const form = await loadFormVersion(evaluation.formId, evaluation.formVersion, this.role);
    if (canEdit(evaluation, this.username) && form) {
      this.edit(form, evaluation);
      return;
    }
    this.showDone(evaluation, form);
  }

  async begin(formId, calibration) {
    const latest = await api(`/v1/evaluation-forms/${encodeURIComponent(formId)}`);
    this.say('');
    this.edit(latest, null, calibration);
  }

  showDone(evaluation, form) {
    drawMarkers(evaluation.timedComments ?? [], this.recording.durationMs);
    this.work.replaceChildren(
      el('h3', {
        text: t('evaluation.byOf', { evaluator: evaluation.evaluator, status: statusText(evaluation.status) }),
      }),
      renderEvaluation(evaluation, form, { onSeek: this.onSeek, headingLevel: 4 }),
    );
  }

  /** The editor for a new evaluation (`evaluation` null) or the trainer's own draft. */
  edit(form, evaluation, calibration = false) {
    const state = {
      answers: { ...(evaluation?.answers ?? {}) },
      comments: { ...(evaluation?.comments ?? {}) },
      timed: [...(evaluation?.timedComments ?? [])].map((c) => ({ offsetMs: c.offsetMs, text: c.text })),
      calibration: evaluation?.calibration ?? calibration,
    };
    let current = evaluation;
    const editor = el('form', { className: 'evaluation-form', attrs: { id: 'evaluation-form', novalidate: '' } });
    editor.append(
      el('h3', { text: t('evaluation.editing', { name: form.name, version: form.version }) }),
      el('p', {
        className: 'muted small',
        text: state.calibration ? t('evaluation.calibrationNote') : t('evaluation.editHelp'),
      }),
    );
    const questions = formQuestions(form);
    let number = 0;
    form.sections.forEach((section, s) => {
      const box = el('fieldset', { className: 'eval-section' }, [el('legend', { text: section.title })]);
      for (const question of section.questions) {
        number += 1;
        box.append(this.questionField(question, number, s, state));
      }
      editor.append(box);
    });
    editor.append(this.timedField(state));
    const score = el('p', { className: 'evaluation-score', attrs: { id: 'evaluation-score' } });
    const saveDraft = el('button', { className: '', text: t('evaluation.saveDraft'), attrs: { type: 'button' } });
    const submit = el('button', { className: 'primary', text: t('evaluation.submit'), attrs: { type: 'submit' } });
    editor.append(score, el('div', { className: 'dialog-actions start' }, [saveDraft, submit]));
    // The API scores a draft only if it wants to (today it scores at submission): say which.
    const showScore = (ev) => {
      if (!ev) score.textContent = '';
      else if (ev.score === null || ev.score === undefined) score.textContent = t('evaluation.scoreOnSubmit');
      else score.textContent = t('evaluation.serverScore', { score: scoreText(ev.score) });
    };
    showScore(current);

    const save = async (status) => {
      const payload = evaluationBody({ form, ...state, timedComments: state.timed, status, create: !current });
      if (status === 'submitted') {
        const missing = missingAnswers(form, payload.answers);
        if (missing.length) {
          const numbers = missing.map((qid) => questions.findIndex(({ question }) => question.id === qid) + 1);
          this.error.textContent = t('evaluation.answerAll', { numbers: numbers.join(', ') });
          this.error.hidden = false;
          this.status.hidden = true;
          editor.querySelector(`[data-question="${CSS.escape(missing[0])}"] input`)?.focus();
          return;
        }
      }
      for (const button of [saveDraft, submit]) button.disabled = true;
      try {
        current = current
          ? await api(`/v1/evaluations/${encodeURIComponent(current.id)}`, { method: 'PUT', body: payload })
          : await api(`/v1/recordings/${encodeURIComponent(this.recording.id)}/evaluations`, {
              method: 'POST',
              body: payload,
            });
        this.items = [current, ...this.items.filter((e) => e.id !== current.id)];
        this.renderList();
        if (current.status === 'draft') {
          showScore(current);
          this.say(t('evaluation.draftSaved'));
        } else {
          this.showDone(current, form);
          this.say(t('evaluation.submitted', { score: scoreText(current.score) }));
        }
      } catch (error) {
        this.fail(error);
      } finally {
        for (const button of [saveDraft, submit]) button.disabled = false;
      }
    };
    saveDraft.addEventListener('click', () => void save('draft'));
    editor.addEventListener('submit', (event) => {
      event.preventDefault();
      void save('submitted');
    });
    // Arrow keys move within a radio group here; the player's shortcuts (seek, play) stay out of it.
    editor.addEventListener('keydown', (event) => {
      if (event.target?.type === 'radio') event.stopPropagation();
    });
    this.work.replaceChildren(editor);
    drawMarkers(state.timed, this.recording.durationMs);
    editor.querySelector('input')?.focus();
  }

  /** One question: its answers as a radio group, a critical mark, and a comment field. */
  questionField(question, number, sectionIndex, state) {
    const name = `answer-${question.id}`;
    const legend = el('legend', { text: t('evaluation.questionLegend', { n: number, text: question.text }) });
    if (question.critical) legend.append(' ', el('span', { className: 'badge critical', text: t('forms.critical') }));
    const options = el('div', { className: 'answer-options' });
    for (const option of answerOptions(question)) {
      const input = el('input', { attrs: { type: 'radio', name, value: String(option.value) } });
      input.checked = state.answers[question.id] === option.value;
      input.addEventListener('change', () => {
        state.answers[question.id] = parseAnswer(question, input.value);
      });
      options.append(el('label', { className: 'check' }, [input, el('span', { text: optionText(option) })]));
    }
    const commentId = `comment-${sectionIndex}-${question.id}`;
    const comment = el('textarea', { attrs: { id: commentId, rows: '2', maxlength: '2000' } });
    comment.value = state.comments[question.id] ?? '';
    comment.addEventListener('input', () => {
      state.comments[question.id] = comment.value;
    });
    return el('fieldset', { className: 'eval-question', attrs: { 'data-question': question.id } }, [
      legend,
      options,
      el('label', { className: 'small', text: t('evaluation.commentOn', { n: number }), attrs: { for: commentId } }),
      comment,
    ]);
  }

  /** Comments stamped on the call: the list (seek, remove) and a field stamped when typing starts. */
  timedField(state) {
    const list = el('ol', { className: 'notes-list' });
    const label = el('label', { attrs: { for: 'timed-comment' } });
    const input = el('input', { attrs: { id: 'timed-comment', maxlength: '2000', autocomplete: 'off' } });
    const add = el('button', { text: t('evaluation.addTimed'), attrs: { type: 'button' } });
    let stamp = null;
    const now = () => Math.min(this.recording.durationMs, Math.round((this.audio?.currentTime ?? 0) * 1000));
    const relabel = () => {
      label.textContent = t('evaluation.timedAt', { at: formatClock(stamp ?? now()) });
    };
    const render = () => {
      list.replaceChildren(
        ...state.timed.map((c, index) => {
          const at = formatClock(c.offsetMs);
          const time = el('button', {
            className: 'note-time',
            text: at,
            attrs: { type: 'button', 'aria-label': t('notes.goTo', { at }) },
          });
          time.addEventListener('click', () => this.onSeek(c.offsetMs));
          const remove = el('button', {
            className: 'quiet small danger',
            text: t('evaluation.removeTimed'),
            attrs: { type: 'button', 'aria-label': t('evaluation.removeTimedAt', { at }) },
          });
          remove.addEventListener('click', () => {
            state.timed.splice(index, 1);
            render();
            input.focus();
          });
          return el('li', {}, [time, el('span', { className: 'note-text', text: c.text }), remove]);
        }),
      );
      drawMarkers(state.timed, this.recording.durationMs);
    };
    input.addEventListener('input', () => {
      if (stamp === null && input.value.trim() !== '') stamp = now();
      if (input.value.trim() === '') stamp = null;
      relabel();
    });
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') {
        event.preventDefault();
        add.click();
      }
    });
    add.addEventListener('click', () => {
      const text = input.value.trim();
      if (!text) return;
      state.timed.push({ offsetMs: stamp ?? now(), text });
      state.timed.sort((a, b) => a.offsetMs - b.offsetMs);
      input.value = '';
      stamp = null;
      relabel();
      render();
    });
    this.audio?.addEventListener('timeupdate', () => {
      if (stamp === null) relabel();
    });
    relabel();
    render();
    return el('fieldset', { className: 'eval-section' }, [
      el('legend', { text: t('evaluation.timedComments') }),
      el('p', { className: 'muted small', text: t('evaluation.timedHelp') }),
      list,
      el('div', { className: 'timed-add' }, [label, input, add]),
    ]);
  }
}
