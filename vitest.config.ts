import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const packages = [
  'numerics',
  'core',
  'targets',
  'learners',
  'metrics',
  'backend-node',
  'backend-webgpu',
  'cli',
];
// test files that may share a worker process (see isolate below)
const shared = ['numerics', 'core', 'targets', 'metrics', 'learners'];
const src = (p: string) => fileURLToPath(new URL(`./packages/${p}/src`, import.meta.url));

// Tests run against the sources: every @regimes/* import is aliased to packages/*/src.
const alias = [
  { find: '@regimes/core/testing', replacement: `${src('core')}/testing/index.ts` },
  // tfjs-core loaded with require (packages/numerics/tfjs): not built, used as it is
  ...['numerics', 'core'].map((p) => ({
    find: `@regimes/${p}/tfjs`,
    replacement: fileURLToPath(new URL(`./packages/${p}/tfjs/index.js`, import.meta.url)),
  })),
  ...packages.map((p) => ({ find: `@regimes/${p}`, replacement: `${src(p)}/index.ts` })),
];

export default defineConfig({
  test: {
    // A test file per core. Vitest's default outside watch mode is cores − 1: one worker on a 2-core
    // CI machine, which ran the 50-odd files one after another (measured: ~570 s of wall for ~450 s
    // of tests on 2 idle cores, the rest each file's process start and module imports, all serial).
    // Each test file is single-threaded (tfjs cpu/wasm; OpenBLAS at one thread in the cli project),
    // so one file per core does not oversubscribe the machine.
    maxWorkers: availableParallelism(),
    projects: [
      ...packages.map((p) => ({
        resolve: { alias },
        test: {
          name: p,
          root: fileURLToPath(new URL(`./packages/${p}`, import.meta.url)),
          include: ['test/**/*.test.ts'],
          setupFiles: [fileURLToPath(new URL('./test/setup.ts', import.meta.url))],
          // Files of these projects share their worker process (setup.ts still runs before each):
          // Node's modules (mathjs alone costs ~1.3–3 CPU s to import, tfjs, ...) load once per
          // worker, not once per file. Their tests leave no process state behind (no env, no
          // listeners, backends restored); cli (env, subprocesses), the backends and repo keep
          // a fresh process per file.
          ...(shared.includes(p) ? { isolate: false } : {}),
          // Budgets that catch a hang, not a slow machine: no assertion depends on time, and the
          // heaviest tests (a damian fit beside ntk at n = 2048, ntk on 32 768 test points) take
          // 30–70 s alone and over 2 minutes on a 2-core machine loaded with other work.
          testTimeout: 300_000,
          hookTimeout: 300_000,
          // OpenBLAS's thread count changes float32 round-off of a product (measured on an AMD EPYC
          // with the Haswell kernels: ~1e-6 relative between 1 and 2 threads). The CLI tests compare
          // -j 1 with -j N, whose workers get cores/N threads, so every process here uses one.
          ...(p === 'cli' ? { env: { OPENBLAS_NUM_THREADS: '1' } } : {}),
        },
      })),
      // The example plugins (examples/plugin-*), each a standalone package, tested from the root run
      // against the sources like the packages; each sets up its tfjs backend in its test/setup.ts.
      ...['plugin-feedback-alignment', 'plugin-sparse-parity', 'plugin-samples-to-reach'].map((p) => ({
        resolve: { alias },
        test: {
          name: p,
          root: fileURLToPath(new URL(`./examples/${p}`, import.meta.url)),
          include: ['test/**/*.test.ts'],
          setupFiles: ['./test/setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      })),
      // Repository-level checks (test/*.test.ts): examples/cluster's scripts, manifests and Dockerfile.
      {
        test: {
          name: 'repo',
          root: fileURLToPath(new URL('.', import.meta.url)),
          include: ['test/**/*.test.ts'],
          testTimeout: 300_000,
        },
      },
    ],
  },
});
