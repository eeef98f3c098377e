/* global location, history, URLSearchParams */
/**
 * The auditor's console: the chain's verification with the latest signed checkpoint, the
 * deletion log (filters, paging, CSV download), the access log (filters, paging, CSV) and the
 * proof of one recording's deletion (its log entry, object digests, verified absence and its
 * place in the chain). Everything comes from the audit API (src/audit/audit-routes.ts); the
 * console adds no data of its own. Filters live in the page address (`d.*` and `a.*`), so a view
 * can be bookmarked; `proof=<id>` opens a recording's proof.
 */
import { api, formatDateTime, initLayout, showError, t } from '/assets/layout.js';
import { formatNumber, tn, zonedMidnight } from '/assets/i18n.js';

const PAGE_SIZE = 50;
const $ = (id) => document.getElementById(id);
const REASON_KEYS = {
  retention_expired: 'reason.retention_expired',
  erasure_request: 'reason.erasure_request',
  lifecycle_expired: 'reason.lifecycle_expired',
  redaction: 'reason.redaction',
};
const ACTION_KEYS = {
  play: 'accessAction.play',
  download: 'accessAction.download',
  export: 'accessAction.export',
  view: 'accessAction.view',
  hold: 'accessAction.hold',
  release: 'accessAction.release',
  erase: 'accessAction.erase',
  search: 'accessAction.search',
  restrict: 'accessAction.restrict',
  unrestrict: 'accessAction.unrestrict',
  correct: 'accessAction.correct',
  redact: 'accessAction.redact',
};
const PROBLEM_KEYS = {
  gap: 'chainProblem.gap',
  prev_hash: 'chainProblem.prev_hash',
  hash: 'chainProblem.hash',
  time: 'chainProblem.time',
  checkpoint_mismatch: 'chainProblem.checkpoint_mismatch',
  checkpoint_signature: 'chainProblem.checkpoint_signature',
  truncated: 'chainProblem.truncated',
  external_checkpoint_signature: 'chainProblem.external_checkpoint_signature',
};
const label = (keys, value) => (keys[value] ? t(keys[value]) : value);

function definition(dl, term, value, className) {
  const pair = document.createElement('div');
  const dt = document.createElement('dt');
  dt.textContent = term;
  const dd = document.createElement('dd');
  dd.textContent = value ?? '—';
  if (className) dd.className = className;
  pair.append(dt, dd);
  dl.append(pair);
}

function cell(tr, text, header, className) {
  const td = document.createElement('td');
  td.textContent = text ?? '—';
  td.dataset.label = header;
  if (className) td.className = className;
  tr.append(td);
  return td;
}

const headersOf = (table) => [...document.querySelectorAll(`#${table} thead th`)].map((th) => th.textContent);

/** The API query of a filter form: dates are whole days in the call center's zone. */
function formQuery(form) {
  const q = new URLSearchParams();
  for (const el of form.elements) {
    if (!el.name || el.value.trim() === '') continue;
    const value = el.value.trim();
    if (el.name === 'from') q.set('from', zonedMidnight(value));
    else if (el.name === 'to') q.set('to', zonedMidnight(value, 1));
    else q.set(el.name, value);
  }
  return q;
}

/** Keeps a form's values in the page address under `prefix.` so the view can be bookmarked. */
function rememberForm(form, prefix) {
  const params = new URLSearchParams(location.search);
  for (const key of [...params.keys()]) if (key.startsWith(`${prefix}.`)) params.delete(key);
  for (const el of form.elements) if (el.name && el.value.trim()) params.set(`${prefix}.${el.name}`, el.value.trim());
  history.replaceState(null, '', `${location.pathname}${params.size ? `?${params}` : ''}${location.hash}`);
}
function restoreForm(form, prefix) {
  const params = new URLSearchParams(location.search);
  for (const el of form.elements)
    if (el.name && params.has(`${prefix}.${el.name}`)) el.value = params.get(`${prefix}.${el.name}`);
}

/**
 * A paged, filtered table of one audit list: `render(item)` makes a row; Previous/Next walk the
 * cursors; the CSV link carries the same filters.
 */
function pagedTable({ path, form, prefix, table, status, error, csv, prev, next, render }) {
  const tbody = $(table).querySelector('tbody');
  let cursors = [null];
  let nextCursor = null;
  const load = async () => {
    $(error).hidden = true;
    $(status).textContent = t('common.loading');
    const q = formQuery($(form));
    const csvQuery = new URLSearchParams(q);
    csvQuery.set('format', 'csv');
    $(csv).href = `${path}?${csvQuery}`;
    q.set('limit', String(PAGE_SIZE));
    const cursor = cursors[cursors.length - 1];
    if (cursor) q.set('cursor', cursor);
    try {
      const page = await api(`${path}?${q}`);
      tbody.replaceChildren(...page.items.map(render));
      nextCursor = page.nextCursor;
      $(next).hidden = !nextCursor;
      $(prev).hidden = cursors.length === 1;
      const first = (cursors.length - 1) * PAGE_SIZE + 1;
      $(status).textContent =
        page.items.length === 0
          ? t('audit.noEntries')
          : t('audit.entriesShown', {
              from: formatNumber(first),
              to: formatNumber(first + page.items.length - 1),
            });
    } catch (e) {
      $(status).textContent = '';
      if (e?.status !== 401) showError($(error), e);
    }
  };
  $(form).addEventListener('submit', (event) => {
    event.preventDefault();
    rememberForm($(form), prefix);
    cursors = [null];
    void load();
  });
  $(form).addEventListener('reset', () => {
    window.setTimeout(() => {
      rememberForm($(form), prefix);
      cursors = [null];
      void load();
    }, 0);
  });
  $(next).addEventListener('click', () => {
    cursors.push(nextCursor);
    void load();
  });
  $(prev).addEventListener('click', () => {
    cursors.pop();
    void load();
  });
  restoreForm($(form), prefix);
  return load;
}

// --- proof of one recording ------------------------------------------------------------------

let checkpoints = [];

function proofButton(recordingId) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'link mono';
  b.textContent = recordingId;
  b.setAttribute('aria-label', t('audit.showProofOf', { id: recordingId }));
  b.addEventListener('click', () => {
    $('proof-id').value = recordingId;
    void showProof(recordingId);
    $('proof').scrollIntoView();
    $('proof-id').focus();
  });
  return b;
}

async function showProof(recordingId) {
  $('proof-error').hidden = true;
  $('proof-result').hidden = true;
  $('proof-status').textContent = t('common.loading');
  const params = new URLSearchParams(location.search);
  params.set('proof', recordingId);
  history.replaceState(null, '', `${location.pathname}?${params}#proof`);
  try {
    const page = await api(`/v1/deletions?${new URLSearchParams({ recordingId, limit: '1' })}`);
    const entry = page.items[0];
    if (!entry) {
      $('proof-status').textContent = t('audit.noProof', { id: recordingId });
      return;
    }
    $('proof-status').textContent = t('audit.proofFound', { id: recordingId, seq: entry.seq });
    const dl = $('proof-entry');
    dl.replaceChildren();
    definition(dl, t('audit.seq'), `#${entry.seq}`);
    definition(dl, t('audit.deletedAt'), formatDateTime(entry.deletedAt, { seconds: true }));
    definition(dl, t('audit.reason'), label(REASON_KEYS, entry.reason));
    definition(dl, t('audit.actor'), entry.actor);
    definition(dl, t('audit.reference'), entry.reference);
    definition(dl, t('audit.source'), entry.source);
    definition(dl, t('audit.callId'), entry.callId, 'mono');
    definition(dl, t('audit.callStarted'), formatDateTime(entry.startedAt));
    definition(dl, t('audit.expiresAt'), formatDateTime(entry.expiresAt));
    definition(dl, t('audit.absence'), entry.verified ? t('audit.absenceVerified') : t('audit.absenceNotVerified'));
    if (entry.keyShredded)
      definition(dl, t('audit.keyShredded'), t('audit.keyShreddedYes', { kek: entry.kekId ?? '—' }));
    const objects = $('proof-objects').querySelector('tbody');
    const headers = headersOf('proof-objects');
    objects.replaceChildren(
      ...entry.objects.map((o) => {
        const tr = document.createElement('tr');
        cell(tr, o.key, headers[0], 'mono wrap');
        cell(tr, o.sha256, headers[1], 'mono wrap');
        cell(tr, t('audit.bytes', { n: formatNumber(o.sizeBytes) }), headers[2], 'num');
        return tr;
      }),
    );
    const chain = $('proof-chain');
    chain.replaceChildren();
    definition(chain, t('audit.prevHash'), entry.prevHash, 'mono wrap');
    definition(chain, t('audit.hash'), entry.hash, 'mono wrap');
    const covering = checkpoints.filter((c) => c.size >= entry.seq).sort((a, b) => a.size - b.size)[0];
    definition(
      chain,
      t('audit.coveredBy'),
      covering
        ? t('audit.coveredByCheckpoint', { at: formatDateTime(covering.at), size: formatNumber(covering.size) })
        : t('audit.notYetCovered'),
    );
    $('proof-result').hidden = false;
  } catch (e) {
    $('proof-status').textContent = '';
    if (e?.status !== 401) showError($('proof-error'), e);
  }
}

// --- chain -----------------------------------------------------------------------------------

async function loadCheckpoints() {
  const result = await api('/v1/deletions/checkpoints');
  checkpoints = result.items;
  $('public-key').textContent = `${result.publicKey}\n${t('audit.keyId', { id: result.keyId })}`;
  const latest = [...checkpoints].sort((a, b) => b.size - a.size)[0];
  const dl = $('checkpoint');
  dl.replaceChildren();
  if (!latest) {
    definition(dl, t('audit.checkpointHeading'), t('audit.noCheckpoint'));
    return;
  }
  definition(dl, t('audit.signedAt'), formatDateTime(latest.at, { seconds: true }));
  definition(dl, t('audit.covers'), tn('audit.coversEntries', latest.size));
  definition(dl, t('audit.headHash'), latest.headHash, 'mono wrap');
  definition(dl, t('audit.signature'), latest.signature, 'mono wrap');
  definition(dl, t('audit.keyIdLabel'), latest.keyId, 'mono');
}

async function verifyChain() {
  $('chain-error').hidden = true;
  $('chain-result').hidden = true;
  $('chain-status').className = 'muted';
  $('chain-status').textContent = t('audit.verifying');
  $('verify-again').disabled = true;
  try {
    const result = await api('/v1/deletions/verify');
    $('chain-status').className = result.ok ? 'notice' : 'error';
    $('chain-status').textContent = result.ok
      ? tn('audit.chainOk', result.count)
      : t('audit.chainBroken', {
          seq: result.firstInvalidSeq ?? '—',
          problem: result.problem ? label(PROBLEM_KEYS, result.problem) : '—',
        });
    const dl = $('chain-result');
    dl.replaceChildren();
    definition(dl, t('audit.entries'), formatNumber(result.count));
    definition(dl, t('audit.headHash'), result.headHash, 'mono wrap');
    definition(
      dl,
      t('audit.checkpointsVerified'),
      t('audit.ofCount', { n: formatNumber(result.checkpoints.verified), of: formatNumber(result.checkpoints.count) }),
    );
    definition(
      dl,
      t('audit.externalCheckpoints'),
      result.external
        ? t('audit.ofCount', { n: formatNumber(result.external.matched), of: formatNumber(result.external.count) })
        : t('audit.notChecked'),
    );
    dl.hidden = false;
  } catch (e) {
    $('chain-status').textContent = '';
    if (e?.status !== 401) showError($('chain-error'), e);
  } finally {
    $('verify-again').disabled = false;
  }
}

// --- start -----------------------------------------------------------------------------------

const actionSelect = $('a-action');
for (const [value, key] of Object.entries(ACTION_KEYS)) {
  const option = document.createElement('option');
  option.value = value;
  option.textContent = t(key);
  actionSelect.append(option);
}

const deletionHeaders = headersOf('deletion-table');
const loadDeletions = pagedTable({
  path: '/v1/deletions',
  form: 'deletion-filters',
  prefix: 'd',
  table: 'deletion-table',
  status: 'deletions-status',
  error: 'deletions-error',
  csv: 'deletions-csv',
  prev: 'deletions-prev',
  next: 'deletions-next',
  render: (e) => {
    const tr = document.createElement('tr');
    cell(tr, `#${e.seq}`, deletionHeaders[0], 'num');
    cell(tr, formatDateTime(e.deletedAt), deletionHeaders[1]);
    cell(tr, '', deletionHeaders[2]).replaceChildren(proofButton(e.recordingId));
    cell(tr, e.source, deletionHeaders[3]);
    cell(tr, label(REASON_KEYS, e.reason), deletionHeaders[4]);
    cell(tr, e.actor, deletionHeaders[5]);
    cell(tr, e.reference, deletionHeaders[6]);
    cell(tr, e.verified ? t('audit.absenceVerified') : t('audit.absenceNotVerified'), deletionHeaders[7]);
    return tr;
  },
});

const accessHeaders = headersOf('access-table');
const loadAccess = pagedTable({
  path: '/v1/access-log',
  form: 'access-filters',
  prefix: 'a',
  table: 'access-table',
  status: 'access-status',
  error: 'access-error',
  csv: 'access-csv',
  prev: 'access-prev',
  next: 'access-next',
  render: (e) => {
    const tr = document.createElement('tr');
    cell(tr, formatDateTime(e.at, { seconds: true }), accessHeaders[0]);
    cell(tr, e.username, accessHeaders[1]);
    cell(tr, e.role, accessHeaders[2]);
    cell(tr, label(ACTION_KEYS, e.action), accessHeaders[3]);
    const rec = cell(tr, '', accessHeaders[4]);
    if (e.recordingId) rec.replaceChildren(proofButton(e.recordingId));
    else rec.textContent = '—';
    cell(tr, e.requestId, accessHeaders[5], 'mono');
    return tr;
  },
});

$('verify-again').addEventListener('click', () => void verifyChain());
$('proof-form').addEventListener('submit', (event) => {
  event.preventDefault();
  if ($('proof-form').reportValidity()) void showProof($('proof-id').value.trim());
});

try {
  await initLayout({ active: '/audit', roles: ['auditor', 'admin'] });
  await loadCheckpoints().catch((e) => showError($('chain-error'), e));
  const proof = new URLSearchParams(location.search).get('proof');
  await Promise.all([verifyChain(), loadDeletions(), loadAccess()]);
  if (proof) {
    $('proof-id').value = proof;
    await showProof(proof);
  }
} catch (error) {
  if (error?.status !== 401 && error?.status !== 403) showError($('chain-error'), error);
}
