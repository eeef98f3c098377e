/**
 * Pure helpers over waveform peaks (no DOM, no imports: the player uses them and unit tests
 * import them in Node).
 */

/** Seconds between ruler ticks: the smallest step that gives at most `maxTicks` ticks. */
const STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
export function rulerStep(durationS, maxTicks = 10) {
  return STEPS_S.find((s) => durationS / s <= maxTicks) ?? 3600;
}

/**
 * Stretches with no speech on any channel: runs of peaks all below `threshold` (a share of the
 * loudest peak of the call) lasting at least `minMs`. Peaks are per channel, evenly spread over
 * `durationMs`. Returns `[{startMs, endMs}]` in time order; empty for a call without peaks.
 */
export function silentStretches(peaks, durationMs, { threshold = 0.05, minMs = 1500 } = {}) {
  const channels = (peaks ?? []).filter((c) => Array.isArray(c) && c.length > 0);
  if (!channels.length || !(durationMs > 0)) return [];
  const length = Math.min(...channels.map((c) => c.length));
  let loudest = 0;
  for (const c of channels) for (let i = 0; i < length; i++) loudest = Math.max(loudest, Math.abs(c[i]));
  if (loudest === 0) return [];
  const limit = loudest * threshold;
  const msPer = durationMs / length;
  const stretches = [];
  let start = -1;
  for (let i = 0; i <= length; i++) {
    const quiet = i < length && channels.every((c) => Math.abs(c[i]) <= limit);
    if (quiet && start < 0) start = i;
    if (!quiet && start >= 0) {
      const startMs = Math.round(start * msPer);
      const endMs = Math.round(i * msPer);
      if (endMs - startMs >= minMs) stretches.push({ startMs, endMs });
      start = -1;
    }
  }
  return stretches;
}

/** Where playback at `ms` goes when silence is skipped: the end of the stretch it is in, else `ms`. */
export function skipTarget(stretches, ms, { marginMs = 250 } = {}) {
  const inside = stretches.find((s) => ms >= s.startMs && ms < s.endMs - marginMs);
  return inside ? inside.endMs - marginMs : ms;
}

/** Widths of the zoomed window (ms), widest first: from an hour down to ten seconds. */
export const ZOOM_WIDTHS_MS = [3_600_000, 1_800_000, 600_000, 300_000, 120_000, 60_000, 30_000, 10_000];

/**
 * The window width after zooming in (`direction` 1) or out (-1) from `widthMs` (null: the whole call).
 * Zooming in goes to the widest step narrower than what is shown; out to the narrowest wider one,
 * and to the whole call (null) once a step would show it all. Zooming in at the narrowest step stays.
 */
export function nextZoomWidth(durationMs, widthMs, direction) {
  const current = widthMs ?? durationMs;
  if (direction > 0) return ZOOM_WIDTHS_MS.find((w) => w < current && w < durationMs) ?? widthMs;
  const wider = [...ZOOM_WIDTHS_MS].reverse().find((w) => w > current);
  return wider === undefined || wider >= durationMs ? null : wider;
}

/** The window of `widthMs` around `centreMs`, moved inside the call: `{fromMs, toMs}`, whole ms. */
export function zoomWindow(durationMs, widthMs, centreMs) {
  const width = Math.min(widthMs, durationMs);
  const fromMs = Math.round(Math.min(Math.max(0, centreMs - width / 2), durationMs - width));
  return { fromMs, toMs: fromMs + Math.round(width) };
}

/** Per pixel column of `columns`, the largest of the peaks falling in it (more peaks than columns). */
export function peaksPerColumn(peaks, columns) {
  const out = new Array(columns).fill(0);
  if (!peaks.length || columns <= 0) return out;
  for (let x = 0; x < columns; x++) {
    const from = Math.floor((x * peaks.length) / columns);
    const to = Math.max(from + 1, Math.floor(((x + 1) * peaks.length) / columns));
    for (let i = from; i < to && i < peaks.length; i++) out[x] = Math.max(out[x], Math.abs(peaks[i]));
  }
  return out;
}
