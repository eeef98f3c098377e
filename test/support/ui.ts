/**
 * Helpers of the web UI's browser tests: the two catalogues (so a test finds a control by its
 * text in either language), axe-core injected under the strict CSP, the sideways-scroll check,
 * screenshots under test-output/ui/, the two languages and sizes, and the stereo rendition the pages play.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { audioFixture, FIXTURE_DIR } from './fixtures.js';

export type Lang = 'en' | 'nl';
export type Catalogue = Record<string, string>;
export const LANGS: Lang[] = ['en', 'nl'];
export const SIZES = { desktop: { width: 1280, height: 900 }, phone: { width: 390, height: 844 } } as const;
const WEB = path.resolve(import.meta.dirname, '..', '..', 'src', 'web');
const require = createRequire(import.meta.url);

export async function loadCatalogues(): Promise<Record<Lang, Catalogue>> {
  const load = async (lang: Lang) =>
    ((await import(pathToFileURL(path.join(WEB, `i18n-${lang}.js`)).href)) as { default: Catalogue }).default;
  return { en: await load('en'), nl: await load('nl') };
}

/** The catalogue text of `key` with `{name}` placeholders filled (the pages' `t`). */
export function text(catalogue: Catalogue, key: string, params: Record<string, string | number> = {}): string {
  const found = catalogue[key];
  if (found === undefined) throw new Error(`no catalogue key ${key}`);
  return found.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/**
 * axe-core's violations on the page (WCAG 2.x A/AA and best practices), as "rule: target" lines.
 * The source is evaluated through the DevTools protocol, which the page's CSP does not govern, so
 * the CSP stays as strict as in production.
 */
export async function axeViolations(page: Page): Promise<string[]> {
  const loaded = await page.evaluate(() => typeof (window as unknown as { axe?: unknown }).axe !== 'undefined');
  if (!loaded) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run: (
            ctx: unknown,
            opts: unknown,
          ) => Promise<{ violations: Array<{ id: string; nodes: Array<{ target: string[] }> }> }>;
        };
      }
    ).axe;
    const result = await axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
    });
    return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  return violations;
}

/** How far the page is wider than the window (0: no sideways scrolling). */
export function sidewaysOverflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = path.join('test-output', 'ui');
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}

/**
 * A stereo Opus playback rendition of `seconds` (agent left, customer right), generated once into
 * the fixtures folder (written under a temporary name, then renamed, so parallel runs never read half a file).
 */
export async function stereoOpus(seconds: number): Promise<Buffer> {
  const target = path.join(FIXTURE_DIR, `e2e-stereo-${seconds}s.ogg`);
  if (!fs.existsSync(target)) {
    const source = await audioFixture('pcm-stereo', { seconds });
    const tmp = `${target}.${process.pid}.tmp.ogg`;
    const args = ['-hide_banner', '-loglevel', 'error', '-y', '-i', source, '-c:a', 'libopus', '-b:a', '24k', tmp];
    await promisify(execFile)('ffmpeg', args);
    fs.renameSync(tmp, target);
  }
  return fs.readFileSync(target);
}
