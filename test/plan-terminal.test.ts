import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, makeRepo, RESEARCH_SKILLS } from './support/fixtures.js';

const SKILLS = RESEARCH_SKILLS;

/** Runs the CLI on a pseudo-terminal (util-linux `script`), typing `keys`. */
function onTerminal(args: string[], cwd: string, keys: string) {
  const command = [process.execPath, CLI, ...args].map((part) => `'${part.replace(/'/g, `'\\''`)}'`).join(' ');
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'CI'));
  return spawnSync('script', ['-qfec', command, '/dev/null'], { cwd, input: keys, encoding: 'utf8', env: { ...env, DEEPPLAN_OFFLINE: '1', NO_COLOR: '1' } });
}

describe('deepplan plan on a terminal', () => {
  it('asks the interview one question at a time: Enter takes the recommended option, a number picks one', () => {
    const root = makeRepo({ ...SKILLS, 'src/intake.ts': 'export const x = 1;\n' });
    const result = onTerminal(['plan', '--request', 'Research for the client: what does src/intake.ts do?', '--out', 'plans/t.md'], root, '\n2\n\n\n3\n');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/\? \[success\] What must be true when this is done\?/);
    expect(result.stdout).toMatch(/Answer \[1\]: /);
    const text = readFileSync(join(root, 'plans/t.md'), 'utf8');
    expect(text).toContain('- Q: What must be true when this is done? → A: A findings page that answers the question and cites its sources');
    expect(text).toContain('- Q: Who owns the result and answers when the work is blocked? → A: The account or project owner');
    expect(text).toContain('- Q: When is it needed? → A: No fixed date');
  });

  it('treats end of input as a cancelled interview and writes nothing', () => {
    const root = makeRepo({ ...SKILLS, 'src/intake.ts': 'export const x = 1;\n' });
    const result = onTerminal(['plan', '--request', 'Research for the client: what does src/intake.ts do?', '--out', 'plans/t.md'], root, '\n\u0004');
    expect(result.status).toBe(3);
    expect(result.stdout).toMatch(/deepplan: the interview was cancelled; nothing was written/);
  });
});
