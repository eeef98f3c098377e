/* global location, URLSearchParams */
/** The second step of a sign-in: a TOTP code (or a recovery code) for the step session the password started. */
import { api, ApiError, bindLanguageSwitch } from '/assets/layout.js';
import { applyI18n, t, tn } from '/assets/i18n.js';

applyI18n();
bindLanguageSwitch();

const form = document.getElementById('code-form');
const error = document.getElementById('code-error');

function safeNext() {
  const next = new URLSearchParams(location.search).get('next') ?? '';
  return /^\/(?!\/)[^\\]*$/.test(next) && !next.startsWith('/login') ? next : '/recordings';
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  error.hidden = true;
  const button = form.querySelector('button[type=submit]');
  button.disabled = true;
  try {
    const code = new window.FormData(form).get('code');
    const answer = await api('/v1/session/code', { method: 'POST', body: { code }, allowAnonymous: true });
    if (answer?.recoveryCodesLeft !== undefined && answer.recoveryCodesLeft < 3) {
      window.alert(tn('signinCode.recoveryLeft', answer.recoveryCodesLeft));
    }
    location.assign(safeNext());
  } catch (e) {
    if (e instanceof ApiError && e.status === 401 && e.problem?.code !== 'invalid_code') {
      location.assign(`/login?${new URLSearchParams({ next: safeNext() })}`);
      return;
    }
    error.textContent =
      e instanceof ApiError && e.status === 429
        ? t('signin.tooManyCodes')
        : e instanceof ApiError && e.status === 401
          ? t('signinCode.wrongCode')
          : t('login.failed');
    error.hidden = false;
    button.disabled = false;
    form.querySelector('#code').select();
  }
});
document.getElementById('code').focus();
