import { afterAll, describe, expect, it } from 'vitest';
import type { LogRow } from '../../src/plan/types.js';
import { removeScaleRepos } from '../support/scale-repos.js';
import { allStepRefs, liveDoneSteps } from '../support/log-steps.js';
import { killAndResume, outreach, siblingWaveRepo, waveSteps, workingCopies } from '../support/waves-repos.js';

/**
 * Waves at length (npm run test:long): `deepplan run --parallel 4` SIGKILLed at random moments at least 20 times,
 * resumed after each kill, then run to the end (test/waves-kill.test.ts, in npm test, kills 3 times); and the wall
 * time of the 30-contact outreach (200 ms a step) with --parallel 4 against a serial run, one after the other, as a
 * ratio. The figure is printed, not asserted beyond a generous margin: it depends on the machine's cores and load.
 */

afterAll(removeScaleRepos);

describe('deepplan run --parallel at length', () => {
  it('resumes after 20 random kills: rows 1..n once, every step done once, copies of killed runs resumed or removed', async () => {
    const siblings = 12;
    const check = (root: string, rows: LogRow[]) => {
      expect(liveDoneSteps(rows)).toEqual(allStepRefs(waveSteps(siblings)));
      expect(workingCopies(root)).toEqual([]);
    };
    const stats = await killAndResume(() => siblingWaveRepo(siblings), 20, 4, check);
    console.log(`20 kills: ${JSON.stringify(stats)}`);
    expect(stats.kills).toBe(20);
    // Some kills cut an action short and some left working copies that the next run resumed.
    expect(stats.outcomeUnknown).toBeGreaterThan(0);
    expect(stats.resumed).toBeGreaterThan(0);
  }, 600_000);

  it('measures the 30-contact outreach with --parallel 4 against a serial run (200 ms steps)', async () => {
    const serial = await outreach(null);
    const parallel = await outreach(4);
    const ratio = parallel.ms / serial.ms;
    console.log(`30 contacts, 200 ms steps, one after the other: serial ${serial.ms} ms, --parallel 4 ${parallel.ms} ms, ratio ${ratio.toFixed(2)}`);
    expect(ratio).toBeLessThan(1.5);
  }, 300_000);
});
