import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePlan } from '../src/plan/parse.js';
import { CLI } from './support/fixtures.js';
import { scriptedRepo } from './support/scripted.js';

/** The real binary in a real terminal: tmux runs `deepplan run --loop`, the test reads the screen and presses keys. */
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
if (!hasTmux) process.stderr.write('run-dashboard-tmux.test.ts: tmux is not installed, so the terminal test is skipped (apt-get install tmux)\n');

const session = `deepplan-test-${process.pid}`;
const tmux = (...args: string[]) => execFileSync('tmux', args, { encoding: 'utf8' });
const screen = () => tmux('capture-pane', '-p', '-t', session);

async function waitFor(text: string, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const shown = screen();
    if (shown.includes(text)) return shown;
    if (Date.now() > deadline) throw new Error(`"${text}" never appeared; the screen shows:\n${shown}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

afterEach(() => {
  if (hasTmux) spawnSync('tmux', ['kill-session', '-t', session]);
});

describe.skipIf(!hasTmux)('deepplan run --loop in a terminal', () => {
  it('shows the dashboard, stops at the human gate, and `a` approves it; the run ends TASK_COMPLETE', async () => {
    const root = scriptedRepo();
    const command = `cd ${root} && env -u CI NO_COLOR=1 ${process.execPath} ${CLI} run plans/p.md --loop; echo EXIT=$?; sleep 60`;
    tmux('new-session', '-d', '-s', session, '-x', '100', '-y', '30', command);
    const gate = await waitFor('a approve P3');
    expect(gate).toContain('Weekly account summary (plans/p.md)');
    expect(gate).toMatch(/phases +█+░+ 2\/3 at P3/);
    expect(gate).toContain('iterations 4 of 15');
    expect(gate).toContain('blocked: P3 gate: waiting for approval by Ana, account lead');
    tmux('send-keys', '-t', session, 'a');
    const end = await waitFor('EXIT=');
    expect(end).toMatch(/TASK_COMPLETE\nEXIT=0/);
    const plan = parsePlan(readFileSync(join(root, 'plans/p.md'), 'utf8'));
    expect(plan.meta.status).toBe('complete');
    expect(plan.log!.rows.map((row) => `${row.action} ${row.notes}`)).toContain('P3 approve approved: approved in the run dashboard');
  });
});
