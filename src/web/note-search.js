/* global URLSearchParams */
/**
 * The note search of the recordings page (`GET /v1/notes`): words, author and the dates the notes
 * were written (days in the call center's zone). Each hit links to its recording and says where in
 * the call the note sits, who wrote it and when; never a phone number (the API sends none).
 */
import { api, formatClock, formatDateTime, showError, t } from '/assets/layout.js';
import { tn, zonedMidnight } from '/assets/i18n.js';

/** The API query for the search form's values (pure). */
export function noteSearchQuery(values, cursor) {
  const q = new URLSearchParams();
  if (values.q) q.set('q', values.q);
  if (values.author) q.set('author', values.author);
  if (values.from) q.set('from', zonedMidnight(values.from));
  if (values.to) q.set('to', zonedMidnight(values.to, 1));
  if (cursor) q.set('cursor', cursor);
  q.set('limit', '50');
  return q;
}

function hit(note) {
  const li = document.createElement('li');
  const link = document.createElement('a');
  link.href = `/recordings/${encodeURIComponent(note.recordingId)}`;
  const rec = note.recording;
  link.textContent = t('noteSearch.call', {
    at: formatDateTime(rec.startedAt),
    agent: rec.agentId ?? t('common.unknown'),
    queue: rec.queue ?? t('common.unknown'),
  });
  const where = document.createElement('span');
  where.className = 'note-time';
  where.textContent = formatClock(note.offsetMs);
  const text = document.createElement('span');
  text.className = 'note-text';
  text.textContent = note.text;
  const by = document.createElement('span');
  by.className = 'note-author muted small';
  by.textContent = t('noteSearch.by', { author: note.author, at: formatDateTime(note.createdAt) });
  li.append(link, where, text, by);
  return li;
}

/** Binds the search form; results go to the list under it and are announced in its status region. */
export function bindNoteSearch() {
  const form = document.getElementById('note-search');
  const list = document.getElementById('note-results');
  const status = document.getElementById('note-search-status');
  const errorBox = document.getElementById('note-search-error');
  const more = document.getElementById('note-more');
  let values = {};
  let cursor = null;
  const search = async (append) => {
    errorBox.hidden = true;
    status.textContent = t('common.loading');
    try {
      const page = await api(`/v1/notes?${noteSearchQuery(values, append ? cursor : null)}`);
      if (!append) list.replaceChildren();
      for (const note of page.items) list.append(hit(note));
      cursor = page.nextCursor;
      more.hidden = !cursor;
      const n = list.children.length;
      status.textContent = n === 0 ? t('noteSearch.none') : tn(cursor ? 'noteSearch.foundMore' : 'noteSearch.found', n);
    } catch (error) {
      status.textContent = '';
      if (error?.status === 401) return;
      showError(errorBox, error);
    }
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    values = Object.fromEntries(
      [...form.elements].filter((el) => el.name && el.value.trim() !== '').map((el) => [el.name, el.value.trim()]),
    );
    void search(false);
  });
  more.addEventListener('click', () => void search(true));
}
