import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePlan } from '../src/plan/parse.js';
import { lintText } from '../src/lint/lint.js';
import { runCli } from './support/fixtures.js';
import { scriptedRepo } from './support/scripted.js';

const sandboxFlag = process.env['DEEPPLAN_TEST_NO_SANDBOX'] ? ['--no-sandbox'] : [];

function readPlan(root: string) {
  return parsePlan(readFileSync(join(root, 'plans/p.md'), 'utf8'));
}

describe('deepplan run on a scripted plan', () => {
  it('runs to the human gate, waits, and after approve runs to TASK_COMPLETE with every criterion ticked', async () => {
    const root = scriptedRepo();
    const first = await runCli(['run', 'plans/p.md', '--loop', ...sandboxFlag], root);
    expect(first.stdout.trim().split('\n').pop()).toBe('BLOCKED_NEED_HUMAN');
    expect(first.code, first.stderr).toBe(3);
    let plan = readPlan(root);
    expect(plan.meta.state?.blockers?.[0]).toMatch(/^P3 gate: waiting for approval/);
    const again = await runCli(['run', 'plans/p.md', '--once', ...sandboxFlag], root);
    expect(again.code).toBe(3);
    expect(readPlan(root).log?.rows.length).toBe(plan.log?.rows.length);
    const approve = await runCli(['approve', 'plans/p.md', 'P3', '--note', 'Ana: the page reads well'], root);
    expect(approve.code, approve.stderr).toBe(0);
    const last = await runCli(['run', 'plans/p.md', '--loop', ...sandboxFlag], root);
    expect(last.stdout.trim().split('\n').pop()).toBe('TASK_COMPLETE');
    expect(last.code).toBe(0);
    plan = readPlan(root);
    expect(plan.meta.status).toBe('complete');
    expect(plan.criteria?.every((criterion) => criterion.checked)).toBe(true);
    expect(plan.meta.state?.iteration).toBe(plan.log?.rows.length);
  });
});
