/**
 * Dutch calendar dates ↔ ISO days, pure (no DOM, no imports), for the date fields of Dutch pages
 * (date-input.js) and their unit test.
 */
const DUTCH = /^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$/;
const ISO = /^(\d{4})-(\d{2})-(\d{2})$/;
const pad = (n, width = 2) => String(n).padStart(width, '0');

/** The ISO day of year `y`, month `m`, day `d` when they make a calendar date (no 31 February), else null. */
function calendarDate(y, m, d) {
  const date = new Date(Date.UTC(2000, m - 1, d));
  date.setUTCFullYear(y);
  const real = date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
  return real ? `${pad(y, 4)}-${pad(m)}-${pad(d)}` : null;
}

/**
 * "28-11-2026" (or 28/11/2026, 28.11.2026, 1-2-2026, 2026-11-28) → "2026-11-28"; '' when empty; null when not a date.
 */
export function parseDutchDate(text) {
  const s = String(text ?? '').trim();
  if (s === '') return '';
  const dutch = DUTCH.exec(s);
  if (dutch) return calendarDate(Number(dutch[3]), Number(dutch[2]), Number(dutch[1]));
  const iso = ISO.exec(s);
  if (iso) return calendarDate(Number(iso[1]), Number(iso[2]), Number(iso[3]));
  return null;
}

/** "2026-11-28" → "28-11-2026"; '' for anything that is not an ISO date (as a date input drops it). */
export function formatDutchDate(iso) {
  const m = ISO.exec(String(iso ?? ''));
  if (!m || calendarDate(Number(m[1]), Number(m[2]), Number(m[3])) === null) return '';
  return `${m[3]}-${m[2]}-${m[1]}`;
}
