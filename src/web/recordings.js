/* global location, history, URLSearchParams */
import {
  api,
  formatClock,
  formatDateTime,
  formatQualityFlags,
  formatTimeLeft,
  initLayout,
  showError,
} from '/assets/layout.js';

const form = document.getElementById('filters');
const tbody = document.querySelector('#recordings tbody');
const more = document.getElementById('more');
const status = document.getElementById('list-status');
const errorBox = document.getElementById('list-error');
let nextCursor = null;

/** Form fields ↔ page URL (so a filtered list can be bookmarked and Back works). */
function fillForm(params) {
  for (const el of form.elements) if (el.name && params.has(el.name)) el.value = params.get(el.name);
}

function apiQuery(params) {
  const q = new URLSearchParams();
  const from = params.get('from');
  const to = params.get('to');
  if (from) q.set('from', new Date(`${from}T00:00:00`).toISOString());
  if (to) {
    const end = new Date(`${to}T00:00:00`);
    end.setDate(end.getDate() + 1);
    q.set('to', end.toISOString());
  }
  for (const name of ['agentId', 'queue', 'direction', 'qualityFlag'])
    if (params.get(name)) q.set(name, params.get(name).trim());
  if (params.get('minSeconds')) q.set('minDurationMs', String(Math.round(Number(params.get('minSeconds')) * 1000)));
  if (params.get('maxSeconds')) q.set('maxDurationMs', String(Math.round(Number(params.get('maxSeconds')) * 1000)));
  q.set('limit', '50');
  return q;
}

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text ?? '—';
  if (className) td.className = className;
  return td;
}

function row(rec) {
  const tr = document.createElement('tr');
  const started = document.createElement('td');
  const link = document.createElement('a');
  link.href = `/recordings/${encodeURIComponent(rec.id)}`;
  link.textContent = formatDateTime(rec.startedAt);
  link.setAttribute(
    'aria-label',
    `Open recording of ${formatDateTime(rec.startedAt)}, agent ${rec.agentId ?? 'unknown'}`,
  );
  started.append(link);
  tr.append(
    started,
    cell(formatClock(rec.durationMs), 'num'),
    cell(rec.agentId),
    cell(rec.queue),
    cell(rec.direction),
    cell(rec.callerNumber, 'mono'),
    cell(formatQualityFlags(rec.qualityFlags)),
    cell(formatTimeLeft(rec), rec.legalHold ? 'time-left hold' : 'time-left'),
  );
  return tr;
}

async function load(append) {
  errorBox.hidden = true;
  const q = apiQuery(new URLSearchParams(location.search));
  if (append && nextCursor) q.set('cursor', nextCursor);
  status.textContent = 'Loading…';
  try {
    const page = await api(`/v1/recordings?${q}`);
    if (!append) tbody.replaceChildren();
    for (const rec of page.items) tbody.append(row(rec));
    nextCursor = page.nextCursor;
    more.hidden = !nextCursor;
    const n = tbody.children.length;
    status.textContent =
      n === 0
        ? 'No recordings match these filters.'
        : `${n} recording${n === 1 ? '' : 's'} shown${nextCursor ? ' (more available)' : ''}.`;
  } catch (error) {
    status.textContent = '';
    showError(errorBox, error);
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const params = new URLSearchParams();
  for (const el of form.elements) if (el.name && el.value.trim() !== '') params.set(el.name, el.value.trim());
  history.replaceState(null, '', `/recordings${params.size ? `?${params}` : ''}`);
  void load(false);
});
form.addEventListener('reset', () => {
  history.replaceState(null, '', '/recordings');
  window.setTimeout(() => void load(false), 0);
});
more.addEventListener('click', () => void load(true));

try {
  await initLayout({ active: '/recordings' });
  fillForm(new URLSearchParams(location.search));
  await load(false);
} catch (error) {
  // 401: initLayout is already on its way to the sign-in page.
  if (error?.status !== 401) showError(errorBox, error);
}
