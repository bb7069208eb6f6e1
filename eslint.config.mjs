import tseslint from 'typescript-eslint';
import importPlugin from 'eslint-plugin-import';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', '.ferry/**', 'coverage/**', 'test/lmstfy-client/**'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { import: importPlugin },
    settings: { 'import/resolver': { node: { extensions: ['.ts', '.js'] } } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'import/no-cycle': 'error',
      // Fastify handlers and hooks are async by convention, awaited or not.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no I/O modules.
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['node:*', 'fs', 'path', 'os', 'crypto', 'http', 'https', 'net', 'child_process', 'undici', 'fastify', '@temporalio/client', '@temporalio/worker', '@temporalio/activity'], message: 'Workflow code must stay deterministic: no Node built-ins or I/O modules.' },
          { group: ['../activities', '../activities/*'], allowTypeImports: true, message: 'Import activity types only.' },
        ],
      }],
    },
  },
  {
    // The wire contract: outside the sandbox, code takes from src/workflows only the messages files
    // and ids.ts as values (types of workflow functions are fine: they name what is started).
    files: ['src/**/*.ts'],
    ignores: ['src/workflows/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [
          { regex: '(^|/)workflows(/(?!ids$)(?![\\w-]+\\.messages$)[\\w-]+)?$', allowTypeImports: true, message: 'Import workflow values from a *.messages.ts file or ids.ts.' },
        ],
      }],
    },
  },
  { files: ['**/*.mjs', '**/*.js'], extends: [tseslint.configs.disableTypeChecked] },
);
