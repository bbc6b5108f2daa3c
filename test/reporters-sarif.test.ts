import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RULE_IDS } from '../src/rules/catalog.js';
import { CLI, cliEnvironment, edit, makeRepo, SMALL_PLAN, SMALL_PLAN_SKILLS } from './support/fixtures.js';

function deepplan(args: string[], cwd: string, env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...cliEnvironment(env), GITHUB_WORKSPACE: '' } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

interface Sarif {
  runs: Array<{
    tool: { driver: { rules: Array<{ id: string; helpUri: string }> } };
    results: Array<{
      ruleId: string;
      message: { text: string };
      partialFingerprints: Record<string, string>;
      locations: Array<{ physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }>;
    }>;
  }>;
}

/** A newsletter plan with three errors: two outputs outside scope.write, one unknown dependency. */
const NEWSLETTER = edit(
  edit(SMALL_PLAN, 'write: [notes/**, out/**]', 'write: [notes/**]'),
  '- Depends on: P2\n- Gate: human',
  '- Depends on: P7\n- Gate: human',
);

describe('SARIF', () => {
  it('gives every rule an absolute helpUri and every result a partial fingerprint that survives a moved line', () => {
    const root = makeRepo({ ...SMALL_PLAN_SKILLS, 'plans/p.md': NEWSLETTER });
    const sarif = JSON.parse(deepplan(['lint', '--format', 'sarif', 'plans'], root).stdout) as Sarif;
    const run = sarif.runs[0]!;
    expect(run.tool.driver.rules.map((rule) => rule.id)).toEqual([...RULE_IDS, 'parse']);
    for (const rule of run.tool.driver.rules)
      expect(rule.helpUri).toMatch(new RegExp(`^https://github\\.com/deepplan/deepplan/blob/v\\d+\\.\\d+\\.\\d+/docs/rules\\.md#${rule.id}$`));
    const original = run.results;
    expect(original.length).toBe(3);
    for (const result of original) expect(result.partialFingerprints['deepplanFinding/v1']).toMatch(/^[0-9a-f]{32}:1$/);
    // Distinct findings, distinct fingerprints.
    expect(new Set(original.map((result) => result.partialFingerprints['deepplanFinding/v1'])).size).toBe(original.length);
    // The same findings three lines further down after an edit above them: other lines, the same fingerprints.
    writeFileSync(join(root, 'plans/p.md'), edit(NEWSLETTER, '## Request\n', '## Request\n\nAdded paragraph.\n\n'));
    const moved = (JSON.parse(deepplan(['lint', '--format', 'sarif', 'plans/p.md'], root).stdout) as Sarif).runs[0]!.results;
    expect(moved.map((result) => result.locations[0]!.physicalLocation.region.startLine)).toEqual(
      original.map((result) => result.locations[0]!.physicalLocation.region.startLine + 3),
    );
    expect(moved.map((result) => result.partialFingerprints)).toEqual(original.map((result) => result.partialFingerprints));
    // Another file with the same findings is other alerts.
    writeFileSync(join(root, 'plans/copy.md'), NEWSLETTER);
    const copy = (JSON.parse(deepplan(['lint', '--format', 'sarif', 'plans/copy.md'], root).stdout) as Sarif).runs[0]!.results;
    for (const result of copy)
      expect(original.map((entry) => entry.partialFingerprints['deepplanFinding/v1'])).not.toContain(result.partialFingerprints['deepplanFinding/v1']);
    // A finding's fix travels with its message.
    expect(original.find((result) => result.ruleId === 'phase-dependencies')!.message.text).toMatch(
      /depends on P7, which is not a phase of this plan Fix: remove P7 from P3's Depends on/,
    );
  });

  it('numbers the same finding twice in a file instead of giving both one fingerprint', () => {
    const twice = edit(edit(SMALL_PLAN, 'write: [notes/**, out/**]', 'write: [notes/**]'), '- Outputs: out/published.txt', '- Outputs: out/summary.md');
    const root = makeRepo({ ...SMALL_PLAN_SKILLS, 'plans/p.md': twice });
    const results = (JSON.parse(deepplan(['lint', '--format', 'sarif', 'plans'], root).stdout) as Sarif).runs[0]!.results.filter(
      (result) => result.ruleId === 'scope',
    );
    const prints = results.map((result) => result.partialFingerprints['deepplanFinding/v1']!);
    expect(new Set(prints).size).toBe(prints.length);
  });
});

describe('GitHub annotations', () => {
  it('name the file relative to the repository root, whatever folder lint runs in', () => {
    const root = makeRepo({ ...SMALL_PLAN_SKILLS, 'plans/p.md': NEWSLETTER });
    mkdirSync(join(root, 'docs', 'deep'), { recursive: true });
    for (const [cwd, target] of [
      [root, 'plans/p.md'],
      [join(root, 'plans'), 'p.md'],
      [join(root, 'docs', 'deep'), '../../plans/p.md'],
      [join(root, 'docs'), join(root, 'plans')],
    ] as const) {
      const result = deepplan(['lint', '--format', 'github', target], cwd);
      expect(result.code).toBe(1);
      const commands = result.stdout.split('\n').filter((line) => line.startsWith('::'));
      expect(commands).toHaveLength(3);
      for (const command of commands) expect(command).toMatch(/^::error file=plans\/p\.md,line=\d+,col=1,title=[a-z-]+::/);
    }
  });

  it('a plan under a folder with its own deepplan.config.yaml is still named from the git root, in annotations and SARIF', () => {
    const root = makeRepo(
      Object.fromEntries(
        Object.entries({ ...SMALL_PLAN_SKILLS, 'plans/p.md': NEWSLETTER, 'deepplan.config.yaml': 'rules: {}\n' }).map(([path, text]) => [
          `examples/weekly/${path}`,
          text,
        ]),
      ),
    );
    const github = deepplan(['lint', '--format', 'github', 'plans/p.md'], join(root, 'examples', 'weekly'));
    expect(github.stdout).toMatch(/^::error file=examples\/weekly\/plans\/p\.md,line=/m);
    const sarif = JSON.parse(deepplan(['lint', '--format', 'sarif', 'p.md'], join(root, 'examples', 'weekly', 'plans')).stdout) as Sarif;
    expect(new Set(sarif.runs[0]!.results.map((result) => result.locations[0]!.physicalLocation.artifactLocation.uri))).toEqual(
      new Set(['examples/weekly/plans/p.md']),
    );
  });

  it('follow GITHUB_WORKSPACE when the plan is inside it', () => {
    const root = makeRepo({ ...SMALL_PLAN_SKILLS, 'plans/p.md': NEWSLETTER });
    const result = spawnSync(process.execPath, [CLI, 'lint', '--format', 'github', 'p.md'], {
      cwd: join(root, 'plans'),
      encoding: 'utf8',
      env: { ...cliEnvironment(), GITHUB_WORKSPACE: join(root, 'plans', '..') },
    });
    expect(result.stdout).toMatch(/^::error file=plans\/p\.md,/m);
  });
});
