import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lintText } from '../src/lint/lint.js';
import { parsePlan } from '../src/plan/parse.js';
import { wavesHome } from '../src/runners/waves.js';
import { FakeProviders } from './support/fake-providers.js';
import { runCli } from './support/fixtures.js';
import { KEYS, MODEL_CONFIG, toolCall } from './support/model-plan.js';
import { removeScaleRepos } from './support/scale-repos.js';
import { inspect, sandboxFlag, siblingWaveRepo, WAVE_PLAN } from './support/waves-repos.js';

/**
 * The cost cap of `deepplan run --parallel` holds in total, not per working copy: two sibling phases whose model
 * steps cost $0.06 each stay under a $0.10 cap in their own copies, and together pass it. The merge that brings the
 * plan's spend to the cap stops the plan, and no copy starts an iteration after it.
 */

afterAll(removeScaleRepos);

let fake: FakeProviders;
beforeEach(async () => {
  fake = await new FakeProviders().start();
});
afterEach(async () => {
  await fake.close();
});

const signalOf = (stdout: string) => stdout.trim().split('\n').pop();

/** Three sibling phases; P3's and P4's first steps are model steps (the executor model writes one shared note). */
function costRepo(): string {
  const root = siblingWaveRepo(3, [
    ['run: `node scripts/put.mjs out/p3/s1.md "P3 first"`', 'Write the shared contact notes into out/notes.md'],
    ['run: `node scripts/put.mjs out/p4/s1.md "P4 first"`', 'Write the shared contact notes into out/notes.md'],
  ]);
  writeFileSync(join(root, 'deepplan.config.yaml'), `${MODEL_CONFIG}prices:\n  anthropic/claude-test: {input: 0.1, output: 1}\n`);
  return root;
}

describe('deepplan run --parallel and the cost cap', () => {
  it('holds --max-cost in total across the copies: the merge that reaches it stops the plan', async () => {
    const root = costRepo();
    // Every model call writes the same note (so two phases may both write it) and costs $0.06.
    fake.always('anthropic', toolCall({ tool: 'write_file', path: 'out/notes.md', content: '- notes\n', step_done: true }, { inputTokens: 600_000 }));
    const run = await runCli(['run', WAVE_PLAN, '--loop', '--parallel', '4', '--max-cost', '0.10', ...sandboxFlag], root, fake.env(KEYS));
    expect(signalOf(run.stdout), run.stderr).toBe('BLOCKED_NEED_HUMAN');
    // Each copy alone spent $0.06, under the cap; the plan's total is $0.12.
    expect(fake.count('anthropic')).toBe(2);
    const now = inspect(root, 'cost');
    const plan = parsePlan(now.text);
    expect(plan.meta.state?.spent_usd).toBeCloseTo(0.12, 3);
    expect(now.blockers).toEqual([
      expect.stringMatching(/^--max-cost \$0\.10 spent \(\$0\.120\d by the phases run at once\): \d+ of 120 iterations used; last action P[34]\.1 /),
    ]);
    expect(now.rows.at(-1)!.signal).toBe('BLOCKED_NEED_HUMAN');
    // The plan did not finish: P3 and P4 each have a step left, and no copy started it after the cap was reached.
    const model = now.rows.filter((row) => /^P[34]\.1 /.test(row.action));
    expect(model).toHaveLength(2);
    const capped = now.rows.findLastIndex((row) => /^P[34]\.1 /.test(row.action));
    expect(now.rows.slice(capped + 1).filter((row) => row.phase === 'P3' || row.phase === 'P4')).toEqual([]);
    const logRules = new Set(['escape-hatch', 'state-consistency', 'iteration-log']);
    expect(lintText(now.text, join(root, WAVE_PLAN)).filter((finding) => finding.severity === 'error' && logRules.has(finding.ruleId))).toEqual([]);
    // A second run stops at once: the plan waits for a person.
    const again = await runCli(['run', WAVE_PLAN, '--loop', '--parallel', '4', '--max-cost', '0.10', ...sandboxFlag], root, fake.env(KEYS));
    expect(signalOf(again.stdout), again.stderr).toBe('BLOCKED_NEED_HUMAN');
    expect(fake.count('anthropic')).toBe(2);
    rmSync(wavesHome(join(root, WAVE_PLAN)), { recursive: true, force: true });
  }, 60_000);
});
