import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, PROJECT_ROOT } from './support/fixtures.js';
import { scriptedRepo } from './support/scripted.js';
import { hasTmux, openTerminal } from './support/tmux.js';

/**
 * The terminal screens are for people at a terminal: with CI set, with --json or piped, `run --loop` and `review`
 * print plain lines or JSON and never load Ink or React. The commands run in a real pseudo-terminal (script), with
 * every module they resolve recorded; the first case shows the recorder does see Ink when the dashboard is drawn.
 */

const UI_MODULES = /\/node_modules\/(react|ink)\//;

function withoutCi(): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'CI' && !/_API_KEY$/.test(name)));
}

function onTerminal(root: string, args: string[], env: Record<string, string | undefined>): { code: number | null; output: string; imports: string[] } {
  const out = join(root, `imports-${args.join('-').replace(/\W+/g, '_')}.txt`);
  const quoted = [process.execPath, '--import', join(PROJECT_ROOT, 'test/support/record-imports.mjs'), CLI, ...args].map((word) => `'${word}'`).join(' ');
  const result = spawnSync('script', ['-qfec', quoted, '/dev/null'], {
    cwd: root,
    encoding: 'utf8',
    input: '',
    env: { ...env, DEEPPLAN_IMPORTS_OUT: out, NO_COLOR: '1' },
    timeout: 30_000,
  });
  return { code: result.status, output: result.stdout, imports: readFileSync(out, 'utf8').split('\n') };
}

const hasScript = spawnSync('script', ['--version']).status === 0;
if (!hasScript) process.stderr.write('headless-ui.test.ts: script (util-linux) is missing, so the pseudo-terminal tests are skipped\n');
if (!hasTmux) process.stderr.write('headless-ui.test.ts: tmux is missing, so the dashboard control case is skipped (apt-get install tmux)\n');

describe.skipIf(!hasScript)('no Ink or React away from a person at a terminal', () => {
  // The control, in tmux: script's terminal gives the dashboard no keys to quit it with.
  it.skipIf(!hasTmux)('draws the run dashboard on a terminal without CI (the recorder sees Ink load there)', async () => {
    const root = scriptedRepo();
    const out = join(root, 'imports-dashboard.txt');
    const command = `cd ${root} && env -u CI NO_COLOR=1 DEEPPLAN_IMPORTS_OUT=${out} ${process.execPath} --import ${join(PROJECT_ROOT, 'test/support/record-imports.mjs')} ${CLI} run plans/p.md --loop; echo EXIT=$?; sleep 30`;
    const terminal = openTerminal(command, 100, 30);
    try {
      await terminal.waitFor('q quit');
      terminal.keys('q');
      await terminal.waitFor('EXIT=');
    } finally {
      terminal.close();
    }
    expect(
      readFileSync(out, 'utf8')
        .split('\n')
        .filter((url) => UI_MODULES.test(url)).length,
    ).toBeGreaterThan(0);
  });

  it('run --loop prints plain lines with CI set, and JSON with --json, on the same terminal', () => {
    const root = scriptedRepo();
    const ci = onTerminal(root, ['run', 'plans/p.md', '--loop'], { ...withoutCi(), CI: 'true' });
    expect(ci.code).toBe(3);
    expect(ci.output).toMatch(/BLOCKED_NEED_HUMAN\s*$/);
    expect(ci.imports.filter((url) => UI_MODULES.test(url))).toEqual([]);

    const json = onTerminal(root, ['run', 'plans/p.md', '--loop', '--json'], withoutCi());
    expect(json.code).toBe(3);
    const lines = json.output.trim().split(/\r?\n/);
    expect(() => JSON.parse(lines[0]!)).not.toThrow();
    expect(json.imports.filter((url) => UI_MODULES.test(url))).toEqual([]);
  });

  it('review prints its report instead of the findings browser with CI set or a --format other than text', () => {
    const root = scriptedRepo();
    for (const [args, env] of [
      [['review', 'plans/p.md', '--no-revise'], { ...withoutCi(), CI: 'true' }],
      [['review', 'plans/p.md', '--no-revise', '--format', 'json'], withoutCi()],
    ] as const) {
      const review = onTerminal(root, [...args], env);
      expect(review.output, args.join(' ')).toMatch(/APPROVED|REVISE/);
      expect(
        review.imports.filter((url) => UI_MODULES.test(url)),
        args.join(' '),
      ).toEqual([]);
    }
  });
});
