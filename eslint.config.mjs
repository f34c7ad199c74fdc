import eslint from '@eslint/js';
import { builtinModules } from 'node:module';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((name) => `node:${name}`)];

/** What ships: the folders the Docker image carries. Everything under dev/ is the local harness. */
const shipped = ['activities', 'bot', 'game', 'infra', 'schedules', 'store', 'worker', 'workflows'];
const noHarness = {
  regex: '^(\\.\\./)+dev(/|$)',
  message:
    'Shipped code never imports the local harness (dev/): the entry point under dev/ passes it in (e.g. extraRoutes).',
};

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'dist/'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Activities, fastify plugins and handlers are async by contract even when they never await.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The web chat page and the console run in the browser.
    files: ['dev/web-chat/public/**', 'bot/support/console/**'],
    languageOptions: { globals: globals.browser },
  },
  {
    files: shipped.map((folder) => `${folder}/**/*.ts`),
    rules: { 'no-restricted-imports': ['error', { patterns: [noHarness] }] },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no I/O.
    files: ['workflows/**/*.ts', 'worker/workflow-interceptors.ts', 'game/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({
            name,
            message: 'Workflow code is deterministic: Node built-ins are not available in it.',
          })),
          patterns: [noHarness],
        },
      ],
    },
  },
);
