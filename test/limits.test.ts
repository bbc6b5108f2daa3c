import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { runIteration } from '../src/execute/iteration.js';
import { lintText } from '../src/lint/lint.js';
import { ModelRunner } from '../src/models/runner.js';
import { FakeProviders } from './support/fake-providers.js';
import { edit, runCli } from './support/fixtures.js';
import { KEYS, MODEL_CONFIG, modelPlan, modelRepo, planText, readPlan, SANDBOX, stateErrors, toolCall } from './support/model-plan.js';
import { scriptedRepo, SCRIPTED_PLAN } from './support/scripted.js';

/**
 * Limits are absolute: no run without a finite iteration budget, and the cost cap (--max-cost, limits.max_cost)
 * counts what the plan has spent in all (state.spent_usd, in the plan file), across runs and machines.
 */

const sandboxFlag = SANDBOX ? [] : ['--no-sandbox'];
const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});
function track(root: string): string {
  roots.push(root);
  return root;
}

const BUDGET_BLOCK = 'budget:\n  max_iterations: 15\n  basis: formula\n';

describe('a plan without a finite positive whole iteration budget is refused', () => {
  const variants: Array<[string, string, RegExp]> = [
    [
      'max_iterations "8" (text)',
      'budget:\n  max_iterations: "8"\n  basis: formula\n',
      /has budget\.max_iterations "8" \(text\), not a finite positive whole number/,
    ],
    ['max_iterations .inf', 'budget:\n  max_iterations: .inf\n  basis: formula\n', /has budget\.max_iterations \.inf, not a finite/],
    ['max_iterations 0', 'budget:\n  max_iterations: 0\n  basis: formula\n', /has budget\.max_iterations 0, not a finite/],
    ['max_iterations -1', 'budget:\n  max_iterations: -1\n  basis: formula\n', /has budget\.max_iterations -1, not a finite/],
    ['max_iterations 2.5', 'budget:\n  max_iterations: 2.5\n  basis: formula\n', /has budget\.max_iterations 2\.5, not a finite/],
    ['max_iterations null', 'budget:\n  max_iterations:\n  basis: formula\n', /has budget\.max_iterations null, not a finite/],
    ['no max_iterations', 'budget:\n  basis: formula\n', /has no budget\.max_iterations;/],
    ['no budget: block', '', /has no budget: block;/],
  ];

  it.each(variants)('%s: run exits 2 with one line naming the fix, and writes nothing', async (_name, block, what) => {
    const plan = edit(SCRIPTED_PLAN, BUDGET_BLOCK, block);
    const root = track(scriptedRepo(plan));
    for (const mode of ['--once', '--loop']) {
      const result = await runCli(['run', 'plans/p.md', mode, ...sandboxFlag], root);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stdout).toBe('');
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(what);
      // The fix, with the least the formula allows for this plan (3 phases, 3 criteria).
      expect(lines[0]).toMatch(
        /^deepplan: plans\/p\.md has .*; no run starts without a finite budget: set budget\.max_iterations to a whole number of iterations, e\.g\. 14 \(deepplan plan computes one\)$/,
      );
    }
    expect(planText(root)).toBe(plan);
  });

  it.each(variants)('%s: lint reports it as an error of the budget rule, with the fix', (_name, block, what) => {
    const findings = lintText(edit(SCRIPTED_PLAN, BUDGET_BLOCK, block), 'plans/p.md').filter((finding) => finding.ruleId === 'budget');
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: 'error' });
    expect(findings[0]!.message).toMatch(what);
    expect(findings[0]!.message).toContain('set budget.max_iterations to a whole number of iterations, e.g. 14');
  });

  it('a hostile value is quoted, its control characters escaped, never written raw to the terminal', async () => {
    const plan = edit(SCRIPTED_PLAN, BUDGET_BLOCK, 'budget:\n  max_iterations: "\\e[2J\\e]0;owned\\a8"\n  basis: formula\n');
    const root = track(scriptedRepo(plan));
    const result = await runCli(['run', 'plans/p.md', '--once', ...sandboxFlag], root);
    expect(result.code).toBe(2);
    expect(result.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(result.stderr).toContain('has budget.max_iterations "\\u001b[2J\\u001b]0;owned\\u00078" (text), not a finite positive whole number');
  });

  it('the engine itself never iterates without one, whoever drives it (no CLI in between)', async () => {
    const plan = edit(SCRIPTED_PLAN, BUDGET_BLOCK, 'budget:\n  max_iterations: .inf\n  basis: formula\n');
    const root = track(scriptedRepo(plan));
    const config = loadConfig(root);
    for (let round = 0; round < 3; round++) {
      const report = await runIteration({ planPath: join(root, 'plans/p.md'), root, config, models: null, sandbox: SANDBOX });
      expect(report.signal).toBe('BLOCKED_NEED_HUMAN');
      expect(report.rows).toEqual([]);
      expect(report.blockers).toEqual([
        expect.stringMatching(/^the plan has budget\.max_iterations \.inf, not a finite positive whole number; .*set budget\.max_iterations/),
      ]);
    }
    expect(planText(root)).toBe(plan);
  });

  it('a valid max_iterations is enforced even when basis is wrong', async () => {
    const plan = edit(SCRIPTED_PLAN, BUDGET_BLOCK, 'budget:\n  max_iterations: 2\n  basis: guessed\n');
    const root = track(scriptedRepo(plan));
    const result = await runCli(['run', 'plans/p.md', '--loop', ...sandboxFlag], root);
    expect(result.code, result.stderr).toBe(3);
    const rows = readPlan(root).log!.rows;
    expect(rows).toHaveLength(2);
    expect(readPlan(root).meta.state?.blockers?.[0]).toMatch(/^Budget spent: 2 of 2 iterations used/);
  });
});

describe("the cost cap counts the plan's whole spend, across runs and machines", () => {
  let fake: FakeProviders;
  beforeEach(async () => {
    fake = await new FakeProviders().start();
  });
  afterEach(async () => {
    await fake.close();
  });

  /** $1 per million tokens either way: a call of 11,000 + 1,000 tokens costs $0.012. */
  const PRICED = `${MODEL_CONFIG}prices:\n  anthropic/claude-test: {input: 1, output: 1}\n`;
  const CALL_USD = 0.012;
  const write = (round: number) =>
    toolCall(
      { tool: 'write_file', path: 'notes/week.md', content: `- Acme: renewed (round ${round})\n`, step_done: false, summary: `round ${round}` },
      { inputTokens: 11_000, outputTokens: 1_000 },
    );

  it('twelve run --once --max-cost 0.15 on two machines spend at most the cap; the thirteenth is refused before its call', async () => {
    // Two clones of one repository: the plan file travels between them (as a commit would); nothing else does.
    const machines = [track(modelRepo(modelPlan(), {}, PRICED)), track(modelRepo(modelPlan(), {}, PRICED))];
    let round = 0;
    for (; round < 12; round++) {
      const here = machines[round % 2]!;
      const there = machines[(round + 1) % 2]!;
      fake.queue('anthropic', write(round));
      const result = await runCli(['run', 'plans/p.md', '--once', '--max-cost', '0.15', ...sandboxFlag], here, fake.env(KEYS));
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain(`model cost this run: $${CALL_USD.toFixed(4)} (this plan so far: $${(CALL_USD * (round + 1)).toFixed(4)})`);
      copyFileSync(join(here, 'plans/p.md'), join(there, 'plans/p.md'));
      // The local ledgers stay behind: the plan alone carries the total.
      rmSync(join(there, '.deepplan'), { recursive: true, force: true });
    }
    expect(fake.count('anthropic')).toBe(12);
    const plan = readPlan(machines[0]!);
    expect(plan.log!.rows).toHaveLength(12);
    expect(plan.meta.state?.spent_usd).toBeCloseTo(12 * CALL_USD, 6);

    fake.always('anthropic', write(99));
    const thirteenth = await runCli(['run', 'plans/p.md', '--once', '--max-cost', '0.15', ...sandboxFlag], machines[round % 2]!, fake.env(KEYS));
    expect(thirteenth.code, thirteenth.stderr).toBe(3);
    expect(thirteenth.stdout.trim().split('\n').pop()).toBe('BLOCKED_NEED_HUMAN');
    expect(fake.count('anthropic')).toBe(12);
    const blocked = readPlan(machines[round % 2]!);
    expect(blocked.log!.rows.at(-1)).toMatchObject({ result: 'blocked', signal: 'BLOCKED_NEED_HUMAN', notes: 'the --max-cost cap is reached' });
    expect(blocked.meta.state?.blockers?.[0]).toMatch(
      /^the --max-cost cap is reached: executor \(anthropic\/claude-test\): this call could bring the run to \$0\.15\d+, over --max-cost \$0\.15 \(spent so far \$0\.1440, \$0\.1440 of it recorded in the plan before this run's calls\)/,
    );
    expect(thirteenth.stderr).toContain('blocked: the --max-cost cap is reached');
    // Spent in all: no more than the cap plus one call.
    expect(blocked.meta.state?.spent_usd).toBeLessThanOrEqual(0.15 + CALL_USD);
    expect(stateErrors(machines[round % 2]!)).toEqual([]);
    expect(lintText(planText(machines[round % 2]!), 'plans/p.md').filter((finding) => finding.ruleId === 'front-matter')).toEqual([]);
  }, 60_000);

  it('limits.max_cost in the config caps the plan the same way; a later run with a higher --max-cost goes on', async () => {
    const root = track(modelRepo(modelPlan(), {}, PRICED.replace('  retry_base_ms: 10\n', '  retry_base_ms: 10\n  max_cost: 0.03\n')));
    for (let round = 0; round < 3; round++) fake.queue('anthropic', write(round));
    const first = await runCli(['run', 'plans/p.md', '--once', ...sandboxFlag], root, fake.env(KEYS));
    expect(first.code, first.stderr).toBe(0);
    const second = await runCli(['run', 'plans/p.md', '--once', ...sandboxFlag], root, fake.env(KEYS));
    expect(second.code, second.stderr).toBe(0);
    const third = await runCli(['run', 'plans/p.md', '--once', ...sandboxFlag], root, fake.env(KEYS));
    expect(third.code, third.stderr).toBe(3);
    expect(fake.count('anthropic')).toBe(2);
    expect(readPlan(root).meta.state?.blockers?.[0]).toMatch(/over limits\.max_cost \$0\.03 \(spent so far \$0\.0240, \$0\.0240 of it recorded in the plan/);

    // Raise the cap on the command line, clear the blocker: the run goes on, counting from the plan's total.
    const approve = await runCli(['approve', 'plans/p.md', 'P1', '--retry', '--note', 'cap raised to $0.10'], root);
    expect(approve.code, approve.stderr).toBe(0);
    const more = await runCli(['run', 'plans/p.md', '--once', '--max-cost', '0.10', ...sandboxFlag], root, fake.env(KEYS));
    expect(more.code, more.stderr).toBe(0);
    expect(fake.count('anthropic')).toBe(3);
    expect(readPlan(root).meta.state?.spent_usd).toBeCloseTo(3 * CALL_USD, 6);
  }, 60_000);

  it("a call that cost more than was left blocks after its action, counting the plan's earlier spend", async () => {
    const root = track(modelRepo(modelPlan(), {}, PRICED));
    // Spent on another machine before: $0.09 recorded in the plan.
    writeFileSync(join(root, 'plans/p.md'), edit(planText(root), '  revision: 0\n', '  revision: 0\n  spent_usd: 0.09\n'));
    fake.queue('anthropic', write(1));
    const config = loadConfig(root);
    const models = new ModelRunner({ config, root, env: fake.env(KEYS), maxCostUsd: 0.1, notice: () => {} });
    // A driver that never told the runner about the plan's total (the Claude Code hook, a test): the engine still counts it.
    const report = await runIteration({ planPath: join(root, 'plans/p.md'), root, config, models, sandbox: SANDBOX, maxCostUsd: 0.1 });
    expect(report.signal).toBe('BLOCKED_NEED_HUMAN');
    expect(report.blockers[0]).toMatch(/^--max-cost \$0\.10 spent \(\$0\.1020\): 1 of 30 iterations used/);
    expect(readPlan(root).meta.state?.spent_usd).toBeCloseTo(0.102, 6);
  });

  it('a plan whose runs made no metered call gets no spent_usd line', async () => {
    const root = track(scriptedRepo());
    const result = await runCli(['run', 'plans/p.md', '--once', ...sandboxFlag], root);
    expect(result.code, result.stderr).toBe(0);
    expect(readFileSync(join(root, 'plans/p.md'), 'utf8')).not.toContain('spent_usd');
  });
});
