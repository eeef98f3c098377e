/* global navigator, localStorage */
/**
 * Dutch and English for every page: one catalogue per language (`i18n-en.js`, `i18n-nl.js`, flat
 * `key → text` with `{name}` placeholders), `t(key, params)` for text made in code, and attributes
 * for text in the pages:
 *   - `data-i18n="key"` sets the element's text;
 *   - `data-i18n-<attribute>="key"` sets that attribute (e.g. `data-i18n-aria-label`, `data-i18n-placeholder`).
 * Plurals: `tn(key, n)` picks `key.one` or `key.other` (Intl.PluralRules) and passes `{n}`.
 *
 * The language: the one chosen with the header switch (kept in localStorage), else Dutch when the
 * browser prefers Dutch to English, else English. Times are shown in the call center's zone
 * (CALLREC_TIME_ZONE, served as `/assets/settings.js`), never the browser's, with the zone named.
 * Problem+json titles stay English (the API's); the UI shows its own message per problem `code`.
 */
import en from '/assets/i18n-en.js';
import nl from '/assets/i18n-nl.js';
import { TIME_ZONE } from '/assets/settings.js';

export const CATALOGUES = { en, nl };
export const LANGUAGES = ['nl', 'en'];
const STORAGE_KEY = 'callrec.lang';

/** The chosen language: stored choice, else the browser's first preference among nl/en, else en. */
function chooseLanguage() {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    if (LANGUAGES.includes(stored)) return stored;
  } catch {
    // storage refused (privacy mode): fall back to the browser's preference
  }
  for (const tag of navigator.languages ?? [navigator.language ?? 'en']) {
    const base = String(tag).toLowerCase().split('-')[0];
    if (LANGUAGES.includes(base)) return base;
  }
  return 'en';
}

export const lang = chooseLanguage();
export const timeZone = TIME_ZONE;
const catalogue = CATALOGUES[lang];
const locale = lang === 'nl' ? 'nl-NL' : 'en-GB';
const plurals = new Intl.PluralRules(locale);

/** Remembers `next` as the language and reloads the page in it. */
export function switchLanguage(next) {
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // not remembered; the reload still shows the browser's language
  }
  window.location.reload();
}

/** The text of `key` in the page's language with `{name}` replaced by `params.name`; the key itself when missing. */
export function t(key, params = {}) {
  const text = catalogue[key] ?? CATALOGUES.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** `key.one` or `key.other` by the language's plural rule for `n`, with `{n}` (formatted) among the params. */
export function tn(key, n, params = {}) {
  const form = plurals.select(n) === 'one' ? 'one' : 'other';
  return t(`${key}.${form}`, { ...params, n: formatNumber(n) });
}

/** Translates the `data-i18n` and `data-i18n-*` attributes of `root` and its descendants. */
export function applyI18n(root = document) {
  if (root === document) document.documentElement.lang = lang;
  const elements = root.querySelectorAll('*');
  for (const el of [root.nodeType === 1 ? root : null, ...elements]) {
    if (!el?.attributes) continue;
    for (const attr of [...el.attributes]) {
      if (attr.name === 'data-i18n') el.textContent = t(attr.value);
      else if (attr.name.startsWith('data-i18n-')) el.setAttribute(attr.name.slice('data-i18n-'.length), t(attr.value));
    }
  }
}

const numberFormat = new Intl.NumberFormat(locale);
export function formatNumber(n) {
  return numberFormat.format(n);
}

const dateTimeFormat = new Intl.DateTimeFormat(locale, {
  timeZone: TIME_ZONE,
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  timeZoneName: 'short',
});
const dateTimeSecondsFormat = new Intl.DateTimeFormat(locale, {
  timeZone: TIME_ZONE,
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  timeZoneName: 'short',
});
const dateFormat = new Intl.DateTimeFormat(locale, { timeZone: TIME_ZONE, dateStyle: 'medium' });

/**
 * An instant in the call center's zone, the zone named: "30 nov 2026 15:04 CET" (nl), "30 Nov 2026, 15:04 CET" (en).
 */
export function formatDateTime(iso, { seconds = false } = {}) {
  return (seconds ? dateTimeSecondsFormat : dateTimeFormat).format(new Date(iso));
}

/** The calendar date of an instant in the call center's zone. */
export function formatDate(iso) {
  return dateFormat.format(new Date(iso));
}

const partsFormat = new Intl.DateTimeFormat('en-US', {
  timeZone: TIME_ZONE,
  hourCycle: 'h23',
  year: 'numeric',
  month: 'numeric',
  day: 'numeric',
  hour: 'numeric',
  minute: 'numeric',
  second: 'numeric',
});
/** Milliseconds the zone's wall clock is ahead of UTC at instant `ms`. */
function zoneOffset(ms) {
  const p = Object.fromEntries(partsFormat.formatToParts(new Date(ms)).map((x) => [x.type, Number(x.value)]));
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(ms / 1000) * 1000;
}

/** "2026-03-29" → the ISO instant of that day's midnight in the call center's zone (not the browser's). */
export function zonedMidnight(date, addDays = 0) {
  const [y, m, d] = date.split('-').map(Number);
  const wall = Date.UTC(y, m - 1, d + addDays);
  let guess = wall - zoneOffset(wall);
  guess = wall - zoneOffset(guess);
  return new Date(guess).toISOString();
}

/** Literal keys of the problem codes the UI explains in its own words (titles stay English in the API). */
const PROBLEM_KEYS = {
  invalid_request: 'problem.invalid_request',
  invalid_query: 'problem.invalid_query',
  unauthenticated: 'problem.unauthenticated',
  invalid_credentials: 'problem.invalid_credentials',
  forbidden: 'problem.forbidden',
  origin_mismatch: 'problem.origin_mismatch',
  not_found: 'problem.not_found',
  conflict: 'problem.conflict',
  legal_hold: 'problem.legal_hold',
  rate_limited: 'problem.rate_limited',
  internal: 'problem.internal',
  integrity: 'problem.integrity',
  overloaded: 'problem.overloaded',
  shutting_down: 'problem.shutting_down',
  store_unavailable: 'problem.store_unavailable',
  range_not_satisfiable: 'problem.range_not_satisfiable',
  request_timeout: 'problem.request_timeout',
  invalid_form: 'problem.invalid_form',
  answers_mismatch: 'problem.answers_mismatch',
  invalid_period: 'problem.invalid_period',
};

/**
 * The message for a failed call: the UI's own text for the problem's `code` (with the fields at
 * fault, which name request fields, not prose), a network message when the server was not
 * reached, else a generic one.
 */
export function problemMessage(error) {
  if (error?.name === 'ApiError') {
    const p = error.problem ?? {};
    const key = PROBLEM_KEYS[p.code];
    const base = key ? t(key) : t('problem.other', { status: error.status });
    if (Array.isArray(p.fields) && p.fields.length > 0) return `${base} (${p.fields.map((f) => f.field).join(', ')})`;
    return base;
  }
  if (error instanceof TypeError) return t('error.network');
  return t('error.generic');
}
