// @ts-check
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Dependency rule (ARCHITECTURE.md): domain ← store, auth, control, taxii1 ← apps; libs never import apps. */
const layer = (allowed) => ({
  'no-restricted-imports': [
    'error',
    {
      patterns: [
        {
          group: ['@taxiway/*', ...allowed.map((a) => `!@taxiway/${a}`)],
          message: 'This package may not import that layer (see ARCHITECTURE.md, dependency rule).',
        },
        {
          group: ['../../*/src/*', '../../../libs/*', '../../../apps/*'],
          message: 'Import other packages through their index (@taxiway/*), not by relative path.',
        },
      ],
    },
  ],
});

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', '.venv*/**', 'data/**', 'bench/results/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/require-await': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      complexity: ['error', 10],
      'max-depth': ['error', 3],
      'max-params': ['error', 4],
    },
  },
  { files: ['libs/domain/src/**/*.ts'], rules: layer([]) },
  { files: ['libs/config/src/**/*.ts'], rules: layer([]) },
  { files: ['libs/metrics/src/**/*.ts'], rules: layer([]) },
  { files: ['libs/auth/src/**/*.ts', 'libs/control/src/**/*.ts', 'libs/store/src/**/*.ts', 'libs/taxii1/src/**/*.ts'], rules: layer(['domain']) },
  { files: ['apps/api/src/**/*.ts'], rules: layer(['domain', 'config', 'auth', 'control', 'store', 'metrics', 'taxii1']) },
  { files: ['apps/cli/src/**/*.ts'], rules: layer(['domain', 'config', 'auth', 'store']) },
  { files: ['apps/operator/src/**/*.ts'], rules: layer(['domain', 'control', 'store', 'metrics']) },
  // Specs may also use libs/testing (the in-memory fakes of the ports, fixtures).
  { files: ['apps/api/src/**/*.spec.ts'], rules: layer(['domain', 'config', 'auth', 'control', 'store', 'metrics', 'taxii1', 'testing']) },
  { files: ['apps/operator/src/**/*.spec.ts'], rules: layer(['domain', 'control', 'store', 'metrics', 'testing']) },
  {
    // Nest modules: their constructors and provider factories take what the container injects (one
    // parameter per dependency, never called by hand), so the parameter bound does not apply.
    files: ['apps/*/src/**/*.module.ts'],
    rules: { 'max-params': 'off' },
  },
  {
    // Tests and benchmarks: assertions on parsed JSON and long scenario functions are the norm there.
    files: ['**/*.spec.ts', '**/test/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      complexity: 'off',
      'max-depth': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
