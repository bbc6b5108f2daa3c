import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runDashboard } from '../src/cli/run-command.js';
import { runIteration, type EngineEvent } from '../src/execute/iteration.js';
import { loadConfig } from '../src/config/config.js';
import { ModelRunner } from '../src/models/runner.js';
import { parsePlan } from '../src/plan/parse.js';
import { type DashboardMount, RunDashboard } from '../src/ui/run-dashboard.js';
import { runCli } from './support/fixtures.js';
import { SANDBOX } from './support/model-plan.js';
import { scriptedRepo } from './support/scripted.js';

/**
 * The run dashboard over the one loop (runDashboard in src/cli/run-command.ts, runLoop in src/execute/loop.ts) with the real engine, drawn by ink-testing-library:
 * the weekly account summary runs to P3's human gate, and the keys decide what the log gets.
 */

type View = ReturnType<typeof render>;

async function until(view: () => View | null, text: string, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const frame = view()?.lastFrame() ?? '';
    if (frame.includes(text)) return frame;
    if (Date.now() > deadline) throw new Error(`"${text}" never appeared; the dashboard shows:\n${frame}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const press = async (view: View, key: string) => {
  view.stdin.write(key);
  await new Promise((resolve) => setTimeout(resolve, 40));
};

/** Runs the dashboard's loop on `root`'s plans/p.md; the Ink view appears once the loop mounts it. */
function startDashboard(root: string) {
  const planPath = join(root, 'plans/p.md');
  const config = loadConfig(root);
  const models = new ModelRunner({ config, root, env: {}, maxCostUsd: null, notice: () => {} });
  let view: View | null = null;
  const mount: DashboardMount = (store, keys) => (view = render(<RunDashboard store={store} keys={keys} />));
  const iterate = (onEvent: (event: EngineEvent) => void) =>
    runIteration({ planPath, root, config, models, executor: 'builtin', sandbox: SANDBOX, maxCostUsd: null, onEvent });
  const done = runDashboard({ planPath, root, config, models, iterate }, Number.POSITIVE_INFINITY, mount);
  return { done, view: () => view, planPath };
}

const planText = (path: string) => readFileSync(path, 'utf8');

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('approving a human gate in the run dashboard', () => {
  it('a then n writes nothing; a then y writes a row that names the configured user, and the audit shows the name', async () => {
    const root = scriptedRepo(undefined, { 'deepplan.config.yaml': 'user:\n  name: Dana Ruiz\n' });
    const { done, view, planPath } = startDashboard(root);
    await until(view, 'a approve P3');
    const before = planText(planPath);

    await press(view()!, 'a');
    expect(view()!.lastFrame()).toContain('Approve P3 as Dana Ruiz? y/n');
    await press(view()!, 'n');
    await until(view, 'P3 not approved');
    // Nothing was written: the plan is byte for byte what the run left at the gate.
    expect(planText(planPath)).toBe(before);

    await press(view()!, 'a');
    await until(view, 'Approve P3 as Dana Ruiz? y/n');
    await press(view()!, 'y');
    const report = await done;
    expect(report.signal).toBe('TASK_COMPLETE');
    const rows = parsePlan(planText(planPath)).log!.rows;
    expect(rows.filter((row) => row.action === 'P3 approve').map((row) => row.notes)).toEqual(['approved by Dana Ruiz']);

    const audit = await runCli(['audit', 'plans/p.md', '--format', 'json', ...(SANDBOX ? [] : ['--no-sandbox'])], root);
    const p3 = (JSON.parse(audit.stdout) as { phases: Array<{ id: string; gate: { approver: string | null } }> }).phases.find((phase) => phase.id === 'P3')!;
    expect(p3.gate.approver).toBe('Dana Ruiz');
  });

  it('with no configured user and no git user.name, the name typed in the dashboard is the one written', async () => {
    const home = mkdtempSync(join(tmpdir(), 'deepplan-nogit-'));
    writeFileSync(join(home, 'gitconfig'), '');
    vi.stubEnv('GIT_CONFIG_GLOBAL', join(home, 'gitconfig'));
    vi.stubEnv('GIT_CONFIG_NOSYSTEM', '1');
    vi.stubEnv('GIT_CONFIG_COUNT', '0');
    const root = scriptedRepo();
    const { done, view, planPath } = startDashboard(root);
    await until(view, 'a approve P3');
    await press(view()!, 'a');
    await until(view, 'Approve P3 as (type your name');
    for (const key of 'Ana Silva') await press(view()!, key);
    await press(view()!, '\r');
    await until(view, 'Approve P3 as Ana Silva? y/n');
    await press(view()!, 'y');
    expect((await done).signal).toBe('TASK_COMPLETE');
    const approval = parsePlan(planText(planPath)).log!.rows.find((row) => row.action === 'P3 approve');
    expect(approval?.notes).toBe('approved by Ana Silva');
  });
});
