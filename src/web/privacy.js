/* global URLSearchParams, FormData, setTimeout */
/**
 * The privacy officer's page: find a data subject's recordings by phone number,
 * export them as a zip, erase them (with a request reference and a confirm
 * step), place and release legal holds. Admins get the hold-by-id form only
 * (subject search is the privacy role's).
 *
 * The register of privacy requests (privacy role): open requests soonest due first with days
 * left (overdue said in words and marked in colour), a status filter, a form to register a new
 * request. `/privacy?request=<id>` opens one request: its facts, timeline, extend and close
 * forms, the letter (nl/en), and the subject search below it then works under that request:
 * search, export, erase and hold carry its `requestId`, so they land on its timeline.
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
import { formatDate, problemMessage, timeZone, tn, zonedMidnight } from '/assets/i18n.js';

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
  if (p.code === 'not_in_request') return t('privacy.notInRequest');
  if (p.code === 'request_closed') return t('privacy.requestClosed');
  if (p.code === 'extension_not_allowed') return t('request.extensionNotAllowed');
  if (error.status === 404) return t('privacy.notFound');
  // A bad number in the search (a query) or in a body.
  const badInput = p.code === 'invalid_request' || p.code === 'invalid_query';
  if (badInput && /phone/i.test(JSON.stringify(p.fields ?? p.detail ?? ''))) return t('privacy.badPhone');
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
const REQUEST = { status: $('request-status'), error: $('request-error') };
const RESTRICT = { status: $('restrict-status'), error: $('restrict-error') };

function say(text, at = TABLE) {
  for (const place of [TABLE, BY_ID, PAGE, REQUEST, RESTRICT]) {
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
  // Correction (Art. 16) is only done under a request.
  if (underRequest().requestId) actions.append(button(t('correct.dots'), '', () => openCorrect(rec)));
  tr.append(td);
  return tr;
}

function render() {
  // Restriction (Art. 18) and objection (Art. 21) are only done under a request, also with no recordings kept.
  $('restriction-tools').hidden = !subject || !underRequest().requestId;
  if (!subject) {
    results.hidden = true;
    return;
  }
  tbody.replaceChildren(...subject.items.map(renderRow));
  const n = subject.items.length;
  searchStatus.textContent = n === 0 ? t('privacy.noneKept') : tn('privacy.found', n);
  results.hidden = n === 0;
  exportLink.href = `/v1/subjects/export?${new URLSearchParams({ phone: subject.phone, ...underRequest() })}`;
  const held = subject.items.filter((r) => r.legalHold).length;
  eraseAllButton.disabled = held > 0;
  // Why it is disabled, in text beside it (not only a tooltip).
  show(eraseAllWhy, held > 0 ? t('privacy.eraseAllWhy') : '');
}

async function search(phone) {
  const items = [];
  let cursor = null;
  do {
    const q = new URLSearchParams({ phone, limit: '500', ...underRequest() });
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
    refreshRequest();
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
exportLink.addEventListener('click', () => {
  say(tn('privacy.exportStarted', subject?.items.length ?? 0));
  // The timeline gets its export event once the download has gone through; look again shortly.
  setTimeout(refreshRequest, 2000);
});
$('erase-cancel').addEventListener('click', () => eraseDialog.close());

eraseForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!eraseConfirm.checked || !eraseReference.value.trim()) {
    show(eraseError, t('erase.needReference'));
    return;
  }
  const body = { reason: 'erasure_request', reference: eraseReference.value.trim(), ...underRequest() };
  eraseSubmit.disabled = true;
  try {
    if (pending.kind === 'all') {
      const query = new URLSearchParams({ phone: subject.phone, ...underRequest() });
      const result = await api(`/v1/subjects/recordings?${query}`, {
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
    refreshRequest();
  } catch (error) {
    show(eraseError, problemText(error));
  } finally {
    eraseSubmit.disabled = false;
  }
});

// --- restriction (under a request) ----------------------------------------------------------

/** Restrict processing of the searched number (mode `object` for an objection), or lift it. */
async function setRestriction(lift) {
  const mode = activeRequest?.kind === 'objection' ? 'object' : 'restrict';
  const body = { phone: subject.phone, ...underRequest(), ...(lift ? {} : { mode }) };
  try {
    const status = await api('/v1/subjects/restriction', { method: lift ? 'DELETE' : 'PUT', body });
    say(status.restricted ? tn('privacy.restricted', status.recordingIds.length) : t('privacy.unrestricted'), RESTRICT);
    refreshRequest();
  } catch (error) {
    fail(error, RESTRICT);
  }
}

$('restrict').addEventListener('click', () => setRestriction(false));
$('unrestrict').addEventListener('click', () => setRestriction(true));

// --- correction (under a request) -----------------------------------------------------------

const correctDialog = $('correct-dialog');
const correctForm = $('correct-form');
const correctError = $('correct-error');
const CORRECTED = {
  callerNumber: 'correct-caller',
  calleeNumber: 'correct-callee',
  agentId: 'correct-agent',
  queue: 'correct-queue',
};
let correcting = null;

function openCorrect(rec) {
  correcting = rec;
  show(correctError, '');
  for (const [field, id] of Object.entries(CORRECTED)) $(id).value = rec[field] ?? '';
  $('correct-summary').textContent = t('erase.summaryOne', { at: formatDateTime(rec.startedAt), id: rec.id });
  correctDialog.showModal();
  $('correct-caller').focus();
}

$('correct-cancel').addEventListener('click', () => correctDialog.close());

correctForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  // Only the fields that changed; an emptied field is cleared (null).
  const body = { ...underRequest() };
  for (const [field, id] of Object.entries(CORRECTED)) {
    const value = $(id).value.trim();
    if (value !== (correcting[field] ?? '')) body[field] = value || null;
  }
  try {
    const rec = await api(`/v1/recordings/${encodeURIComponent(correcting.id)}`, { method: 'PATCH', body });
    correctDialog.close();
    subject.items = subject.items.map((r) => (r.id === rec.id ? rec : r));
    render();
    say(t('correct.done', { id: rec.id }), TABLE);
    refreshRequest();
  } catch (error) {
    show(correctError, problemText(error));
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
      body: { ...(reason ? { reason } : {}), ...underRequest() },
    });
    holdDialog.close();
    if (subject) {
      subject.items = subject.items.map((r) => (r.id === rec.id ? rec : r));
      render();
    }
    say(t(release ? 'hold.released' : 'hold.placed', { id: rec.id }), pending.fromTable ? TABLE : BY_ID);
    refreshRequest();
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

// --- the register of requests ----------------------------------------------------------------

const requestsSection = $('requests-section');
const requestsBody = document.querySelector('#requests tbody');
const requestsStatus = $('requests-status');
const requestsCount = $('requests-count');
const requestsError = $('requests-error');
const requestsMore = $('requests-more');
const requestHeaders = [...document.querySelectorAll('#requests thead th')].map((th) => th.textContent);
const newRequestForm = $('new-request-form');
const newRequestError = $('nr-error');
const requestSection = $('request-section');

/** Labels of the API's enumerations (literal keys, so the catalogue check sees them used). */
const KIND = {
  access: 'requestKind.access',
  copy: 'requestKind.copy',
  erasure: 'requestKind.erasure',
  objection: 'requestKind.objection',
  restriction: 'requestKind.restriction',
  correction: 'requestKind.correction',
};
const CHANNEL = {
  email: 'requestChannel.email',
  letter: 'requestChannel.letter',
  phone: 'requestChannel.phone',
  web: 'requestChannel.web',
};
const STATUS = {
  open: 'requestStatus.open',
  due_soon: 'requestStatus.due_soon',
  overdue: 'requestStatus.overdue',
  closed: 'requestStatus.closed',
};
const OUTCOME = {
  fulfilled: 'requestOutcome.fulfilled',
  partially_fulfilled: 'requestOutcome.partially_fulfilled',
  refused: 'requestOutcome.refused',
  withdrawn: 'requestOutcome.withdrawn',
};
const EVENT = {
  created: 'requestEvent.created',
  extended: 'requestEvent.extended',
  closed: 'requestEvent.closed',
  search: 'requestEvent.search',
  export: 'requestEvent.export',
  export_aborted: 'requestEvent.export_aborted',
  erase: 'requestEvent.erase',
  erase_refused: 'requestEvent.erase_refused',
  erase_pending: 'requestEvent.erase_pending',
  hold: 'requestEvent.hold',
  release: 'requestEvent.release',
  restrict: 'requestEvent.restrict',
  unrestrict: 'requestEvent.unrestrict',
  correct: 'requestEvent.correct',
};
const label = (map, value) => (map[value] ? t(map[value]) : value);

/** The request opened with `?request=<id>`, when one is. */
let activeRequest = null;

/** The subject actions' `requestId`, while a request is open (else nothing). */
function underRequest() {
  return activeRequest && !activeRequest.closedAt ? { requestId: activeRequest.id } : {};
}

/** "12 days left", "due today", "overdue by 3 days" (the overdue class adds colour to the words). */
function daysLeftText(request) {
  if (request.daysLeft === null) return t(STATUS.closed);
  if (request.daysLeft < 0) return tn('requests.overdueBy', -request.daysLeft);
  if (request.daysLeft === 0) return t('requests.dueToday');
  return tn('requests.daysLeftN', request.daysLeft);
}

function requestRow(request) {
  const tr = document.createElement('tr');
  tr.dataset.id = request.id;
  const ref = document.createElement('td');
  const link = document.createElement('a');
  link.href = `/privacy?${new URLSearchParams({ request: request.id })}`;
  link.textContent = request.reference;
  ref.append(link);
  const left = cell(daysLeftText(request), `num days-left ${request.status}`);
  tr.append(
    ref,
    cell(label(KIND, request.kind)),
    cell(formatDate(request.receivedAt), 'time'),
    cell(formatDate(request.dueAt), 'time'),
    left,
  );
  tr.querySelectorAll('td').forEach((td, i) => (td.dataset.label = requestHeaders[i]));
  return tr;
}

let requestsCursor = null;

async function loadRequests({ more = false } = {}) {
  show(requestsError, '');
  const status = requestsStatus.value;
  const q = new URLSearchParams({ status, sort: status === 'closed' ? 'newest' : 'due', limit: '50' });
  if (more && requestsCursor) q.set('cursor', requestsCursor);
  try {
    const page = await api(`/v1/privacy-requests?${q}`);
    const rows = page.items.map(requestRow);
    if (more) requestsBody.append(...rows);
    else requestsBody.replaceChildren(...rows);
    requestsCursor = page.nextCursor;
    requestsMore.hidden = !requestsCursor;
    const n = requestsBody.children.length;
    requestsCount.textContent = n === 0 ? t('requests.none') : tn('requests.count', n);
  } catch (error) {
    show(requestsError, problemText(error));
  }
}

requestsStatus.addEventListener('change', () => loadRequests());
requestsMore.addEventListener('click', () => loadRequests({ more: true }));

/** Today's date in the call center's zone, as YYYY-MM-DD (the date input's value). */
function zonedToday() {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(
    new Date(),
  );
}

newRequestForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  show(newRequestError, '');
  const data = new FormData(newRequestForm);
  const phones = String(data.get('phones'))
    .split(/[,;\n]/)
    .map((p) => p.trim())
    .filter(Boolean);
  const caseReference = String(data.get('caseReference')).trim();
  const body = {
    kind: data.get('kind'),
    phone: phones[0],
    ...(phones.length > 1 ? { additionalPhones: phones.slice(1) } : {}),
    // The field's value, not the form data: a Dutch page's date field holds dd-mm-jjjj text (date-input.js).
    receivedAt: zonedMidnight($('nr-received').value),
    channel: data.get('channel'),
    identityVerified: $('nr-verified').checked,
    ...(caseReference ? { caseReference } : {}),
  };
  try {
    const created = await api('/v1/privacy-requests', { method: 'POST', body });
    window.location.assign(`/privacy?${new URLSearchParams({ request: created.id })}`);
  } catch (error) {
    show(newRequestError, requestProblem(error));
  }
});

function requestProblem(error) {
  const p = error instanceof ApiError ? (error.problem ?? {}) : {};
  if (p.code === 'received_in_future') return t('requests.inFuture');
  if (p.code === 'invalid_request' && /phone/i.test(JSON.stringify(p.fields ?? ''))) return t('privacy.badPhone');
  return problemText(error);
}

// --- one request -----------------------------------------------------------------------------

function fact(term, value) {
  const dt = document.createElement('dt');
  dt.textContent = term;
  const dd = document.createElement('dd');
  dd.textContent = value ?? '—';
  return [dt, dd];
}

function timelineItem(event) {
  const li = document.createElement('li');
  const when = document.createElement('time');
  when.dateTime = event.at;
  when.textContent = formatDateTime(event.at);
  const what = document.createElement('strong');
  what.textContent = label(EVENT, event.action);
  li.append(when, ' ', what, ` ${t('privacy.heldBy', { user: event.actor })}`);
  const extra = [];
  if (event.recordingIds.length) extra.push(tn('request.recordings', event.recordingIds.length));
  if (event.deletionSeqs.length) extra.push(t('request.deletionSeqs', { seqs: event.deletionSeqs.join(', ') }));
  const detail = eventDetail(event);
  if (detail) extra.push(detail);
  if (extra.length) li.append(` (${extra.join('; ')})`);
  return li;
}

/**
 * An event's detail for the reader: an extension's months, new due date (in the page's language)
 * and reason, a close's outcome and reason; other events' details as the server wrote them.
 */
function eventDetail(event) {
  const extended = event.action === 'extended' && /^months=(\d+) dueAt=(\S+) reason=(.*)$/s.exec(event.detail ?? '');
  if (extended)
    return tn('request.extendedBy', Number(extended[1]), { due: formatDate(extended[2]), reason: extended[3] });
  const closed = event.action === 'closed' && /^outcome=(\w+)(?: reason=(.*))?$/s.exec(event.detail ?? '');
  if (closed)
    return closed[2]
      ? t('request.closedWith', { outcome: label(OUTCOME, closed[1]), reason: closed[2] })
      : label(OUTCOME, closed[1]);
  return event.detail;
}

function renderRequest(request) {
  activeRequest = request;
  $('request-heading').textContent = t('request.heading', {
    reference: request.reference,
    kind: label(KIND, request.kind),
  });
  const left = document.createElement('span');
  left.className = `days-left ${request.status}`;
  left.textContent = `${t(STATUS[request.status])}: ${daysLeftText(request)}`;
  const facts = [
    fact(t('requests.received'), formatDate(request.receivedAt)),
    fact(t('requests.due'), formatDate(request.dueAt)),
    fact(t('requests.channel'), label(CHANNEL, request.channel)),
    fact(t('requests.identityVerified'), t(request.identityVerified ? 'request.yes' : 'request.no')),
    fact(t('requests.phones'), request.phones.join(', ')),
    fact(t('requests.caseReference'), request.caseReference),
  ];
  const statusFact = fact(t('request.state'), '');
  statusFact[1].replaceChildren(left);
  facts.splice(2, 0, statusFact);
  if (request.closedAt)
    facts.push(fact(t('request.outcome'), `${label(OUTCOME, request.outcome)} ${request.closeReason ?? ''}`.trim()));
  $('request-facts').replaceChildren(...facts.flat());
  $('letter-nl').href = `/v1/privacy-requests/${encodeURIComponent(request.id)}/letter?lang=nl`;
  $('letter-en').href = `/v1/privacy-requests/${encodeURIComponent(request.id)}/letter?lang=en`;
  $('timeline').replaceChildren(...request.timeline.map(timelineItem));
  $('request-forms').hidden = Boolean(request.closedAt);
  // At most 2 months in all (Art. 12(3)): offer only what is left.
  const monthsLeft = 2 - (request.extensionMonths ?? 0);
  $('extend-form').hidden = monthsLeft <= 0;
  for (const option of $('extend-months').options) option.disabled = Number(option.value) > monthsLeft;
  if (monthsLeft === 1) $('extend-months').value = '1';
  $('request-under').hidden = Boolean(request.closedAt);
  $('request-under').textContent = t('request.actionsUnder', { reference: request.reference });
}

async function openRequest(id) {
  const request = await api(`/v1/privacy-requests/${encodeURIComponent(id)}`);
  renderRequest(request);
  requestSection.hidden = false;
  if (!phoneInput.value) phoneInput.value = request.phones[0] ?? '';
}

/** Reload the open request's timeline after an action done under it. */
async function refreshRequest() {
  if (!activeRequest) return;
  try {
    renderRequest(await api(`/v1/privacy-requests/${encodeURIComponent(activeRequest.id)}`));
  } catch (error) {
    fail(error, REQUEST);
  }
}

/** Posts an action on the open request, shows the request as it now is and `done(request)` in its status region. */
async function requestAction(path, body, done) {
  try {
    const request = await api(path, { method: 'POST', body });
    renderRequest(request);
    say(done(request), REQUEST);
  } catch (error) {
    fail(error, REQUEST);
  }
}

$('extend-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const reason = $('extend-reason').value.trim();
  if (!reason) return show(REQUEST.error, t('request.needReason'));
  await requestAction(
    `/v1/privacy-requests/${encodeURIComponent(activeRequest.id)}/extend`,
    { months: Number($('extend-months').value), reason },
    (request) => t('request.extended', { due: formatDate(request.dueAt) }),
  );
});

$('close-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const outcome = $('close-outcome').value;
  const reason = $('close-reason').value.trim();
  if (outcome !== 'fulfilled' && !reason) return show(REQUEST.error, t('request.needReason'));
  await requestAction(
    `/v1/privacy-requests/${encodeURIComponent(activeRequest.id)}/close`,
    { outcome, ...(reason ? { reason } : {}) },
    () => t('request.closed'),
  );
});

// --- start -----------------------------------------------------------------------------------

try {
  const session = await initLayout({ active: '/privacy', roles: ['privacy', 'admin'] });
  const role = session.user.role;
  if (role === 'privacy') {
    subjectSection.hidden = false;
    byIdSection.hidden = false;
    $('nr-received').value = zonedToday();
    const requestId = new URLSearchParams(window.location.search).get('request');
    if (requestId) {
      await openRequest(requestId);
      $('request-heading').focus();
    } else {
      requestsSection.hidden = false;
      await loadRequests();
      phoneInput.focus();
    }
  } else if (role === 'admin') {
    byIdSection.hidden = false;
    $('admin-note').hidden = false;
  }
} catch (error) {
  if (!(error instanceof ApiError && (error.status === 401 || error.status === 403))) fail(error, PAGE);
}
