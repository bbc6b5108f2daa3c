import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Most test files wait on child processes (the CLI, bubblewrap, tmux), not on a core: two workers even on a
    // two-core machine halve the suite's time (measured: 198 s on one worker, 95 s on two).
    maxWorkers: Math.max(2, availableParallelism()),
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
