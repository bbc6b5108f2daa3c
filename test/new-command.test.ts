import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, makeRepo, PROJECT_ROOT, RESEARCH_SKILLS } from './support/fixtures.js';

/** `deepplan new` away from a terminal: one line pointing to `deepplan plan`, exit 2, and no Ink or React loaded. */

describe('deepplan new without a terminal', () => {
  it('exits 2 with one line pointing to deepplan plan when piped, without loading Ink or React', () => {
    const root = makeRepo({ ...RESEARCH_SKILLS, 'src/intake.ts': 'export const x = 1;\n' });
    const out = join(root, 'imports.txt');
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'CI'));
    const result = spawnSync(
      process.execPath,
      ['--import', join(PROJECT_ROOT, 'test/support/record-imports.mjs'), CLI, 'new', 'Research for the client: what does src/intake.ts do?'],
      {
        cwd: root,
        encoding: 'utf8',
        input: '\n',
        env: { ...env, DEEPPLAN_IMPORTS_OUT: out, NO_COLOR: '1' },
      },
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      'deepplan: deepplan new needs a terminal; in scripts and CI use deepplan plan --request "…" (--answers answers.yaml or --yes)\n',
    );
    const imports = readFileSync(out, 'utf8').split('\n');
    expect(imports.some((url) => url.includes('/dist/cli/new-command.js'))).toBe(true);
    expect(imports.filter((url) => /\/node_modules\/(react|ink)\//.test(url))).toEqual([]);
  });

  it('says CI is set when it is, even on a terminal', () => {
    const root = makeRepo();
    const command = `'${process.execPath}' '${CLI}' new 'Do an outreach for Mod Op'`;
    const result = spawnSync('script', ['-qfec', command, '/dev/null'], { cwd: root, encoding: 'utf8', env: { ...process.env, CI: 'true', NO_COLOR: '1' } });
    expect(result.status).toBe(2);
    expect(result.stdout).toContain('deepplan: deepplan new needs a terminal (CI is set); in scripts and CI use deepplan plan');
  });

  it('documents the screens and keys in --help', () => {
    const result = spawnSync(process.execPath, [CLI, 'new', '--help'], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/\$ deepplan new "Do an outreach for Mod Op"/);
    expect(result.stdout).toMatch(/space/);
    expect(result.stdout).toMatch(/Ctrl-C/);
  });
});
