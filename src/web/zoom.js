/* global devicePixelRatio, AbortController, URLSearchParams */
/**
 * Zoom for long calls: a detail view under the whole-call waveform showing a window of the call
 * (an hour down to ten seconds) at a finer resolution, from the API's window peaks
 * (`GET /v1/recordings/:id/waveform?from=&to=&points=`, at least one peak per 50 ms and per pixel).
 * Zoom in centres the window on the playback position; the window follows playback and seeks.
 * Clicking the view seeks there. Drawn on a canvas (no inline styles: the CSP allows none);
 * the window shown is stated in text (`#zoom-status`) and on the view's data attributes
 * (`data-from-ms`, `data-to-ms`, `data-points`) for tests.
 */
import { api, formatClock, t } from '/assets/layout.js';
import { nextZoomWidth, peaksPerColumn, rulerStep, zoomWindow } from '/assets/peaks.js';

const MAX_POINTS = 10_000;
/** Peaks asked per ms of window: one per 50 ms at least. */
const POINTS_PER_MS = 1 / 50;

/**
 * Binds the zoom controls of the player page. `colors()` gives the per-channel {waveColor,
 * progressColor} as the main waveform draws them (who is agent, what is muted); `seekTo(s)` seeks.
 * Returns `{ zoomIn, zoomOut, redraw }` for the keyboard and the mute switches.
 */
export function createZoom({ recordingId, durationMs, audio, seekTo, colors }) {
  const $ = (sel) => document.getElementById(sel);
  const view = $('zoom-view');
  const canvas = $('zoom-canvas');
  const ruler = $('zoom-ruler');
  const status = $('zoom-status');
  /** Width of the window (ms), or null for the whole call (no detail view). */
  let width = null;
  /** The window on screen: `{fromMs, toMs, peaks}`. */
  let shown = null;
  let pending = null;

  const nowMs = () => audio.currentTime * 1000;

  const drawRuler = () => {
    ruler.replaceChildren();
    const span = shown.toMs - shown.fromMs;
    const step = rulerStep(span / 1000, 6) * 1000;
    for (let at = Math.ceil(shown.fromMs / step) * step; at <= shown.toMs; at += step) {
      const tick = document.createElement('span');
      tick.className = 'tick';
      tick.style.left = `${((at - shown.fromMs) / span) * 100}%`;
      tick.textContent = formatClock(at);
      ruler.append(tick);
    }
  };

  const redraw = () => {
    if (!shown || view.hidden) return;
    const ratio = typeof devicePixelRatio === 'number' ? devicePixelRatio : 1;
    const w = Math.max(1, Math.round(canvas.clientWidth * ratio));
    const h = Math.max(1, Math.round(canvas.clientHeight * ratio));
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    const ctx = canvas.getContext('2d');
    ctx.clearRect(0, 0, w, h);
    const channels = shown.peaks.length;
    const laneH = h / channels;
    const span = shown.toMs - shown.fromMs;
    const cursorX = ((nowMs() - shown.fromMs) / span) * w;
    const palette = colors();
    shown.peaks.forEach((peaks, c) => {
      const columns = peaksPerColumn(peaks, w);
      const loudest = Math.max(0.05, ...columns);
      const mid = laneH * c + laneH / 2;
      for (let x = 0; x < w; x++) {
        const half = Math.max(ratio / 2, (columns[x] / loudest) * (laneH / 2 - 2 * ratio));
        ctx.fillStyle = x < cursorX ? palette[c].progressColor : palette[c].waveColor;
        ctx.fillRect(x, mid - half, 1, 2 * half);
      }
    });
    if (cursorX >= 0 && cursorX <= w) {
      ctx.fillStyle = '#c2410c';
      ctx.fillRect(Math.round(cursorX) - ratio, 0, 2 * ratio, h);
    }
  };

  /** Loads the window of the current width around `centreMs` (the last request wins). */
  const load = async (centreMs) => {
    pending?.abort();
    if (width === null) {
      shown = null;
      view.hidden = true;
      status.textContent = t('zoom.whole');
      return;
    }
    const { fromMs, toMs } = zoomWindow(durationMs, width, centreMs);
    const controller = new AbortController();
    pending = controller;
    view.hidden = false;
    view.setAttribute('aria-busy', 'true');
    const columns = Math.round(canvas.clientWidth * (typeof devicePixelRatio === 'number' ? devicePixelRatio : 1));
    const points = Math.min(MAX_POINTS, Math.max(columns, Math.ceil((toMs - fromMs) * POINTS_PER_MS)));
    const query = new URLSearchParams({ from: String(fromMs), to: String(toMs), points: String(points) });
    try {
      const body = await api(`/v1/recordings/${encodeURIComponent(recordingId)}/waveform?${query}`, {
        signal: controller.signal,
      });
      if (controller.signal.aborted) return;
      shown = { fromMs: body.fromMs, toMs: body.toMs, peaks: body.peaks };
      view.dataset.fromMs = String(body.fromMs);
      view.dataset.toMs = String(body.toMs);
      view.dataset.points = String(body.peaks[0]?.length ?? 0);
      view.removeAttribute('aria-busy');
      status.textContent = t('zoom.window', { from: formatClock(body.fromMs), to: formatClock(body.toMs) });
      drawRuler();
      redraw();
    } catch (error) {
      if (controller.signal.aborted || error?.status === 401) return;
      view.removeAttribute('aria-busy');
      status.textContent = t('zoom.failed');
    }
  };

  const zoom = (direction) => {
    const next = nextZoomWidth(durationMs, width, direction);
    if (next === width) {
      status.textContent = width === null ? t('zoom.tooShort') : t('zoom.closest');
      return;
    }
    width = next;
    void load(nowMs());
  };

  /** Keeps the playback position in the window: a new window starting just before it when it leaves. */
  const follow = () => {
    if (width === null || !shown) {
      redraw();
      return;
    }
    const at = nowMs();
    if (at < shown.fromMs || at > shown.toMs) void load(at + width * 0.4);
    else redraw();
  };
  audio.addEventListener('timeupdate', follow);
  audio.addEventListener('seeked', follow);
  canvas.addEventListener('click', (event) => {
    if (!shown) return;
    const box = canvas.getBoundingClientRect();
    const share = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
    seekTo((shown.fromMs + share * (shown.toMs - shown.fromMs)) / 1000);
  });
  window.addEventListener('resize', redraw);
  $('zoom-in').addEventListener('click', () => zoom(1));
  $('zoom-out').addEventListener('click', () => zoom(-1));
  status.textContent = t('zoom.whole');
  return { zoomIn: () => zoom(1), zoomOut: () => zoom(-1), redraw };
}
