/**
 * Browser waits in the Chromium suites end on what the page does, not on the machine's speed: every page a test
 * opens comes from test/support/browser.ts, whose contexts and pages wait up to PAGE_WAIT_MS. A page from
 * `browser.newContext()` or `browser.newPage()` directly keeps Playwright's 30 s default, which failed the 3-hour
 * call's zoom test on a loaded machine (CI of 2026-12-01).
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { PAGE_WAIT_MS } from '../support/browser.js';

const E2E = path.resolve(import.meta.dirname, '..', 'e2e');
const DIRECT = /\bbrowser\s*\.\s*new(?:Context|Page)\s*\(/g;

/** `file:line` of every direct `browser.newContext(`/`browser.newPage(` in `source` (named `file`). */
export function directBrowserPages(file: string, source: string): string[] {
  return [...source.matchAll(DIRECT)].map((m) => `${file}:${source.slice(0, m.index).split('\n').length}`);
}

describe('browser waits of the Chromium suites', () => {
  it('when a source opens a context or page on the browser itself, then it is found with its line', () => {
    const source =
      "const a = 1;\nconst c = await browser.newContext({ locale: 'nl-NL' });\nawait browser .newPage();\n";
    expect(directBrowserPages('x.test.ts', source)).to.deep.equal(['x.test.ts:2', 'x.test.ts:3']);
    const viaHelpers = 'await newTestContext(browser, {});\nawait openWatchedPage(browser);';
    expect(directBrowserPages('y.test.ts', viaHelpers)).to.deep.equal([]);
  });

  it('when the e2e suites are read, then every page they open comes from the support helpers, whose waits take minutes', () => {
    const files = fs.readdirSync(E2E).filter((f) => f.endsWith('.test.ts'));
    expect(files.length, 'e2e suites found').to.be.greaterThan(5);
    const found = files.flatMap((f) => directBrowserPages(f, fs.readFileSync(path.join(E2E, f), 'utf8')));
    expect(found, 'open pages with newTestContext or openWatchedPage (test/support/browser.ts)').to.deep.equal([]);
    expect(PAGE_WAIT_MS).to.be.at.least(120_000);
  });
});
