/**
 * The Dutch date fields' parsing (src/web/dutch-date.js): what a Dutch user types (dd-mm-jjjj and
 * its usual variants) becomes the ISO day the pages and the API use, and only real dates do.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';

const WEB = path.resolve(import.meta.dirname, '..', '..', 'src', 'web');
const m = (await import(pathToFileURL(path.join(WEB, 'dutch-date.js')).href)) as {
  parseDutchDate: (text: string) => string | null;
  formatDutchDate: (iso: string) => string;
};

describe('Dutch date entry (dd-mm-jjjj ↔ ISO)', () => {
  it('when a Dutch date is typed as dd-mm-jjjj, d-m-jjjj, with / or . or as ISO, then it reads as the ISO day', () => {
    for (const [typed, iso] of [
      ['28-11-2026', '2026-11-28'],
      [' 1-2-2026 ', '2026-02-01'],
      ['28/11/2026', '2026-11-28'],
      ['28.11.2026', '2026-11-28'],
      ['2026-11-28', '2026-11-28'],
      ['29-02-2028', '2028-02-29'],
    ] as const)
      expect(m.parseDutchDate(typed), typed).to.equal(iso);
  });

  it('when the text is empty, then it reads as no date; when it is not a calendar date, then as null (the field is invalid)', () => {
    expect(m.parseDutchDate('')).to.equal('');
    expect(m.parseDutchDate('   ')).to.equal('');
    for (const typed of ['31-02-2026', '29-02-2026', '00-11-2026', '28-13-2026', '11/28/2026', '28-11-26', 'morgen'])
      expect(m.parseDutchDate(typed), typed).to.equal(null);
  });

  it('when an ISO day is shown, then it reads dd-mm-jjjj, and what is not an ISO day shows as empty', () => {
    expect(m.formatDutchDate('2026-02-01')).to.equal('01-02-2026');
    expect(m.parseDutchDate(m.formatDutchDate('2026-11-28'))).to.equal('2026-11-28');
    for (const bad of ['', '2026-02-30', '28-11-2026', 'x']) expect(m.formatDutchDate(bad), bad).to.equal('');
  });
});
