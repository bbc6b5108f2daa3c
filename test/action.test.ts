import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, edit, PROJECT_ROOT, SMALL_PLAN, SMALL_PLAN_SKILLS } from './support/fixtures.js';
import { actionInputs, git, gitRepoWithOrigin, readYaml, runSteps, shimFolder, type Step } from './support/workflow-steps.js';

/**
 * action.yml: its `run:` steps run as they are (bash, expressions substituted, `deepplan` this checkout's CLI) in a
 * repository with a base branch and a pull-request branch. And .pre-commit-hooks.yaml.
 */

interface Action {
  inputs: Record<string, { default?: string }>;
  runs: { using: string; steps: Step[] };
}

const action = readYaml<Action>(join(PROJECT_ROOT, 'action.yml'));
const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };

const GOOD_PLAN = edit(SMALL_PLAN, 'id: weekly-summary', 'id: monthly-summary');
const BAD_PLAN = edit(SMALL_PLAN, 'status: approved', 'status: finished');

/** `gh` that logs each call (arguments joined by tabs) to $GH_LOG, keeps the comment body as $GH_LOG.body, and lists $GH_COMMENT_ID as the marked comment. */
const GH_SHIM = `#!/usr/bin/env bash
printf '%s\\n' "$(IFS=$'\\t'; echo "$*")" >> "$GH_LOG"
previous=""
for argument in "$@"; do
  if [ "$previous" = --body-file ]; then cp "$argument" "$GH_LOG.body"; fi
  case "$argument" in body=@*) cp "\${argument#body=@}" "$GH_LOG.body" ;; esac
  previous="$argument"
done
if [ "$1" = api ] && [ "$2" != --method ]; then cat "$GH_COMMENT_ID" 2>/dev/null; fi
exit 0
`;

function calls(log: string): string[][] {
  return existsSync(log)
    ? readFileSync(log, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split('\t'))
    : [];
}

/** A repository whose main (pushed to a bare origin) holds a clean plan, checked out on a branch that adds `files`. */
function pullRequest(files: Record<string, string>): string {
  const { work } = gitRepoWithOrigin({ 'plans/weekly.md': SMALL_PLAN, ...SMALL_PLAN_SKILLS, 'README.md': '# Accounts\n' });
  git(work, 'checkout', '--quiet', '-b', 'add-plan');
  for (const [path, text] of Object.entries(files)) writeFileSync(join(work, path), text);
  git(work, 'add', '--all');
  git(work, 'commit', '--quiet', '-m', 'the pull request');
  return work;
}

function runAction(
  cwd: string,
  options: { inputs?: Record<string, string>; github?: Record<string, string>; path?: string[]; env?: Record<string, string>; scratch?: string } = {},
) {
  const scratch = options.scratch ?? mkdtempSync(join(tmpdir(), 'deepplan-gh-'));
  const ghLog = join(scratch, 'gh.log');
  const github = {
    base_ref: 'main',
    action_path: PROJECT_ROOT,
    'event.pull_request.number': '5',
    token: 'test-token',
    repository: 'acme/plans',
    ...options.github,
  };
  const inputs = actionInputs(action, options.inputs ?? {}, github);
  const result = runSteps(action.runs.steps, {
    cwd,
    path: options.path ?? [shimFolder({ gh: GH_SHIM })],
    contexts: { inputs, github },
    env: { GH_LOG: ghLog, GH_COMMENT_ID: join(scratch, 'comment-id'), ...options.env },
  });
  return { ...result, ghLog, commentId: join(scratch, 'comment-id') };
}

describe('action.yml', () => {
  it('is a composite action whose run steps are bash reading their inputs from env', () => {
    expect(action.runs.using).toBe('composite');
    expect(action.inputs['plans']!.default).toBe('plans/**/*.md');
    for (const step of action.runs.steps.filter((candidate) => candidate.run !== undefined)) {
      expect(step.shell).toBe('bash');
      // Expressions go through env:, never into the script (no script injection from a branch or file name).
      expect(step.run).not.toMatch(/\$\{\{/);
    }
    const uses = action.runs.steps.filter((step) => step.uses).map((step) => [step.uses!.split('@')[0], step.if]);
    expect(uses).toEqual([
      ['actions/setup-node', "inputs.node-version != ''"],
      ['github/codeql-action/upload-sarif', "inputs.sarif == 'true' && steps.sarif.outputs.file != ''"],
    ]);
  });

  it('on a pull request that adds a bad plan: annotations for that plan only, exit 1; the review comment is skipped without keys', () => {
    const work = pullRequest({ 'plans/bad.md': BAD_PLAN });
    const result = runAction(work);
    expect(result.code).toBe(1);
    expect(result.steps.at(-1)!.name).toBe('Lint the plans');
    expect(result.step('select').outputs).toMatchObject({ scope: 'changed', count: '1' });
    expect(result.stdout).toMatch(/^::error file=plans\/bad\.md,line=5,col=\d+,title=front-matter::/m);
    expect(result.stdout).not.toContain('file=plans/weekly.md');
    expect(result.step('Review comment').stdout).toContain('no provider key');
    expect(calls(result.ghLog)).toEqual([]);
  });

  it('on a pull request that adds a good plan: exit 0, no annotations', () => {
    const work = pullRequest({ 'plans/monthly.md': GOOD_PLAN });
    const result = runAction(work);
    expect(result.code, result.stdout).toBe(0);
    expect(result.step('select').outputs).toMatchObject({ scope: 'changed', count: '1' });
    expect(result.stdout).not.toMatch(/^::(error|warning)/m);
    expect(result.stdout).toContain('deepplan: 0 errors, 0 warnings in 1 plan');
  });

  it('lints every plan on a push (no base ref) and when the pull request changes no plan', () => {
    const work = pullRequest({ 'plans/bad.md': BAD_PLAN });
    const push = runAction(work, { github: { base_ref: '', 'event.pull_request.number': '' } });
    expect(push.step('select').outputs).toMatchObject({ scope: 'all', count: '2' });
    expect(push.code).toBe(1);

    const readme = pullRequest({ 'README.md': '# Accounts, renamed\n' });
    const result = runAction(readme);
    expect(result.step('select').outputs).toMatchObject({ scope: 'all', count: '1' });
    expect(result.code).toBe(0);
  });

  it('with sarif true writes a SARIF file of the selected plans and keeps going to the lint step', () => {
    const work = pullRequest({ 'plans/bad.md': BAD_PLAN });
    const result = runAction(work, { inputs: { sarif: 'true' } });
    expect(result.step('sarif').outputs).toEqual({ file: 'deepplan.sarif' });
    const sarif = JSON.parse(readFileSync(join(work, 'deepplan.sarif'), 'utf8')) as {
      runs: Array<{ results: Array<{ ruleId: string; locations: Array<{ physicalLocation: { artifactLocation: { uri: string } } }> }> }>;
    };
    expect(sarif.runs[0]!.results.map((entry) => [entry.ruleId, entry.locations[0]!.physicalLocation.artifactLocation.uri])).toContainEqual([
      'front-matter',
      'plans/bad.md',
    ]);
    expect(result.code).toBe(1);
  });

  it('with a key, posts the review of each changed plan as one marked comment, edits that comment on the next run, and lints the plan as the pull request has it', () => {
    const work = pullRequest({ 'plans/monthly.md': GOOD_PLAN });
    const env = { DEEPPLAN_OFFLINE: '1' };
    const first = runAction(work, { inputs: { 'anthropic-api-key': 'sk-test' }, env });
    expect(first.code, first.stdout).toBe(0);
    expect(calls(first.ghLog).map((call) => call.slice(0, 2))).toEqual([
      ['api', 'repos/acme/plans/issues/5/comments'],
      ['pr', 'comment'],
    ]);
    expect(calls(first.ghLog)[1]).toEqual(['pr', 'comment', '5', '--repo', 'acme/plans', '--body-file', expect.any(String)]);
    const body = readFileSync(`${first.ghLog}.body`, 'utf8');
    expect(body.split('\n')[0]).toBe('<!-- deepplan-review -->');
    expect(body).toContain('# Review of plans/monthly.md, round 1');
    // The review wrote its verdict into the plan; the step put the pull request's plan back before lint.
    expect(readFileSync(join(work, 'plans/monthly.md'), 'utf8')).toBe(GOOD_PLAN);

    // The next push to the pull request: the marked comment is there (id 991) and is edited, not added to.
    const scratch = mkdtempSync(join(tmpdir(), 'deepplan-gh-'));
    writeFileSync(join(scratch, 'comment-id'), '991\n');
    const second = runAction(work, { inputs: { 'anthropic-api-key': 'sk-test' }, env, scratch });
    const edits = calls(second.ghLog);
    expect(edits.map((call) => call.slice(0, 4))).toEqual([
      ['api', 'repos/acme/plans/issues/5/comments', '--paginate', '--jq'],
      ['api', '--method', 'PATCH', 'repos/acme/plans/issues/comments/991'],
    ]);
    expect(edits[1]!.slice(4)).toEqual(['-F', expect.stringMatching(/^body=@.+deepplan-review\.md$/)]);
    expect(readFileSync(`${second.ghLog}.body`, 'utf8')).toContain('# Review of plans/monthly.md, round 1');
    expect(second.step('Review comment').stdout).toContain('review comment updated');
  });

  it("without deepplan on PATH or in node_modules runs npx deepplan@<the action's version>", () => {
    const work = pullRequest({ 'plans/monthly.md': GOOD_PLAN });
    const record = join(mkdtempSync(join(tmpdir(), 'deepplan-npx-')), 'npx.log');
    const shims = shimFolder({
      gh: GH_SHIM,
      npx: `#!/usr/bin/env bash\nprintf '%s\\n' "$*" >> ${JSON.stringify(record)}\nshift 2\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"\n`,
    });
    spawnSync('rm', [join(shims, 'deepplan')]);
    const result = runAction(work, { path: [shims] });
    expect(result.code, result.stdout).toBe(0);
    const lines = readFileSync(record, 'utf8').trim().split('\n');
    expect(lines[0]).toBe(`--yes deepplan@${pkg.version} --version`);
    expect(lines.at(-1)).toMatch(new RegExp(`^--yes deepplan@${pkg.version.replace(/\./g, '\\.')} lint --format github -- plans/monthly\\.md$`));
  });
});

describe('.pre-commit-hooks.yaml', () => {
  const hooks = readYaml<Array<{ id: string; entry: string; language: string; files: string }>>(join(PROJECT_ROOT, '.pre-commit-hooks.yaml'));
  const hook = hooks.find((candidate) => candidate.id === 'deepplan-lint')!;

  it('has a deepplan-lint hook for plan Markdown under plans/', () => {
    expect(hook).toBeDefined();
    const files = new RegExp(hook.files);
    expect(['plans/a.md', 'plans/q4/b.md'].filter((path) => files.test(path))).toEqual(['plans/a.md', 'plans/q4/b.md']);
    expect(['README.md', 'docs/plans/a.md', 'plans/a.yaml', 'plans/templates/content.yaml'].filter((path) => files.test(path))).toEqual([]);
  });

  it('its entry, with the staged files appended, exits 0 on a good plan and 1 on a bad one', () => {
    const root = mkdtempSync(join(tmpdir(), 'deepplan-precommit-'));
    git(root, 'init', '--quiet');
    for (const [path, text] of Object.entries({ ...SMALL_PLAN_SKILLS, 'plans/good.md': GOOD_PLAN, 'plans/bad.md': BAD_PLAN })) {
      spawnSync('mkdir', ['-p', join(root, path, '..')]);
      writeFileSync(join(root, path), text);
    }
    const [program, ...args] = hook.entry.split(' ');
    expect(program).toBe('deepplan');
    const run = (file: string) => spawnSync(process.execPath, [CLI, ...args, file], { cwd: root, encoding: 'utf8' });
    expect(run('plans/good.md').status).toBe(0);
    const bad = run('plans/bad.md');
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain('front-matter');
  });
});
