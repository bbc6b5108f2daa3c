import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { bubblewrapAvailable } from '../../src/execute/sandbox.js';
import { lintText } from '../../src/lint/lint.js';
import { parsePlan } from '../../src/plan/parse.js';
import { updatePlanFile } from '../../src/plan/store.js';
import type { LogRow, Plan } from '../../src/plan/types.js';
import { deleteFrontMatterKey, setPlanStatus } from '../../src/plan/update.js';
import { CLI, cliEnvironment, makeRepo, skillFile } from './fixtures.js';

/**
 * A quarterly deal review that several deepplan processes write at once (run --once, approve, review), and the
 * checks that no writer loses another's write: test/writers-concurrency.test.ts runs a few rounds of eight processes,
 * test/long/writers-concurrency.test.ts the same over 20 rounds.
 */

export const sandboxFlag = process.env['DEEPPLAN_TEST_NO_SANDBOX'] || !bubblewrapAvailable() ? ['--no-sandbox'] : [];
export const PLAN = 'plans/deals.md';
const roots: string[] = [];

/** Removes every repository and cache made by this module (call it from afterAll). */
export function removeDealRepos(): void {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
}

/** A folder for Node's compile cache, shared by the processes of one test and removed with the repositories. */
export function compileCache(): string {
  const cache = mkdtempSync(join(tmpdir(), 'deepplan-compile-cache-'));
  roots.push(cache);
  return cache;
}
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

export function dealRepo(phases: number, steps: number): string {
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

export function readPlan(root: string): Plan {
  const path = join(root, PLAN);
  return parsePlan(readFileSync(path, 'utf8'), { path });
}

/** The plan parses, its log is numbered 1..n and in step with state, nothing is left in flight. */
export function checkInStep(root: string, label: string): Plan {
  const plan = readPlan(root);
  expect(
    plan.diagnostics.filter((diagnostic) => diagnostic.severity === 'error'),
    label,
  ).toEqual([]);
  const rows = plan.log?.rows ?? [];
  expect(
    rows.map((row) => row.number),
    `${label}: rows numbered 1..n`,
  ).toEqual(rows.map((_, index) => index + 1));
  expect(plan.meta.state?.iteration, `${label}: state.iteration`).toBe(rows.length);
  expect((plan.meta.state as Record<string, unknown> | undefined)?.['in_flight'], `${label}: in flight`).toBeUndefined();
  return plan;
}

export interface Finished {
  kind: string;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts the CLI (no API key: the offline reviewer), resolving when it exits; killed after 60 s. */
export function start(root: string, kind: string, args: string[], cache: string): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: root,
      env: { ...cliEnvironment(), NODE_COMPILE_CACHE: cache },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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
export function stepOf(row: LogRow): string | null {
  return /^(P\d+\.\d+)\s/.exec(row.action)?.[1] ?? null;
}

export interface WritersRun {
  rounds: number;
  /** The plan: `phases` phases of `steps` steps, every second phase behind a human gate. */
  phases: number;
  steps: number;
  /** What the rounds must have overlapped at least: steps run, review writes, phase and plan approvals. */
  least: { effects: number; reviewWrites: number; phaseApprovals: number; planApprovals: number };
}

/**
 * Eight processes on one plan, `rounds` times: three `run --once`, two reviews, two phase approvals and a plan
 * approval, started together. No writer finds the plan changed underneath it or gives up on a lock, the log stays
 * in step, no action that ran is lost or logged twice, and no false "outcome unknown" row is written.
 */
export async function eightWriters({ rounds, phases, steps, least }: WritersRun): Promise<void> {
  const root = dealRepo(phases, steps);
  const cache = compileCache();
  expect(lintText(readFileSync(join(root, PLAN), 'utf8'), join(root, PLAN)).filter((finding) => finding.severity === 'error')).toEqual([]);
  const finished: Finished[] = [];
  let reviewWrites = 0;
  let approvals = 0;
  for (let round = 1; round <= rounds; round++) {
    const phase = readPlan(root).meta.state?.phase ?? 'P1';
    // Reviews stop at three rounds a plan: start each round's over, so that every review writes. Every fourth
    // round the plan goes back to review first, so that the plan-level approval has something to write; so does
    // the first round from the second on that finds the plan executing while no plan approval has written yet (on
    // the fourth round the plan may be blocked at a gate, and a short run would then see none).
    const executing = readPlan(root).meta.status === 'executing';
    const back = executing && (round % 4 === 0 || (round >= 2 && approvals === 0));
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

  const plan = checkInStep(root, `after ${rounds} rounds`);
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
  expect(effects.length).toBeGreaterThanOrEqual(least.effects);
  expect(reviewWrites).toBeGreaterThanOrEqual(least.reviewWrites);
  expect(rows.filter((row) => / approve$/.test(row.action)).length).toBeGreaterThanOrEqual(least.phaseApprovals);
  expect(approvals).toBeGreaterThanOrEqual(least.planApprovals);
  expect(finished).toHaveLength(8 * rounds);
}
