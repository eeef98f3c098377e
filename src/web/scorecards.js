/* global location, history, URLSearchParams */
/**
 * Scorecards (`/scorecards`, issue #20): per agent, queue or form the number of evaluations, the
 * average score, the average per section and the trend by week, for a period of call dates; the
 * same table as CSV (the API's `format=csv`). A trainer sees the agents of their queues, an agent
 * only themselves (the API decides). Only submitted, acknowledged and disputed evaluations count.
 */
import { api, initLayout, showError, t } from '/assets/layout.js';
import { formatNumber, tn, zonedMidnight } from '/assets/i18n.js';
import { scorecardKey, scorecardsCsvHref, scorecardsQuery } from '/assets/evaluation-model.js';
import { el, fillFilters, loadFormFilter, scoreText, trackFilterEdits } from '/assets/evaluation-view.js';

const $ = (id) => document.getElementById(id);
const form = $('filters');
const tbody = document.querySelector('#scorecards tbody');
const SUBJECT_KEYS = { agent: 'field.agent', queue: 'field.queue', form: 'evaluation.form' };
const formNames = new Map();

function headers() {
  return [...document.querySelectorAll('#scorecards thead th')].map((th) => th.textContent);
}

function cell(text, label, className) {
  const td = el('td', { text: text ?? '—', className });
  td.dataset.label = label;
  return td;
}

/** The weeks as bars (width = average score) with their numbers in text. */
function trend(weeks) {
  const list = el('ul', { className: 'trend' });
  for (const w of weeks ?? []) {
    const bar = el('span', { className: 'trend-bar', attrs: { 'aria-hidden': 'true' } });
    bar.style.width = `${Math.max(0, Math.min(100, w.averageScore ?? 0))}%`;
    list.append(
      el('li', {}, [
        el('span', {
          className: 'trend-text',
          text: t('scorecards.week', {
            week: w.week,
            score: scoreText(w.averageScore),
            n: formatNumber(w.evaluations),
          }),
        }),
        el('span', { className: 'trend-track', attrs: { 'aria-hidden': 'true' } }, [bar]),
      ]),
    );
  }
  return list;
}

function sections(items) {
  const list = el('ul', { className: 'section-list' });
  for (const s of items ?? [])
    list.append(
      el('li', { text: t('scorecards.section', { title: s.title ?? s.section, score: scoreText(s.averageScore) }) }),
    );
  return list;
}

function row(item, groupBy, labels) {
  const key = scorecardKey(item, groupBy);
  const subject =
    groupBy === 'form' ? (formNames.get(key) ?? key) : item.displayName ? `${item.displayName} (${key})` : key;
  const sectionCell = cell('', labels[3]);
  sectionCell.replaceChildren(sections(item.sections));
  const trendCell = cell('', labels[4]);
  trendCell.replaceChildren(trend(item.weeks));
  return el('tr', {}, [
    cell(subject, labels[0]),
    cell(formatNumber(item.evaluations), labels[1], 'num'),
    cell(scoreText(item.averageScore), labels[2], 'num'),
    sectionCell,
    trendCell,
  ]);
}

async function load() {
  $('list-error').hidden = true;
  $('retry').hidden = true;
  const params = new URLSearchParams(location.search);
  const q = scorecardsQuery(params, zonedMidnight);
  const groupBy = q.get('groupBy');
  $('subject-header').textContent = t(SUBJECT_KEYS[groupBy]);
  $('csv').href = scorecardsCsvHref(q);
  $('list-status').textContent = t('common.loading');
  try {
    const { items } = await api(`/v1/scorecards?${q}`);
    const labels = headers();
    tbody.replaceChildren(...items.map((item) => row(item, groupBy, labels)));
    $('list-status').textContent = items.length ? tn('scorecards.shown', items.length) : t('scorecards.none');
  } catch (error) {
    $('list-status').textContent = '';
    if (error?.status === 401) return;
    showError($('list-error'), error);
    $('retry').hidden = false;
    $('retry').onclick = () => void load();
  }
}

function fillForm() {
  fillFilters(form, new URLSearchParams(location.search), (field) => field.options?.[0]?.value ?? '');
}
trackFilterEdits(form);

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const params = new URLSearchParams();
  for (const field of form.elements)
    if (field.name && field.value.trim() !== '') params.set(field.name, field.value.trim());
  history.replaceState(null, '', `/scorecards?${params}`);
  void load();
});
form.addEventListener('reset', () => {
  history.replaceState(null, '', '/scorecards');
  window.setTimeout(() => void load(), 0);
});

try {
  const session = await initLayout({ active: '/scorecards', roles: ['trainer', 'admin', 'agent'] });
  const agent = session.user.role === 'agent';
  for (const node of document.querySelectorAll('.staff-only')) node.hidden = agent;
  await loadFormFilter(session.user.role, $('f-form'), formNames);
  fillForm();
  await load();
} catch (error) {
  if (error?.status !== 401 && error?.status !== 403) {
    showError($('list-error'), error);
    $('retry').hidden = false;
    $('retry').onclick = () => location.reload();
  }
}
