import { execFile } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { bubblewrapAvailable } from '../src/execute/sandbox.js';
import { lintText } from '../src/lint/lint.js';
import { parsePlan } from '../src/plan/parse.js';
import { CLI, cliEnvironment, makeRepo, runCli, skillFile } from './support/fixtures.js';
import { PUT_SCRIPT } from './support/scripted.js';
import { type PhaseSpec, planText, SMALL_SKILL_AUDIT } from './support/plan-text.js';
import { doneSteps } from './support/log-steps.js';

/**
 * The GitHub Actions matrix (docs/scale-out.md): `deepplan init --workflow matrix` writes a workflow that validates
 * against SchemaStore's github-workflow.json, and its jobs' own shell steps, run by hand in separate copies of a
 * repository (one per job, as Actions gives each job its own checkout), take a plan with three sibling phases to
 * TASK_COMPLETE through two waves, with every step's row exactly once and the audit of a serial run.
 */

const PLAN = 'plans/p.md';
const CLI_ENTRY = CLI;
const sandboxFlag = process.env['DEEPPLAN_TEST_NO_SANDBOX'] || !bubblewrapAvailable() ? ['--no-sandbox'] : [];

const SKILLS = ['fetch-notes', 'write-summary', 'publish-page'];
const CONTACTS = ['ana', 'ben', 'cleo'];

/** P1 a shared brief; P2 to P4 a draft per contact, each depending on P1 only: siblings, one wave. */
function siblingPlan(): string {
  const phase = (id: string, title: string, dir: string, dependsOn: string[], first: string): PhaseSpec => ({
    id,
    title,
    inputs: ['notes/accounts.md'],
    outputs: [`${dir}/*.md`],
    dependsOn,
    doneWhen: 'both files are written.',
    verify: `test -s ${dir}/b.md`,
    steps: [first, `run: \`node scripts/put.mjs ${dir}/b.md "${id} second"\``],
  });
  return planText({
    front: {
      id: 'matrix-test',
      title: 'Matrix test',
      owner: 'Ana, account lead',
      maxIterations: 30,
      write: ['notes/**', 'out/**'],
      nextAction: 'Write the shared brief',
    },
    request: 'Write one shared brief, then one draft per contact; the drafts do not depend on each other.',
    criteria: [
      { text: 'The brief is written.', verify: 'test -s out/brief/b.md' },
      { text: 'Every contact has a draft.', verify: 'test "$(ls out/*/a.md | wc -l)" -eq 4' },
      { text: 'Every draft is finished.', verify: 'test "$(ls out/*/b.md | wc -l)" -eq 4' },
    ],
    constraints: ['Only files under out/ and notes/.'],
    stakeholders: ['Ana — account lead, reads the drafts'],
    ...SMALL_SKILL_AUDIT,
    phases: [
      phase('P1', 'Write the shared brief', 'out/brief', [], `/${SKILLS[0]} "the brief"`),
      ...CONTACTS.map((name, index) =>
        phase(
          `P${index + 2}`,
          `Draft for ${name}`,
          `out/${name}`,
          ['P1'],
          index < 2 ? `/${SKILLS[index + 1]} "draft for ${name}"` : `run: \`node scripts/put.mjs out/${name}/a.md "draft"\``,
        ),
      ),
    ],
  });
}

function siblingRepo(): string {
  const outputs = ['out/brief/a.md', 'out/ana/a.md', 'out/ben/a.md'];
  return makeRepo({
    [PLAN]: siblingPlan(),
    'scripts/put.mjs': PUT_SCRIPT,
    'notes/accounts.md': '# Accounts\n',
    ...Object.fromEntries(
      SKILLS.map((name, index) => [
        `.claude/skills/${name}/SKILL.md`,
        skillFile(name, `metadata:\n  run: node scripts/put.mjs ${outputs[index]}\n  irreversible: false\n`),
      ]),
    ),
    '.claude/skills/hubspot-sync/SKILL.md': skillFile('hubspot-sync'),
    '.claude/skills/newsletter-builder/SKILL.md': skillFile('newsletter-builder'),
  });
}

/** `npx` for the workflow's steps: `npx deepplan …` runs this checkout's CLI (the scale-out commands through CLI_ENTRY). */
function npxShim(): string {
  const dir = mkdtempSync(join(tmpdir(), 'deepplan-npx-'));
  const file = join(dir, 'npx');
  writeFileSync(
    file,
    `#!/bin/sh
[ "$1" = deepplan ] || { echo "npx shim: only deepplan" >&2; exit 2; }
shift
case "$1" in matrix|worker|init) exec "${process.execPath}" "${CLI_ENTRY}" "$@" ;; esac
exec "${process.execPath}" "${CLI}" "$@"
`,
  );
  chmodSync(file, 0o755);
  return dir;
}

interface Step {
  name?: string;
  run?: string;
  id?: string;
}

/** A job step's shell script, by step name or id; with --no-sandbox added to deepplan run steps when bubblewrap is missing. */
function script(workflow: { jobs: Record<string, { steps: Step[] }> }, job: string, name: string): string {
  const step = workflow.jobs[job]!.steps.find((candidate) => candidate.name === name || candidate.id === name);
  if (!step?.run) throw new Error(`no step ${name} in job ${job}`);
  return sandboxFlag.length > 0 ? step.run.replace(/npx deepplan (matrix run|run) "\$PLAN"/g, 'npx deepplan $1 "$PLAN" --no-sandbox') : step.run;
}

function bash(run: string, cwd: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-eo', 'pipefail', '-c', run], { cwd, env: cliEnvironment(env), timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function readPlan(root: string) {
  const text = readFileSync(join(root, PLAN), 'utf8');
  return { text, plan: parsePlan(text, { path: join(root, PLAN) }) };
}

/** SchemaStore's github-workflow.json and its validator, compiled to WebAssembly (a devDependency). */
async function loadValidator(): Promise<{ validateWorkflow(source: string): { errors: unknown[] } }> {
  return (await import('@action-validator/core')) as never;
}

describe('deepplan init --workflow matrix', () => {
  it('writes a workflow that validates against the GitHub Actions workflow schema (SchemaStore)', async () => {
    const root = makeRepo();
    const init = await runEntry(['init', '--workflow', 'matrix'], root);
    expect(init.code, init.stderr).toBe(0);
    const text = readFileSync(join(root, '.github/workflows/deepplan-matrix.yml'), 'utf8');
    const { validateWorkflow } = await loadValidator();
    expect(validateWorkflow(text).errors).toEqual([]);
    // The validator does reject a broken workflow (a misspelt key).
    expect(validateWorkflow(text.replace('runs-on: ubuntu-latest', 'runs-onn: ubuntu-latest')).errors.length).toBeGreaterThan(0);
    const workflow = parseYaml(text) as { jobs: Record<string, { strategy?: { matrix?: { phase?: string } } }> };
    expect(workflow.jobs['phase']?.strategy?.matrix?.phase).toBe('${{ fromJSON(needs.ready.outputs.phases) }}');
    const bad = await runEntry(['init', '--workflow', 'nightly'], makeRepo());
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });
});

function runEntry(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI_ENTRY, ...args], { cwd, env: cliEnvironment(), timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('the matrix jobs, run by hand in separate copies', () => {
  it('two waves take sibling phases to TASK_COMPLETE; every step once; the audit matches a serial run', async () => {
    const template = makeRepo();
    expect((await runEntry(['init', '--workflow', 'matrix'], template)).code).toBe(0);
    const workflow = parseYaml(readFileSync(join(template, '.github/workflows/deepplan-matrix.yml'), 'utf8')) as { jobs: Record<string, { steps: Step[] }> };
    const shim = npxShim();
    const env = { PLAN, PATH: `${shim}:${process.env['PATH']}` };
    const main = siblingRepo();
    const serial = siblingRepo();

    const wave = async (expected: string[]) => {
      // ready job: in its own checkout of main.
      const ready = await bash(script(workflow, 'ready', 'ready'), copy(main), { ...env, GITHUB_OUTPUT: join(tmpdir(), `github-output-${process.pid}`) });
      expect(ready.code, ready.stderr).toBe(0);
      const listed = JSON.parse(ready.stdout.trim().split('\n')[0]!) as { phase: string[]; finish: boolean };
      expect(listed.phase).toEqual(expected);
      // phase jobs: each in its own checkout; its "artifact" is the folder of its records.
      const artifacts = mkdtempSync(join(tmpdir(), 'deepplan-artifacts-'));
      await Promise.all(
        listed.phase.map(async (phase) => {
          const job = copy(main);
          const run = await bash(script(workflow, 'phase', 'Run the phase'), job, { ...env, PHASE: phase });
          expect(run.code, run.stderr).toBe(0);
          const pack = await bash(script(workflow, 'phase', "Pack the phase's outputs"), job, env);
          expect(pack.code, pack.stderr).toBe(0);
          cpSync(join(job, 'deepplan-records'), join(artifacts, `deepplan-${phase}`), { recursive: true });
        }),
      );
      // merge job: in main (it commits there), the artifacts downloaded into deepplan-records/.
      cpSync(artifacts, join(main, 'deepplan-records'), { recursive: true });
      const merge = await bash(script(workflow, 'merge', 'Merge the rows, then the outputs'), main, env);
      expect(merge.code, merge.stderr).toBe(0);
      // The Commit step's first line: the downloaded records are not committed.
      rmSync(join(main, 'deepplan-records'), { recursive: true, force: true });
      return artifacts;
    };

    await wave(['P1']);
    const { plan: afterOne } = readPlan(main);
    expect(afterOne.phases.map((phase) => phase.status)).toEqual(['done', 'pending', 'pending', 'pending']);
    const revisionBefore = readPlan(main).plan.meta.state?.revision;
    const artifacts = await wave(['P2', 'P3', 'P4']);
    const { plan: afterTwo, text: mergedText } = readPlan(main);
    expect(afterTwo.phases.map((phase) => phase.status)).toEqual(['done', 'done', 'done', 'done']);
    // One write per merge, counting the writes of the jobs' rows (the revision stays at or above the row count).
    expect(afterTwo.meta.state?.revision).toBe(Math.max(revisionBefore! + 1, afterTwo.log!.rows.length));

    // A merge job run again finds its rows merged already and writes nothing.
    const again = await runEntry(['matrix', 'merge', PLAN, artifacts], main);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/already merged: P2, P3, P4/);
    expect(readPlan(main).text).toBe(mergedText);

    // The last run: every phase done, so the merge job verifies the success criteria.
    const ready = await bash(script(workflow, 'ready', 'ready'), main, { ...env, GITHUB_OUTPUT: join(tmpdir(), `github-output-${process.pid}`) });
    expect(JSON.parse(ready.stdout.trim().split('\n')[0]!)).toMatchObject({ phase: [], count: 0, finish: true });
    const finish = await bash(script(workflow, 'merge', 'Verify the success criteria'), main, env);
    expect(finish.code, finish.stderr).toBe(0);
    expect(finish.stdout.trim().split('\n').pop(), `${finish.stderr}\n${readPlan(main).text}`).toBe('TASK_COMPLETE');

    const { plan, text } = readPlan(main);
    const rows = plan.log?.rows ?? [];
    expect(plan.meta.status).toBe('complete');
    expect(rows.map((row) => row.number)).toEqual(rows.map((_, index) => index + 1));
    expect(plan.meta.state?.iteration).toBe(rows.length);
    const all = ['P1.1', 'P1.2', 'P2.1', 'P2.2', 'P3.1', 'P3.2', 'P4.1', 'P4.2'];
    expect([...doneSteps(rows)].sort()).toEqual(all);
    expect(lintText(text, join(main, PLAN)).filter((finding) => finding.severity === 'error')).toEqual([]);
    for (const name of CONTACTS) expect(readFileSync(join(main, `out/${name}/b.md`), 'utf8')).toMatch(/second/);

    // The same plan run serially: the same audit (delivered, phases, steps, criteria).
    const loop = await runCli(['run', PLAN, '--loop', ...sandboxFlag], serial);
    expect(loop.stdout.trim().split('\n').pop(), loop.stderr).toBe('TASK_COMPLETE');
    const audits = await Promise.all([main, serial].map((root) => runCli(['audit', PLAN, '--format', 'json', ...sandboxFlag], root)));
    for (const audit of audits) expect(audit.code, audit.stdout).toBe(0);
    const shape = (json: string) => {
      const report = JSON.parse(json) as {
        delivered: boolean;
        summary: unknown;
        phases: Array<{ id: string; delivered: boolean; steps: Array<{ state: string }> }>;
        criteria: Array<{ met: boolean }>;
      };
      return {
        delivered: report.delivered,
        summary: report.summary,
        phases: report.phases.map((phase) => [phase.id, phase.delivered, phase.steps.map((step) => step.state)]),
        criteria: report.criteria.map((criterion) => criterion.met),
      };
    };
    expect(shape(audits[0]!.stdout)).toEqual(shape(audits[1]!.stdout));
  }, 120_000);

  it('refuses records that overlap, belong to another plan or no longer fit, and writes nothing', async () => {
    const main = siblingRepo();
    // P1 first, serially, so that P2 to P4 are ready.
    for (let index = 0; index < 4 && readPlan(main).plan.phases[0]?.status !== 'done'; index++) await runCli(['run', PLAN, '--once', ...sandboxFlag], main);
    expect(readPlan(main).plan.phases[0]?.status).toBe('done');
    const records = mkdtempSync(join(tmpdir(), 'deepplan-records-'));
    const jobs = await Promise.all(
      ['P2', 'P3'].map((phase) => runEntry(['matrix', 'run', PLAN, '--phase', phase, '--records', records, ...sandboxFlag], copy(main))),
    );
    for (const run of jobs) expect(run.code, run.stderr).toBe(0);
    const before = readPlan(main).text;
    const p3 = join(records, 'matrix-test.P3.json');
    const record = JSON.parse(readFileSync(p3, 'utf8')) as { changed: string[]; planId: string };
    // Two records that wrote one file.
    writeFileSync(p3, JSON.stringify({ ...record, changed: [...record.changed, 'out/ana/a.md'] }));
    const overlap = await runEntry(['matrix', 'merge', PLAN, records], main);
    expect(overlap.code).toBe(1);
    expect(overlap.stderr).toMatch(/out\/ana\/a\.md was written by both P2 and P3/);
    // Another plan's record.
    writeFileSync(p3, JSON.stringify({ ...record, planId: 'other-plan' }));
    expect((await runEntry(['matrix', 'merge', PLAN, p3], main)).stderr).toMatch(/for plan other-plan/);
    // Not a record at all.
    writeFileSync(p3, '{"rows": 3}');
    const junk = await runEntry(['matrix', 'merge', PLAN, p3], main);
    expect(junk.code).toBe(1);
    expect(junk.stderr.trim().split('\n')).toHaveLength(1);
    expect(readPlan(main).text).toBe(before);
    // A phase that is not ready is refused before anything runs.
    const early = await runEntry(['matrix', 'run', PLAN, '--phase', 'P9', ...sandboxFlag], copy(main));
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/P9 cannot run now: the plan has no such phase/);
    // P2 ran here meanwhile: its record no longer fits. A record counts as merged when its first row (phase, action
    // and time, to the second) is in the log already: P2 runs here in a later second than the job ran it.
    const jobRow = (JSON.parse(readFileSync(join(records, 'matrix-test.P2.json'), 'utf8')) as { rows: Array<{ when: string }> }).rows[0]!;
    while (new Date().toISOString().slice(0, 19) <= jobRow.when.slice(0, 19)) await new Promise((resolve) => setTimeout(resolve, 50));
    const ran = await runCli(['run', PLAN, '--once', ...sandboxFlag], main);
    expect(ran.code, ran.stderr).toBe(0);
    expect(readPlan(main).plan.log?.rows.at(-1)?.phase).toBe('P2');
    const stale = await runEntry(['matrix', 'merge', PLAN, join(records, 'matrix-test.P2.json')], main);
    expect(stale.code, stale.stdout).toBe(1);
    expect(stale.stderr).toMatch(/P2 ran elsewhere after the record's job started/);
  }, 60_000);
});

/** A job's own checkout: a copy of the repository as it is now. */
function copy(root: string): string {
  const target = mkdtempSync(join(tmpdir(), 'deepplan-job-'));
  cpSync(root, target, { recursive: true });
  return target;
}
