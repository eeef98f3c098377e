/**
 * The README's configuration table cannot drift from `src/config.ts`: every
 * CALLREC_* variable of the schema is a row, every row is a real variable, a
 * documented default loads to the same configuration as leaving the variable
 * unset, and a variable documented without default has none in the schema.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { loadConfig } from '../../src/config.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const configSource = fs.readFileSync(path.join(ROOT, 'src/config.ts'), 'utf8');
const schemaBlock = configSource.slice(
  configSource.indexOf('const envSchema = z.object({'),
  configSource.indexOf('\n});', configSource.indexOf('const envSchema')),
);
const VARIABLES = [...schemaBlock.matchAll(/^ {2}(CALLREC_[A-Z0-9_]+):/gm)].map((m) => m[1]!);

function configTable(): Array<{ variable: string; defaultText: string; meaning: string }> {
  const start = readme.indexOf('\n## Configuration');
  const end = readme.indexOf('\n## ', start + 1);
  expect(start, 'README has a "## Configuration" section').to.be.greaterThan(-1);
  return readme
    .slice(start, end)
    .split('\n')
    .filter((line) => /^\| `CALLREC_/.test(line))
    .map((line) => {
      const cells = line
        .split(/(?<!\\)\|/)
        .slice(1, -1)
        .map((c) => c.trim());
      return {
        variable: cells[0]!.replace(/`/g, ''),
        defaultText: cells[1]!.replace(/`/g, ''),
        meaning: cells[2] ?? '',
      };
    });
}

/** The schema text of one variable (up to the next variable). */
function schemaOf(variable: string): string {
  const from = schemaBlock.indexOf(`  ${variable}:`);
  const next = schemaBlock.slice(from + variable.length + 3).search(/\n {2}CALLREC_/);
  return schemaBlock.slice(from, next < 0 ? undefined : from + variable.length + 3 + next);
}

describe('README configuration table', function () {
  const rows = configTable();

  it('when the schema is compared with the table, then every variable is listed once and nothing else is', function () {
    expect(VARIABLES.length).to.be.greaterThan(20);
    expect(rows.map((r) => r.variable).sort()).to.deep.equal([...VARIABLES].sort());
    for (const row of rows) expect(row.meaning, row.variable).to.have.length.greaterThan(5);
  });

  it('when a documented default is set explicitly, then the configuration equals the one with the variable unset', function () {
    const base = loadConfig({});
    for (const row of rows.filter((r) => r.defaultText !== '—')) {
      expect(loadConfig({ [row.variable]: row.defaultText }), `${row.variable}=${row.defaultText}`).to.deep.equal(base);
    }
  });

  it('when a variable is documented without default, then the schema gives it none', function () {
    for (const row of rows.filter((r) => r.defaultText === '—')) {
      const schema = schemaOf(row.variable);
      // Optional, or defaulting to "nothing" (an empty source table).
      if (schema.includes('.default(')) expect(schema, row.variable).to.match(/\.default\(\{\}\)/);
      else expect(schema, row.variable).to.contain('.optional()');
    }
  });

  it('when the README text names a CALLREC_ variable, then it exists (code blocks may hold dialplan variables)', function () {
    const prose = readme.replace(/```[\s\S]*?```/g, '');
    const named = new Set([...prose.matchAll(/\bCALLREC_[A-Z0-9_]+/g)].map((m) => m[0]));
    const unknown = [...named].filter((n) => !VARIABLES.includes(n) && !n.startsWith('CALLREC_TEST_'));
    expect(unknown).to.deep.equal([]);
  });
});
