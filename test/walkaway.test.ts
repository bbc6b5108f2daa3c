import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parsePlan } from '../src/plan/parse.js';
import { PROJECT_ROOT, runCli } from './support/fixtures.js';
import { edit } from './support/plan-text.js';
import { PUT_SCRIPT, SCRIPTED_PLAN, SCRIPTED_SKILLS } from './support/scripted.js';
import { git, gitRepoWithOrigin, readYaml, runSteps, shimFolder, type Step } from './support/workflow-steps.js';

/**
 * The walk-away workflow (.github/workflows/deepplan-run.yml): its YAML, and its `run:` steps run as they are
 * against a repository with a scripted plan and a local bare remote, with a `gh` that records its calls.
 */

interface Workflow {
  on: {
    workflow_call: { inputs: Record<string, { type: string; required?: boolean; default?: unknown }>; secrets: Record<string, unknown> };
    workflow_dispatch: { inputs: Record<string, { type: string }> };
  };
  concurrency: { group: string; 'cancel-in-progress': boolean };
  jobs: Record<string, { permissions: Record<string, string>; steps: Step[] }>;
}

const WORKFLOW_PATH = join(PROJECT_ROOT, '.github', 'workflows', 'deepplan-run.yml');
const workflow = readYaml<Workflow>(WORKFLOW_PATH);
const job = workflow.jobs['run']!;
const bubblewrapWorks = spawnSync('bwrap', ['--ro-bind', '/', '/', '--unshare-all', 'true']).status === 0;
if (!bubblewrapWorks) console.warn('walk-away workflow runs skipped: bubblewrap (bwrap) is missing or cannot create namespaces here');

/** `gh` that appends each call (arguments joined by tabs) to $GH_LOG, keeps the --body-file of call n as $GH_LOG.<n>, and answers `issue list` from $GH_ISSUES. */
const GH_SHIM = `#!/usr/bin/env bash
printf '%s\\n' "$(IFS=$'\\t'; echo "$*")" >> "$GH_LOG"
calls=$(wc -l < "$GH_LOG")
previous=""
for argument in "$@"; do
  if [ "$previous" = --body-file ]; then cp "$argument" "$GH_LOG.$calls"; fi
  previous="$argument"
done
if [ "$1 $2" = "issue list" ]; then cat "$GH_ISSUES" 2>/dev/null || echo '[]'; fi
`;

function readLog(path: string): string[][] {
  return existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split('\t'))
    : [];
}

function setup(plan = SCRIPTED_PLAN) {
  const { origin, work } = gitRepoWithOrigin({
    'plans/p.md': plan,
    'scripts/put.mjs': PUT_SCRIPT,
    'notes/accounts.md': '# Accounts\n',
    '.gitignore': '.deepplan/\n',
    ...SCRIPTED_SKILLS,
  });
  const scratch = mkdtempSync(join(tmpdir(), 'deepplan-gh-'));
  const ghLog = join(scratch, 'gh.log');
  const ghIssues = join(scratch, 'issues.json');
  const shims = shimFolder({ gh: GH_SHIM });
  const run = (inputs: Record<string, string> = {}) =>
    runSteps(job.steps, {
      cwd: work,
      path: [shims],
      contexts: {
        inputs: {
          plan: 'plans/p.md',
          'max-iterations': '10',
          'max-cost': '1',
          executor: 'builtin',
          ref: '',
          setup: '',
          'deepplan-version': '0.1.0',
          ...inputs,
        },
        github: { token: 'test-token', repository: 'acme/plans' },
        secrets: {},
      },
      env: {
        GH_LOG: ghLog,
        GH_ISSUES: ghIssues,
        GITHUB_SERVER_URL: 'https://github.com',
        GITHUB_REPOSITORY: 'acme/plans',
        GITHUB_RUN_ID: '42',
        DEEPPLAN_OFFLINE: '1',
      },
    });
  /** The plan as the remote has it: the state lives in git. */
  const remotePlan = () => parsePlan(git(origin, 'show', 'main:plans/p.md'));
  return { origin, work, ghLog, ghIssues, run, remotePlan };
}

describe('the walk-away workflow', () => {
  it('is a reusable (workflow_call) and manual (workflow_dispatch) workflow with the run inputs, one concurrency group per plan and the permissions it needs', () => {
    const call = workflow.on.workflow_call;
    expect(Object.keys(call.inputs)).toEqual(expect.arrayContaining(['plan', 'max-iterations', 'max-cost', 'executor']));
    expect(call.inputs['plan']).toMatchObject({ type: 'string', required: true });
    expect(call.inputs['max-iterations']).toMatchObject({ type: 'number' });
    expect(Object.keys(call.secrets)).toEqual(['ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'GEMINI_API_KEY']);
    expect(Object.keys(workflow.on.workflow_dispatch.inputs)).toEqual(Object.keys(call.inputs));
    // The default version npx runs is this package's version.
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(String(call.inputs['deepplan-version']!.default)).toBe(pkg.version);

    expect(workflow.concurrency.group).toMatch(/\$\{\{\s*inputs\.plan\s*\}\}/);
    expect(workflow.concurrency['cancel-in-progress']).toBe(false);
    expect(job.permissions).toEqual({ contents: 'write', issues: 'write' });

    const scripts = job.steps.map((step) => step.run ?? '').join('\n');
    expect(scripts).toContain('apt-get install -y -qq bubblewrap');
    expect(scripts).toMatch(/deepplan run "\$PLAN" --loop --max-iterations "\$MAX_ITERATIONS" --max-cost "\$MAX_COST"/);
    // The plan file in git is the state: nothing is cached or uploaded.
    expect(job.steps.filter((step) => step.uses).map((step) => step.uses!.split('@')[0])).toEqual(['actions/checkout', 'actions/setup-node']);
    // Every step runs unconditionally: a blocked run (exit 3) must reach the commit and issue steps.
    expect(job.steps.filter((step) => step.if !== undefined)).toEqual([]);
  });

  it.skipIf(!bubblewrapWorks)(
    'runs a scripted plan to its human gate: commits each iteration back to the remote, opens one issue with the blockers; a second blocked run comments on it; after approval it runs to TASK_COMPLETE and opens no issue',
    async () => {
      const { origin, work, ghLog, ghIssues, run, remotePlan } = setup();
      const first = run();
      expect(first.code, first.steps.map((step) => `${step.name}: ${step.stdout}${step.stderr}`).join('\n')).toBe(0);
      expect(first.step('run').outputs).toEqual({ status: '3', signal: 'BLOCKED_NEED_HUMAN' });

      // The plan file and what the iterations wrote are on the remote, one commit per iteration.
      const blocked = remotePlan();
      expect(blocked.meta.status).toBe('blocked');
      expect(blocked.log!.rows.map((row) => row.signal)).toEqual(['CONTINUE', 'CONTINUE', 'CONTINUE', 'BLOCKED_NEED_HUMAN']);
      expect(git(origin, 'show', 'main:out/summary.md')).toBe('- Acme: renewed\n- Globex: paused\n- Initech: new\n');
      const subjects = git(origin, 'log', '--format=%s', 'main').trim().split('\n');
      expect(subjects.slice(0, 4).reverse()).toEqual([
        'deepplan: P1.1 ok, iteration 1',
        'deepplan: P2.1 ok, iteration 2',
        'deepplan: P3.1 ok, iteration 3',
        'deepplan: P3.2 ok, iteration 4',
      ]);
      expect(git(work, 'status', '--porcelain')).toBe('');

      // One issue, titled by the plan, with the blocker and the command that answers it.
      const calls = readLog(ghLog);
      expect(calls.map((call) => call.slice(0, 3).join(' '))).toEqual(['label create deepplan', 'issue list --state', 'issue create --title']);
      expect(calls[1]).toEqual(['issue', 'list', '--state', 'open', '--label', 'deepplan', '--limit', '200', '--json', 'number,title']);
      expect(calls[2]!.slice(2, 6)).toEqual(['--title', 'deepplan: plans/p.md needs a person', '--label', 'deepplan']);
      const body = readFileSync(`${ghLog}.3`, 'utf8');
      expect(body).toContain('- P3 gate: waiting for approval by Ana, account lead');
      expect(body).toContain('deepplan approve plans/p.md P3 --note');
      expect(body).toContain('https://github.com/acme/plans/actions/runs/42');

      // The next scheduled run finds the plan still blocked: no new commit, a comment on the open issue.
      const head = git(origin, 'rev-parse', 'main');
      writeFileSync(
        ghIssues,
        JSON.stringify([
          { number: 7, title: 'deepplan: plans/p.md needs a person, again' },
          { number: 12, title: 'deepplan: plans/p.md needs a person' },
        ]),
      );
      const second = run();
      expect(second.code).toBe(0);
      expect(second.step('run').outputs['status']).toBe('3');
      expect(git(origin, 'rev-parse', 'main')).toBe(head);
      const more = readLog(ghLog).slice(3);
      expect(more.map((call) => call.slice(0, 3).join(' '))).toEqual(['label create deepplan', 'issue list --state', 'issue comment 12']);
      expect(readFileSync(`${ghLog}.6`, 'utf8')).toContain('- P3 gate: waiting for approval by Ana, account lead');

      // A person approves the gate and pushes; the next run completes and asks nobody.
      const approved = await runCli(['approve', 'plans/p.md', 'P3', '--note', 'Ana: reads well'], work);
      expect(approved.code, approved.stderr).toBe(0);
      git(work, 'commit', '--quiet', '-am', 'Ana approved P3');
      git(work, 'push', '--quiet', 'origin', 'main');
      const third = run();
      expect(third.code, third.stdout).toBe(0);
      expect(third.step('run').outputs).toEqual({ status: '0', signal: 'TASK_COMPLETE' });
      expect(remotePlan().meta.status).toBe('complete');
      expect(readLog(ghLog).length).toBe(6);
      expect(third.stdout).toContain('signal TASK_COMPLETE; no issue');
    },
    120_000,
  );

  it.skipIf(!bubblewrapWorks)('fails the job when the run fails (exit 1), after the commit step, without an issue', () => {
    const { ghLog, run } = setup(edit(SCRIPTED_PLAN, 'id: weekly-summary', 'id: [weekly-summary'));
    const result = run();
    expect(result.step('run').outputs).toEqual({ status: '1', signal: '' });
    expect(result.code).toBe(1);
    expect(result.steps.at(-1)!.name).toBe('Result');
    expect(result.steps.at(-1)!.stdout).toContain('::error::deepplan run failed (exit 1)');
    expect(readLog(ghLog)).toEqual([]);
  });

  it('the example caller in docs/ci.md is scheduled and passes only inputs and secrets the workflow declares', () => {
    const docs = readFileSync(join(PROJECT_ROOT, 'docs', 'ci.md'), 'utf8');
    const blocks = [...docs.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => parse(match[1]!) as Record<string, unknown>);
    const caller = blocks.find((block) => JSON.stringify(block).includes('deepplan-run.yml')) as
      | {
          on: Record<string, unknown>;
          jobs: Record<string, { uses: string; with: Record<string, unknown>; secrets?: Record<string, string>; permissions: Record<string, string> }>;
        }
      | undefined;
    expect(caller, 'a yaml block in docs/ci.md that calls deepplan-run.yml').toBeDefined();
    expect(caller!.on).toHaveProperty('schedule');
    const called = Object.values(caller!.jobs)[0]!;
    expect(called.uses).toMatch(/\.github\/workflows\/deepplan-run\.yml@/);
    expect(Object.keys(workflow.on.workflow_call.inputs)).toEqual(expect.arrayContaining(Object.keys(called.with)));
    expect(called.with).toHaveProperty('plan');
    expect(Object.keys(workflow.on.workflow_call.secrets)).toEqual(expect.arrayContaining(Object.keys(called.secrets ?? {})));
    expect(called.permissions).toEqual({ contents: 'write', issues: 'write' });
  });
});
