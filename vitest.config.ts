import { defineConfig } from 'vitest/config';

// Two projects: pure unit tests beside the code (no server), and integration tests under test/
// that share one real etcd + kube-apiserver per run (test/global-setup.ts).
export default defineConfig({
  test: {
    reporters: process.env.VITEST_JSON_REPORT
      ? ['default', ['json', { outputFile: process.env.VITEST_JSON_REPORT }]]
      : ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'hack/**/*.test.ts'],
          environment: 'node',
          // Randomized model tests run thousands of operations; CI machines are shared and slow.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Two cores: files run two at a time against the one shared control plane.
          maxWorkers: 2,
        },
      },
    ],
  },
});
