// Lint: typescript-eslint's recommended rules, plus the project's own rules:
// nothing but src/config.ts reads process.env, imports of Node built-ins use `node:`, and
// src/ holds no database statement or connection of its own.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
          patterns: [
            {
              regex: '^(fs|path|os|crypto|stream|http|https|net|url|util|child_process|events|zlib|timers|readline|buffer)(/.*)?$',
              message: 'Import Node built-ins with the node: prefix.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/config.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Only src/config.ts reads the environment.' }],
      // A statement or connection kept past its query pins an old SQLite snapshot (revocations unseen,
      // writes refused): every query goes through knex, which finalizes and releases it.
      'no-restricted-syntax': [
        'error',
        {
          selector: 'MemberExpression[property.name=/^(acquireConnection|releaseConnection|prepare)$/]',
          message: 'No statement or connection may outlive its query: query through knex.',
        },
      ],
    },
  },
  {
    files: ['src/web/**/*.js'],
    languageOptions: { globals: { window: 'readonly', document: 'readonly', fetch: 'readonly', URL: 'readonly', console: 'readonly' } },
  },
);
