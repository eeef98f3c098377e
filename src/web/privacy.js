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
import {
  ApiError,
  api,
  formatClock,
  formatDateTime,
  formatDirection,
  formatTimeLeft,
  initLayout,
  t,
} from '/assets/layout.js';
import { problemMessage, tn } from '/assets/i18n.js';

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
const eraseAllWhy = $('erase-all-why');

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
const headers = [...document.querySelectorAll('#subject-recordings thead th')].map((th) => th.textContent);

/** The subject currently shown: the number as typed and its recordings. */
let subject = null;
/** What the open dialog acts on: { kind: 'one' | 'all' | 'hold' | 'release', id?, fromTable? }. */
let pending = null;

function problemText(error) {
  if (!(error instanceof ApiError)) return problemMessage(error);
  const p = error.problem ?? {};
  if (p.code === 'legal_hold' && Array.isArray(p.heldIds)) return t('privacy.someHeld', { ids: p.heldIds.join(', ') });
  if (p.code === 'legal_hold') return t('privacy.held');
  if (error.status === 404) return t('privacy.notFound');
  if (p.code === 'invalid_request' && /phone/i.test(JSON.stringify(p.fields ?? p.detail ?? '')))
    return t('privacy.badPhone');
  return problemMessage(error);
}

function show(element, text) {
  element.textContent = text;
  element.hidden = !text;
}

/** Where a result is announced: the status region beside the action (the table's, or the hold-by-id form's). */
const TABLE = { status: actionStatus, error: actionError };
const BY_ID = { status: $('by-id-status'), error: $('by-id-error') };
const PAGE = { status: $('page-status'), error: $('page-error') };

function say(text, at = TABLE) {
  for (const place of [TABLE, BY_ID, PAGE]) {
    show(place.error, '');
    if (place !== at) show(place.status, '');
  }
  show(at.status, text);
}

function fail(error, at = TABLE) {
  show(at.status, '');
  show(at.error, problemText(error));
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
  const by = rec.legalHold.by ? ` ${t('privacy.heldBy', { user: rec.legalHold.by })}` : '';
  const at = rec.legalHold.at ? `, ${formatDateTime(rec.legalHold.at)}` : '';
  return `${t('privacy.onHold', { reason: rec.legalHold.reason ?? '' })}${by}${at}`;
}

function renderRow(rec) {
  const tr = document.createElement('tr');
  tr.dataset.id = rec.id;
  tr.append(
    cell(formatDateTime(rec.startedAt), 'time'),
    cell(formatClock(rec.durationMs), 'num'),
    cell(formatDirection(rec.direction)),
    cell(rec.callerNumber, 'mono'),
    cell(rec.calleeNumber, 'mono'),
    cell(retentionText(rec), rec.legalHold ? 'retention on-hold' : 'retention'),
  );
  tr.querySelectorAll('td').forEach((td, i) => (td.dataset.label = headers[i]));
  const td = document.createElement('td');
  const actions = document.createElement('div');
  actions.className = 'row-actions';
  td.append(actions);
  if (rec.legalHold) {
    actions.append(
      button(t('privacy.releaseHoldDots'), '', () => openHold({ kind: 'release', id: rec.id, fromTable: true })),
    );
  } else {
    actions.append(
      button(t('privacy.holdDots'), '', () => openHold({ kind: 'hold', id: rec.id, fromTable: true })),
      button(t('privacy.eraseDots'), 'danger', () => openErase({ kind: 'one', id: rec.id, startedAt: rec.startedAt })),
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
  searchStatus.textContent = n === 0 ? t('privacy.noneKept') : tn('privacy.found', n);
  results.hidden = n === 0;
  exportLink.href = `/v1/subjects/export?${new URLSearchParams({ phone: subject.phone })}`;
  const held = subject.items.filter((r) => r.legalHold).length;
  eraseAllButton.disabled = held > 0;
  // Why it is disabled, in text beside it (not only a tooltip).
  show(eraseAllWhy, held > 0 ? t('privacy.eraseAllWhy') : '');
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
  searchStatus.textContent = t('privacy.searching');
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
      ? tn('erase.summaryAll', subject.items.length)
      : t('erase.summaryOne', { at: formatDateTime(target.startedAt), id: target.id });
  eraseSubmit.textContent = target.kind === 'all' ? tn('erase.submitAll', subject.items.length) : t('erase.submitOne');
  eraseDialog.showModal();
  eraseReference.focus();
}

eraseAllButton.addEventListener('click', () => openErase({ kind: 'all' }));
// The browser downloads the zip itself (streamed, any size); the status region says it started.
exportLink.addEventListener('click', () => say(tn('privacy.exportStarted', subject?.items.length ?? 0)));
$('erase-cancel').addEventListener('click', () => eraseDialog.close());

eraseForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!eraseConfirm.checked || !eraseReference.value.trim()) {
    show(eraseError, t('erase.needReference'));
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
        result.pending.length
          ? tn('erase.doneAllPending', result.count, { pending: result.pending.length })
          : tn('erase.doneAll', result.count),
        PAGE,
      );
    } else {
      const result = await api(`/v1/recordings/${encodeURIComponent(pending.id)}`, { method: 'DELETE', body });
      eraseDialog.close();
      subject.items = subject.items.filter((r) => r.id !== pending.id);
      render();
      say(t('erase.doneOne', { seq: result.deletion.seq }), subject.items.length ? TABLE : PAGE);
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
  holdTitle.textContent = t(release ? 'hold.releaseTitle' : 'hold.placeTitle');
  holdSummary.textContent = t(release ? 'hold.releaseSummary' : 'hold.placeSummary', { id: target.id });
  holdReasonLabel.textContent = t(release ? 'hold.releaseReason' : 'hold.placeReason');
  holdReason.required = !release;
  holdSubmit.textContent = t(release ? 'hold.releaseSubmit' : 'hold.placeSubmit');
  holdDialog.showModal();
  holdReason.focus();
}

$('hold-cancel').addEventListener('click', () => holdDialog.close());

holdForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const reason = holdReason.value.trim();
  const release = pending.kind === 'release';
  if (!release && !reason) {
    show(holdError, t('hold.needReason'));
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
    say(t(release ? 'hold.released' : 'hold.placed', { id: rec.id }), pending.fromTable ? TABLE : BY_ID);
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
  const session = await initLayout({ active: '/privacy', roles: ['privacy', 'admin'] });
  const role = session.user.role;
  if (role === 'privacy') {
    subjectSection.hidden = false;
    byIdSection.hidden = false;
    phoneInput.focus();
  } else if (role === 'admin') {
    byIdSection.hidden = false;
    $('admin-note').hidden = false;
  }
} catch (error) {
  if (!(error instanceof ApiError && (error.status === 401 || error.status === 403))) fail(error, PAGE);
}
