// The house style's checks: ESLint's and typescript-eslint's recommended rules, with formatting left to
// Prettier (eslint-config-prettier turns off the rules it owns). Run by `npm run lint`, part of `npm test`.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    // Built, generated or installed files.
    ignores: [
      'node_modules/',
      'assets/',
      'dist/',
      'cdk.out/',
      'coverage/',
      '.bench/',
      'lib/**/*.js',
      'lib/**/*.d.ts',
      'cli/purpleflea-ledger.js',
      'test/.readme-snippets/',
      'test/package/consumer-app/',
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      // Tests and fakes read untyped JSON (logs, API answers) where `any` says so plainly.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Tests and benchmarks load built bundles and untyped packages (dynalite) by path, at run time.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // CommonJS scripts and the jest configuration.
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', process: 'readonly', __dirname: 'readonly', console: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
  prettier,
);
