/* global location, URLSearchParams */
import { api, ApiError } from '/assets/layout.js';

const form = document.getElementById('login-form');
const error = document.getElementById('login-error');

function safeNext() {
  const next = new URLSearchParams(location.search).get('next') ?? '';
  // Only same-site paths: never an absolute or protocol-relative URL.
  return /^\/(?!\/)[^\\]*$/.test(next) && !next.startsWith('/login') ? next : '/recordings';
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
    // A second factor awaited: the code step or enrolment (own pages), then on to `next`.
    const step = { code: '/signin-code', enrol: '/enrol' }[answer?.next];
    location.assign(step ? `${step}?${new URLSearchParams({ next: safeNext() })}` : safeNext());
  } catch (e) {
    error.textContent =
      e instanceof ApiError && e.status === 429
        ? 'Too many attempts. Wait a few minutes and try again.'
        : e instanceof ApiError && e.status === 401
          ? 'Wrong username or password.'
          : 'Sign-in failed. Try again.';
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
      link.textContent = `Sign in with ${providers.oidc.name}`;
      link.href = `${providers.oidc.loginUrl}?${new URLSearchParams({ next: safeNext() })}`;
      document.getElementById('sso').hidden = false;
    }
    if (providers?.localLogin === 'off') form.hidden = true;
  },
  () => {},
);
const ssoError = new URLSearchParams(location.search).get('error');
if (ssoError) {
  error.textContent =
    ssoError === 'sso-no-role'
      ? 'Your account has no role in callrec. Ask an admin.'
      : 'Single sign-on failed. Try again.';
  error.hidden = false;
}
