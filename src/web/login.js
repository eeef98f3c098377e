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
    const answer = await api('/v1/session', {
      method: 'POST',
      body: { username: data.get('username'), password: data.get('password') },
      allowAnonymous: true,
    });
    try {
      sessionStorage.removeItem(EXPIRED_FLAG);
    } catch {
      // nothing to clear
    }
    // A second factor awaited: the code step or enrolment (own pages), then on to `next`.
    const step = { code: '/signin-code', enrol: '/enrol' }[answer?.next];
    location.assign(
      step ? `${step}?${new URLSearchParams({ next: safeNext(answer?.user?.role) })}` : safeNext(answer?.user?.role),
    );
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

// Single sign-on, when configured: a button to the provider; a failed attempt comes back with ?error=sso.
api('/v1/session/providers', { allowAnonymous: true }).then(
  (providers) => {
    if (providers?.oidc) {
      const link = document.getElementById('sso-link');
      link.textContent = t('login.sso', { name: providers.oidc.name });
      link.href = `${providers.oidc.loginUrl}?${new URLSearchParams({ next: safeNext() })}`;
      document.getElementById('sso').hidden = false;
    }
    if (providers?.localLogin === 'off') form.hidden = true;
  },
  () => {},
);
const ssoError = new URLSearchParams(location.search).get('error');
if (ssoError) {
  error.textContent = ssoError === 'sso-no-role' ? t('login.ssoNoRole') : t('login.ssoFailed');
  error.hidden = false;
}
