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
import { formatDutchDate, parseDutchDate } from '/assets/dutch-date.js';

const NATIVE_VALUE = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value');

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
