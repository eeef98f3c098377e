/* global location, URLSearchParams */
/**
 * Shared layout of every UI page: the header (brand, main navigation, who is
 * signed in, sign out), the API helper and formatting helpers.
 *
 * How a page uses it (the privacy page, `privacy.html`/`privacy.js`, included):
 *   1. copy the <header class="site-header"> … </header> block and the skip link
 *      of recordings.html into the page, with <main id="main">;
 *      link /assets/app.css and load the page module with
 *      <script type="module" src="/assets/<page>.js"></script>
 *   2. in the module: `const session = await initLayout({ active: '/privacy' });`
 *      (redirects to /login when signed out; returns { user: {username, role, queues} })
 *   3. call the API with `api(path, { method, body })` (JSON in, JSON out; throws ApiError).
 * The navigation is the NAV table below: one entry per page, shown to the listed roles.
 */

export const NAV = [
  { href: '/recordings', label: 'Recordings', roles: ['trainer', 'privacy', 'admin'] },
  { href: '/privacy', label: 'Privacy', roles: ['privacy', 'admin'] },
];

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.title ?? `HTTP ${status}`);
    this.status = status;
    this.problem = problem ?? {};
  }
}

function toLogin() {
  const next = location.pathname + location.search;
  location.assign(`/login?${new URLSearchParams({ next })}`);
}

/** fetch + JSON: same-origin cookie; state-changing requests carry Origin (the browser adds it). */
export async function api(path, options = {}) {
  const init = { method: options.method ?? 'GET', credentials: 'same-origin', headers: { accept: 'application/json' } };
  if (options.body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(options.body);
  }
  const res = await fetch(path, init);
  if (res.status === 401 && !options.allowAnonymous) {
    toLogin();
    throw new ApiError(401, { title: 'Signed out' });
  }
  if (res.status === 204) return undefined;
  const text = await res.text();
  const body = text ? JSON.parse(text) : undefined;
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}

/** Fills the header; returns the session or redirects to /login. */
export async function initLayout({ active }) {
  const session = await api('/v1/session');
  const nav = document.getElementById('site-nav');
  const list = document.createElement('ul');
  for (const item of NAV) {
    if (!item.roles.includes(session.user.role)) continue;
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = item.href;
    a.textContent = item.label;
    if (item.href === active) a.setAttribute('aria-current', 'page');
    li.append(a);
    list.append(li);
  }
  nav.replaceChildren(list);
  document.getElementById('whoami').textContent = `${session.user.username} (${session.user.role})`;
  document.getElementById('sign-out').addEventListener('click', async () => {
    const answer = await api('/v1/session', { method: 'DELETE', allowAnonymous: true });
    // Signed in through the identity provider: sign out there too (RP-initiated logout).
    location.assign(answer?.logoutUrl ?? '/login');
  });
  document.body.classList.add('ready');
  return session;
}

/** 75000 → "1:15"; 3723000 → "1:02:03". */
export function formatClock(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
export function formatDateTime(iso) {
  return dateTime.format(new Date(iso));
}

/** "Silent", "One-way audio" (flags read from the peaks at ingest), or null when none. */
export function formatQualityFlags(flags) {
  const names = { silent: 'Silent', one_way: 'One-way audio' };
  return flags?.length ? flags.map((flag) => names[flag] ?? flag).join(', ') : null;
}

/** "Deleted in 12 days" / "in 5 hours" / "On legal hold": the time left before deletion. */
export function formatTimeLeft(recording, now = Date.now()) {
  if (recording.legalHold) return 'On legal hold';
  const left = Date.parse(recording.expiresAt) - now;
  if (left <= 0) return 'Deletion due now';
  const hours = left / 3_600_000;
  if (hours >= 48) return `Deleted in ${Math.floor(hours / 24)} days`;
  if (hours >= 1) return `Deleted in ${Math.floor(hours)} h`;
  return `Deleted in ${Math.max(1, Math.floor(left / 60_000))} min`;
}

/** Renders an error into a live region (role=alert) of the page. */
export function showError(element, error) {
  element.textContent =
    error instanceof ApiError
      ? (error.problem.detail ?? error.problem.title ?? error.message)
      : 'Something went wrong. Try again.';
  element.hidden = false;
}
