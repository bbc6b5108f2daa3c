import { afterAll, describe, it } from 'vitest';
import { eightWriters, removeDealRepos } from '../support/deal-writers.js';

/**
 * The eight writers of test/writers-concurrency.test.ts over 20 rounds of seven-step phases (a long test: npm run
 * test:long): a run, approvals of both kinds and reviews come together 160 times.
 */

afterAll(removeDealRepos);

describe('eight processes writing one plan: run --once, approve (plan and phase) and review', () => {
  it('lose no action that ran and log no false "outcome unknown" (20 rounds)', async () => {
    await eightWriters({ rounds: 20, phases: 8, steps: 7, least: { effects: 20, reviewWrites: 30, phaseApprovals: 3, planApprovals: 3 } });
    // Some 70 s of processor time (160 starts of the CLI): ~40 s on two idle cores, more on a busy machine.
  }, 300_000);
});
