/**
 * The administrator's pages: users (add with a generated password shown once, display name,
 * queues for trainers, disable/enable, reset password) and API tokens (create, shown once;
 * revoke). The rules are the CLI's, enforced by the API (src/auth/admin-routes.ts); a refusal is
 * shown in the section's own status region. Passwords and tokens are shown once in the page and
 * never stored by it.
 */
import { api, formatDateTime, initLayout, showError, t } from '/assets/layout.js';

const $ = (id) => document.getElementById(id);
const ROLE_KEYS = {
  trainer: 'role.trainer',
  auditor: 'role.auditor',
  privacy: 'role.privacy',
  admin: 'role.admin',
  agent: 'role.agent',
};
let me = null;
let users = [];
let editing = null;

const parseQueues = (text) => {
  const list = text
    .split(',')
    .map((q) => q.trim())
    .filter(Boolean);
  return list.length ? list : null;
};

/** A section's result: a message (and a secret shown once), announced by its status region. */
function report(section, { message = '', secretLabel = '', secret = '', error } = {}) {
  $(`${section}-status`).textContent = message;
  $(`${section}-status`).hidden = !message;
  $(`${section}-secret-label`).textContent = secretLabel;
  $(`${section}-secret-value`).textContent = secret;
  $(`${section}-secret`).hidden = !secret;
  $(`${section}-error`).hidden = true;
  if (error) showError($(`${section}-error`), error);
}

function cell(tr, text, header, className) {
  const td = document.createElement('td');
  td.textContent = text ?? '—';
  td.dataset.label = header;
  if (className) td.className = className;
  tr.append(td);
  return td;
}

function button(label, onClick, { className = '', ariaLabel } = {}) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  if (className) b.className = className;
  if (ariaLabel) b.setAttribute('aria-label', ariaLabel);
  b.addEventListener('click', onClick);
  return b;
}

const headersOf = (table) => [...document.querySelectorAll(`#${table} thead th`)].map((th) => th.textContent);

/** The queues column: a trainer's queues, an agent's agent id, else a dash. */
function scopeText(user) {
  if (user.role === 'trainer') return user.queues?.join(', ') ?? t('admin.allQueues');
  if (user.role === 'agent') return t('admin.agentOf', { agent: user.agentId ?? '' });
  return '—';
}

function renderUsers() {
  const headers = headersOf('user-table');
  $('user-table')
    .querySelector('tbody')
    .replaceChildren(
      ...users.map((u) => {
        const tr = document.createElement('tr');
        tr.dataset.username = u.username;
        cell(tr, u.username, headers[0], 'mono');
        cell(tr, u.displayName, headers[1]);
        cell(tr, t(ROLE_KEYS[u.role] ?? 'role.unknown'), headers[2]);
        cell(tr, scopeText(u), headers[3]);
        cell(tr, u.disabled ? t('admin.disabled') : t('admin.active'), headers[4]);
        const td = cell(tr, '', headers[5]);
        const actions = document.createElement('div');
        actions.className = 'row-actions';
        actions.append(
          button(t('admin.edit'), () => openEdit(u), { ariaLabel: t('admin.editOf', { user: u.username }) }),
          button(t('admin.resetPassword'), () => void resetPassword(u), {
            ariaLabel: t('admin.resetPasswordOf', { user: u.username }),
          }),
        );
        if (u.username === me) {
          const why = document.createElement('span');
          why.className = 'muted small';
          why.textContent = t('admin.cannotDisableSelf');
          actions.append(why);
        } else {
          actions.append(
            button(u.disabled ? t('admin.enable') : t('admin.disable'), () => void setDisabled(u, !u.disabled), {
              className: u.disabled ? '' : 'danger',
              ariaLabel: t(u.disabled ? 'admin.enableOf' : 'admin.disableOf', { user: u.username }),
            }),
          );
        }
        td.replaceChildren(actions);
        return tr;
      }),
    );
  const select = $('t-user');
  const chosen = select.value;
  select.replaceChildren(
    ...users
      .filter((u) => !u.disabled)
      .map((u) => {
        const option = document.createElement('option');
        option.value = u.username;
        option.textContent = u.displayName ? `${u.username} (${u.displayName})` : u.username;
        return option;
      }),
  );
  if (chosen) select.value = chosen;
}

async function loadUsers() {
  users = (await api('/v1/users')).items;
  renderUsers();
}

async function loadTokens() {
  const headers = headersOf('token-table');
  const { items } = await api('/v1/tokens');
  $('token-table')
    .querySelector('tbody')
    .replaceChildren(
      ...items.map((tok) => {
        const tr = document.createElement('tr');
        tr.dataset.id = tok.id;
        cell(tr, tok.name, headers[0]);
        cell(tr, tok.username, headers[1], 'mono');
        cell(tr, formatDateTime(tok.createdAt), headers[2]);
        cell(tr, tok.lastUsedAt ? formatDateTime(tok.lastUsedAt) : t('admin.never'), headers[3]);
        cell(
          tr,
          tok.revokedAt ? t('admin.revokedAt', { at: formatDateTime(tok.revokedAt) }) : t('admin.active'),
          headers[4],
        );
        const td = cell(tr, '', headers[5]);
        if (tok.revokedAt) td.textContent = '';
        else
          td.replaceChildren(
            button(t('admin.revoke'), () => void revoke(tok), {
              className: 'danger',
              ariaLabel: t('admin.revokeOf', { name: tok.name, user: tok.username }),
            }),
          );
        return tr;
      }),
    );
}

async function resetPassword(user) {
  try {
    const { password } = await api(`/v1/users/${encodeURIComponent(user.username)}/password`, { method: 'POST' });
    report('users', {
      message: t('admin.passwordReset', { user: user.username }),
      secretLabel: t('admin.passwordOnce'),
      secret: password,
    });
  } catch (error) {
    report('users', { error });
  }
}

async function setDisabled(user, disabled) {
  try {
    await api(`/v1/users/${encodeURIComponent(user.username)}`, { method: 'PATCH', body: { disabled } });
    await loadUsers();
    report('users', { message: t(disabled ? 'admin.userDisabled' : 'admin.userEnabled', { user: user.username }) });
  } catch (error) {
    report('users', { error });
  }
}

async function revoke(token) {
  try {
    await api(`/v1/tokens/${encodeURIComponent(token.id)}`, { method: 'DELETE' });
    await loadTokens();
    report('tokens', { message: t('admin.tokenRevoked', { name: token.name, user: token.username }) });
  } catch (error) {
    report('tokens', { error });
  }
}

function openEdit(user) {
  editing = user;
  $('edit-title').textContent = t('admin.editOf', { user: user.username });
  $('e-display').value = user.displayName ?? '';
  $('e-queues').value = user.queues?.join(', ') ?? '';
  const trainer = user.role === 'trainer';
  $('e-queues').disabled = !trainer;
  $('e-queues-help').textContent = trainer ? t('admin.queuesHelp') : t('admin.queuesOnlyTrainers');
  $('edit-error').hidden = true;
  $('edit-dialog').showModal();
  $('e-display').focus();
}

$('edit-cancel').addEventListener('click', () => $('edit-dialog').close());
$('edit-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const body = { displayName: $('e-display').value.trim() || null };
  if (editing.role === 'trainer') body.queues = parseQueues($('e-queues').value);
  try {
    await api(`/v1/users/${encodeURIComponent(editing.username)}`, { method: 'PATCH', body });
    $('edit-dialog').close();
    await loadUsers();
    report('users', { message: t('admin.userSaved', { user: editing.username }) });
  } catch (error) {
    showError($('edit-error'), error);
  }
});

/**
 * Queues apply only to trainers, an agent id only (and always) to agents: the fields say so in text when another
 * role is chosen.
 */
function syncQueueField() {
  const trainer = $('u-role').value === 'trainer';
  $('u-queues').disabled = !trainer;
  $('u-queues-help').textContent = trainer ? t('admin.queuesHelp') : t('admin.queuesOnlyTrainers');
  const agent = $('u-role').value === 'agent';
  $('u-agent').disabled = !agent;
  $('u-agent').required = agent;
  $('u-agent-help').textContent = agent ? t('admin.agentIdHelp') : t('admin.agentIdOnlyAgents');
}
$('u-role').addEventListener('change', syncQueueField);

$('user-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = $('user-form');
  if (!form.reportValidity()) return;
  const role = $('u-role').value;
  const body = { username: $('u-name').value.trim(), role };
  const displayName = $('u-display').value.trim();
  if (displayName) body.displayName = displayName;
  if (role === 'trainer') body.queues = parseQueues($('u-queues').value);
  if (role === 'agent') body.agentId = $('u-agent').value.trim();
  try {
    const { user, password } = await api('/v1/users', { method: 'POST', body });
    form.reset();
    syncQueueField();
    await loadUsers();
    report('users', {
      message: t('admin.userAdded', { user: user.username }),
      secretLabel: t('admin.passwordOnce'),
      secret: password,
    });
  } catch (error) {
    report('users', { error });
  }
});

$('token-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const body = { username: $('t-user').value };
  const name = $('t-name').value.trim();
  if (name) body.name = name;
  try {
    const created = await api('/v1/tokens', { method: 'POST', body });
    $('t-name').value = '';
    await loadTokens();
    report('tokens', {
      message: t('admin.tokenCreated', { name: created.name, user: created.username }),
      secretLabel: t('admin.tokenOnce'),
      secret: created.token,
    });
  } catch (error) {
    report('tokens', { error });
  }
});

try {
  const session = await initLayout({ active: '/admin', roles: ['admin'] });
  me = session.user.username;
  syncQueueField();
  await Promise.all([loadUsers(), loadTokens()]);
} catch (error) {
  if (error?.status !== 401 && error?.status !== 403) report('users', { error });
}
