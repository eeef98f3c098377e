/* global location, URLSearchParams */
/** Enrolment of a TOTP second factor: the key and its QR code once, a first code, then the recovery codes once. */
import { api, ApiError, bindLanguageSwitch } from '/assets/layout.js';
import { applyI18n, t } from '/assets/i18n.js';

applyI18n();
bindLanguageSwitch();

const form = document.getElementById('enrol-form');
const error = document.getElementById('enrol-error');

function safeNext() {
  const next = new URLSearchParams(location.search).get('next') ?? '';
  return /^\/(?!\/)[^\\]*$/.test(next) && !next.startsWith('/login') ? next : '/recordings';
}

async function start() {
  try {
    const enrolment = await api('/v1/session/enrolment', { method: 'POST', allowAnonymous: true });
    document.getElementById('enrol-qr').src = enrolment.qrDataUrl;
    document.getElementById('enrol-secret').textContent = enrolment.secret.replace(/(.{4})/g, '$1 ').trim();
    document.getElementById('code').focus();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      location.assign(`/login?${new URLSearchParams({ next: safeNext() })}`);
      return;
    }
    error.textContent = e instanceof ApiError && e.status === 409 ? t('enrol.already') : t('enrol.startFailed');
    error.hidden = false;
  }
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  error.hidden = true;
  const button = form.querySelector('button[type=submit]');
  button.disabled = true;
  try {
    const code = new window.FormData(form).get('code');
    const answer = await api('/v1/session/enrolment/confirm', { method: 'POST', body: { code }, allowAnonymous: true });
    const list = document.getElementById('recovery-codes');
    for (const recovery of answer.recoveryCodes) {
      const item = document.createElement('li');
      const text = document.createElement('code');
      text.textContent = recovery;
      item.append(text);
      list.append(item);
    }
    document.getElementById('continue').href = safeNext();
    document.getElementById('enrol-step').hidden = true;
    document.getElementById('recovery-step').hidden = false;
    // Switching the language reloads the page, which would lose the codes shown only now.
    document.getElementById('lang-switch').hidden = true;
  } catch (e) {
    error.textContent =
      e instanceof ApiError && e.status === 429
        ? t('signin.tooManyCodes')
        : e instanceof ApiError && e.status === 401
          ? t('enrol.wrongCode')
          : t('enrol.confirmFailed');
    error.hidden = false;
    button.disabled = false;
  }
});
start();
