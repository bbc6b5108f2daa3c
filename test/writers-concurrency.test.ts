import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runIteration } from '../src/execute/iteration.js';
import { bubblewrapAvailable } from '../src/execute/sandbox.js';
import { lintText } from '../src/lint/lint.js';
import { parsePlan } from '../src/plan/parse.js';
import { lockPlan, runLockOf, updatePlanFile } from '../src/plan/store.js';
import type { LogRow, Plan } from '../src/plan/types.js';
import { deleteFrontMatterKey, setPlanStatus } from '../src/plan/update.js';
import { CLI, cliEnvironment, makeRepo, skillFile } from './support/fixtures.js';

/**
 * Every writer of a plan takes the same lock, and an action that ran is never thrown away. `review` and plan-level
 * `approve` used to write the plan while a `run --once` had an action in flight; the run then found the revision
 * moved, threw the finished action away ("changed underneath"), and the next run logged a false "outcome unknown"
 * row and did the step again.
 */

const sandboxFlag = process.env['DEEPPLAN_TEST_NO_SANDBOX'] || !bubblewrapAvailable() ? ['--no-sandbox'] : [];
const PLAN = 'plans/deals.md';
const roots: string[] = [];

afterAll(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/**
 * `node scripts/deal-step.mjs <step> [deal]`: reviews one deal (a short pause, so that other writers come while the
 * action is in flight), appends the step to out/effects.log (its side effect, one line each time it really runs) and
 * writes out/<step>.md.
 */
const DEAL_STEP = `import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
const [step, deal = 'all'] = process.argv.slice(2);
await new Promise((resolve) => setTimeout(resolve, 80 + Math.random() * 120));
mkdirSync('out', { recursive: true });
appendFileSync('out/effects.log', step + '\\n');
writeFileSync('out/' + step + '.md', '# ' + deal + ' reviewed in ' + step + '\\n');
`;

const SKILLS = ['crm-export', 'deal-scoring', 'forecast-writer'];
const DEALS = ['acme-renewal', 'globex-expansion', 'initech-pilot', 'umbrella-upsell', 'hooli-migration', 'stark-renewal'];

/**
 * A quarterly deal review: `phases` phases of `steps` steps, each step one deal's review through deal-step.mjs (the
 * first step of P1 to P3 a tool skill), every second phase behind a human gate.
 */
function dealPlan(phases: number, steps: number): string {
  const body = Array.from({ length: phases }, (_, index) => {
    const id = `P${index + 1}`;
    const lines = Array.from({ length: steps }, (_, step) => {
      const ref = `${id}.${step + 1}`;
      const deal = DEALS[(index * steps + step) % DEALS.length]!;
      const skill = SKILLS[index];
      return step === 0 && skill ? `${step + 1}. /${skill} ${ref} ${deal}` : `${step + 1}. run: \`node scripts/deal-step.mjs ${ref} ${deal}\``;
    });
    return `### ${id}. Deal batch ${index + 1}
- Inputs: deals/pipeline.md
- Outputs: out/${id}.*.md
- Context: direct
- Depends on: ${index === 0 ? 'none' : `P${index}`}
${index % 2 === 1 ? '- Gate: human\n' : ''}- Done when: the batch's last deal is reviewed. verify: \`test -s out/${id}.${steps}.md\`
- Status: pending

${lines.join('\n')}
`;
  });
  return `---
deepplan: 1
id: deal-review
title: Quarterly deal review
status: approved
created: 2026-11-20
workstream: content
deliverable: analytics
quality_bar: structural
owner: Priya, revenue operations
budget:
  max_iterations: 150
  basis: formula
scope:
  write: [out/**]
  commands: [node scripts/]
state:
  phase: P1
  iteration: 0
  revision: 0
  next_action: Review the first deal batch
  blockers: []
  updated: 2026-11-20T10:00:00Z
---

# Quarterly deal review

## Request

Review every open deal of the quarter, one deal per step, and write a note per deal for the forecast call.

## Success criteria

- [ ] SC1: The first batch is reviewed. verify: \`test -s out/P1.${steps}.md\`
- [ ] SC2: The last batch is reviewed. verify: \`test -s out/P${phases}.${steps}.md\`
- [ ] SC3: Every deal has a note. verify: \`test "$(ls out/P*.md | wc -l)" -ge ${phases * steps}\`

## Constraints

- Only files under out/.

## Stakeholders

- Priya — revenue operations, runs the forecast call

## Skills

### Mapped

| Skill | Phases | Why |
| --- | --- | --- |
| crm-export | P1 | Deals live in the CRM |
| deal-scoring | P2 | The team's scoring rubric |
| forecast-writer | P3 | House style for forecast notes |

### Excluded

| Skill | Reason |
| --- | --- |
| newsletter-builder | Not a newsletter |
| hubspot-sync | The CRM export replaced it |

## Phases

${body.join('\n')}
## Running learnings

## Iteration log

| # | When | Phase | Action | Result | Signal | Notes |
| --- | --- | --- | --- | --- | --- | --- |
`;
}

function dealRepo(phases: number, steps: number): string {
  const root = makeRepo({
    [PLAN]: dealPlan(phases, steps),
    'scripts/deal-step.mjs': DEAL_STEP,
    'deals/pipeline.md': `# Pipeline\n\n${DEALS.map((deal) => `- ${deal}`).join('\n')}\n`,
    ...Object.fromEntries(SKILLS.map((name) => [`.claude/skills/${name}/SKILL.md`, skillFile(name, 'metadata:\n  run: node scripts/deal-step.mjs\n')])),
    '.claude/skills/newsletter-builder/SKILL.md': skillFile('newsletter-builder'),
    '.claude/skills/hubspot-sync/SKILL.md': skillFile('hubspot-sync'),
  });
  roots.push(root);
  return root;
}

function readPlan(root: string): Plan {
  const path = join(root, PLAN);
  return parsePlan(readFileSync(path, 'utf8'), { path });
}

/** The plan parses, its log is numbered 1..n and in step with state, nothing is left in flight. */
function checkInStep(root: string, label: string): Plan {
  const plan = readPlan(root);
  expect(plan.diagnostics.filter((diagnostic) => diagnostic.severity === 'error'), label).toEqual([]);
  const rows = plan.log?.rows ?? [];
  expect(rows.map((row) => row.number), `${label}: rows numbered 1..n`).toEqual(rows.map((_, index) => index + 1));
  expect(plan.meta.state?.iteration, `${label}: state.iteration`).toBe(rows.length);
  expect((plan.meta.state as Record<string, unknown> | undefined)?.['in_flight'], `${label}: in flight`).toBeUndefined();
  return plan;
}

interface Finished {
  kind: string;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts the CLI (no API key: the offline reviewer), resolving when it exits; killed after 60 s. */
function start(root: string, kind: string, args: string[], cache: string): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: root, env: { ...cliEnvironment(), NODE_COMPILE_CACHE: cache }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ kind, code, stdout, stderr });
    });
  });
}

/** `P2.3` of a row's action, or null for a gate, an approval or a criteria check. */
function stepOf(row: LogRow): string | null {
  return /^(P\d+\.\d+)\s/.exec(row.action)?.[1] ?? null;
}

describe('eight processes writing one plan: run --once, approve (plan and phase) and review', () => {
  it('lose no action that ran and log no false "outcome unknown" (20 rounds)', async () => {
    const root = dealRepo(8, 7);
    const cache = mkdtempSync(join(tmpdir(), 'deepplan-compile-cache-'));
    roots.push(cache);
    expect(lintText(readFileSync(join(root, PLAN), 'utf8'), join(root, PLAN)).filter((finding) => finding.severity === 'error')).toEqual([]);
    const finished: Finished[] = [];
    let reviewWrites = 0;
    let approvals = 0;
    for (let round = 1; round <= 20; round++) {
      const phase = readPlan(root).meta.state?.phase ?? 'P1';
      // Reviews stop at three rounds a plan: start each round's over, so that every review writes. Every fourth
      // round the plan goes back to review first, so that the plan-level approval has something to write.
      const back = round % 4 === 0 && readPlan(root).meta.status === 'executing';
      await updatePlanFile(join(root, PLAN), (text) => {
        const fresh = deleteFrontMatterKey(text, ['review']);
        return back ? setPlanStatus(fresh, 'in_review') : fresh;
      });
      const results = await Promise.all([
        start(root, 'run', ['run', PLAN, '--once', ...sandboxFlag], cache),
        start(root, 'review', ['review', PLAN, '--no-revise'], cache),
        start(root, 'run', ['run', PLAN, '--once', ...sandboxFlag], cache),
        start(root, 'approve phase', ['approve', PLAN, phase, '--note', `round ${round}`], cache),
        start(root, 'approve plan', ['approve', PLAN], cache),
        start(root, 'run', ['run', PLAN, '--once', ...sandboxFlag], cache),
        start(root, 'review', ['review', PLAN, '--no-revise'], cache),
        start(root, 'approve phase', ['approve', PLAN, phase], cache),
      ]);
      for (const result of results) {
        const label = `round ${round}, ${result.kind} (exit ${result.code}): ${result.stderr}`;
        // No writer ever finds the plan changed underneath it, or gives up on a lock.
        expect(result.stderr, label).not.toMatch(/changed underneath|is locked by another|^\s+at /m);
        if (result.kind === 'run' && result.code === 1) {
          // Only a run that found the plan back in review (before the approval) is refused.
          expect(back, label).toBe(true);
          expect(result.stderr, label).toMatch(/deals\.md is in_review/);
        } else if (result.kind === 'run') {
          expect([0, 3], label).toContain(result.code);
          expect(result.stdout.trim().split('\n').at(-1), label).toMatch(/^(CONTINUE|BLOCKED_NEED_HUMAN|TASK_COMPLETE)$/);
        } else if (result.kind === 'review') {
          expect([0, 1], label).toContain(result.code);
          if (/^round \d+: (APPROVED|REVISE)/m.test(result.stderr)) reviewWrites++;
        } else if (result.kind === 'approve plan' && back) {
          expect(result.code, label).toBe(0);
          approvals++;
        } else if (result.code !== 0) {
          // An approval that does not apply is refused with its reason and writes nothing.
          expect(result.code, label).toBe(1);
          expect(result.stderr, label).toMatch(/is not waiting for a person|only a draft or in_review plan is approved|is complete; there is nothing to approve/);
        }
      }
      finished.push(...results);
      checkInStep(root, `after round ${round}`);
    }

    const plan = checkInStep(root, 'after 20 rounds');
    const rows = plan.log!.rows;
    const effects = readFileSync(join(root, 'out/effects.log'), 'utf8').trim().split('\n');
    // No false "outcome unknown" (nothing was killed), no row recorded against a plan that changed meanwhile.
    expect(rows.filter((row) => /outcome unknown/.test(row.notes)).map((row) => row.cells.join(' | '))).toEqual([]);
    expect(rows.filter((row) => /the plan changed while/.test(row.notes))).toEqual([]);
    // Every step's side effect has exactly one row: each ran once, and its run is in the log once.
    const stepRows = rows.filter((row) => stepOf(row) !== null).map((row) => stepOf(row)!);
    expect([...effects].sort()).toEqual([...stepRows].sort());
    expect(new Set(effects).size).toBe(effects.length);
    expect(rows.filter((row) => stepOf(row) !== null).every((row) => row.result === 'ok')).toBe(true);
    // The processes really overlapped with writes of all three kinds.
    expect(effects.length).toBeGreaterThanOrEqual(20);
    expect(reviewWrites).toBeGreaterThanOrEqual(30);
    expect(rows.filter((row) => / approve$/.test(row.action)).length).toBeGreaterThanOrEqual(3);
    expect(approvals).toBeGreaterThanOrEqual(3);
    expect(finished).toHaveLength(160);
    // Some 70 s of processor time (160 starts of the CLI): ~40 s on two idle cores, more on a busy machine.
  }, 300_000);
});

/** A process id that is surely gone: a child that has exited. */
function deadPid(): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', '']);
    child.on('exit', () => resolve(child.pid!));
  });
}

/**
 * `node scripts/meddle.mjs learning|step <step>`: another writer that takes no lock (a person's editor, a tool),
 * writing the plan while the step is in flight: it bumps state.revision and adds a learning (`learning`) or rewrites
 * the text of the running step itself (`step`). Then it does the step's work (out/effects.log).
 */
const MEDDLE = `import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
const [mode, step] = process.argv.slice(2);
const path = 'plans/deals.md';
let text = readFileSync(path, 'utf8').replace(/^( {2}revision: )(\\d+)$/m, (_, key, value) => key + (Number(value) + 1));
text = mode === 'learning'
  ? text.replace('## Running learnings\\n', '## Running learnings\\n\\n- P1: Priya keeps the forecast notes under 200 words\\n')
  : text.split('\\n').map((line) => (/^\\d+\\. run: /.test(line) && line.endsWith('meddle.mjs step ' + step + '\`') ? line.slice(0, -1) + ' --all-deals\`' : line)).join('\\n');
writeFileSync(path, text);
mkdirSync('out', { recursive: true });
appendFileSync('out/effects.log', step + '\\n');
`;

describe('an iteration whose plan another writer changed while its action ran', () => {
  function meddledRepo(): string {
    const root = dealRepo(2, 3);
    const path = join(root, PLAN);
    const text = readFileSync(path, 'utf8')
      .replace('2. run: `node scripts/deal-step.mjs P1.2 globex-expansion`', '2. run: `node scripts/meddle.mjs learning P1.2`')
      .replace('3. run: `node scripts/deal-step.mjs P1.3 initech-pilot`', '3. run: `node scripts/meddle.mjs step P1.3`');
    writeFileSync(path, text);
    writeFileSync(join(root, 'scripts/meddle.mjs'), MEDDLE);
    return root;
  }
  // The plan file is read-only to every command in the sandbox; without it, a step stands in for the other writer.
  const iterate = (root: string) => runIteration({ planPath: join(root, PLAN), root, config: {}, models: null, sandbox: false });

  it('records the row on the fresh text when the change leaves it meaningful, keeping the other writer\'s change', async () => {
    const root = meddledRepo();
    expect((await iterate(root)).signal).toBe('CONTINUE');
    const before = readPlan(root).meta.state!.revision;
    const report = await iterate(root);
    expect(report.signal).toBe('CONTINUE');
    expect(report.rows.map((row) => [row.number, row.action, row.result])).toEqual([[2, 'P1.2 run node scripts/meddle.mjs learning P1.2', 'ok']]);
    const plan = checkInStep(root, 'after the learning');
    // in flight (+1), the other writer (+1), the row (+1): nothing of either write is lost.
    expect(plan.meta.state!.revision).toBe(before + 3);
    expect(plan.learnings?.map((learning) => learning.text)).toContain('P1: Priya keeps the forecast notes under 200 words');
    expect(plan.meta.state?.blockers).toEqual([]);
  });

  it('records the row and stops with a blocker when the change makes it meaningless (the step was rewritten)', async () => {
    const root = meddledRepo();
    expect((await iterate(root)).signal).toBe('CONTINUE');
    expect((await iterate(root)).signal).toBe('CONTINUE');
    const report = await iterate(root);
    expect(report.signal).toBe('BLOCKED_NEED_HUMAN');
    expect(report.rows.map((row) => [row.number, row.action, row.result, row.signal])).toEqual([[3, 'P1.3 run node scripts/meddle.mjs step P1.3', 'ok', 'BLOCKED_NEED_HUMAN']]);
    expect(report.blockers).toHaveLength(1);
    expect(report.blockers[0]).toMatch(/^P1: the plan changed while P1\.3 ran \(step P1\.3 was changed or removed\); its row is recorded as it happened; check the plan, then deepplan approve .*deals\.md P1 --retry$/);
    const plan = checkInStep(root, 'after the rewrite');
    expect(plan.meta.status).toBe('blocked');
    expect(plan.meta.state?.blockers).toEqual(report.blockers);
    // The effect happened once and is in the log once.
    expect(readFileSync(join(root, 'out/effects.log'), 'utf8').trim().split('\n')).toEqual(['P1.1', 'P1.2', 'P1.3']);
    expect(plan.log!.rows.map((row) => stepOf(row))).toEqual(['P1.1', 'P1.2', 'P1.3']);
  });
});

describe('the run lock of a process that died', () => {
  it('is taken over at once; the holder is named only while it lives', async () => {
    const root = dealRepo(2, 3);
    const path = join(root, PLAN);
    const lock = `${runLockOf(path)}.lock`;
    const dead = await deadPid();
    mkdirSync(lock);
    writeFileSync(`${lock}.json`, JSON.stringify({ pid: dead, host: hostname() }));
    // proper-lockfile takes a folder as abandoned after 10 s of mtime; in the future only the owner check frees it.
    const future = new Date(Date.now() + 3_600_000);
    utimesSync(lock, future, future);
    const heard: string[] = [];
    const started = Date.now();
    const release = await lockPlan(runLockOf(path), 5_000, (holder) => heard.push(`waiting for ${holder}`), (holder) => heard.push(`took over from ${holder}`));
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(heard).toEqual([`took over from pid ${dead}`]);
    // This process holds it now: a second taker hears of it as a live holder, and gives up after its wait.
    const error = await lockPlan(runLockOf(path), 300, (holder) => heard.push(`waiting for ${holder}`)).then(
      () => null,
      (caught: unknown) => caught as Error,
    );
    expect(heard.slice(1)).toEqual([`waiting for pid ${process.pid}`]);
    expect(error?.message).toBe(`${runLockOf(path)} is locked by another deepplan process; try again when it has finished`);
    await release();
    expect(existsSync(lock)).toBe(false);
  });

  it('makes `run` say nothing about waiting for the dead process, and run', async () => {
    const root = dealRepo(2, 3);
    const lock = join(root, `${PLAN}.run.lock`);
    mkdirSync(lock);
    writeFileSync(`${lock}.json`, JSON.stringify({ pid: await deadPid(), host: hostname() }));
    const future = new Date(Date.now() + 3_600_000);
    utimesSync(lock, future, future);
    const cache = mkdtempSync(join(tmpdir(), 'deepplan-compile-cache-'));
    roots.push(cache);
    const result = await start(root, 'run', ['run', PLAN, '--once', ...sandboxFlag], cache);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(/^waiting: /m);
    expect(result.stdout.trim().split('\n').at(-1)).toBe('CONTINUE');
    expect(checkInStep(root, 'after the take-over').log!.rows.map((row) => stepOf(row))).toEqual(['P1.1']);
    expect(existsSync(lock)).toBe(false);
  });
});
