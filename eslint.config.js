// Lint: typescript-eslint's recommended rules, plus the project's own rules:
// nothing but src/config.ts reads process.env, imports of Node built-ins use `node:`,
// src/ holds no database statement or connection of its own, and the layering holds (below).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodePrefix = {
  regex: '^(fs|path|os|crypto|stream|http|https|net|url|util|child_process|events|zlib|timers|readline|buffer)(/.*)?$',
  message: 'Import Node built-ins with the node: prefix.',
};

// A statement or connection kept past its query pins an old SQLite snapshot (revocations unseen,
// writes refused): every query goes through knex, which finalizes and releases it.
const queryThroughKnex = {
  selector: 'MemberExpression[property.name=/^(acquireConnection|releaseConnection|prepare)$/]',
  message: 'No statement or connection may outlive its query: query through knex.',
};

// Layering. The lower layers (src/storage, src/db, src/audio, src/domain) import no feature, no
// src/http, no src/cli, no composition root and no AppError (they raise their own errors; the HTTP
// edge maps them). Features import one another only through a folder's index.ts. src/http imports
// no feature. The composition roots (src/app.ts, background.ts, main.ts, openapi-operations.ts,
// openapi-schemas.ts and src/cli/) wire everything together and may import any module.
const FEATURES = ['auth', 'audit', 'ingest', 'keys', 'playback', 'privacy', 'retention', 'subjects', 'training', 'web'];
const LOWER = ['storage', 'db', 'audio', 'domain'];
const ROOTS = ['app', 'background', 'main', 'openapi-operations', 'openapi-schemas', 'openapi-training'];
const UP = '^(\\.\\./)+';
const noRoot = {
  regex: `${UP}(cli/|(${ROOTS.join('|')})\\.js$)`,
  message:
    'Only the composition roots (src/cli/, app.ts, background.ts, main.ts, openapi-*.ts) import the composition roots.',
};
const LOWER_FORBIDDEN = [
  {
    regex: `${UP}(${[...FEATURES, 'http'].join('|')})(/|$)`,
    message: 'storage/, db/, audio/ and domain/ are lower layers: they import no feature and nothing from src/http/.',
  },
  {
    regex: `${UP}errors\\.js$`,
    message:
      'Lower layers raise their own errors; the HTTP edge maps them to AppError (e.g. src/http/store-errors.ts).',
  },
  noRoot,
];
const FEATURE_FORBIDDEN = [
  {
    regex: `${UP}(${FEATURES.join('|')})/(?!index\\.js$)`,
    message:
      "Features import one another only through the folder's index.ts ('../<feature>/index.js'); inside a folder, import with './'.",
  },
  noRoot,
];
const HTTP_FORBIDDEN = [
  {
    regex: `${UP}(${FEATURES.join('|')})(/|$)`,
    message:
      'src/http/ is shared HTTP plumbing and imports no feature: assemble feature schemas beside app.ts (src/openapi-operations.ts).',
  },
  noRoot,
];

/**
 * A config block for `folders` that refuses the `forbidden` import patterns, in static imports and
 * re-exports (no-restricted-imports) and in `import()` expressions and `import('…')` types
 * (no-restricted-syntax, with the src-wide knex rule repeated: a later block replaces a rule's options).
 */
function boundary(folders, forbidden) {
  return {
    files: folders.map((folder) => `src/${folder}/**/*.ts`),
    rules: {
      'no-restricted-imports': ['error', { patterns: [nodePrefix, ...forbidden] }],
      'no-restricted-syntax': [
        'error',
        queryThroughKnex,
        ...forbidden.map(({ regex, message }) => ({
          selector: `:matches(ImportExpression, TSImportType)[source.value=/${regex.replaceAll('/', '\\/')}/i]`,
          message,
        })),
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'bench/results/', 'test-output/', 'src/web/vendor/', 'storage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-restricted-imports': [
        'error',
        {
          patterns: [nodePrefix],
        },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/config.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Only src/config.ts reads the environment.' },
      ],
      'no-restricted-syntax': ['error', queryThroughKnex],
    },
  },
  boundary(LOWER, LOWER_FORBIDDEN),
  boundary(FEATURES, FEATURE_FORBIDDEN),
  boundary(['http'], HTTP_FORBIDDEN),
  {
    // Test and benchmark inputs are seeded (test/support/random.ts), so a failure replays exactly.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'Math',
          property: 'random',
          message: 'Seed random inputs: use seededRandom/seededBytes from test/support/random.ts.',
        },
      ],
    },
  },
  {
    files: ['src/web/**/*.js'],
    languageOptions: {
      globals: { window: 'readonly', document: 'readonly', fetch: 'readonly', URL: 'readonly', console: 'readonly' },
    },
  },
);
