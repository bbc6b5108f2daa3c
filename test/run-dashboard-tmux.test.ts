import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePlan } from '../src/plan/parse.js';
import { CLI, runCli } from './support/fixtures.js';
import { scriptedRepo } from './support/scripted.js';
import { closeTerminals, hasTmux, openTerminal } from './support/tmux.js';

/** The real binary in a real terminal: tmux runs `deepplan run --loop`, the test reads the screen and presses keys. */
if (!hasTmux) process.stderr.write('run-dashboard-tmux.test.ts: tmux is not installed, so the terminal test is skipped (apt-get install tmux)\n');

afterEach(closeTerminals);

/** A git configuration that names `name` as user.name (or no one), for the command line tmux runs. */
function gitConfig(name: string | null): string {
  const file = join(mkdtempSync(join(tmpdir(), 'deepplan-gitconfig-')), 'gitconfig');
  writeFileSync(file, name === null ? '' : `[user]\n\tname = ${name}\n`);
  return `GIT_CONFIG_GLOBAL=${file} GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_COUNT=0`;
}

describe.skipIf(!hasTmux)('deepplan run --loop in a terminal', () => {
  it('shows the dashboard, stops at the human gate; `a` asks "Approve P3 as <name>? y/n", n cancels, y approves; the run ends TASK_COMPLETE', async () => {
    const root = scriptedRepo();
    const command = `cd ${root} && env -u CI NO_COLOR=1 ${gitConfig('Ana Silva')} ${process.execPath} ${CLI} run plans/p.md --loop; echo EXIT=$?; sleep 60`;
    const terminal = openTerminal(command, 100, 30);
    const gate = await terminal.waitFor('a approve P3');
    expect(gate).toContain('Weekly account summary (plans/p.md)');
    expect(gate).toMatch(/phases +█+░+ 2\/3 at P3/);
    expect(gate).toContain('iterations 4 of 15');
    expect(gate).toContain('blocked: P3 gate: waiting for approval by Ana, account lead');
    const before = readFileSync(join(root, 'plans/p.md'), 'utf8');
    terminal.keys('a');
    await terminal.waitFor('Approve P3 as Ana Silva? y/n');
    terminal.keys('n');
    await terminal.waitFor('P3 not approved');
    expect(readFileSync(join(root, 'plans/p.md'), 'utf8')).toBe(before);
    terminal.keys('a');
    await terminal.waitFor('Approve P3 as Ana Silva? y/n');
    terminal.keys('y');
    const end = await terminal.waitFor('EXIT=');
    expect(end).toMatch(/TASK_COMPLETE\nEXIT=0/);
    const plan = parsePlan(readFileSync(join(root, 'plans/p.md'), 'utf8'));
    expect(plan.meta.status).toBe('complete');
    expect(plan.log!.rows.filter((row) => row.action === 'P3 approve').map((row) => row.notes)).toEqual(['approved by Ana Silva']);
  });

  it('deepplan approve on a terminal with no name known asks for it (a readline question) and writes it', async () => {
    const root = scriptedRepo();
    const run = await runCli(['run', 'plans/p.md', '--loop', ...(process.env['DEEPPLAN_TEST_NO_SANDBOX'] ? ['--no-sandbox'] : [])], root);
    expect(run.stdout.trim().split('\n').pop(), run.stderr).toBe('BLOCKED_NEED_HUMAN');
    const command = `cd ${root} && env -u CI NO_COLOR=1 ${gitConfig(null)} ${process.execPath} ${CLI} approve plans/p.md P3 --note "reads well"; echo EXIT=$?; sleep 60`;
    // Ctrl-C at the question approves nothing (exit 130).
    const first = openTerminal(command, 100, 30);
    await first.waitFor('Approve P3 as (your name):');
    first.keys('C-c');
    expect(await first.waitFor('EXIT=')).toMatch(/\ndeepplan: interrupted; nothing was approved\nEXIT=130/);
    expect(parsePlan(readFileSync(join(root, 'plans/p.md'), 'utf8')).log!.rows).toHaveLength(4);
    first.close();

    const second = openTerminal(command, 100, 30);
    await second.waitFor('Approve P3 as (your name):');
    second.keys('Lee Okafor', 'Enter');
    const end = await second.waitFor('EXIT=');
    expect(end).toMatch(/P3 approved by Lee Okafor \(log row 5\).*\nEXIT=0/);
    const rows = parsePlan(readFileSync(join(root, 'plans/p.md'), 'utf8')).log!.rows;
    expect(rows.at(-1)).toMatchObject({ action: 'P3 approve', notes: 'approved by Lee Okafor: reads well' });
  });
});
