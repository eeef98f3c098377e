/**
 * Evaluation forms (`/forms`, admins, issue #20): the forms with their latest version, a new form,
 * and a new version of a form (the editor starts from the latest; a published version never
 * changes). A form has sections; a section has questions with a text, an answer type (yes/no/N.A.,
 * scale 1–5, choice with a score 0–1 per choice), a weight and a critical mark (a failing answer
 * zeroes the score). The rules are checked here before the round trip and by the API.
 */
import { api, formatDateTime, initLayout, showError, t } from '/assets/layout.js';
import { editorDraft, formBody, formProblems, nextQuestionId, QUESTION_TYPES } from '/assets/evaluation-model.js';
import { el, reviewProblem, typeText } from '/assets/evaluation-view.js';

const $ = (id) => document.getElementById(id);
/** The form being edited: `{id|null, version|null, draft}` (draft as `editorDraft` makes it). */
let editing = null;

function say(message) {
  $('forms-status').textContent = message;
  $('forms-status').hidden = !message;
}

function cell(text, label, className) {
  const td = el('td', { text: text ?? '—', className });
  td.dataset.label = label;
  return td;
}

async function loadList() {
  $('list-error').hidden = true;
  const labels = [...document.querySelectorAll('#forms thead th')].map((th) => th.textContent);
  try {
    const { items } = await api('/v1/evaluation-forms');
    $('forms')
      .querySelector('tbody')
      .replaceChildren(
        ...items.map((f) => {
          const edit = el('button', {
            text: t('forms.newVersion'),
            attrs: { type: 'button', 'aria-label': t('forms.newVersionOf', { name: f.name }) },
          });
          edit.addEventListener('click', () => void openForm(f.id));
          const actions = cell('', labels[3]);
          actions.replaceChildren(edit);
          const tr = el('tr', {}, [
            cell(f.name, labels[0]),
            cell(String(f.version), labels[1], 'num'),
            cell(formatDateTime(f.createdAt), labels[2]),
            actions,
          ]);
          tr.dataset.formId = f.id;
          return tr;
        }),
      );
    $('list-status').textContent = items.length ? '' : t('forms.none');
  } catch (error) {
    if (error?.status !== 401) showError($('list-error'), error);
  }
}

async function openForm(id) {
  try {
    const latest = await api(`/v1/evaluation-forms/${encodeURIComponent(id)}`);
    edit({ id, version: latest.version, draft: editorDraft(latest) });
  } catch (error) {
    if (error?.status !== 401) showError($('list-error'), error);
  }
}

function blankQuestion(draft) {
  const ids = draft.sections.flatMap((s) => s.questions.map((q) => q.id));
  return { id: nextQuestionId(ids), text: '', type: 'yesno', weight: 1, critical: false, choices: [] };
}

function edit(state) {
  editing = state;
  say('');
  $('editor-error').hidden = true;
  $('editor-section').hidden = false;
  $('editor-heading').textContent = state.id
    ? t('forms.editingVersion', { name: state.draft.name, version: state.version + 1 })
    : t('forms.new');
  $('editor-help').textContent = state.id
    ? t('forms.versionHelp', { version: state.version + 1, latest: state.version })
    : t('forms.newHelp');
  $('publish').textContent = t('forms.publish');
  $('form-name').value = state.draft.name;
  renderSections();
  $('form-name').focus();
}

/** A labelled input bound to `target[prop]` (numbers stay numbers). */
function input(id, labelText, target, prop, attrs = {}) {
  const field = el('input', { attrs: { id, autocomplete: 'off', ...attrs } });
  field.value = target[prop] ?? '';
  field.addEventListener('input', () => {
    target[prop] = attrs.type === 'number' ? (field.value === '' ? NaN : Number(field.value)) : field.value;
  });
  return el('div', { className: 'field' }, [el('label', { text: labelText, attrs: { for: id } }), field]);
}

function removeButton(text, ariaLabel, onClick) {
  const b = el('button', { className: 'quiet small danger', text, attrs: { type: 'button', 'aria-label': ariaLabel } });
  b.addEventListener('click', onClick);
  return b;
}

function renderSections() {
  const draft = editing.draft;
  const box = $('sections');
  box.replaceChildren(
    ...draft.sections.map((section, si) => {
      const s = si + 1;
      const fieldset = el('fieldset', { className: 'eval-section' }, [
        el('legend', { text: t('forms.sectionN', { section: s }) }),
        input(`s${si}-title`, t('forms.sectionTitle'), section, 'title', { maxlength: '200' }),
      ]);
      section.questions.forEach((q, qi) => fieldset.append(questionEditor(section, q, si, qi)));
      const addQuestion = el('button', {
        text: t('forms.addQuestion'),
        attrs: { type: 'button', 'aria-label': t('forms.addQuestionTo', { section: s }) },
      });
      addQuestion.addEventListener('click', () => {
        section.questions.push(blankQuestion(draft));
        renderSections();
        $(`s${si}-q${section.questions.length - 1}-text`)?.focus();
      });
      const actions = el('div', { className: 'note-actions' }, [
        addQuestion,
        removeButton(t('forms.removeSection'), t('forms.removeSectionN', { section: s }), () => {
          draft.sections.splice(si, 1);
          renderSections();
          $('add-section').focus();
        }),
      ]);
      fieldset.append(actions);
      return fieldset;
    }),
  );
}

function questionEditor(section, q, si, qi) {
  const where = { section: si + 1, question: qi + 1 };
  const prefix = `s${si}-q${qi}`;
  const type = el('select', { attrs: { id: `${prefix}-type` } });
  for (const value of QUESTION_TYPES) type.append(el('option', { text: typeText(value), attrs: { value } }));
  type.value = q.type;
  type.addEventListener('change', () => {
    q.type = type.value;
    if (q.type === 'choice' && q.choices.length < 2)
      while (q.choices.length < 2) q.choices.push({ value: '', score: q.choices.length ? 0 : 1 });
    renderSections();
    $(`${prefix}-type`)?.focus();
  });
  const critical = el('input', { attrs: { type: 'checkbox', id: `${prefix}-critical` } });
  critical.checked = q.critical;
  critical.addEventListener('change', () => {
    q.critical = critical.checked;
  });
  const fieldset = el('fieldset', { className: 'eval-question form-question' }, [
    el('legend', { text: t('forms.questionN', where) }),
    el('div', { className: 'question-grid' }, [
      input(`${prefix}-text`, t('forms.questionText'), q, 'text', { maxlength: '500' }),
      el('div', { className: 'field' }, [
        el('label', { text: t('forms.answerType'), attrs: { for: `${prefix}-type` } }),
        type,
      ]),
      input(`${prefix}-weight`, t('forms.weight'), q, 'weight', { type: 'number', min: '0.1', step: '0.1' }),
      el('label', { className: 'check' }, [critical, el('span', { text: t('forms.criticalHelp') })]),
    ]),
  ]);
  if (q.type === 'choice') {
    const list = el('ol', { className: 'choice-list' });
    q.choices.forEach((c, ci) => {
      const cw = { ...where, choice: ci + 1 };
      list.append(
        el('li', { className: 'question-grid' }, [
          input(`${prefix}-c${ci}-value`, t('forms.choiceValue', cw), c, 'value', { maxlength: '100' }),
          input(`${prefix}-c${ci}-score`, t('forms.choiceScore', cw), c, 'score', {
            type: 'number',
            min: '0',
            max: '1',
            step: '0.05',
          }),
          removeButton(t('forms.removeChoice'), t('forms.removeChoiceN', cw), () => {
            q.choices.splice(ci, 1);
            renderSections();
          }),
        ]),
      );
    });
    const addChoice = el('button', {
      text: t('forms.addChoice'),
      attrs: { type: 'button', 'aria-label': t('forms.addChoiceTo', where) },
    });
    addChoice.addEventListener('click', () => {
      q.choices.push({ value: '', score: 0 });
      renderSections();
      $(`${prefix}-c${q.choices.length - 1}-value`)?.focus();
    });
    fieldset.append(list, addChoice);
  }
  fieldset.append(
    el('div', { className: 'note-actions' }, [
      removeButton(t('forms.removeQuestion'), t('forms.removeQuestionN', where), () => {
        section.questions.splice(qi, 1);
        renderSections();
      }),
    ]),
  );
  return fieldset;
}

$('form-name').addEventListener('input', () => {
  if (editing) editing.draft.name = $('form-name').value;
});
$('new-form').addEventListener('click', () =>
  edit({
    id: null,
    version: null,
    draft: { name: '', sections: [{ title: '', questions: [blankQuestion({ sections: [] })] }] },
  }),
);
$('add-section').addEventListener('click', () => {
  editing.draft.sections.push({ title: '', questions: [blankQuestion(editing.draft)] });
  renderSections();
  $(`s${editing.draft.sections.length - 1}-title`)?.focus();
});
$('editor-cancel').addEventListener('click', () => {
  editing = null;
  $('editor-section').hidden = true;
  $('new-form').focus();
});
$('editor').addEventListener('submit', async (event) => {
  event.preventDefault();
  const body = formBody(editing.draft);
  const problems = formProblems(body);
  const box = $('editor-error');
  box.hidden = true;
  if (problems.length) {
    box.replaceChildren(
      el('span', { text: t('forms.fixFirst') }),
      el(
        'ul',
        {},
        problems.map((p) => el('li', { text: t(p.key, p.params) })),
      ),
    );
    box.hidden = false;
    return;
  }
  $('publish').disabled = true;
  try {
    const saved = editing.id
      ? await api(`/v1/evaluation-forms/${encodeURIComponent(editing.id)}`, { method: 'PUT', body })
      : await api('/v1/evaluation-forms', { method: 'POST', body });
    editing = null;
    $('editor-section').hidden = true;
    await loadList();
    say(t('forms.published', { name: saved.name ?? body.name, version: saved.version }));
  } catch (error) {
    if (error?.status !== 401) {
      box.textContent = reviewProblem(error);
      box.hidden = false;
    }
  } finally {
    $('publish').disabled = false;
  }
});

try {
  await initLayout({ active: '/forms', roles: ['admin'] });
  await loadList();
} catch (error) {
  if (error?.status !== 401 && error?.status !== 403) showError($('list-error'), error);
}
