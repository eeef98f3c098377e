/**
 * The layering rule in eslint.config.js bites: ESLint's own Node API lints a small in-memory
 * module as if it were placed in a given folder of src/, and the boundary rule must report an
 * import across a boundary (and only those). `npm test` lints the real tree with the same config.
 */
import path from 'node:path';
import { expect } from 'chai';
import { ESLint } from 'eslint';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const BOUNDARY_RULES = new Set(['no-restricted-imports', 'no-restricted-syntax']);

interface Probe {
  /** Where the module is placed, relative to the repository. */
  file: string;
  /** The module's source. */
  code: string;
}

const probe = (overrides: Partial<Probe> = {}): Probe => ({
  file: 'src/storage/layering-probe.ts',
  code: "import { createGuards } from '../auth/guard.js';\nexport const probe = createGuards;\n",
  ...overrides,
});

describe('layering lint rule', function () {
  let eslint: ESLint;

  before(function () {
    eslint = new ESLint({ cwd: ROOT });
  });

  /** The boundary messages ESLint reports for `p`. */
  async function boundaryMessages(p: Probe): Promise<string[]> {
    const [result] = await eslint.lintText(p.code, { filePath: path.join(ROOT, p.file) });
    expect(result, `${p.file} is linted`).to.not.equal(undefined);
    return result!.messages.filter((m) => m.ruleId !== null && BOUNDARY_RULES.has(m.ruleId)).map((m) => m.message);
  }

  const refused: Array<[string, Partial<Probe>]> = [
    ['a module in src/storage imports a feature', {}],
    [
      'a module in src/db imports a feature',
      {
        file: 'src/db/layering-probe.ts',
        code: "import type { Role } from '../auth/principal.js';\nexport type R = Role;\n",
      },
    ],
    [
      'a migration imports a feature',
      {
        file: 'src/db/migrations/layering-probe.ts',
        code: "export { ingestRecording } from '../../ingest/ingest.js';\n",
      },
    ],
    [
      'a module in src/audio imports a feature through its index',
      { file: 'src/audio/layering-probe.ts', code: "export { deleteRecording } from '../retention/index.js';\n" },
    ],
    ['a module in src/storage imports src/http', { code: "export { sendProblem } from '../http/problem.js';\n" }],
    ['a module in src/storage imports the AppError factories', { code: "export { errors } from '../errors.js';\n" }],
    ['a module in src/storage imports the CLI', { code: "export { commands } from '../cli/commands.js';\n" }],
    [
      'a module in src/storage imports a feature with import()',
      { code: "export const load = () => import('../ingest/ingest.js');\n" },
    ],
    [
      'a module in src/db names a feature in an import() type',
      { file: 'src/db/layering-probe.ts', code: "export type R = import('../auth/principal.js').Role;\n" },
    ],
    [
      'a feature imports another feature past its index',
      { file: 'src/playback/layering-probe.ts', code: "export { createGuards } from '../auth/guard.js';\n" },
    ],
    [
      'a feature imports a composition root',
      { file: 'src/subjects/layering-probe.ts', code: "export { createApp } from '../app.js';\n" },
    ],
    [
      'a module in src/http imports a feature',
      {
        file: 'src/http/layering-probe.ts',
        code: "export { listQuerySchema } from '../playback/playback-routes.js';\n",
      },
    ],
    [
      'a module in src/http imports a feature through its index',
      { file: 'src/http/layering-probe.ts', code: "export { createGuards } from '../auth/index.js';\n" },
    ],
    // The boundary blocks replace the options of two src-wide rules: those rules must still hold there.
    [
      'a module in src/storage imports a Node built-in without node:',
      { code: "import fs from 'fs';\nexport const probe = fs;\n" },
    ],
    [
      'a module in src/db calls prepare (a statement outliving its query)',
      { file: 'src/db/layering-probe.ts', code: 'export const probe = (c: { prepare(): void }) => c.prepare();\n' },
    ],
  ];
  for (const [when, overrides] of refused) {
    it(`when ${when}, then lint reports it`, async function () {
      expect(await boundaryMessages(probe(overrides))).to.have.length(1);
    });
  }

  const allowed: Array<[string, Partial<Probe>]> = [
    [
      'a module in src/storage imports config, the logger and another lower layer',
      {
        code: "export { loadConfig } from '../config.js';\nexport type { Logger } from '../logger.js';\nexport type { Db } from '../db/db.js';\n",
      },
    ],
    [
      'a module in src/db imports the shared roles',
      { file: 'src/db/layering-probe.ts', code: "export type { Role } from '../domain/roles.js';\n" },
    ],
    [
      'a feature imports another feature through its index',
      { file: 'src/playback/layering-probe.ts', code: "export { createGuards } from '../auth/index.js';\n" },
    ],
    [
      'a feature imports its own modules, src/http and the lower layers',
      {
        file: 'src/retention/layering-probe.ts',
        code: "export { sweepOnce } from './sweep.js';\nexport { sendProblem } from '../http/problem.js';\nexport { recordingTags } from '../storage/tags.js';\nexport const load = () => import('./multipart.js');\n",
      },
    ],
    [
      'a module in src/http imports the lower layers',
      {
        file: 'src/http/layering-probe.ts',
        code: "export { isStoreFull } from '../storage/object-store.js';\nexport { isDbFull } from '../db/db-errors.js';\n",
      },
    ],
    [
      'a composition root imports a feature module',
      {
        file: 'src/layering-probe.ts',
        code: "export { createPlaybackRouter } from './playback/playback-routes.js';\n",
      },
    ],
  ];
  for (const [when, overrides] of allowed) {
    it(`when ${when}, then lint reports nothing`, async function () {
      expect(await boundaryMessages(probe(overrides))).to.deep.equal([]);
    });
  }
});
