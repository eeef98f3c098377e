/* global location, history, URLSearchParams */
/**
 * The evaluations page (`/evaluations`, issue #20): the list with filters (a trainer sees the
 * evaluations of their queues, an admin all, an agent their own submitted ones: the API decides)
 * and, at `/evaluations?id=<id>`, one evaluation in full with a link to listen to the call while
 * the recording exists, else "recording deleted (deletion-log entry N)". An agent acknowledges or
 * disputes (with a comment) a submitted evaluation of theirs.
 */
import { api, formatDateTime, initLayout, showError, t } from '/assets/layout.js';
import { tn, zonedMidnight } from '/assets/i18n.js';
import { canRespond, evaluationsQuery, recordingLink } from '/assets/evaluation-model.js';
import {
  el,
  fillFilters,
  loadFormFilter,
  loadFormVersion,
  renderEvaluation,
  reviewProblem,
  scoreText,
  statusText,
  trackFilterEdits,
} from '/assets/evaluation-view.js';

const $ = (id) => document.getElementById(id);
const form = $('filters');
trackFilterEdits(form);
const tbody = document.querySelector('#evaluations tbody');
const headers = [...document.querySelectorAll('#evaluations thead th')].map((th) => th.textContent);
let nextCursor = null;
let role = null;
/** Form id → "name (version n)" for the list, when the forms can be read. */
const formNames = new Map();

const dayStart = (date, addDays) => zonedMidnight(date, addDays);

function cell(text, index, className) {
  const td = el('td', { text: text ?? '—', className });
  td.dataset.label = headers[index];
  return td;
}

function row(ev) {
  const started = el('td');
  started.dataset.label = headers[0];
  const link = el('a', {
    text: formatDateTime(ev.callStartedAt),
    attrs: {
      href: `/evaluations?${new URLSearchParams({ id: ev.id })}`,
      'aria-label': t('evaluations.openLabel', {
        at: formatDateTime(ev.callStartedAt),
        agent: ev.agentId ?? t('common.unknown'),
      }),
    },
  });
  link.addEventListener('click', (event) => {
    event.preventDefault();
    history.pushState(null, '', link.getAttribute('href'));
    void route();
  });
  started.append(link);
  const tr = el('tr', {}, [
    started,
    cell(ev.agentId, 1),
    cell(ev.queue, 2),
    cell(formNames.get(ev.formId) ?? ev.formId, 3),
    cell(ev.evaluator, 4),
    cell(statusText(ev.status), 5),
    cell(scoreText(ev.score), 6, 'num'),
  ]);
  return tr;
}

async function load(append) {
  $('list-error').hidden = true;
  $('retry').hidden = true;
  const q = evaluationsQuery(new URLSearchParams(location.search), dayStart);
  if (append && nextCursor) q.set('cursor', nextCursor);
  $('list-status').textContent = t('common.loading');
  try {
    const page = await api(`/v1/evaluations?${q}`);
    if (!append) tbody.replaceChildren();
    for (const ev of page.items) tbody.append(row(ev));
    nextCursor = page.nextCursor ?? null;
    $('more').hidden = !nextCursor;
    const n = tbody.children.length;
    $('list-status').textContent =
      n === 0 ? t('evaluations.none') : tn(nextCursor ? 'evaluations.shownMore' : 'evaluations.shown', n);
  } catch (error) {
    $('list-status').textContent = '';
    if (error?.status === 401) return;
    showError($('list-error'), error);
    $('retry').hidden = false;
    $('retry').onclick = () => void load(append);
  }
}

function say(message) {
  $('detail-status').textContent = message;
  $('detail-status').hidden = !message;
}

async function showDetail(id) {
  $('list-view').hidden = true;
  $('detail-view').hidden = false;
  $('detail-error').hidden = true;
  say('');
  $('detail').replaceChildren(el('p', { className: 'muted', text: t('common.loading') }));
  const evaluation = await api(`/v1/evaluations/${encodeURIComponent(id)}`);
  const formVersion = await loadFormVersion(evaluation.formId, evaluation.formVersion, role);
  renderDetail(evaluation, formVersion);
}

function renderDetail(evaluation, formVersion) {
  const at = formatDateTime(evaluation.callStartedAt);
  $('detail-heading').textContent = t('evaluations.detailHeading', { at });
  document.title = t('evaluations.detailTitle', { at });
  const where = recordingLink(evaluation);
  const box = $('recording-link');
  if (where.href) {
    box.className = '';
    box.replaceChildren(
      el('a', { className: 'button-link', text: t('evaluations.listen'), attrs: { href: where.href } }),
    );
  } else {
    box.className = 'warning';
    box.textContent =
      where.deletionEntry === null
        ? t('evaluations.recordingDeleted')
        : t('evaluations.recordingDeletedEntry', { n: where.deletionEntry });
  }
  $('detail').replaceChildren(renderEvaluation(evaluation, formVersion, { headingLevel: 2 }));
  const respond = $('respond');
  respond.hidden = !canRespond(evaluation, role);
  respond.dataset.id = evaluation.id;
  respond.formVersion = formVersion;
}

async function answer(action) {
  const respond = $('respond');
  const comment = $('respond-comment').value.trim();
  $('detail-error').hidden = true;
  if (action === 'dispute' && !comment) {
    $('detail-error').textContent = t('evaluations.disputeNeedsComment');
    $('detail-error').hidden = false;
    $('respond-comment').focus();
    return;
  }
  const buttons = respond.querySelectorAll('button');
  for (const b of buttons) b.disabled = true;
  try {
    const updated = await api(`/v1/evaluations/${encodeURIComponent(respond.dataset.id)}/${action}`, {
      method: 'POST',
      body: comment ? { comment } : {},
    });
    $('respond-comment').value = '';
    renderDetail(updated, respond.formVersion);
    say(t(action === 'dispute' ? 'evaluations.disputed' : 'evaluations.acknowledged'));
  } catch (error) {
    if (error?.status !== 401) {
      $('detail-error').textContent = reviewProblem(error);
      $('detail-error').hidden = false;
    }
  } finally {
    for (const b of buttons) b.disabled = false;
  }
}

async function route() {
  const id = new URLSearchParams(location.search).get('id');
  if (id) {
    try {
      await showDetail(id);
    } catch (error) {
      if (error?.status === 401) return;
      $('detail').replaceChildren();
      if (error?.status === 404) {
        $('detail-error').textContent = t('evaluations.notFound');
        $('detail-error').hidden = false;
      } else showError($('detail-error'), error);
    }
    return;
  }
  $('detail-view').hidden = true;
  $('list-view').hidden = false;
  document.title = t('title.evaluations');
  fillFilters(form, new URLSearchParams(location.search));
  await load(false);
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const params = new URLSearchParams();
  for (const field of form.elements)
    if (field.name && field.value.trim() !== '') params.set(field.name, field.value.trim());
  history.replaceState(null, '', `/evaluations${params.size ? `?${params}` : ''}`);
  void load(false);
});
form.addEventListener('reset', () => {
  history.replaceState(null, '', '/evaluations');
  window.setTimeout(() => void load(false), 0);
});
$('more').addEventListener('click', () => void load(true));
$('back').addEventListener('click', (event) => {
  event.preventDefault();
  history.pushState(null, '', '/evaluations');
  void route();
});
$('respond').addEventListener('submit', (event) => {
  event.preventDefault();
  void answer('acknowledge');
});
$('dispute').addEventListener('click', () => void answer('dispute'));
window.addEventListener('popstate', () => void route());

try {
  const session = await initLayout({ active: '/evaluations', roles: ['trainer', 'admin', 'agent'] });
  role = session.user.role;
  const agent = role === 'agent';
  for (const node of document.querySelectorAll('.staff-only')) node.hidden = agent;
  $('evaluations-intro').textContent = agent
    ? t('evaluations.introAgent')
    : role === 'trainer'
      ? t('evaluations.introTrainer')
      : t('evaluations.introAdmin');
  await loadFormFilter(role, $('f-form'), formNames);
  await route();
} catch (error) {
  if (error?.status !== 401 && error?.status !== 403) {
    showError($('list-error'), error);
    $('retry').hidden = false;
    $('retry').onclick = () => location.reload();
  }
}
