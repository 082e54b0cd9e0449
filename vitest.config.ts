import { resolve } from 'node:path';
import swc from 'unplugin-swc';
import { configDefaults, defineConfig } from 'vitest/config';

const root = __dirname;
const alias = [{ find: /^@taxiway\/(domain|config|auth|control|store|testing|metrics|taxii1)$/, replacement: resolve(root, 'libs/$1/src/index.ts') }];
// SWC keeps decorator metadata, which NestJS and TypeORM need (esbuild drops it).
const plugins = [swc.vite({ tsconfigFile: resolve(root, 'tsconfig.json') })];

/** Storage, API end-to-end, concurrency, hostile, interop and observability: a real PostgreSQL, no cluster. */
const INTEGRATION = ['libs/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'test/**/*.test.ts'];
/** The operator and the Helm chart against a real kube-apiserver + etcd. */
const CLUSTER = ['test/k8s/**/*.test.ts'];

/**
 * Lines, statements, functions and branches of libs/ and apps/ the fast tier must execute: a floor
 * a little under what it measured (README "Tests"), so that code landing without specs fails CI.
 */
const COVERAGE_THRESHOLDS = { lines: 54, statements: 54, functions: 81, branches: 86 };

/** Two cores: integration files run one after another so timings and the database stay sane. */
const serial: {
  environment: 'node';
  globalSetup: string[];
  testTimeout: number;
  hookTimeout: number;
  pool: 'forks';
  poolOptions: { forks: { singleFork: boolean } };
} = {
  environment: 'node',
  globalSetup: [resolve(root, 'test/support/global-setup.ts')],
  testTimeout: 60_000,
  hookTimeout: 120_000,
  pool: 'forks',
  poolOptions: { forks: { singleFork: true } },
};

export default defineConfig({
  plugins,
  resolve: { alias },
  test: {
    reporters: ['default', resolve(root, 'test/support/summary-reporter.ts')],
    // `vitest run --project unit --coverage` (CI): how much of the libraries and apps the fast tier
    // (unit and service specs over the in-memory fakes) executes. Not the integration tiers: their
    // hostile tests bound CPU time and event-loop lag, which instrumentation inflates.
    coverage: {
      provider: 'v8',
      include: ['libs/*/src/**/*.ts', 'apps/*/src/**/*.ts'],
      exclude: ['**/*.spec.ts', '**/*.generated.ts', '**/testing/**', 'libs/testing/**', '**/dist/**', '**/migrations/**'],
      reporter: ['text-summary'],
      reportsDirectory: resolve(root, '.tmp/coverage'),
      thresholds: COVERAGE_THRESHOLDS,
    },
    projects: [
      {
        plugins,
        resolve: { alias },
        test: { name: 'unit', include: ['libs/*/src/**/*.spec.ts', 'apps/*/src/**/*.spec.ts'], environment: 'node' },
      },
      {
        plugins,
        resolve: { alias },
        test: { name: 'integration', include: INTEGRATION, exclude: [...configDefaults.exclude, ...CLUSTER], ...serial },
      },
      {
        plugins,
        resolve: { alias },
        // After the integration project, never beside it: a kube-apiserver and etcd next to the
        // hostile tier's lag and CPU bounds would make both flaky on two cores.
        test: { name: 'cluster', include: CLUSTER, sequence: { groupOrder: 1 }, ...serial },
      },
    ],
  },
});
