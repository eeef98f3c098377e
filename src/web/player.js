/* global location, AudioContext, CSSStyleSheet, ShadowRoot */
/**
 * The player: waveform (wavesurfer.js drawing the peaks the API serves, on our
 * own <audio> element, so the browser streams the audio with Range requests),
 * play/pause, click and keyboard seeking, speed, per-channel mute for stereo
 * calls (Web Audio: splitter → gain per channel → both ears), notes on the timeline.
 */
import WaveSurfer from '/vendor/wavesurfer.esm.js';
import {
  api,
  formatClock,
  formatDateTime,
  formatQualityFlags,
  formatTimeLeft,
  initLayout,
  showError,
} from '/assets/layout.js';

const SEEK_STEP_S = 5;
const id = decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() ?? '');
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

/** wavesurfer puts its styles in a <style> of its shadow root, which the CSP blocks; adopt them as a constructed sheet. */
function adoptShadowStyles(ws) {
  const root = ws.getWrapper().getRootNode();
  if (!(root instanceof ShadowRoot)) return;
  const style = root.querySelector('style');
  if (!style) return;
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(style.textContent);
  root.adoptedStyleSheets = [sheet];
}

const REDACTION_KINDS = { pause: 'Paused', dtmf: 'Keypad tones', manual: 'Redacted' };

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
    span.textContent = REDACTION_KINDS[r.kind] ?? r.kind;
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

async function main() {
  const session = await initLayout({ active: '/recordings' });
  // Only trainers and admins write notes (the API refuses others); privacy officers read them.
  $('note-form').hidden = !['trainer', 'admin'].includes(session.user.role);
  const [rec, waveform, notes] = await Promise.all([
    api(`/v1/recordings/${encodeURIComponent(id)}`),
    api(`/v1/recordings/${encodeURIComponent(id)}/waveform`).catch(() => undefined),
    api(`/v1/recordings/${encodeURIComponent(id)}/notes`),
  ]);
  const durationS = rec.durationMs / 1000;
  document.title = `${formatDateTime(rec.startedAt)} · callrec`;
  $('rec-title').textContent = `Call of ${formatDateTime(rec.startedAt)}`;
  $('deadline').textContent = formatTimeLeft(rec);
  $('deadline').classList.toggle('hold', Boolean(rec.legalHold));
  const meta = $('meta');
  definition(meta, 'Length', formatClock(rec.durationMs));
  definition(meta, 'Agent', rec.agentId);
  definition(meta, 'Queue', rec.queue);
  definition(meta, 'Direction', rec.direction);
  definition(meta, 'Caller', rec.callerNumber);
  definition(meta, 'Callee', rec.calleeNumber);
  if (rec.qualityFlags?.length) definition(meta, 'Quality', formatQualityFlags(rec.qualityFlags));
  if (rec.redactions?.length)
    definition(
      meta,
      'Silenced',
      rec.redactions
        .map((r) => `${REDACTION_KINDS[r.kind] ?? r.kind} ${formatClock(r.startMs)}–${formatClock(r.endMs)}`)
        .join(', '),
    );
  $('player').hidden = false;

  const stereo = rec.original.channels === 2;
  const peaks = waveform?.peaks?.length ? waveform.peaks : [new Array(200).fill(0.02)];
  audio.src = `/v1/recordings/${encodeURIComponent(id)}/audio`;
  const ws = WaveSurfer.create({
    container: waveEl,
    media: audio,
    peaks,
    duration: durationS,
    height: stereo ? 56 : 96,
    waveColor: '#8fa8c8',
    progressColor: '#1f4e8c',
    cursorColor: '#c2410c',
    cursorWidth: 2,
    barWidth: 2,
    barGap: 1,
    barRadius: 1,
    normalize: true,
    dragToSeek: true,
    splitChannels:
      stereo && peaks.length === 2
        ? [
            { waveColor: '#8fa8c8', progressColor: '#1f4e8c' },
            { waveColor: '#b7a3d6', progressColor: '#5b3a94' },
          ]
        : undefined,
  });
  adoptShadowStyles(ws);
  drawRedactions(waveEl, rec.redactions, rec.durationMs);
  $('channel-labels').hidden = !(stereo && peaks.length === 2);
  // Which channel holds the agent is the recording's (FreeSWITCH and Twilio put the caller on the left).
  const agentIndex = rec.agentChannel === 'right' ? 1 : 0;
  const labels = $('channel-labels').children;
  labels[agentIndex].textContent = 'Agent';
  labels[1 - agentIndex].textContent = 'Customer';

  const duration = () => (Number.isFinite(audio.duration) && audio.duration > 0 ? audio.duration : durationS);
  const update = () => {
    const t = audio.currentTime;
    $('time').textContent = `${formatClock(t * 1000)} / ${formatClock(duration() * 1000)}`;
    waveEl.setAttribute('aria-valuemax', String(Math.round(duration())));
    waveEl.setAttribute('aria-valuenow', String(Math.round(t)));
    waveEl.setAttribute('aria-valuetext', `${formatClock(t * 1000)} of ${formatClock(duration() * 1000)}`);
    $('note-at').textContent = formatClock(t * 1000);
  };
  const seekTo = (seconds) => {
    audio.currentTime = Math.min(Math.max(0, seconds), duration());
    update();
  };
  const toggle = () => {
    if (mixer.active || stereo) mixer.ensure();
    if (audio.paused) void audio.play();
    else audio.pause();
  };
  const mixer = createChannelMixer();

  audio.addEventListener('timeupdate', update);
  audio.addEventListener('seeked', update);
  audio.addEventListener('loadedmetadata', update);
  audio.addEventListener('play', () => {
    playButton.textContent = 'Pause';
    playButton.setAttribute('aria-pressed', 'true');
  });
  audio.addEventListener('pause', () => {
    playButton.textContent = 'Play';
    playButton.setAttribute('aria-pressed', 'false');
  });
  playButton.addEventListener('click', toggle);
  waveEl.addEventListener('keydown', (event) => {
    const keys = {
      ArrowLeft: () => seekTo(audio.currentTime - SEEK_STEP_S),
      ArrowRight: () => seekTo(audio.currentTime + SEEK_STEP_S),
      Home: () => seekTo(0),
      End: () => seekTo(duration()),
      ' ': toggle,
    };
    const action = keys[event.key];
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
      at.setAttribute('aria-label', `Go to ${formatClock(note.offsetMs)}`);
      at.addEventListener('click', () => seekTo(note.offsetMs / 1000));
      const text = document.createElement('span');
      text.className = 'note-text';
      text.textContent = note.text;
      const by = document.createElement('span');
      by.className = 'note-author';
      by.textContent = note.author;
      li.append(at, text, by);
      list.append(li);
      const marker = document.createElement('span');
      marker.className = 'note-marker';
      marker.style.left = `${Math.min(100, (note.offsetMs / rec.durationMs) * 100)}%`;
      marker.title = `${formatClock(note.offsetMs)} ${note.text}`;
      markers.append(marker);
    }
    $('no-notes').hidden = items.length > 0;
  };
  let noteItems = notes.items;
  renderNotes(noteItems);

  $('note-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const textArea = $('note-text');
    const errorBox = $('note-error');
    errorBox.hidden = true;
    const text = textArea.value.trim();
    if (!text) return;
    try {
      const note = await api(`/v1/recordings/${encodeURIComponent(id)}/notes`, {
        method: 'POST',
        body: { offsetMs: Math.min(rec.durationMs, Math.round(audio.currentTime * 1000)), text },
      });
      noteItems = [...noteItems, note].sort((a, b) => a.offsetMs - b.offsetMs);
      renderNotes(noteItems);
      textArea.value = '';
    } catch (error) {
      showError(errorBox, error);
    }
  });
}

main().catch((error) => {
  if (error?.status === 401) return;
  if (error?.status === 404) {
    const box = $('player-error');
    box.textContent = 'This recording does not exist or is no longer available.';
    box.hidden = false;
    return;
  }
  showError($('player-error'), error);
});
