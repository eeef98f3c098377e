/* global URLSearchParams */
/**
 * The privacy officer's page: find a data subject's recordings by phone number,
 * export them as a zip, erase them (with a request reference and a confirm
 * step), place and release legal holds. Admins get the hold-by-id form only
 * (subject search is the privacy role's).
 *
 * The number stays in memory and in the request URLs of the API calls; it is
 * never written into the page address or local storage. All text goes in via
 * textContent (no HTML from data), and there is no inline script or style.
 */
import { ApiError, api, formatClock, formatDateTime, formatTimeLeft, initLayout } from '/assets/layout.js';

const $ = (id) => document.getElementById(id);

const subjectSection = $('subject-section');
const byIdSection = $('by-id-section');
const searchForm = $('search');
const phoneInput = $('phone');
const searchError = $('search-error');
const searchStatus = $('search-status');
const results = $('results');
const tbody = document.querySelector('#subject-recordings tbody');
const exportLink = $('export');
const eraseAllButton = $('erase-all');
const actionStatus = $('action-status');
const actionError = $('action-error');

const eraseDialog = $('erase-dialog');
const eraseForm = $('erase-form');
const eraseSummary = $('erase-summary');
const eraseReference = $('erase-reference');
const eraseConfirm = $('erase-confirm');
const eraseError = $('erase-error');
const eraseSubmit = $('erase-submit');

const holdDialog = $('hold-dialog');
const holdForm = $('hold-form');
const holdTitle = $('hold-title');
const holdSummary = $('hold-summary');
const holdReason = $('hold-reason');
const holdReasonLabel = $('hold-reason-label');
const holdError = $('hold-error');
const holdSubmit = $('hold-submit');

/** The subject currently shown: the number as typed and its recordings. */
let subject = null;
/** What the open dialog acts on: { kind: 'one' | 'all' | 'hold' | 'release', id?, fromTable? }. */
let pending = null;

function problemText(error) {
  if (!(error instanceof ApiError)) return 'Something went wrong. Try again.';
  const p = error.problem ?? {};
  if (p.code === 'legal_hold' && Array.isArray(p.heldIds)) {
    return `Some recordings are under legal hold (${p.heldIds.join(', ')}). Release the hold first, or erase the others one by one.`;
  }
  if (p.code === 'legal_hold') return 'This recording is under legal hold. Release the hold first.';
  if (Array.isArray(p.fields) && p.fields.length > 0) return p.fields.map((f) => `${f.field}: ${f.message}`).join('; ');
  if (error.status === 403) return 'Your role may not do this.';
  if (error.status === 404) return 'Not found (already erased?).';
  return p.detail ?? p.title ?? error.message;
}

function show(element, text) {
  element.textContent = text;
  element.hidden = !text;
}

function say(text) {
  show(actionError, '');
  show(actionStatus, text);
}

function fail(error) {
  show(actionStatus, '');
  show(actionError, problemText(error));
}

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text ?? '—';
  if (className) td.className = className;
  return td;
}

function button(label, className, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  if (className) b.className = className;
  b.addEventListener('click', onClick);
  return b;
}

function retentionText(rec) {
  if (!rec.legalHold) return `${formatTimeLeft(rec)} (${formatDateTime(rec.expiresAt)})`;
  const by = rec.legalHold.by ? ` by ${rec.legalHold.by}` : '';
  const at = rec.legalHold.at ? `, ${formatDateTime(rec.legalHold.at)}` : '';
  return `On legal hold: ${rec.legalHold.reason ?? ''}${by}${at}`;
}

function renderRow(rec) {
  const tr = document.createElement('tr');
  tr.dataset.id = rec.id;
  tr.append(
    cell(formatDateTime(rec.startedAt), 'time'),
    cell(formatClock(rec.durationMs), 'num'),
    cell(rec.direction),
    cell(rec.callerNumber, 'mono'),
    cell(rec.calleeNumber, 'mono'),
    cell(retentionText(rec), rec.legalHold ? 'retention on-hold' : 'retention'),
  );
  const td = document.createElement('td');
  const actions = document.createElement('div');
  actions.className = 'row-actions';
  td.append(actions);
  if (rec.legalHold) {
    actions.append(button('Release hold…', '', () => openHold({ kind: 'release', id: rec.id, fromTable: true })));
  } else {
    actions.append(
      button('Hold…', '', () => openHold({ kind: 'hold', id: rec.id, fromTable: true })),
      button('Erase…', 'danger', () => openErase({ kind: 'one', id: rec.id, startedAt: rec.startedAt })),
    );
  }
  tr.append(td);
  return tr;
}

function render() {
  if (!subject) {
    results.hidden = true;
    return;
  }
  tbody.replaceChildren(...subject.items.map(renderRow));
  const n = subject.items.length;
  searchStatus.textContent =
    n === 0 ? 'No recordings of this number are kept.' : `${n} recording${n === 1 ? '' : 's'} found.`;
  results.hidden = n === 0;
  exportLink.href = `/v1/subjects/export?${new URLSearchParams({ phone: subject.phone })}`;
  const held = subject.items.filter((r) => r.legalHold).length;
  eraseAllButton.disabled = held > 0;
  eraseAllButton.title =
    held > 0 ? 'Some recordings are under legal hold: release them first, or erase the others one by one.' : '';
}

async function search(phone) {
  const items = [];
  let cursor = null;
  do {
    const q = new URLSearchParams({ phone, limit: '500' });
    if (cursor) q.set('cursor', cursor);
    const page = await api(`/v1/subjects/recordings?${q}`);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  subject = { phone, items };
  render();
}

searchForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const phone = phoneInput.value.trim();
  show(searchError, '');
  show(actionStatus, '');
  show(actionError, '');
  searchStatus.textContent = 'Searching…';
  try {
    await search(phone);
  } catch (error) {
    subject = null;
    render();
    searchStatus.textContent = '';
    show(searchError, problemText(error));
  }
});

// --- erasure ---------------------------------------------------------------------------------

function openErase(target) {
  pending = target;
  eraseForm.reset();
  show(eraseError, '');
  eraseSummary.textContent =
    target.kind === 'all'
      ? `All ${subject.items.length} recordings of this number will be erased.`
      : `The recording of ${formatDateTime(target.startedAt)} (${target.id}) will be erased.`;
  eraseSubmit.textContent = target.kind === 'all' ? `Erase ${subject.items.length} recordings` : 'Erase recording';
  eraseDialog.showModal();
  eraseReference.focus();
}

eraseAllButton.addEventListener('click', () => openErase({ kind: 'all' }));
$('erase-cancel').addEventListener('click', () => eraseDialog.close());

eraseForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!eraseConfirm.checked || !eraseReference.value.trim()) {
    show(eraseError, 'Give the request reference and confirm.');
    return;
  }
  const body = { reason: 'erasure_request', reference: eraseReference.value.trim() };
  eraseSubmit.disabled = true;
  try {
    if (pending.kind === 'all') {
      const result = await api(`/v1/subjects/recordings?${new URLSearchParams({ phone: subject.phone })}`, {
        method: 'DELETE',
        body,
      });
      eraseDialog.close();
      const erased = new Set(result.erased.map((e) => e.id));
      subject.items = subject.items.filter((r) => !erased.has(r.id));
      render();
      say(
        `${result.count} recording${result.count === 1 ? '' : 's'} erased and logged in the deletion log` +
          (result.pending.length ? `; ${result.pending.length} already being deleted.` : '.'),
      );
    } else {
      const result = await api(`/v1/recordings/${encodeURIComponent(pending.id)}`, { method: 'DELETE', body });
      eraseDialog.close();
      subject.items = subject.items.filter((r) => r.id !== pending.id);
      render();
      say(`Recording erased; deletion log entry #${result.deletion.seq}.`);
    }
  } catch (error) {
    show(eraseError, problemText(error));
  } finally {
    eraseSubmit.disabled = false;
  }
});

// --- legal hold ------------------------------------------------------------------------------

function openHold(target) {
  pending = target;
  holdForm.reset();
  show(holdError, '');
  const release = target.kind === 'release';
  holdTitle.textContent = release ? 'Release the legal hold' : 'Place a legal hold';
  holdSummary.textContent = release
    ? `Recording ${target.id} will follow its retention again; if its deadline has passed it is deleted by the next sweep.`
    : `Recording ${target.id} will be kept past its retention deadline until the hold is released. It cannot be erased while held.`;
  holdReasonLabel.textContent = release
    ? 'Reason for the release (optional; no personal data)'
    : 'Reason (case or claim; no personal data)';
  holdReason.required = !release;
  holdSubmit.textContent = release ? 'Release hold' : 'Place hold';
  holdDialog.showModal();
  holdReason.focus();
}

$('hold-cancel').addEventListener('click', () => holdDialog.close());

holdForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const reason = holdReason.value.trim();
  const release = pending.kind === 'release';
  if (!release && !reason) {
    show(holdError, 'Give the reason for the hold.');
    return;
  }
  holdSubmit.disabled = true;
  try {
    const rec = await api(`/v1/recordings/${encodeURIComponent(pending.id)}/hold`, {
      method: release ? 'DELETE' : 'PUT',
      body: release ? (reason ? { reason } : {}) : { reason },
    });
    holdDialog.close();
    if (subject) {
      subject.items = subject.items.map((r) => (r.id === rec.id ? rec : r));
      render();
    }
    say(release ? `Legal hold on ${rec.id} released.` : `Recording ${rec.id} is on legal hold.`);
  } catch (error) {
    show(holdError, problemText(error));
  } finally {
    holdSubmit.disabled = false;
  }
});

const byIdForm = $('by-id');
const byIdInput = $('by-id-input');
byIdForm.addEventListener('submit', (event) => {
  event.preventDefault();
  if (byIdForm.reportValidity()) openHold({ kind: 'hold', id: byIdInput.value.trim() });
});
$('by-id-release').addEventListener('click', () => {
  if (byIdForm.reportValidity()) openHold({ kind: 'release', id: byIdInput.value.trim() });
});

// --- start -----------------------------------------------------------------------------------

try {
  const session = await initLayout({ active: '/privacy' });
  const role = session.user.role;
  if (role === 'privacy') {
    subjectSection.hidden = false;
    byIdSection.hidden = false;
    phoneInput.focus();
  } else if (role === 'admin') {
    byIdSection.hidden = false;
    $('admin-note').hidden = false;
  } else {
    say('This page is for the privacy officer and administrators.');
  }
} catch (error) {
  if (!(error instanceof ApiError && error.status === 401)) fail(error);
}
