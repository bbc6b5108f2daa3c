import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigSchema, loadConfig } from '../src/config/config.js';
import { renderWorkflow } from '../src/cli/init-command.js';
import { lintText } from '../src/lint/lint.js';
import { PROJECT_ROOT, runCli } from './support/fixtures.js';
import { edit } from './support/plan-text.js';
import { git, readYaml } from './support/workflow-steps.js';

const FILES = ['deepplan.config.yaml', 'plans/example.md', '.github/workflows/deepplan.yml', '.gitignore'];

function emptyRepository(): string {
  const root = mkdtempSync(join(tmpdir(), 'deepplan-init-'));
  git(root, 'init', '--quiet', '--initial-branch=trunk');
  return root;
}

/** `written   path` lines of deepplan init, as [outcome, path]. */
function outcomes(stdout: string): string[][] {
  return stdout
    .split('\n')
    .map((line) => /^(written|skipped|updated) +(\S+)/.exec(line))
    .filter((match) => match !== null)
    .map((match) => [match![1]!, match![2]!]);
}

/** Every key the configuration schema knows, at any depth (record keys are names, not keys). */
function schemaKeys(schema: unknown, into = new Set<string>()): Set<string> {
  const def = (schema as { _zod: { def: { type: string; shape?: Record<string, unknown>; innerType?: unknown; valueType?: unknown; element?: unknown } } })._zod
    .def;
  if (def.type === 'object') {
    for (const [key, value] of Object.entries(def.shape!)) {
      into.add(key);
      schemaKeys(value, into);
    }
  } else if (def.type === 'optional' || def.type === 'nullable' || def.type === 'default') schemaKeys(def.innerType, into);
  else if (def.type === 'record') schemaKeys(def.valueType, into);
  else if (def.type === 'array') schemaKeys(def.element, into);
  return into;
}

describe('deepplan init', () => {
  it('in an empty git repository writes a config that loads, an example plan and a workflow that lint, and .deepplan/ in .gitignore', async () => {
    const root = emptyRepository();
    const result = await runCli(['init'], root);
    expect(result.code, result.stderr).toBe(0);
    expect(outcomes(result.stdout)).toEqual(FILES.map((path) => ['written', path]));
    expect(result.stdout).not.toContain('not inside a git repository');

    const lint = await runCli(['lint', '--format', 'json'], root);
    expect(lint.code, lint.stdout).toBe(0);
    expect(JSON.parse(lint.stdout)).toEqual({ files: [{ path: 'plans/example.md', findings: [] }], summary: { errors: 0, warnings: 0 } });

    expect(() => loadConfig(root)).not.toThrow();
    expect(readFileSync(join(root, '.gitignore'), 'utf8').split('\n')).toContain('.deepplan/');
  });

  it('the config holds every key the schema knows (active with its default, or as a commented example) and parses as it is', () => {
    const root = emptyRepository();
    return runCli(['init'], root).then(() => {
      const text = readFileSync(join(root, 'deepplan.config.yaml'), 'utf8');
      const parsed = ConfigSchema.safeParse(parse(text));
      expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
      const missing = [...schemaKeys(ConfigSchema)].filter((key) => !new RegExp(`^[\\s#]*(- )?${key}:|[{,] *${key}:`, 'm').test(text));
      expect(missing).toEqual([]);
      // Top-level sections are live keys, so removing the # of an example is all a user does.
      const config = parse(text) as Record<string, unknown>;
      expect(Object.keys(config).sort()).toEqual(Object.keys(ConfigSchema.shape).sort());
    });
  });

  it('the example plan lints clean only thanks to its skill-unknown comment: without it, the uninstalled skills are warnings and nothing else', async () => {
    const root = emptyRepository();
    await runCli(['init'], root);
    const text = readFileSync(join(root, 'plans/example.md'), 'utf8');
    expect(text).toMatch(new RegExp(`^created: ${new Date().toISOString().slice(0, 10)}$`, 'm'));
    const without = edit(text, '<!-- deepplan-disable skill-unknown -->\n', '');
    expect(without).not.toBe(text);
    const findings = lintText(without, join(root, 'plans/example.md'));
    expect(findings.length).toBeGreaterThanOrEqual(5);
    expect(new Set(findings.map((finding) => `${finding.ruleId} ${finding.severity}`))).toEqual(new Set(['skill-unknown warning']));
  });

  it('the workflow parses, checks out the full history, runs the action of this version with the key secrets, and lints pushes to the current branch; docs/ci.md shows the same workflow', async () => {
    const root = emptyRepository();
    await runCli(['init'], root);
    const text = readFileSync(join(root, '.github/workflows/deepplan.yml'), 'utf8');
    const workflow = parse(text) as {
      on: { pull_request: unknown; push: { branches: string[] } };
      permissions: Record<string, string>;
      jobs: Record<string, { steps: Array<{ uses: string; with: Record<string, unknown> }> }>;
    };
    const version = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    expect(workflow.on).toHaveProperty('pull_request');
    expect(workflow.on.push.branches).toEqual(['trunk']);
    expect(workflow.permissions).toMatchObject({ contents: 'read', 'pull-requests': 'write' });
    const steps = Object.values(workflow.jobs)[0]!.steps as Array<{ uses?: string; run?: string; if?: string; with: Record<string, unknown> }>;
    expect(steps.map((step) => step.uses)).toEqual(['actions/checkout@v6', undefined, `deepplan/deepplan@v${version}`]);
    expect(steps[0]!.with).toEqual({ 'fetch-depth': 0 });
    // deepplan is the repository's devDependency (README: Add deepplan to your repository): installed before the action.
    expect(steps[1]).toEqual({ if: "hashFiles('package-lock.json') != ''", run: 'npm ci' });
    const action = readYaml<{ inputs: Record<string, unknown> }>(join(PROJECT_ROOT, 'action.yml'));
    expect(Object.keys(action.inputs)).toEqual(expect.arrayContaining(Object.keys(steps[2]!.with)));
    expect(steps[2]!.with).toMatchObject({
      plans: 'plans/**/*.md',
      'anthropic-api-key': '${{ secrets.ANTHROPIC_API_KEY }}',
      'openai-api-key': '${{ secrets.OPENAI_API_KEY }}',
      'gemini-api-key': '${{ secrets.GEMINI_API_KEY }}',
    });

    expect(text).toBe(renderWorkflow({ branch: 'trunk' }));
    const docs = readFileSync(join(PROJECT_ROOT, 'docs', 'ci.md'), 'utf8');
    expect(docs).toContain(renderWorkflow({ branch: 'main' }));
  });

  it('a second run writes nothing; --force overwrites the files; .gitignore is never given the line twice', async () => {
    const root = emptyRepository();
    await runCli(['init'], root);
    const before = FILES.map((path) => [readFileSync(join(root, path), 'utf8'), statSync(join(root, path)).mtimeMs]);
    const again = await runCli(['init'], root);
    expect(again.code).toBe(0);
    expect(outcomes(again.stdout)).toEqual(FILES.map((path) => ['skipped', path]));
    expect(again.stdout).toContain('plans/example.md (exists; --force overwrites it)');
    expect(FILES.map((path) => [readFileSync(join(root, path), 'utf8'), statSync(join(root, path)).mtimeMs])).toEqual(before);

    writeFileSync(join(root, 'deepplan.config.yaml'), 'rules: {skill-unknown: off}\n');
    writeFileSync(join(root, 'plans/example.md'), 'my own plan\n');
    const forced = await runCli(['init', '--force'], root);
    expect(forced.code).toBe(0);
    expect(outcomes(forced.stdout)).toEqual([
      ['updated', 'deepplan.config.yaml'],
      ['updated', 'plans/example.md'],
      ['updated', '.github/workflows/deepplan.yml'],
      ['skipped', '.gitignore'],
    ]);
    expect(readFileSync(join(root, 'deepplan.config.yaml'), 'utf8')).toBe(before[0]![0]);
    expect(readFileSync(join(root, 'plans/example.md'), 'utf8')).toBe(before[1]![0]);
    expect(readFileSync(join(root, '.gitignore'), 'utf8').match(/^\.deepplan\/$/gm)).toHaveLength(1);
  });

  it('appends .deepplan/ to an existing .gitignore (also one without a final newline) and leaves one that ignores it alone', async () => {
    const root = emptyRepository();
    writeFileSync(join(root, '.gitignore'), 'node_modules/\ndist');
    const first = await runCli(['init'], root);
    expect(outcomes(first.stdout).at(-1)).toEqual(['updated', '.gitignore']);
    expect(readFileSync(join(root, '.gitignore'), 'utf8')).toBe('node_modules/\ndist\n.deepplan/\n');

    const other = emptyRepository();
    writeFileSync(join(other, '.gitignore'), '/.deepplan\n');
    const second = await runCli(['init'], other);
    expect(outcomes(second.stdout).at(-1)).toEqual(['skipped', '.gitignore']);
    expect(readFileSync(join(other, '.gitignore'), 'utf8')).toBe('/.deepplan\n');
  });

  it('writes at the repository root when run in a subfolder, and outside a git repository says so and writes into the current folder', async () => {
    const root = emptyRepository();
    mkdirSync(join(root, 'src', 'deep'), { recursive: true });
    const nested = await runCli(['init'], join(root, 'src', 'deep'));
    expect(nested.code).toBe(0);
    expect(outcomes(nested.stdout).map(([, path]) => path)).toEqual(FILES.map((path) => `../../${path}`));
    expect(statSync(join(root, 'plans/example.md')).isFile()).toBe(true);

    const plain = mkdtempSync(join(tmpdir(), 'deepplan-init-plain-'));
    const outside = await runCli(['init'], plain);
    expect(outside.code).toBe(0);
    expect(outside.stdout.split('\n')[0]).toMatch(/^note: .* is not inside a git repository; writing there anyway/);
    expect(outcomes(outside.stdout)).toEqual(FILES.map((path) => ['written', path]));
  });

  it('a file in the way is a one-line error, not a stack trace', async () => {
    const root = emptyRepository();
    writeFileSync(join(root, 'plans'), 'a file where the plans folder goes\n');
    const result = await runCli(['init'], root);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^deepplan: cannot write plans\/example\.md: (EEXIST|ENOTDIR)/);
  });

  it('--help shows examples', async () => {
    const help = await runCli(['init', '--help'], emptyRepository());
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('$ deepplan init --force');
  });
});
