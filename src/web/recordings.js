/* global location, history, URLSearchParams */
import {
  api,
  formatClock,
  formatDateTime,
  formatDirection,
  formatQualityFlags,
  formatTimeLeft,
  initLayout,
  recordingsQuery,
  showError,
  t,
} from '/assets/layout.js';
import { tn } from '/assets/i18n.js';
import { bindNoteSearch } from '/assets/note-search.js';

const form = document.getElementById('filters');
const tbody = document.querySelector('#recordings tbody');
const more = document.getElementById('more');
const retry = document.getElementById('retry');
const status = document.getElementById('list-status');
const errorBox = document.getElementById('list-error');
const headers = [...document.querySelectorAll('#recordings thead th')].map((th) => th.textContent);
let nextCursor = null;

/** Form fields ↔ page URL (so a filtered list can be bookmarked and Back works). */
function fillForm(params) {
  for (const el of form.elements) if (el.name && params.has(el.name)) el.value = params.get(el.name);
}

/** A cell; `data-label` names the column for the phone layout (rows become cards). */
function cell(text, index, className) {
  const td = document.createElement('td');
  td.textContent = text ?? '—';
  td.dataset.label = headers[index];
  if (className) td.className = className;
  return td;
}

function row(rec) {
  const tr = document.createElement('tr');
  const started = document.createElement('td');
  started.dataset.label = headers[0];
  const link = document.createElement('a');
  link.href = `/recordings/${encodeURIComponent(rec.id)}${location.search}`;
  link.textContent = formatDateTime(rec.startedAt);
  link.setAttribute(
    'aria-label',
    t('recordings.openLabel', { at: formatDateTime(rec.startedAt), agent: rec.agentId ?? t('common.unknown') }),
  );
  started.append(link);
  tr.append(
    started,
    cell(formatClock(rec.durationMs), 1, 'num'),
    cell(rec.agentId, 2),
    cell(rec.queue, 3),
    cell(formatDirection(rec.direction), 4, 'direction'),
    cell(rec.callerNumber, 5, 'mono'),
    cell(formatQualityFlags(rec.qualityFlags), 6),
    cell(formatTimeLeft(rec), 7, rec.legalHold ? 'time-left hold' : 'time-left'),
    cell(String(rec.noteCount ?? 0), 8, 'num note-count'),
  );
  return tr;
}

/** The queues and agents this user may filter by (GET /v1/recording-filters), for canonical spelling on submit. */
let filterValues = { queues: [], agents: [] };

/** Fills the queue and agent suggestions: the permitted values, agents with their display name where known. */
async function loadFilterValues() {
  try {
    filterValues = await api('/v1/recording-filters');
  } catch (error) {
    if (error?.status === 401) throw error;
    return; // the fields still take typed values
  }
  const queues = document.getElementById('queue-options');
  queues.replaceChildren(
    ...filterValues.queues.map((queue) => {
      const option = document.createElement('option');
      option.value = queue;
      return option;
    }),
  );
  const agents = document.getElementById('agent-options');
  agents.replaceChildren(
    ...filterValues.agents.map((agent) => {
      const option = document.createElement('option');
      option.value = agent.agentId;
      if (agent.displayName) option.label = agent.displayName;
      option.textContent = agent.displayName ?? agent.agentId;
      return option;
    }),
  );
}

/**
 * The value as the list spells it when it matches one case-insensitively (for an agent also by display
 * name), else as typed: the API's filters match exactly.
 */
function canonical(name, value) {
  const lower = value.toLowerCase();
  if (name === 'queue') return filterValues.queues.find((q) => q.toLowerCase() === lower) ?? value;
  if (name === 'agentId') {
    const agent = filterValues.agents.find(
      (a) => a.agentId.toLowerCase() === lower || a.displayName?.toLowerCase() === lower,
    );
    return agent?.agentId ?? value;
  }
  return value;
}

async function load(append) {
  errorBox.hidden = true;
  retry.hidden = true;
  const q = recordingsQuery(new URLSearchParams(location.search));
  if (append && nextCursor) q.set('cursor', nextCursor);
  status.textContent = t('common.loading');
  try {
    const page = await api(`/v1/recordings?${q}`);
    if (!append) tbody.replaceChildren();
    for (const rec of page.items) tbody.append(row(rec));
    nextCursor = page.nextCursor;
    more.hidden = !nextCursor;
    const n = tbody.children.length;
    status.textContent =
      n === 0 ? t('recordings.none') : tn(nextCursor ? 'recordings.shownMore' : 'recordings.shown', n);
  } catch (error) {
    status.textContent = '';
    if (error?.status === 401) return;
    showError(errorBox, error);
    retry.hidden = false;
    retry.onclick = () => void load(append);
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const params = new URLSearchParams();
  for (const el of form.elements) {
    if (!el.name || el.value.trim() === '') continue;
    el.value = canonical(el.name, el.value.trim());
    params.set(el.name, el.value);
  }
  history.replaceState(null, '', `/recordings${params.size ? `?${params}` : ''}`);
  void load(false);
});
form.addEventListener('reset', () => {
  history.replaceState(null, '', '/recordings');
  window.setTimeout(() => void load(false), 0);
});
more.addEventListener('click', () => void load(true));

try {
  await initLayout({ active: '/recordings', roles: ['trainer', 'privacy', 'admin'] });
  fillForm(new URLSearchParams(location.search));
  bindNoteSearch();
  await Promise.all([load(false), loadFilterValues()]);
} catch (error) {
  // 401: on its way to the sign-in page; 403: on its way to the role's own page.
  if (error?.status !== 401 && error?.status !== 403) {
    showError(errorBox, error);
    retry.hidden = false;
    retry.onclick = () => location.reload();
  }
}
