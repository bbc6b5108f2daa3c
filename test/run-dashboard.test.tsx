import { PassThrough } from 'node:stream';
import { render as inkRender } from 'ink';
import { render } from 'ink-testing-library';
import { describe, expect, it, vi } from 'vitest';
import { parsePlan } from '../src/plan/parse.js';
import { DashboardStore, RunDashboard, type DashboardState } from '../src/ui/run-dashboard.js';
import { SMALL_PLAN } from './support/fixtures.js';

const STATE: DashboardState = {
  title: 'Mod Op outreach (plans/modop.md)',
  phasesDone: 3,
  phasesTotal: 9,
  currentPhase: 'P4',
  iteration: 5,
  budget: 29,
  costUsd: 0.0123,
  action: 'P4.1 /angle-check',
  rows: [
    { number: 4, action: 'P3.1 /buying-committee', result: 'ok', signal: 'CONTINUE' },
    { number: 5, action: 'P4.1 /angle-check', result: 'failed', signal: 'CONTINUE' },
  ],
  signal: null,
  blockers: [],
  gate: null,
  paused: false,
  stopping: false,
  message: null,
};

const tick = () => new Promise((resolve) => setTimeout(resolve, 30));

function setup(state: Partial<DashboardState> = {}) {
  const store = new DashboardStore({ ...STATE, ...state });
  const keys = { pause: vi.fn(), stop: vi.fn(), approve: vi.fn<(name: string) => void>(), quit: vi.fn() };
  const view = render(<RunDashboard store={store} keys={keys} />);
  return { store, keys, view };
}

describe('the run dashboard', () => {
  it('shows phase progress, iterations of the budget, cost, the current action and the last rows, within 80 columns', () => {
    const { view } = setup();
    const frame = view.lastFrame()!;
    expect(frame).toContain('phases     ██████████░░░░░░░░░░░░░░░░░░░░ 3/9 at P4');
    expect(frame).toContain('iterations 5 of 29   cost $0.0123');
    expect(frame).toContain('now        P4.1 /angle-check');
    expect(frame).toMatch(/ {3}5 failed +CONTINUE +P4\.1 \/angle-check/);
    expect(frame).toContain('p pause · s stop · q quit');
    expect(frame).not.toContain('a approve');
    expect(Math.max(...frame.split('\n').map((line) => line.length))).toBeLessThanOrEqual(80);
  });

  it('re-renders when the loop reports a new state, and offers `a` only while a human gate waits', async () => {
    const { store, keys, view } = setup({ approver: 'Dana Ruiz' });
    view.stdin.write('a');
    await tick();
    expect(view.lastFrame()).not.toContain('Approve');
    expect(keys.approve).not.toHaveBeenCalled();
    store.set({ signal: 'BLOCKED_NEED_HUMAN', blockers: ['P4 gate: waiting for approval by Michael'], gate: 'P4', action: null });
    await tick();
    expect(view.lastFrame()).toContain('signal BLOCKED_NEED_HUMAN');
    expect(view.lastFrame()).toContain('blocked: P4 gate: waiting for approval by Michael');
    expect(view.lastFrame()).toContain('a approve P4');
  });

  it('`a` asks "Approve P4 as <name>? y/n": y approves in that name, any other key cancels', async () => {
    const { keys, view } = setup({ signal: 'BLOCKED_NEED_HUMAN', blockers: ['P4 gate: waiting for approval by Michael'], gate: 'P4', approver: 'Dana Ruiz' });
    view.stdin.write('a');
    await tick();
    expect(view.lastFrame()).toContain('Approve P4 as Dana Ruiz? y/n');
    expect(view.lastFrame()).not.toContain('a approve P4');
    view.stdin.write('n');
    await tick();
    expect(keys.approve).not.toHaveBeenCalled();
    expect(view.lastFrame()).not.toContain('Approve P4 as');
    expect(view.lastFrame()).toContain('P4 not approved · p pause · s stop · a approve P4 · q quit');
    // q at the question cancels too: it neither quits nor approves.
    view.stdin.write('a');
    await tick();
    view.stdin.write('q');
    await tick();
    expect(keys.quit).not.toHaveBeenCalled();
    expect(keys.approve).not.toHaveBeenCalled();
    view.stdin.write('a');
    await tick();
    view.stdin.write('y');
    await tick();
    expect(keys.approve).toHaveBeenCalledTimes(1);
    expect(keys.approve).toHaveBeenCalledWith('Dana Ruiz');
    expect(view.lastFrame()).not.toContain('Approve P4 as');
  });

  it('with no name known, `a` asks for one first (Esc or an empty name cancels), then confirms it', async () => {
    const { keys, view } = setup({ signal: 'BLOCKED_NEED_HUMAN', blockers: ['P4 gate: waiting for approval'], gate: 'P4', approver: null });
    view.stdin.write('a');
    await tick();
    expect(view.lastFrame()).toContain('Approve P4 as (type your name, Enter; Esc cancels):');
    view.stdin.write('\u001b');
    await tick();
    expect(view.lastFrame()).toContain('P4 not approved');
    view.stdin.write('a');
    await tick();
    view.stdin.write('\r');
    await tick();
    expect(view.lastFrame()).toContain('P4 not approved');
    view.stdin.write('a');
    await tick();
    for (const key of ['P', 'r', 'i', 'y', 'x', '\u007f', 'a', ' ', 'N', 'a', 't', 'a', 'r', 'a', 'j', 'a', 'n']) {
      view.stdin.write(key);
      await tick();
    }
    // Typing p, s, q or y spells the name: none of them pauses, stops, quits or approves.
    expect(keys.pause).not.toHaveBeenCalled();
    expect(view.lastFrame()).toContain('type your name, Enter; Esc cancels): Priya Natarajan');
    view.stdin.write('\r');
    await tick();
    expect(view.lastFrame()).toContain('Approve P4 as Priya Natarajan? y/n');
    expect(keys.approve).not.toHaveBeenCalled();
    view.stdin.write('y');
    await tick();
    expect(keys.approve).toHaveBeenCalledWith('Priya Natarajan');
  });

  it('prints each log row once, above the live part, however long the run', async () => {
    // A real (interactive) Ink render into a terminal-like stream: what it writes is what a terminal would get.
    const stdout = Object.assign(new PassThrough(), { isTTY: true, columns: 80, rows: 40 });
    let written = '';
    stdout.on('data', (chunk: Buffer) => (written += chunk.toString('utf8')));
    const store = new DashboardStore({ ...STATE, rows: [] });
    const keys = { pause: vi.fn(), stop: vi.fn(), approve: vi.fn(), quit: vi.fn() };
    const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => stdin, ref: () => stdin, unref: () => stdin });
    const app = inkRender(<RunDashboard store={store} keys={keys} />, {
      stdout: stdout as unknown as NodeJS.WriteStream,
      stdin: stdin as unknown as NodeJS.ReadStream,
      interactive: true,
      patchConsole: false,
    });
    const rows: DashboardState['rows'] = [];
    for (let number = 1; number <= 30; number++) {
      rows.push({ number, action: `P1.${number} run node scripts/put.mjs`, result: 'ok', signal: 'CONTINUE' });
      store.set({ rows: [...rows], iteration: number, action: `P1.${number + 1} next` });
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    app.unmount();
    for (const number of [1, 15, 30]) expect(written.split(`P1.${number} run node scripts/put.mjs`).length - 1, `row ${number}`).toBe(1);
    // The live part was redrawn all along (the current action changed 30 times).
    expect(written.split('iterations ').length - 1).toBeGreaterThan(5);
  });

  it("shows an approval's note: the gate's check was not met when the phase was accepted", async () => {
    const { store, view } = setup({ gate: 'P3' });
    const plan = parsePlan(SMALL_PLAN);
    store.apply({ type: 'approved', gate: 'P3', by: 'Dana Ruiz', plan, note: "P3's Done when was not met when the run stopped" });
    await tick();
    const frame = view.lastFrame() ?? '';
    expect(frame).toContain('P3 approved by Dana Ruiz; note:');
    expect(frame).toContain('was not met');
    store.apply({ type: 'approved', gate: 'P4', by: 'Dana Ruiz', plan, note: null });
    await tick();
    expect(view.lastFrame()).not.toContain('note:');
  });

  it('passes p, s and q to the loop and shows pause and stop', async () => {
    const { store, keys, view } = setup();
    view.stdin.write('p');
    await tick();
    expect(keys.pause).toHaveBeenCalledTimes(1);
    store.set({ paused: true, stopping: true });
    await tick();
    expect(view.lastFrame()).toContain('paused · p resume · s stop · q quit · stopping after this iteration');
    view.stdin.write('s');
    view.stdin.write('q');
    await tick();
    expect(keys.stop).toHaveBeenCalledTimes(1);
    expect(keys.quit).toHaveBeenCalledTimes(1);
  });
});
