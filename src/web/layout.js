/* global location, URLSearchParams, sessionStorage */
/**
 * Shared layout of every UI page: the header (brand, main navigation, who is
 * signed in, language switch, sign out), the API helper and formatting helpers.
 *
 * How a page uses it (the privacy page, `privacy.html`/`privacy.js`, included):
 *   1. copy the <header class="site-header"> … </header> block and the skip link
 *      of recordings.html into the page, with <main id="main">;
 *      link /assets/app.css and load the page module with
 *      <script type="module" src="/assets/<page>.js"></script>
 *   2. write every text as `data-i18n="key"` with the key in both catalogues (i18n-en.js, i18n-nl.js)
 *   3. in the module: `const session = await initLayout({ active: '/privacy' });`
 *      (redirects to /login when signed out; returns { user: {username, role, queues} })
 *   4. call the API with `api(path, { method, body })` (JSON in, JSON out; throws ApiError).
 * The navigation is the NAV table below: one entry per page, shown to the listed roles.
 */
import {
  applyI18n,
  formatDateTime,
  lang,
  problemMessage,
  switchLanguage,
  t,
  timeZone,
  zonedMidnight,
} from '/assets/i18n.js';
import { upgradeDateInputs } from '/assets/date-input.js';

export { formatDateTime, t };

// Translate the page as soon as the layout loads: page modules (which import this one) then read
// translated headers and labels, and (in Dutch) date fields for dd-mm-jjjj.
applyI18n();
upgradeDateInputs();

export const NAV = [
  { href: '/recordings', key: 'nav.recordings', roles: ['trainer', 'privacy', 'admin'] },
  { href: '/privacy', key: 'nav.privacy', roles: ['privacy', 'admin'] },
  { href: '/audit', key: 'nav.audit', roles: ['auditor', 'admin'] },
  { href: '/admin', key: 'nav.admin', roles: ['admin'] },
  { href: '/evaluations', key: 'nav.evaluations', roles: ['trainer', 'admin', 'agent'] },
  { href: '/scorecards', key: 'nav.scorecards', roles: ['trainer', 'admin', 'agent'] },
  { href: '/forms', key: 'nav.forms', roles: ['admin'] },
];

/** Where each role lands after signing in (and when it opens a page not meant for it). */
export const HOME = {
  trainer: '/recordings',
  privacy: '/privacy',
  auditor: '/audit',
  admin: '/admin',
  // An agent reads the evaluations of their own calls (and plays those calls from there).
  agent: '/evaluations',
};

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.title ?? `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem ?? {};
  }
}

/** sessionStorage key of the message the sign-in page shows after a session ran out. */
export const EXPIRED_FLAG = 'callrec.sessionExpired';

function toLogin(expired) {
  const next = location.pathname + location.search;
  try {
    if (expired) sessionStorage.setItem(EXPIRED_FLAG, '1');
  } catch {
    // no message then; the sign-in still brings the user back
  }
  location.assign(`/login?${new URLSearchParams({ next })}`);
}

/** True once a page of this tab has been shown signed in (so a later 401 is an expired session). */
let signedIn = false;

/** fetch + JSON: same-origin cookie; state-changing requests carry Origin (the browser adds it). */
export async function api(path, options = {}) {
  const init = { method: options.method ?? 'GET', credentials: 'same-origin', headers: { accept: 'application/json' } };
  if (options.signal) init.signal = options.signal;
  if (options.body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(options.body);
  }
  const res = await fetch(path, init);
  if (res.status === 401 && !options.allowAnonymous) {
    options.beforeSignIn?.();
    toLogin(signedIn);
    throw new ApiError(401, { code: 'unauthenticated' });
  }
  if (res.status === 204) return undefined;
  const text = await res.text();
  let body;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}

/** The language switch of the header: a button naming the other language, in that language. */
export function bindLanguageSwitch() {
  const button = document.getElementById('lang-switch');
  if (!button) return;
  const other = lang === 'nl' ? 'en' : 'nl';
  button.textContent = other === 'nl' ? 'Nederlands' : 'English';
  button.lang = other;
  button.title = t('header.switchLanguage');
  button.addEventListener('click', () => switchLanguage(other));
}

/** Translates the page; fills the header; returns the session or redirects to /login. */
export async function initLayout({ active, roles }) {
  applyI18n();
  bindLanguageSwitch();
  const zone = document.getElementById('time-zone');
  if (zone) zone.textContent = t('header.timeZone', { zone: timeZone });
  const session = await api('/v1/session');
  signedIn = true;
  if (roles && !roles.includes(session.user.role)) {
    location.replace(HOME[session.user.role] ?? '/recordings');
    throw new ApiError(403, { code: 'forbidden' });
  }
  const nav = document.getElementById('site-nav');
  const list = document.createElement('ul');
  for (const item of NAV) {
    if (!item.roles.includes(session.user.role)) continue;
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = item.href;
    a.textContent = t(item.key);
    if (item.href === active) a.setAttribute('aria-current', 'page');
    li.append(a);
    list.append(li);
  }
  nav.replaceChildren(list);
  document.getElementById('whoami').textContent = t('header.whoami', {
    user: session.user.username,
    role: t(ROLE_KEYS[session.user.role] ?? 'role.unknown'),
  });
  document.getElementById('sign-out').addEventListener('click', async () => {
    const answer = await api('/v1/session', { method: 'DELETE', allowAnonymous: true });
    // Signed in through the identity provider: sign out there too (RP-initiated logout).
    location.assign(answer?.logoutUrl ?? '/login');
  });
  document.body.classList.add('ready');
  return session;
}

const ROLE_KEYS = {
  trainer: 'role.trainer',
  auditor: 'role.auditor',
  privacy: 'role.privacy',
  admin: 'role.admin',
  agent: 'role.agent',
};

/** 75000 → "1:15"; 3723000 → "1:02:03". */
export function formatClock(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

const FLAG_KEYS = { silent: 'flag.silent', one_way: 'flag.one_way' };
/** "Silent", "One-way audio" (flags read from the peaks at ingest), or null when none. */
export function formatQualityFlags(flags) {
  return flags?.length ? flags.map((flag) => (FLAG_KEYS[flag] ? t(FLAG_KEYS[flag]) : flag)).join(', ') : null;
}

const DIRECTION_KEYS = { inbound: 'direction.inbound', outbound: 'direction.outbound' };
export function formatDirection(direction) {
  return direction ? (DIRECTION_KEYS[direction] ? t(DIRECTION_KEYS[direction]) : direction) : null;
}

/** "Deleted in 12 days" / "in 5 hours" / "On legal hold": the time left before deletion. */
export function formatTimeLeft(recording, now = Date.now()) {
  if (recording.legalHold) return t('retention.onHold');
  const left = Date.parse(recording.expiresAt) - now;
  if (left <= 0) return t('retention.dueNow');
  const hours = left / 3_600_000;
  if (hours >= 48) return t('retention.inDays', { n: Math.floor(hours / 24) });
  if (hours >= 1) return t('retention.inHours', { n: Math.floor(hours) });
  return t('retention.inMinutes', { n: Math.max(1, Math.floor(left / 60_000)) });
}

/** Renders an error into a live region (role=alert) of the page, in the page's language. */
export function showError(element, error) {
  element.textContent = problemMessage(error);
  element.hidden = false;
}

/**
 * The `/v1/recordings` query of the list's filters (the page address); dates are whole days in the call center's zone.
 */
export function recordingsQuery(params, limit = 50) {
  const q = new URLSearchParams();
  const from = params.get('from');
  const to = params.get('to');
  if (from) q.set('from', zonedMidnight(from));
  if (to) q.set('to', zonedMidnight(to, 1));
  for (const name of ['agentId', 'queue', 'direction', 'qualityFlag'])
    if (params.get(name)) q.set(name, params.get(name).trim());
  if (params.get('minSeconds')) q.set('minDurationMs', String(Math.round(Number(params.get('minSeconds')) * 1000)));
  if (params.get('maxSeconds')) q.set('maxDurationMs', String(Math.round(Number(params.get('maxSeconds')) * 1000)));
  q.set('limit', String(limit));
  return q;
}
