import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RULE_IDS } from '../src/rules/catalog.js';
import { CLI, PROJECT_ROOT, SMALL_PLAN, SMALL_PLAN_SKILLS, edit, makeRepo } from './support/fixtures.js';

function deepplan(args: string[], cwd = PROJECT_ROOT, env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function badRepo() {
  return makeRepo({
    ...SMALL_PLAN_SKILLS,
    'plans/good.md': SMALL_PLAN,
    'plans/bad.md': edit(edit(SMALL_PLAN, 'max_iterations: 15', 'max_iterations: 3'), '- Gate: human', '- Gate: 50%\n- Notes: a, b'),
  });
}

describe('deepplan lint', () => {
  it('lints the example plans clean (exit 0)', () => {
    const result = deepplan(['lint']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/plans\/modop-outreach\.md: no issues found/);
    expect(result.stdout).toMatch(/plans\/nightly-backup\.md: no issues found/);
    expect(result.stdout.trim().split('\n').at(-1)).toBe('✔ 2 plans linted, no problems');
  });

  it('reports findings as file, line:col, severity, message, rule id and exits 1 on errors', () => {
    const root = badRepo();
    const result = deepplan(['lint', 'plans'], root);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^plans\/bad\.md$/m);
    expect(result.stdout).toMatch(/^\s+\d+:1\s+error\s+budget\.max_iterations is 3; .*\s+budget$/m);
    expect(result.stdout).toMatch(/^plans\/good\.md: no issues found$/m);
    expect(result.stdout.trim().split('\n').at(-1)).toBe('✖ 2 errors, 0 warnings in 2 plans');
  });

  it('prints the JSON of PLAN_FORMAT.md section 4', () => {
    const root = badRepo();
    const result = deepplan(['lint', '--format', 'json', 'plans/bad.md'], root);
    expect(result.code).toBe(1);
    const json = JSON.parse(result.stdout) as { files: Array<{ path: string; findings: Array<Record<string, unknown>> }>; summary: unknown };
    expect(json.summary).toEqual({ errors: 2, warnings: 0 });
    expect(json.files).toHaveLength(1);
    expect(json.files[0]!.path).toBe('plans/bad.md');
    expect(Object.keys(json.files[0]!.findings[0]!).sort()).toEqual(['column', 'line', 'message', 'ruleId', 'severity']);
    expect(json.files[0]!.findings.map((finding) => finding.ruleId).sort()).toEqual(['budget', 'phase-fields']);
  });

  it('prints one GitHub workflow command per finding, escaped', () => {
    const root = badRepo();
    const result = deepplan(['lint', '--format', 'github', 'plans'], root);
    expect(result.code).toBe(1);
    const commands = result.stdout.split('\n').filter((line) => line.startsWith('::'));
    expect(commands).toHaveLength(2);
    expect(commands).toContainEqual(expect.stringMatching(/^::error file=plans\/bad\.md,line=\d+,col=1,title=budget::budget\.max_iterations is 3; /));
    const gate = commands.find((line) => line.includes('title=phase-fields'))!;
    expect(gate).toContain('Gate "50%25" is not one of');
  });

  it('prints SARIF 2.1.0 with a rule per id and repository-relative URIs', () => {
    const root = badRepo();
    const result = deepplan(['lint', '--format', 'sarif', join(root, 'plans')], tmpdir());
    expect(result.code).toBe(1);
    const sarif = JSON.parse(result.stdout);
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.runs).toHaveLength(1);
    const driver = sarif.runs[0].tool.driver;
    expect(driver.name).toBe('deepplan');
    expect(driver.rules.map((rule: { id: string }) => rule.id)).toEqual([...RULE_IDS, 'parse']);
    const results = sarif.runs[0].results;
    expect(results).toHaveLength(2);
    for (const entry of results) {
      expect(entry.locations[0].physicalLocation.artifactLocation.uri).toBe('plans/bad.md');
      expect(driver.rules[entry.ruleIndex].id).toBe(entry.ruleId);
    }
  });

  it('exits 2 with one line for bad arguments, missing files and a bad configuration', () => {
    for (const [args, cwd, pattern] of [
      [['lint', '--format', 'xml'], PROJECT_ROOT, /argument 'xml' is invalid/],
      [['lint', 'no-such-plan.md'], PROJECT_ROOT, /^deepplan: no such file or directory: no-such-plan\.md$/],
      [['lint', 'plans/*.txt'], PROJECT_ROOT, /^deepplan: no files match plans\/\*\.txt$/],
      [
        ['lint', 'plans'],
        makeRepo({ 'plans/p.md': SMALL_PLAN, 'deepplan.config.yaml': 'rules: [oops\n' }),
        /deepplan\.config\.yaml:2: Flow sequence in block collection must be sufficiently indented and end with a \]$/,
      ],
      [['lint', 'plans'], makeRepo({ 'plans/p.md': SMALL_PLAN, 'deepplan.config.yaml': 'rules:\n  no-such-rule: off\n' }), /rules\.no-such-rule: no such rule/],
      [['lint', 'plans'], makeRepo({ 'plans/p.md': SMALL_PLAN, 'deepplan.config.yaml': 'rules:\n  budget: loud\n' }), /rules\.budget: /],
      // Every command that reads the configuration answers a broken one the same way.
      ...(['run plans/p.md --once', 'review plans/p.md', 'doctor', 'audit plans/p.md'] as const).map(
        (command) =>
          [
            command.split(' '),
            makeRepo({ 'plans/p.md': SMALL_PLAN, 'deepplan.config.yaml': 'models: [oops\n' }),
            /^deepplan: \S*deepplan\.config\.yaml:2: /,
          ] as const,
      ),
    ] as const) {
      const result = deepplan([...args], cwd);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(2);
      expect(result.stderr.trim()).toMatch(pattern);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('reports an unreadable file as an error finding, not a crash', () => {
    const root = makeRepo({ 'plans/broken.md': '---\ntitle: [oops\n---\n', 'plans/binary.md': '\u0000\u0001' });
    const result = deepplan(['lint', '--format', 'json', 'plans'], root);
    expect(result.code).toBe(1);
    const json = JSON.parse(result.stdout) as { files: Array<{ path: string; findings: Array<{ ruleId: string; severity: string }> }> };
    expect(json.files.map((file) => file.path)).toEqual(['plans/binary.md', 'plans/broken.md']);
    expect(json.files[0]!.findings).toEqual([expect.objectContaining({ ruleId: 'parse', severity: 'error' })]);
    expect(json.files[1]!.findings).toContainEqual(
      expect.objectContaining({ ruleId: 'front-matter', severity: 'error', message: expect.stringMatching(/^YAML: /) }),
    );
  });

  it('teaches with --help and an example', () => {
    const result = deepplan(['lint', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/--format <format>/);
    expect(result.stdout).toMatch(/\$ deepplan lint plans\/modop-outreach\.md/);
    // The program's own help shows the whole flow, one example per command it uses.
    const root = deepplan(['--help']);
    expect(root.code).toBe(0);
    for (const command of ['init', 'new', 'review', 'approve', 'run', 'lint']) expect(root.stdout).toMatch(new RegExp(`\\$ deepplan ${command}\\b`));
  });

  it('loads no React, Ink or model SDK on the lint path', () => {
    const out = join(makeRepo(), 'imports.txt');
    const result = spawnSync(process.execPath, ['--import', join(PROJECT_ROOT, 'test/support/record-imports.mjs'), CLI, 'lint'], {
      cwd: PROJECT_ROOT,
      encoding: 'utf8',
      env: { ...process.env, DEEPPLAN_IMPORTS_OUT: out },
    });
    expect(result.status).toBe(0);
    const imports = readFileSync(out, 'utf8').split('\n');
    // The recorder works: the lint command's bundle is on the lint path (the parser is inside its chunks; the
    // sources of each chunk: test/main-start.test.ts).
    expect(imports.some((url) => url.endsWith('/dist/cli/lint-command.js'))).toBe(true);
    const forbidden = imports.filter((url) => /\/node_modules\/(react|ink|@anthropic-ai|openai|@google\/genai)\//.test(url));
    expect(forbidden).toEqual([]);
  });
});
