/**
 * Keeps every line of the TypeScript and JavaScript sources in src/ within Prettier's 120 columns (issue #13).
 * Prettier does not break long strings, template literals, comments or regular expressions; split those by hand
 * (concatenation keeps the text). Vendored code (src/web/vendor) is not ours and is left out.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const SRC = path.join(ROOT, 'src');
const MAX_COLUMNS = 120;
const SKIPPED = new Set([path.join(SRC, 'web', 'vendor')]);

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (SKIPPED.has(full)) return [];
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.(?:ts|js)$/.test(entry.name) ? [full] : [];
  });
}

/** `file:line (n columns)` for every line longer than `max` characters (code points, as an editor counts them). */
export function longLines(files: readonly string[], max: number): string[] {
  return files.flatMap((file) =>
    fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((line, i) => {
        const columns = [...line].length;
        return columns > max ? [`${path.relative(ROOT, file)}:${i + 1} (${columns} columns)`] : [];
      }),
  );
}

describe('source line length', () => {
  it('when the sources are read, then no line in src/ is longer than 120 characters', () => {
    const files = sourceFiles(SRC);
    expect(files.length, 'source files found').to.be.greaterThan(50);
    const offending = longLines(files, MAX_COLUMNS);
    expect(offending, `lines over ${MAX_COLUMNS} characters:\n${offending.join('\n')}`).to.deep.equal([]);
  });
});
