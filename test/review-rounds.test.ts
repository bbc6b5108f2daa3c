import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelRunner } from '../src/models/runner.js';
import { parsePlan } from '../src/plan/parse.js';
import { ReviewRoundsError, ReviewStoppedError, roundsEventText, runReviewRounds, type RoundsEvent } from '../src/review/rounds.js';
import { edit, makeRepo, SMALL_PLAN, SMALL_PLAN_SKILLS } from './support/fixtures.js';

/** The review rounds in this process (src/review/rounds.ts), as `deepplan review` and `deepplan new` run them. */

const DRIFT = edit(SMALL_PLAN, '1. /publish-page out/summary.md\n2. run:', '1. Publish the page by hand.\n2. run:');
const offline = (root: string) => new ModelRunner({ config: { models: { planner: 'offline/rules', reviewer: 'offline/rules' } }, root, env: {} });

describe('review rounds in process', () => {
  it('runs a round, writes the review block and the reports, and tells each step as an event', async () => {
    const root = makeRepo({ ...SMALL_PLAN_SKILLS, 'plans/p.md': DRIFT });
    const path = join(root, 'plans/p.md');
    const events: RoundsEvent[] = [];
    const result = await runReviewRounds({ path, root, models: offline(root), emit: (event) => events.push(event) });
    expect(result.verdict).toBe('REVISE');
    // The offline planner does not revise: one round, then the rounds end.
    expect(events.map((event) => event.type)).toEqual(['round']);
    const round = events[0] as Extract<RoundsEvent, { type: 'round' }>;
    expect(round.report).toBe(join(root, 'reviews/weekly-summary/round-1.md'));
    expect(roundsEventText(round, root).text).toMatch(/^round 1: REVISE \(0 critical, 1 high, .*\); report: reviews\/weekly-summary\/round-1\.md$/);
    expect(parsePlan(readFileSync(path, 'utf8')).meta.review).toMatchObject({ verdict: 'REVISE', rounds: 1, reviewer: 'offline/rules' });
    expect(existsSync(join(root, 'reviews/weekly-summary/round-1.json'))).toBe(true);
  });

  it('starts nothing once its signal is aborted: the plan and the reviews folder stay as they were', async () => {
    const root = makeRepo({ ...SMALL_PLAN_SKILLS, 'plans/p.md': DRIFT });
    const path = join(root, 'plans/p.md');
    const controller = new AbortController();
    controller.abort();
    await expect(runReviewRounds({ path, root, models: offline(root), signal: controller.signal })).rejects.toBeInstanceOf(ReviewStoppedError);
    expect(readFileSync(path, 'utf8')).toBe(DRIFT);
    expect(existsSync(join(root, 'reviews'))).toBe(false);
  });

  it('fails with one line naming the document as given: unreadable, or 3 rounds and unchanged since', async () => {
    const root = makeRepo({ ...SMALL_PLAN_SKILLS, 'plans/p.md': DRIFT });
    const path = join(root, 'plans/p.md');
    const missing = runReviewRounds({ path: join(root, 'plans/none.md'), root, models: offline(root) });
    await expect(missing).rejects.toMatchObject({ name: 'ReviewRoundsError', unreadable: true });
    for (let round = 0; round < 3; round++) await runReviewRounds({ path, root, models: offline(root), rounds: 1 });
    expect(parsePlan(readFileSync(path, 'utf8')).meta.review?.rounds).toBe(3);
    const again = runReviewRounds({ path, root, models: offline(root), label: 'plans/p.md' });
    await expect(again).rejects.toThrow(ReviewRoundsError);
    await expect(again).rejects.toThrow(/^plans\/p\.md has had 3 review rounds and has not changed since the last one; revise it/);
    // A changed plan starts review cycle 2.
    writeFileSync(path, readFileSync(path, 'utf8').replace('## Success criteria', '## Success criteria\n\nA line added by hand.\n'));
    const cycle = await runReviewRounds({ path, root, models: offline(root), label: 'plans/p.md' });
    expect(cycle).toMatchObject({ cycle: 2, round: 1 });
  });
});
