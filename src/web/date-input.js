/* global HTMLInputElement */
/**
 * Date entry in the page's language, whatever the browser's own language.
 *
 * Chromium draws `<input type="date">` in the browser's UI locale (mm/dd/yyyy in an English
 * Chromium), not in the page's `lang`. On a Dutch page `upgradeDateInputs` therefore turns every
 * date input into a text field for dd-mm-jjjj (also taking d-m-jjjj, `/` or `.` as separator, and
 * ISO jjjj-mm-dd), checked by the page itself: a text that is not a real date makes the field
 * invalid with a Dutch message, so its form does not submit.
 *
 * Contract with the page's code: the element's `value` property keeps speaking ISO `YYYY-MM-DD`
 * (reading gives the typed date as ISO, '' when empty or not a date; writing takes ISO and shows
 * it as dd-mm-jjjj), exactly like a native date input. So forms, page addresses, `zonedMidnight`
 * and the HTTP API stay as they are. (`FormData` reads the typed text, not the property: read the
 * element's `value`.) English pages keep the browser's date picker.
 */
import { lang, t } from '/assets/i18n.js';

const NATIVE_VALUE = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value');
const DUTCH = /^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$/;
const ISO = /^(\d{4})-(\d{2})-(\d{2})$/;
const pad = (n, width = 2) => String(n).padStart(width, '0');

/** `{y, m, d}` when they make a calendar date (no 31 February), else null. */
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

function checkDate(input) {
  const parsed = parseDutchDate(NATIVE_VALUE.get.call(input));
  input.setCustomValidity(parsed === null ? t('date.invalid') : '');
  return parsed;
}

/** On a Dutch page, every `input[type=date]` under `root` becomes a dd-mm-jjjj text field (see above). */
export function upgradeDateInputs(root = document) {
  if (lang !== 'nl') return;
  for (const input of root.querySelectorAll('input[type="date"]')) {
    const initial = input.value;
    input.type = 'text';
    input.inputMode = 'numeric';
    input.autocomplete = 'off';
    input.maxLength = 10;
    input.placeholder = t('date.placeholder');
    input.dataset.dateInput = '';
    Object.defineProperty(input, 'value', {
      configurable: true,
      get() {
        return parseDutchDate(NATIVE_VALUE.get.call(this)) ?? '';
      },
      set(iso) {
        NATIVE_VALUE.set.call(this, formatDutchDate(iso));
        this.setCustomValidity('');
      },
    });
    input.value = initial;
    input.addEventListener('input', () => checkDate(input));
    // A valid date is shown in full once the field is left: "1-2-2026" becomes "01-02-2026".
    input.addEventListener('change', () => {
      const parsed = checkDate(input);
      if (parsed) NATIVE_VALUE.set.call(input, formatDutchDate(parsed));
    });
  }
}
