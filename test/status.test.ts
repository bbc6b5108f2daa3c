import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI, PROJECT_ROOT, makeRepo } from './support/fixtures.js';

function deepplan(args: string[], cwd = PROJECT_ROOT) {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('deepplan status', () => {
  it('shows phases done, iterations of the budget, the next action and the last iterations', () => {
    const result = deepplan(['status', 'plans/nightly-backup.md']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Nightly backup of the AgentCRM database \(nightly-backup\): executing$/m);
    expect(result.stdout).toMatch(/^phases {6}\[#{6}-{24}\] 1\/5 done, at P2$/m);
    expect(result.stdout).toMatch(/^iterations {2}3 of 20$/m);
    expect(result.stdout).toMatch(/^ {2}▶ P2 {3}Export a first archive from the replica$/m);
    expect(result.stdout).toMatch(/^ {4}2 {2}2026-11-19T09:08:11Z {2}failed {4}CONTINUE {11}P2\.1 \/backup-export/m);
  });

  it('prints JSON for scripts', () => {
    const report = JSON.parse(deepplan(['status', 'plans/nightly-backup.md', '--json']).stdout);
    expect(report).toMatchObject({ id: 'nightly-backup', status: 'executing', iterations: { used: 3, budget: 20 }, phases: { done: 1, total: 5, current: 'P2' }, criteria: { ticked: 0, total: 3 }, blockers: [] });
    expect(report.lastRows).toHaveLength(3);
  });

  it('explains an unreadable plan in one line', () => {
    const root = makeRepo({ 'plans/bad.md': '\u0000binary' });
    const result = deepplan(['status', 'plans/bad.md'], root);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe('deepplan: plans/bad.md: line 1: file is binary (it contains NUL bytes), not a Markdown plan');
    expect(deepplan(['status', 'plans/none.md'], root)).toMatchObject({ code: 2 });
  });
});
