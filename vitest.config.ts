import { defineConfig } from 'vitest/config';

// Test files run one after another: the stress tests start worker threads that would otherwise
// fight each other for the two cores of a CI machine and make timing-dependent code flaky.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
