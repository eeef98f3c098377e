/* global location, AudioContext, CSSStyleSheet, ShadowRoot, URLSearchParams, sessionStorage */
/**
 * The player: waveform (wavesurfer.js drawing the peaks the API serves, on our
 * own <audio> element, so the browser streams the audio with Range requests),
 * play/pause, click and keyboard seeking, speed, per-channel mute for stereo
 * calls (Web Audio: splitter → gain per channel → both ears), notes on the timeline.
 *
 * Keyboard anywhere on the page but in text fields: Space/K play-pause, J/L ∓10 s, ←/→ ∓5 s,
 * [ ] speed, N a new note at the current time (pauses), +/- zoom in/out (zoom.js), ? the help overlay.
 * A note is stamped when it is started (N, or the first keystroke), not when it is saved. The
 * typed note is kept in sessionStorage until saved, so an expired session loses nothing: the
 * sign-in page brings the trainer back here and the draft is restored with a message.
 */
import WaveSurfer from '/vendor/wavesurfer.esm.js';
import {
  api,
  formatClock,
  formatDateTime,
  formatDirection,
  formatQualityFlags,
  formatTimeLeft,
  initLayout,
  recordingsQuery,
  showError,
  t,
} from '/assets/layout.js';
import { tn } from '/assets/i18n.js';
import { rulerStep, silentStretches, skipTarget } from '/assets/peaks.js';
import { createZoom } from '/assets/zoom.js';
import { mountEvaluationPanel } from '/assets/evaluation-panel.js';

const SEEK_STEP_S = 5;
const JUMP_S = 10;
const SPEEDS = ['0.75', '1', '1.25', '1.5', '1.75', '2'];
/** Waveform colours, each ≥ 3:1 against the waveform's background #fbfcfe (see app.css). */
const COLORS = {
  agent: { waveColor: '#4f6f9f', progressColor: '#1f3f70' },
  customer: { waveColor: '#7b5aa6', progressColor: '#4b2a7a' },
  muted: { waveColor: '#808a98', progressColor: '#5f6876' },
};
const id = decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() ?? '');
const draftKey = `callrec.noteDraft.${id}`;
const $ = (sel) => document.getElementById(sel);
const audio = $('audio');
const waveEl = $('waveform');
const playButton = $('play');

function definition(dl, term, value) {
  const pair = document.createElement('div');
  const dt = document.createElement('dt');
  dt.textContent = term;
  const dd = document.createElement('dd');
  dd.textContent = value ?? '—';
  pair.append(dt, dd);
  dl.append(pair);
}

/**
 * wavesurfer's shadow-root styles arrive as an inert <template class="ws-style"> (the server
 * rewrites its inline <style>, which the strict CSP would block); adopt them as a constructed
 * stylesheet, which the CSP allows.
 */
function adoptShadowStyles(ws) {
  const root = ws.getWrapper().getRootNode();
  if (!(root instanceof ShadowRoot)) return;
  const style = root.querySelector('template.ws-style') ?? root.querySelector('style');
  if (!style) return;
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(style.content?.textContent ?? style.textContent);
  root.adoptedStyleSheets = [sheet];
}

/** The label of a redacted span's kind (pause, dtmf, manual). */
const redactionKind = (kind) =>
  ({ pause: t('redaction.pause'), dtmf: t('redaction.dtmf'), manual: t('redaction.manual') })[kind] ?? kind;

/**
 * Greys out the recording's redacted spans (silenced card data) over the waveform, each labelled
 * with its kind. Styles are set through the CSSOM (the CSP allows no inline style attributes).
 */
function drawRedactions(container, redactions, durationMs) {
  if (!redactions?.length || !(durationMs > 0)) return;
  const layer = document.createElement('div');
  layer.className = 'redactions';
  layer.setAttribute('aria-hidden', 'true');
  Object.assign(layer.style, { position: 'absolute', inset: '0', pointerEvents: 'none', zIndex: '3' });
  for (const r of redactions) {
    const span = document.createElement('div');
    span.className = `redaction redaction-${r.kind}`;
    span.dataset.kind = r.kind;
    span.textContent = redactionKind(r.kind);
    Object.assign(span.style, {
      position: 'absolute',
      top: '0',
      bottom: '0',
      left: `${(r.startMs / durationMs) * 100}%`,
      width: `${Math.max(0.3, ((r.endMs - r.startMs) / durationMs) * 100)}%`,
      background: 'repeating-linear-gradient(135deg, rgba(90,90,90,0.55) 0 4px, rgba(140,140,140,0.45) 4px 8px)',
      color: '#fff',
      font: '10px/1.2 system-ui, sans-serif',
      overflow: 'hidden',
      whiteSpace: 'nowrap',
      padding: '1px 2px',
      boxSizing: 'border-box',
    });
    layer.append(span);
  }
  if (window.getComputedStyle(container).position === 'static') container.style.position = 'relative';
  container.append(layer);
}

function createChannelMixer() {
  let graph;
  return {
    /** Builds the graph on first use (needs a user gesture); returns the two channel gains. */
    ensure() {
      if (!graph) {
        const ctx = new AudioContext();
        const source = ctx.createMediaElementSource(audio);
        const split = ctx.createChannelSplitter(2);
        const merge = ctx.createChannelMerger(2);
        const gains = [ctx.createGain(), ctx.createGain()];
        source.connect(split);
        gains.forEach((gain, channel) => {
          split.connect(gain, channel);
          gain.connect(merge, 0, 0);
          gain.connect(merge, 0, 1);
        });
        merge.connect(ctx.destination);
        graph = { ctx, gains };
      }
      void graph.ctx.resume();
      return graph.gains;
    },
    get active() {
      return graph !== undefined;
    },
  };
}

function readDraft() {
  try {
    return JSON.parse(sessionStorage.getItem(draftKey) ?? 'null');
  } catch {
    return null;
  }
}
function writeDraft(draft) {
  try {
    if (draft) sessionStorage.setItem(draftKey, JSON.stringify(draft));
    else sessionStorage.removeItem(draftKey);
  } catch {
    // storage refused: the draft lives only in the page
  }
}

/** True when a key press belongs to a text field (or a control that uses the key itself). */
function typingIn(target, key) {
  const tag = target?.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT' || target?.isContentEditable) return true;
  if (tag === 'INPUT' && !['checkbox', 'radio', 'button'].includes(target.type)) return true;
  // Space activates a focused button, checkbox or link itself.
  return key === ' ' && ['BUTTON', 'A', 'INPUT', 'SUMMARY'].includes(tag);
}

/** Previous and next recording in the list the trainer came from (same filters, newest first). */
async function linkNeighbours(search) {
  const params = new URLSearchParams(search);
  const ids = [];
  let cursor = null;
  for (let pages = 0; pages < 10; pages += 1) {
    const q = recordingsQuery(params, 200);
    if (cursor) q.set('cursor', cursor);
    const page = await api(`/v1/recordings?${q}`);
    ids.push(...page.items.map((r) => r.id));
    cursor = page.nextCursor;
    if (ids.includes(id) && (!cursor || ids.indexOf(id) < ids.length - 1)) break;
    if (!cursor) break;
  }
  const at = ids.indexOf(id);
  if (at < 0) return;
  for (const [linkId, other] of [
    ['prev', ids[at - 1]],
    ['next', ids[at + 1]],
  ]) {
    if (!other) continue;
    $(linkId).href = `/recordings/${encodeURIComponent(other)}${search}`;
    $(linkId).hidden = false;
  }
}

async function main() {
  const search = location.search;
  $('back').href = `/recordings${search}`;
  const slow = window.setTimeout(() => {
    $('player-loading').textContent = t('common.slow');
    $('player-retry').hidden = false;
  }, 8000);
  const session = await initLayout({ active: '/recordings', roles: ['trainer', 'privacy', 'admin', 'agent'] });
  // Only trainers and admins write notes (the API refuses others); privacy officers read them.
  $('note-form').hidden = !['trainer', 'admin'].includes(session.user.role);
  const [rec, waveform, notes] = await Promise.all([
    api(`/v1/recordings/${encodeURIComponent(id)}`),
    api(`/v1/recordings/${encodeURIComponent(id)}/waveform`).catch(() => undefined),
    // An agent listens to their evaluated call without the trainers' notes.
    session.user.role === 'agent' ? { items: [] } : api(`/v1/recordings/${encodeURIComponent(id)}/notes`),
  ]);
  window.clearTimeout(slow);
  $('player-loading').hidden = true;
  $('player-retry').hidden = true;
  // An agent has no list to walk (they come from their evaluations).
  if (session.user.role !== 'agent') void linkNeighbours(search).catch(() => undefined);
  const durationS = rec.durationMs / 1000;
  document.title = `${formatDateTime(rec.startedAt)} · callrec`;
  $('rec-title').textContent = t('player.title', { at: formatDateTime(rec.startedAt) });
  $('deadline').textContent = formatTimeLeft(rec);
  $('deadline').classList.toggle('hold', Boolean(rec.legalHold));
  const meta = $('meta');
  definition(meta, t('field.length'), formatClock(rec.durationMs));
  definition(meta, t('field.agent'), rec.agentId);
  definition(meta, t('field.queue'), rec.queue);
  definition(meta, t('field.direction'), formatDirection(rec.direction));
  definition(meta, t('field.caller'), rec.callerNumber);
  definition(meta, t('field.callee'), rec.calleeNumber);
  if (rec.qualityFlags?.length) definition(meta, t('field.quality'), formatQualityFlags(rec.qualityFlags));
  if (rec.redactions?.length)
    definition(
      meta,
      t('field.silenced'),
      rec.redactions
        .map((r) => `${redactionKind(r.kind)} ${formatClock(r.startMs)}–${formatClock(r.endMs)}`)
        .join(', '),
    );
  $('player').hidden = false;

  const stereo = rec.original.channels === 2;
  const peaks = waveform?.peaks?.length ? waveform.peaks : [new Array(200).fill(0.02)];
  const split = stereo && peaks.length === 2;
  // Which channel holds the agent is the recording's (FreeSWITCH and Twilio put the caller on the left).
  const agentIndex = rec.agentChannel === 'right' ? 1 : 0;
  const muted = [false, false];
  const channelColors = () =>
    [0, 1].map((c) => (muted[c] ? COLORS.muted : c === agentIndex ? COLORS.agent : COLORS.customer));
  audio.src = `/v1/recordings/${encodeURIComponent(id)}/audio`;
  const ws = WaveSurfer.create({
    container: waveEl,
    media: audio,
    peaks,
    duration: durationS,
    height: stereo ? 56 : 96,
    ...COLORS.agent,
    cursorColor: '#c2410c',
    cursorWidth: 2,
    barWidth: 2,
    barGap: 1,
    barRadius: 1,
    normalize: true,
    dragToSeek: true,
    splitChannels: split ? channelColors() : undefined,
  });
  adoptShadowStyles(ws);
  drawRedactions(waveEl, rec.redactions, rec.durationMs);
  $('channel-labels').hidden = !split;
  const labels = $('channel-labels').children;
  labels[agentIndex].textContent = t('player.agent');
  labels[1 - agentIndex].textContent = t('player.customer');

  const duration = () => (Number.isFinite(audio.duration) && audio.duration > 0 ? audio.duration : durationS);
  /** Where the note being written is stamped (ms), or null while none is started. */
  let stampMs = null;
  const noteText = $('note-text');
  const updateNoteLabel = () => {
    const at = stampMs ?? Math.round(audio.currentTime * 1000);
    $('note-label').textContent = t('notes.at', { at: formatClock(at) });
  };
  const update = () => {
    const tNow = audio.currentTime;
    $('time').textContent = `${formatClock(tNow * 1000)} / ${formatClock(duration() * 1000)}`;
    waveEl.setAttribute('aria-valuemax', String(Math.round(duration())));
    waveEl.setAttribute('aria-valuenow', String(Math.round(tNow)));
    waveEl.setAttribute(
      'aria-valuetext',
      t('player.positionText', { at: formatClock(tNow * 1000), of: formatClock(duration() * 1000) }),
    );
    updateNoteLabel();
  };
  const seekTo = (seconds) => {
    audio.currentTime = Math.min(Math.max(0, seconds), duration());
    update();
  };
  const mixer = createChannelMixer();
  const toggle = () => {
    if (mixer.active || stereo) mixer.ensure();
    if (audio.paused) void audio.play();
    else audio.pause();
  };
  const stepSpeed = (delta) => {
    const select = $('speed');
    const at = SPEEDS.indexOf(select.value);
    const next = SPEEDS[Math.min(SPEEDS.length - 1, Math.max(0, at + delta))];
    select.value = next;
    ws.setPlaybackRate(Number(next), true);
  };
  const startNote = () => {
    if (!audio.paused) audio.pause();
    if (stampMs === null) stampMs = Math.min(rec.durationMs, Math.round(audio.currentTime * 1000));
    $('note-cancel').hidden = false;
    updateNoteLabel();
    noteText.focus();
  };

  // Time ruler under the waveform and the time under the pointer.
  const ruler = $('ruler');
  const step = rulerStep(durationS);
  for (let at = 0; at <= durationS; at += step) {
    const tick = document.createElement('span');
    tick.className = 'tick';
    tick.style.left = `${(at / durationS) * 100}%`;
    tick.textContent = formatClock(at * 1000);
    ruler.append(tick);
  }
  const hover = $('hover-time');
  waveEl.addEventListener('mousemove', (event) => {
    const box = waveEl.getBoundingClientRect();
    const share = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
    hover.textContent = formatClock(share * duration() * 1000);
    hover.style.left = `${share * 100}%`;
    hover.hidden = false;
  });
  waveEl.addEventListener('mouseleave', () => {
    hover.hidden = true;
  });

  // Skip silence: jump over stretches where no channel carries sound (read from the peaks).
  const silences = silentStretches(waveform?.peaks, rec.durationMs);
  const skip = $('skip-silence');
  skip.disabled = silences.length === 0;
  $('skip-why').textContent = silences.length ? tn('player.silences', silences.length) : t('player.noSilence');
  audio.addEventListener('timeupdate', () => {
    if (!skip.checked || audio.paused) return;
    const target = skipTarget(silences, audio.currentTime * 1000);
    if (target !== audio.currentTime * 1000) audio.currentTime = target / 1000;
  });

  audio.addEventListener('timeupdate', update);
  audio.addEventListener('seeked', update);
  audio.addEventListener('loadedmetadata', update);
  audio.addEventListener('play', () => {
    playButton.textContent = t('player.pause');
    playButton.setAttribute('aria-pressed', 'true');
  });
  audio.addEventListener('pause', () => {
    playButton.textContent = t('player.play');
    playButton.setAttribute('aria-pressed', 'false');
  });
  audio.addEventListener('error', () => {
    $('audio-error').textContent = t('player.audioFailed');
    $('audio-error').hidden = false;
    $('audio-retry').hidden = false;
  });
  $('audio-retry').addEventListener('click', () => {
    const at = audio.currentTime;
    $('audio-error').hidden = true;
    $('audio-retry').hidden = true;
    audio.load();
    audio.addEventListener('loadedmetadata', () => seekTo(at), { once: true });
  });
  playButton.addEventListener('click', toggle);
  const zoom = createZoom({ recordingId: id, durationMs: rec.durationMs, audio, seekTo, colors: channelColors });
  const help = $('help-dialog');
  $('help-open').addEventListener('click', () => help.showModal());
  waveEl.addEventListener('keydown', (event) => {
    const keys = { Home: () => seekTo(0), End: () => seekTo(duration()) };
    if (!keys[event.key]) return;
    event.preventDefault();
    keys[event.key]();
  });
  document.addEventListener('keydown', (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || help.open) return;
    if (typingIn(event.target, event.key)) return;
    const keys = {
      ' ': toggle,
      k: toggle,
      j: () => seekTo(audio.currentTime - JUMP_S),
      l: () => seekTo(audio.currentTime + JUMP_S),
      ArrowLeft: () => seekTo(audio.currentTime - SEEK_STEP_S),
      ArrowRight: () => seekTo(audio.currentTime + SEEK_STEP_S),
      '[': () => stepSpeed(-1),
      ']': () => stepSpeed(1),
      n: () => {
        if (!$('note-form').hidden) startNote();
      },
      '?': () => help.showModal(),
      '+': zoom.zoomIn,
      '=': zoom.zoomIn,
      '-': zoom.zoomOut,
    };
    const action = keys[event.key.length === 1 ? event.key.toLowerCase() : event.key];
    if (!action) return;
    event.preventDefault();
    action();
  });
  $('speed').addEventListener('change', (event) => {
    ws.setPlaybackRate(Number(event.target.value), true);
  });
  if (stereo) {
    $('channels').hidden = false;
    const bind = (checkbox, channel) => {
      $(checkbox).dataset.channel = String(channel);
      $(checkbox).addEventListener('change', (event) => {
        mixer.ensure()[channel].gain.value = event.target.checked ? 0 : 1;
        muted[channel] = event.target.checked;
        if (split) ws.setOptions({ splitChannels: channelColors() });
        zoom.redraw();
      });
    };
    bind('mute-agent', agentIndex);
    bind('mute-customer', 1 - agentIndex);
  }
  update();

  const renderNotes = (items) => {
    const list = $('notes');
    const markers = $('note-markers');
    list.replaceChildren();
    markers.replaceChildren();
    for (const note of items) {
      const li = document.createElement('li');
      const at = document.createElement('button');
      at.type = 'button';
      at.className = 'note-time';
      at.textContent = formatClock(note.offsetMs);
      at.setAttribute('aria-label', t('notes.goTo', { at: formatClock(note.offsetMs) }));
      at.addEventListener('click', () => seekTo(note.offsetMs / 1000));
      const text = document.createElement('span');
      text.className = 'note-text';
      text.textContent = note.text;
      const by = document.createElement('span');
      by.className = 'note-author';
      by.textContent = note.author;
      li.append(at, text, by);
      if (note.author === session.user.username) li.append(noteActions(note, li, text));
      list.append(li);
      const marker = document.createElement('span');
      marker.className = 'note-marker';
      marker.style.left = `${Math.min(100, (note.offsetMs / rec.durationMs) * 100)}%`;
      marker.title = `${formatClock(note.offsetMs)} ${note.text}`;
      markers.append(marker);
    }
    $('no-notes').hidden = items.length > 0;
  };
  const noteUrl = (note) => `/v1/recordings/${encodeURIComponent(id)}/notes/${encodeURIComponent(note.id)}`;
  /** Edit and Delete for the trainer's own notes; the result goes to the notes' status region. */
  const noteActions = (note, li, textEl) => {
    const box = document.createElement('span');
    box.className = 'note-actions';
    const edit = document.createElement('button');
    edit.type = 'button';
    edit.className = 'quiet small';
    edit.textContent = t('notes.edit');
    edit.setAttribute('aria-label', t('notes.editAt', { at: formatClock(note.offsetMs) }));
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'quiet small danger';
    remove.textContent = t('notes.delete');
    remove.setAttribute('aria-label', t('notes.deleteAt', { at: formatClock(note.offsetMs) }));
    edit.addEventListener('click', () => {
      const area = document.createElement('textarea');
      area.value = note.text;
      area.rows = 2;
      area.maxLength = 2000;
      area.setAttribute('aria-label', t('notes.editAt', { at: formatClock(note.offsetMs) }));
      const save = document.createElement('button');
      save.type = 'button';
      save.className = 'primary small';
      save.textContent = t('notes.save');
      const cancel = document.createElement('button');
      cancel.type = 'button';
      cancel.className = 'quiet small';
      cancel.textContent = t('action.cancel');
      const editor = document.createElement('span');
      editor.className = 'note-editor';
      editor.append(area, save, cancel);
      textEl.replaceWith(editor);
      box.hidden = true;
      area.focus();
      cancel.addEventListener('click', () => renderNotes(noteItems));
      save.addEventListener('click', async () => {
        try {
          const changed = await api(noteUrl(note), { method: 'PATCH', body: { text: area.value.trim() } });
          noteItems = noteItems.map((n) => (n.id === changed.id ? changed : n));
          renderNotes(noteItems);
          $('note-status').textContent = t('notes.changed', { at: formatClock(changed.offsetMs) });
        } catch (error) {
          if (error?.status !== 401) showError($('note-error'), error);
        }
      });
    });
    remove.addEventListener('click', async () => {
      try {
        await api(noteUrl(note), { method: 'DELETE' });
        noteItems = noteItems.filter((n) => n.id !== note.id);
        renderNotes(noteItems);
        $('note-status').textContent = t('notes.deleted', { at: formatClock(note.offsetMs) });
      } catch (error) {
        if (error?.status !== 401) showError($('note-error'), error);
      }
    });
    box.append(edit, remove);
    return box;
  };
  let noteItems = notes.items;
  renderNotes(noteItems);
  mountEvaluationPanel({ recording: rec, session, seekTo }).catch((error) => {
    if (error?.status !== 401) showError($('player-error'), error);
  });

  const resetNote = () => {
    noteText.value = '';
    stampMs = null;
    writeDraft(null);
    $('note-cancel').hidden = true;
    updateNoteLabel();
  };
  noteText.addEventListener('input', () => {
    if (stampMs === null && noteText.value.trim() !== '') {
      stampMs = Math.min(rec.durationMs, Math.round(audio.currentTime * 1000));
      $('note-cancel').hidden = false;
      updateNoteLabel();
    }
    writeDraft({ text: noteText.value, offsetMs: stampMs });
  });
  $('note-cancel').addEventListener('click', resetNote);
  const draft = readDraft();
  if (draft?.text && !$('note-form').hidden) {
    noteText.value = draft.text;
    stampMs = draft.offsetMs ?? null;
    $('note-cancel').hidden = false;
    updateNoteLabel();
    $('note-status').textContent = t('notes.restored');
    noteText.focus();
  }

  $('note-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const errorBox = $('note-error');
    errorBox.hidden = true;
    $('note-status').textContent = '';
    const text = noteText.value.trim();
    if (!text) return;
    const offsetMs = stampMs ?? Math.min(rec.durationMs, Math.round(audio.currentTime * 1000));
    writeDraft({ text: noteText.value, offsetMs });
    try {
      const note = await api(`/v1/recordings/${encodeURIComponent(id)}/notes`, {
        method: 'POST',
        body: { offsetMs, text },
      });
      noteItems = [...noteItems, note].sort((a, b) => a.offsetMs - b.offsetMs);
      renderNotes(noteItems);
      resetNote();
      $('note-status').textContent = t('notes.saved', { at: formatClock(note.offsetMs) });
    } catch (error) {
      if (error?.status === 401) return;
      showError(errorBox, error);
    }
  });
}

$('player-retry').addEventListener('click', () => location.reload());
main().catch((error) => {
  if (error?.status === 401 || error?.status === 403) return;
  $('player-loading').hidden = true;
  const box = $('player-error');
  if (error?.status === 404) {
    box.textContent = t('player.notFound');
    box.hidden = false;
    return;
  }
  showError(box, error);
  $('player-retry').hidden = false;
});
