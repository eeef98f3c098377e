/* global location, URLSearchParams, sessionStorage */
import { api, ApiError, bindLanguageSwitch, EXPIRED_FLAG, HOME } from '/assets/layout.js';
import { applyI18n, t } from '/assets/i18n.js';

applyI18n();
bindLanguageSwitch();
const form = document.getElementById('login-form');
const error = document.getElementById('login-error');
const notice = document.getElementById('login-notice');

try {
  if (sessionStorage.getItem(EXPIRED_FLAG)) {
    notice.textContent = t('login.expired');
    notice.hidden = false;
  }
} catch {
  // no storage: no message
}

/** The page to return to: a same-site path only (never an absolute or protocol-relative URL), else the role's home. */
function safeNext(role) {
  const next = new URLSearchParams(location.search).get('next') ?? '';
  return /^\/(?!\/)[^\\]*$/.test(next) && !next.startsWith('/login') && next !== '/' && next !== '/recordings'
    ? next
    : (HOME[role] ?? '/recordings');
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  error.hidden = true;
  const data = new window.FormData(form);
  const button = form.querySelector('button[type=submit]');
  button.disabled = true;
  try {
    const session = await api('/v1/session', {
      method: 'POST',
      body: { username: data.get('username'), password: data.get('password') },
      allowAnonymous: true,
    });
    try {
      sessionStorage.removeItem(EXPIRED_FLAG);
    } catch {
      // nothing to clear
    }
    location.assign(safeNext(session?.user?.role));
  } catch (e) {
    error.textContent =
      e instanceof ApiError && e.status === 429
        ? t('login.tooMany')
        : e instanceof ApiError && e.status === 401
          ? t('login.wrong')
          : t('login.failed');
    error.hidden = false;
    button.disabled = false;
    form.querySelector('#password').select();
  }
});
document.getElementById('username').focus();
