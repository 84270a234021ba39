import { defineConfig } from 'vitest/config';

/**
 * Files that assert no figure and no time: they parse, compare, render and refuse input, and run
 * the CLI, the examples and tiny scenarios (cli, result-file, examples: worker threads and a
 * broker on port 0) only for the shape of what they write, with floors a loaded machine still
 * clears (1k msg/s). Two of them run at once, first (CI's budget is 30 minutes on 2 cores).
 * A file that asserts how fast or how soon something happened, sends signals on a clock, or
 * runs a gate or a measurement whose verdict is the test does not belong here.
 */
const UNTIMED = [
  'test/cli.test.ts',
  'test/client-import.test.ts',
  'test/compare.test.ts',
  'test/container-files.test.ts',
  'test/delivery-check.test.ts',
  'test/examples.test.ts',
  'test/fuzz-input.test.ts',
  'test/lazy-packages.test.ts',
  'test/mirrors.test.ts',
  'test/notebooks.test.ts',
  'test/report.test.ts',
  'test/result-file.test.ts',
  'test/scenario.test.ts',
];

// Every other file runs alone, one after another: the stress tests start worker threads that
// would otherwise fight each other for the two cores of a CI machine and make timing-dependent
// code flaky, and the measurements must not share the machine with a test.
export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: { name: 'untimed', include: UNTIMED, maxWorkers: 2, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'alone', include: ['test/**/*.test.ts'], exclude: UNTIMED, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
