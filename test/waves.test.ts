import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePlan } from '../src/plan/parse.js';
import type { LogRow } from '../src/plan/types.js';
import { parallelProblem, wavesHome } from '../src/runners/waves.js';
import { render } from 'ink-testing-library';
import { createElement } from 'react';
import { LoopControl } from '../src/execute/loop.js';
import { lintText } from '../src/lint/lint.js';
import type { WaveView } from '../src/runners/waves.js';
import { DashboardStore, openRunDashboard, RunDashboard, wavesLine } from '../src/ui/run-dashboard.js';
import { makeRepo, runCli } from './support/fixtures.js';
import { planText, SMALL_PLAN_SPEC } from './support/plan-text.js';
import { findingsOf, removeScaleRepos, scaleCli } from './support/scale-repos.js';
import { inspect, OUT, outreach, sandboxFlag, siblingWaveRepo, WAVE_PLAN, workingCopies } from './support/waves-repos.js';

/**
 * Waves (`deepplan run --loop --parallel N`, src/runners/waves.ts): ready phases run at once, each in a working copy,
 * their rows merged into the one plan file after every iteration. The 30-contact outreach the offline planner writes
 * (per-contact phases as siblings of the owner's go-ahead) runs to TASK_COMPLETE with --parallel 4 with the same log
 * rows and the same audit as a serial run. test/waves-kill.test.ts kills runs at random 3 times; test/long/waves-kill.test.ts
 * (npm run test:long) 20 times, and it measures the wall time against a serial run.
 */

afterAll(removeScaleRepos);

const signalOf = (stdout: string) => stdout.trim().split('\n').pop();

/** A row with what varies between runs taken out: its number and time (rows of sibling phases interleave). */
const rowKey = (row: LogRow) => [row.phase, row.action, row.result, row.signal, row.notes].join(' | ');

/**
 * The audit (`deepplan audit --json`) with what the interleaving of sibling phases changes taken out: row numbers,
 * row times and row ranges. Everything else must be the same: per phase its status, delivery, each step's state and
 * evidence (action, result, signal, notes), attempts and failures, outputs, skills, gate and approval, iterations;
 * the summary, the criteria and their checks.
 */
async function auditShape(root: string): Promise<unknown> {
  const audit = await scaleCli(root, ['audit', OUT, '--json']);
  expect(audit.code, audit.stderr).toBe(0);
  return JSON.parse(audit.stdout, (key, value) => (key === 'row' || key === 'when' || key === 'rows' || key === 'first' || key === 'last' ? undefined : value));
}

describe('deepplan run --parallel', () => {
  it('runs the 30-contact outreach to TASK_COMPLETE with --parallel 4: every row once, the audit of a serial run', async () => {
    // Side by side: the serial and the parallel run of the same plan, in two repositories.
    const [serial, parallel] = await Promise.all([outreach(null), outreach(4)]);
    const plans = [serial, parallel].map(({ root }) => parsePlan(readFileSync(join(root, OUT), 'utf8')));
    // The planner made the per-contact phases siblings: drafts depend on the go-ahead only, the handoff on all renders.
    const [planned] = plans;
    expect(planned!.phases.filter((phase) => phase.dependsOn.join() === 'P1').length).toBe(10);
    expect(planned!.phases.at(-1)!.dependsOn.length).toBe(10);
    // Waves ran: several phases' rows interleave, and the copies were cleaned up.
    // Interleaved: some phase's rows are not one run of rows (its rows resume after another phase's rows).
    const interleaved = (rows: LogRow[]) =>
      rows.some((row, index) => index > 0 && rows[index - 1]!.phase !== row.phase && rows.slice(0, index - 1).some((earlier) => earlier.phase === row.phase));
    expect(interleaved(plans[1]!.log!.rows)).toBe(true);
    expect(interleaved(plans[0]!.log!.rows)).toBe(false);
    expect(workingCopies(parallel.root, OUT)).toEqual([]);
    for (const [index, plan] of plans.entries()) {
      const rows = plan.log!.rows;
      expect(rows.map((row) => row.number)).toEqual(rows.map((_, row) => row + 1));
      expect(rows.filter((row) => row.result !== 'ok')).toEqual([]);
      expect(plan.meta.status).toBe('complete');
      expect(findingsOf(readFileSync(join([serial, parallel][index]!.root, OUT), 'utf8'), join([serial, parallel][index]!.root, OUT))).toEqual([]);
    }
    // The same rows, each exactly once (the order of sibling phases' rows differs; numbers and times do too).
    const [serialRows, parallelRows] = plans.map((plan) => plan.log!.rows.map(rowKey).sort());
    expect(new Set(parallelRows).size).toBe(parallelRows!.length);
    expect(parallelRows).toEqual(serialRows);
    expect(await auditShape(parallel.root)).toEqual(await auditShape(serial.root));
    // Informative only: both ran at once on a shared machine (test/long/waves-kill.test.ts measures them one at a time).
    console.log(`30 contacts, 200 ms steps, side by side: serial ${serial.ms} ms, --parallel 4 ${parallel.ms} ms`);
  }, 120_000);

  it('runs siblings whose declared outputs overlap one after the other, and says so in one line', async () => {
    // P3 also declares P2's second output: they may not run at the same time.
    const root = siblingWaveRepo(3, [['- Outputs: out/p3/s1.md', '- Outputs: out/p2/s2.md, out/p3/s1.md']]);
    const run = await runCli(['run', WAVE_PLAN, '--loop', '--parallel', '4', ...sandboxFlag], root);
    expect(signalOf(run.stdout), `${run.code} ${run.stderr}`).toBe('TASK_COMPLETE');
    expect(run.stderr).toMatch(/^ {2}P3 and P2 declare overlapping outputs: not at the same time; P3 runs after P2$/m);
    const rows = inspect(root, 'overlap').rows;
    // P3 starts after P2 is done; P4 ran beside P2.
    const lastOfP2 = rows.findLastIndex((row) => row.phase === 'P2');
    expect(rows.findIndex((row) => row.phase === 'P3')).toBeGreaterThan(lastOfP2);
    expect(rows.findIndex((row) => row.phase === 'P4')).toBeLessThan(lastOfP2);
  }, 60_000);

  it('keeps the budget in total: no copy starts an iteration past it, and the row that spends it stops the plan', async () => {
    const root = siblingWaveRepo(6, [['max_iterations: 120', 'max_iterations: 9']]);
    const path = join(root, WAVE_PLAN);
    const run = await runCli(['run', WAVE_PLAN, '--loop', '--parallel', '4', ...sandboxFlag], root);
    expect(signalOf(run.stdout), run.stderr).toBe('BLOCKED_NEED_HUMAN');
    const now = inspect(root, 'budget');
    expect(now.rows.length).toBe(9);
    expect(now.rows.at(-1)!.signal).toBe('BLOCKED_NEED_HUMAN');
    expect(now.blockers[0]).toMatch(/^Budget spent: 9 of 9 iterations used/);
    // Siblings ran at once within it; the log and state lint clean (escape-hatch: the budget's last row stops the plan;
    // the budget rule itself finds 9 too small for this plan, as it should).
    expect(new Set(now.rows.map((row) => row.phase)).size).toBeGreaterThan(2);
    const logRules = new Set(['escape-hatch', 'state-consistency', 'iteration-log']);
    expect(lintText(now.text, path).filter((finding) => finding.severity === 'error' && logRules.has(finding.ruleId))).toEqual([]);
    // Copies of phases the budget stopped stay for the next run; this test is done with them.
    rmSync(wavesHome(path), { recursive: true, force: true });
  }, 60_000);

  it('refuses --parallel with --once, --executor command or --commit, in one line', async () => {
    expect(parallelProblem({ parallel: 4, once: true, executor: 'builtin' })).toMatch(/give --loop/);
    expect(parallelProblem({ parallel: 4, executor: 'command' })).toMatch(/built-in executor/);
    expect(parallelProblem({ parallel: 4, executor: 'builtin', commit: true })).toMatch(/--commit/);
    expect(parallelProblem({ executor: 'builtin' })).toBeNull();
    const root = makeRepo({ [WAVE_PLAN]: planText(SMALL_PLAN_SPEC) });
    const run = await runCli(['run', WAVE_PLAN, '--once', '--parallel', '2'], root);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('the dashboard shows the waves: the phases running now, how many are done and how many wait', async () => {
    expect(wavesLine({ running: ['P2', 'P3', 'P4', 'P5'], done: ['P1'], waiting: ['P6', 'P7'] })).toBe('running P2 P3 P4 P5 · done 1 · waiting 2');
    const plan = parsePlan(planText(SMALL_PLAN_SPEC));
    const store = DashboardStore.open(plan, 'plans/p.md', { approver: 'Ana', message: null });
    // The waves report to the dashboard through openRunDashboard's wave source (runners/waves.ts Waves.watch).
    let report: ((view: WaveView) => void) | null = null;
    const screen = openRunDashboard(store, new LoopControl(), (mounted, keys) => render(createElement(RunDashboard, { store: mounted, keys })), {
      watch: (onWave) => (report = onWave),
    });
    report!({ running: ['P2', 'P3'], done: ['P1'], waiting: ['P4'] });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(store.get().waves).toEqual({ running: ['P2', 'P3'], done: ['P1'], waiting: ['P4'] });
    await screen.close(false);
    const view = render(createElement(RunDashboard, { store, keys: { pause() {}, stop() {}, approve() {}, quit() {} } }));
    expect(view.lastFrame()).toContain('waves      running P2 P3 · done 1 · waiting 1');
    view.unmount();
  });
});
