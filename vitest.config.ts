import { availableParallelism } from 'node:os';
import { configDefaults, defineConfig } from 'vitest/config';

// The long tests (test/long/) run only with `--mode long` (npm run test:long), and then only they run.
const LONG = 'test/long/**';

export default defineConfig(({ mode }) => ({
  test: {
    include: mode === 'long' ? [`${LONG}/*.test.ts`, `${LONG}/*.test.tsx`] : ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    exclude: mode === 'long' ? [...configDefaults.exclude] : [...configDefaults.exclude, LONG],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Most test files wait on child processes (the CLI, bubblewrap, tmux), not on a core: two workers even on a
    // two-core machine halve the suite's time (measured: 198 s on one worker, 95 s on two).
    maxWorkers: Math.max(2, availableParallelism()),
    reporters: ['default', './test/support/summary-reporter.ts'],
    setupFiles: ['./test/support/cleanup.ts'],
    // `deepplan approve <plan> <phase>` records who approves, by default git's user.name: the tests must not depend
    // on the machine's git configuration (a fresh CI machine has none). Tests of the name itself reset this.
    env: { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'user.name', GIT_CONFIG_VALUE_0: 'Test Approver' },
  },
}));
