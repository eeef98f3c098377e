/**
 * The web UI's two catalogues (src/web/i18n-en.js, src/web/i18n-nl.js) cannot drift from each
 * other or from the pages: the same keys with the same placeholders in both, every key a page or
 * module uses is in both, every key of the catalogues is used somewhere, and the pages carry no
 * text of their own outside the catalogues.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';

const WEB = path.resolve(import.meta.dirname, '..', '..', 'src', 'web');
const CATALOGUE_FILES = { en: 'i18n-en.js', nl: 'i18n-nl.js' } as const;
type Catalogue = Record<string, string>;

async function catalogue(file: string): Promise<Catalogue> {
  return ((await import(pathToFileURL(path.join(WEB, file)).href)) as { default: Catalogue }).default;
}

const sources = fs
  .readdirSync(WEB)
  .filter((f) => /\.(html|js)$/.test(f) && !Object.values(CATALOGUE_FILES).includes(f as never))
  .map((f) => ({ file: f, text: fs.readFileSync(path.join(WEB, f), 'utf8') }));
const pages = sources.filter((s) => s.file.endsWith('.html'));
const modules = sources.filter((s) => s.file.endsWith('.js'));

/** Keys the pages and modules ask for: data-i18n attributes, t('…') and tn('…') (the latter as .one/.other). */
function requestedKeys(): Set<string> {
  const keys = new Set<string>();
  for (const { text } of pages) for (const m of text.matchAll(/data-i18n(?:-[a-z-]+)?="([^"]+)"/g)) keys.add(m[1]!);
  for (const { text } of modules) {
    for (const m of text.matchAll(/\bt\('([^']+)'/g)) keys.add(m[1]!);
    for (const m of text.matchAll(/\btn\('([^']+)'/g)) keys.add(`${m[1]}.one`).add(`${m[1]}.other`);
  }
  return keys;
}

/** Every quoted string of the pages and modules: a key is used when it (or its plural base) appears quoted. */
function quotedStrings(): Set<string> {
  const found = new Set<string>();
  for (const { text } of sources) for (const m of text.matchAll(/['"]([a-zA-Z0-9_.]+)['"]/g)) found.add(m[1]!);
  return found;
}

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('the web UI catalogues (Dutch and English)', () => {
  let en: Catalogue;
  let nl: Catalogue;
  before(async () => {
    en = await catalogue(CATALOGUE_FILES.en);
    nl = await catalogue(CATALOGUE_FILES.nl);
  });

  it('when the two catalogues are compared, then they have the same keys, each with text and the same placeholders', () => {
    expect(Object.keys(nl).sort()).to.deep.equal(Object.keys(en).sort());
    for (const key of Object.keys(en)) {
      expect(en[key], `en ${key}`).to.be.a('string').and.not.equal('');
      expect(nl[key], `nl ${key}`).to.be.a('string').and.not.equal('');
      expect(placeholders(nl[key]!), `placeholders of ${key}`).to.deep.equal(placeholders(en[key]!));
    }
  });

  it('when a page or module asks for a key, then both catalogues have it', () => {
    const missing = [...requestedKeys()].filter((k) => !(k in en) || !(k in nl));
    expect(missing).to.deep.equal([]);
  });

  it('when a catalogue holds a key, then some page or module uses it', () => {
    const quoted = quotedStrings();
    const used = (key: string) => quoted.has(key) || quoted.has(key.replace(/\.(one|other)$/, ''));
    expect(Object.keys(en).filter((k) => !used(k))).to.deep.equal([]);
  });

  it('when the pages are read, then no text stands outside the catalogues (only the brand and key names)', () => {
    const allowed = new Set(['callrec']);
    const stray: string[] = [];
    for (const { file, text } of pages) {
      const body = text
        .slice(text.indexOf('<body'))
        .replace(/<script[\s\S]*?<\/script>/g, '')
        .replace(/<[^>]+>/g, ' ');
      for (const word of body.match(/[A-Za-z]{2,}/g) ?? []) if (!allowed.has(word)) stray.push(`${file}: ${word}`);
    }
    expect(stray).to.deep.equal([]);
  });
});
