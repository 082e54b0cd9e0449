import { resolve } from 'node:path';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

const root = __dirname;
const alias = [{ find: /^@taxiway\/(domain|config|auth|control|store|testing|metrics|taxii1)$/, replacement: resolve(root, 'libs/$1/src/index.ts') }];
// SWC keeps decorator metadata, which NestJS and TypeORM need (esbuild drops it).
const plugins = [swc.vite({ tsconfigFile: resolve(root, 'tsconfig.json') })];

export default defineConfig({
  plugins,
  resolve: { alias },
  test: {
    reporters: ['default', resolve(root, 'test/support/summary-reporter.ts')],
    projects: [
      {
        plugins,
        resolve: { alias },
        test: { name: 'unit', include: ['libs/*/src/**/*.spec.ts', 'apps/*/src/**/*.spec.ts'], environment: 'node' },
      },
      {
        plugins,
        resolve: { alias },
        test: {
          name: 'integration',
          include: ['libs/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'test/**/*.test.ts'],
          environment: 'node',
          globalSetup: [resolve(root, 'test/support/global-setup.ts')],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Two cores: run integration files one after another so timings and the database stay sane.
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});
