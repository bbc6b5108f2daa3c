import { afterAll, describe, expect, it } from 'vitest';
import type { LogRow } from '../src/plan/types.js';
import { allStepRefs, liveDoneSteps } from './support/log-steps.js';
import { removeScaleRepos } from './support/scale-repos.js';
import { killAndResume, siblingWaveRepo, waveSteps, workingCopies } from './support/waves-repos.js';

/**
 * `deepplan run --parallel 4` SIGKILLed at random moments 3 times, resumed after each kill, then run to the end; a
 * person answers each phase an escape hatch stopped (a step cut short three times, five rows without progress).
 * Nothing is lost or duplicated: rows 1..n once, every step done once, every action a kill cut short logged as failed
 * "outcome unknown" before it is retried, no working copy left. test/long/waves-kill.test.ts kills 20 times;
 * test/waves-resume.test.ts kills at chosen points.
 */

afterAll(removeScaleRepos);

describe('deepplan run --parallel killed at random', () => {
  it('resumes after 3 random kills: rows 1..n once, every step done once, a cut-short action logged and retried', async () => {
    const check = (root: string, rows: LogRow[]) => {
      expect(liveDoneSteps(rows)).toEqual(allStepRefs(waveSteps(6)));
      expect(workingCopies(root)).toEqual([]);
    };
    const stats = await killAndResume(() => siblingWaveRepo(6), 3, 4, check);
    console.log(`3 kills: ${JSON.stringify(stats)}`);
    expect(stats.kills).toBe(3);
  }, 120_000);
});
