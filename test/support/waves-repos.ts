import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { bubblewrapAvailable } from '../../src/execute/sandbox.js';
import { lintText } from '../../src/lint/lint.js';
import { parsePlan } from '../../src/plan/parse.js';
import type { LogRow } from '../../src/plan/types.js';
import { wavesHome } from '../../src/runners/waves.js';
import { buildScaleRepo, CONTACTS_30, CONTACTS_30_REQUEST, scaleCli } from './scale-repos.js';
import { CLI, cliEnvironment, makeRepo, runCli, skillFile } from './fixtures.js';
import { edits, planText, type PhaseSpec } from './plan-text.js';
import { liveDoneSteps } from './log-steps.js';
import { otherProcesses } from './processes.js';

/**
 * Repositories and checks for `deepplan run --parallel` (src/runners/waves.ts): a plan of one shared phase, sibling
 * phases that depend on it only and a closing phase that depends on all of them, whose run: steps take a fixed
 * 200 ms; a kill-and-resume driver; and what "nothing lost or duplicated" means, as test/execute-crash.test.ts
 * defines it: rows numbered 1..n without gaps, every step done exactly once (since its phase last started over), an
 * action a kill cut short logged as failed "outcome unknown" before it is retried.
 */

export const WAVE_PLAN = 'plans/w.md';
export const sandboxFlag = process.env['DEEPPLAN_TEST_NO_SANDBOX'] || !bubblewrapAvailable() ? ['--no-sandbox'] : [];

/** Writes its file after 200 ms: every scripted step takes a fixed time. */
const SLOW_PUT = `import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
const [file, ...lines] = process.argv.slice(2);
await new Promise((resolve) => setTimeout(resolve, 200));
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, lines.join('\\n') + '\\n');
`;

/** Steps per phase of the sibling plan: the shared phase, `siblings` phases of two steps, the closing phase. */
export function waveSteps(siblings: number): number[] {
  return [1, ...Array.from({ length: siblings }, () => 2), 1];
}

/** The sibling-wave repository; `changes` edit its plan first (each must find its text: test/support/plan-text.ts edits). */
export function siblingWaveRepo(siblings: number, changes: Array<[string | RegExp, string]> = []): string {
  const put = (file: string, text: string) => `run: \`node scripts/put.mjs ${file} "${text}"\``;
  const sibling = (index: number): PhaseSpec => {
    const id = `P${index + 2}`;
    return {
      id,
      title: `Draft for contact ${index + 1}`,
      inputs: ['out/brief.md'],
      outputs: [`out/${id.toLowerCase()}/s1.md`, `out/${id.toLowerCase()}/s2.md`],
      dependsOn: ['P1'],
      doneWhen: 'both drafts are written.',
      verify: `test -s out/${id.toLowerCase()}/s2.md`,
      steps: [
        index === 0 ? '/write-summary "P2 first"' : put(`out/${id.toLowerCase()}/s1.md`, `${id} first`),
        put(`out/${id.toLowerCase()}/s2.md`, `${id} second`),
      ],
    };
  };
  const siblings_ = Array.from({ length: siblings }, (_, index) => sibling(index));
  const closing = `P${siblings + 2}`;
  const text = planText({
    front: { id: 'waves-test', title: 'Waves test', owner: 'Ana, account lead', maxIterations: 120, write: ['out/**'], nextAction: 'Write the shared brief' },
    request: 'Write one shared brief, then one draft per contact, then the handoff; the drafts do not depend on each other.',
    criteria: [
      { text: 'The handoff is written.', verify: 'test -s out/handoff.md' },
      { text: 'Every contact has both drafts.', verify: `test "$(ls out/p*/s2.md | wc -l)" -eq ${siblings}` },
    ],
    constraints: ['Only files under out/.'],
    stakeholders: ['Ana — account lead, reads the drafts'],
    mapped: [
      ['fetch-notes', 'P1', 'Notes live in the CRM'],
      ['write-summary', 'P2', 'House style for summaries'],
      ['publish-page', closing, 'The team reads the wiki'],
    ],
    excluded: [
      ['hubspot-sync', 'HubSpot is deprecated'],
      ['newsletter-builder', 'Not a newsletter'],
    ],
    phases: [
      {
        id: 'P1',
        title: 'Write the shared brief',
        inputs: ['none'],
        outputs: ['out/brief.md'],
        doneWhen: 'the brief is written.',
        verify: 'test -s out/brief.md',
        steps: ['/fetch-notes "brief"'],
      },
      ...siblings_,
      {
        id: closing,
        title: 'Write the handoff',
        inputs: siblings_.map((phase) => phase.outputs[1]!),
        outputs: ['out/handoff.md'],
        dependsOn: siblings_.map((phase) => phase.id),
        doneWhen: 'the handoff is written.',
        verify: 'test -s out/handoff.md',
        steps: ['/publish-page "handoff"'],
      },
    ],
  });
  // The mapped skills are tools (a script each, taking the same fixed time); the excluded ones are never run.
  const tool = (file: string) => `metadata:\n  run: node scripts/put.mjs ${file}\n  irreversible: false\n`;
  // A plan of 10 phases or more needs a review's verdict before it is approved (lint: review-required).
  const reviewed = text.replace('\n---\n\n# Waves test', '\nreview:\n  verdict: APPROVED\n  rounds: 1\n  reviewer: offline/rules\n---\n\n# Waves test');
  const skills: Array<[string, string]> = [
    ['fetch-notes', tool('out/brief.md')],
    ['write-summary', tool('out/p2/s1.md')],
    ['publish-page', tool('out/handoff.md')],
    ['hubspot-sync', ''],
    ['newsletter-builder', ''],
  ];
  return makeRepo({
    [WAVE_PLAN]: edits(reviewed, changes),
    'scripts/put.mjs': SLOW_PUT,
    ...Object.fromEntries(skills.map(([name, extra]) => [`.claude/skills/${name}/SKILL.md`, skillFile(name, extra)])),
  });
}

export const OUT = 'plans/brightline.md';
const signalOf = (stdout: string) => stdout.trim().split('\n').pop();

/** Plans the 30-contact outreach offline, approves it and its owner's gate (P1), then runs it to the end. */
export async function outreach(parallel: number | null): Promise<{ root: string; ms: number; stderr: string }> {
  const root = buildScaleRepo(CONTACTS_30);
  slowScaleSteps(root);
  expect((await scaleCli(root, ['plan', '--request', CONTACTS_30_REQUEST, '--yes', '--out', OUT])).code).toBe(0);
  expect((await scaleCli(root, ['approve', OUT])).code).toBe(0);
  const flags = parallel === null ? [] : ['--parallel', String(parallel)];
  const first = await scaleCli(root, ['run', OUT, '--loop', ...flags]);
  expect(signalOf(first.stdout), first.stderr).toBe('BLOCKED_NEED_HUMAN');
  expect((await scaleCli(root, ['approve', OUT, 'P1', '--note', 'go ahead'])).code).toBe(0);
  const started = Date.now();
  const run = await scaleCli(root, ['run', OUT, '--loop', ...flags]);
  const ms = Date.now() - started;
  expect(signalOf(run.stdout), run.stderr.slice(-3000)).toBe('TASK_COMPLETE');
  return { root, ms, stderr: run.stderr };
}

/** Makes the scale repository's tool skills (test/support/scale-repos.ts) take 200 ms a step. */
export function slowScaleSteps(root: string): void {
  for (const name of readdirSync(join(root, 'scripts'))) {
    const file = join(root, 'scripts', name);
    writeFileSync(file, `sleep 0.2\n${readFileSync(file, 'utf8')}`);
  }
}

/** Rules about the log and state that hold after every kill, mid-run too. */
const KILL_RULES = new Set(['iteration-log', 'state-consistency', 'escape-hatch', 'front-matter']);

export interface Inspection {
  rows: LogRow[];
  inFlight: string | null;
  status: string | undefined;
  blockers: string[];
  phase: string | null | undefined;
  text: string;
}

/** Reads the plan and asserts what must hold after any kill: it parses, its rows are numbered 1..n and in step with state. */
export function inspect(root: string, label: string, plan = WAVE_PLAN): Inspection {
  const path = join(root, plan);
  const text = readFileSync(path, 'utf8');
  const parsed = parsePlan(text, { path });
  expect(
    parsed.diagnostics.filter((diagnostic) => diagnostic.severity === 'error'),
    `${label}: parse errors`,
  ).toEqual([]);
  const state = parsed.meta.state!;
  const rows = parsed.log?.rows ?? [];
  expect(
    rows.map((row) => row.number),
    `${label}: rows numbered 1..n`,
  ).toEqual(rows.map((_, index) => index + 1));
  expect(state.iteration, `${label}: state.iteration vs rows`).toBe(rows.length);
  expect(state.revision, `${label}: revision`).toBeGreaterThanOrEqual(rows.length);
  const errors = lintText(text, path).filter((finding) => finding.severity === 'error' && KILL_RULES.has(finding.ruleId));
  expect(errors, `${label}: lint errors\n${rows.map((row) => row.cells.join(' | ')).join('\n')}`).toEqual([]);
  const inFlight = (state as unknown as Record<string, unknown>)['in_flight'];
  return {
    rows,
    inFlight: typeof inFlight === 'string' ? inFlight : null,
    status: parsed.meta.status,
    blockers: state.blockers ?? [],
    phase: state.phase,
    text,
  };
}

/** The working copies left in the plan's waves folder (runners/waves.ts wavesHome). */
export function workingCopies(root: string, plan = WAVE_PLAN): string[] {
  const home = wavesHome(join(root, plan));
  return existsSync(home) ? readdirSync(home) : [];
}

export interface KilledRun {
  killed: boolean;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `deepplan run <plan> --loop --parallel n` in `root`, its output piped. */
function startWaveRun(root: string, parallel: number) {
  const args = [CLI, 'run', WAVE_PLAN, '--loop', '--parallel', String(parallel), ...sandboxFlag];
  return spawn(process.execPath, args, { cwd: root, env: cliEnvironment(), stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `deepplan run <plan> --loop --parallel n`, SIGKILLed `ms` after the `nth` action line (0: after its start). */
export function runAndKill(root: string, parallel: number, kill: { nth: number; ms: number }): Promise<KilledRun> {
  return new Promise((resolve, reject) => {
    const child = startWaveRun(root, parallel);
    let stdout = '';
    let stderr = '';
    let killed = false;
    let actions = 0;
    const timers: NodeJS.Timeout[] = [];
    const doKill = () => {
      if (child.exitCode === null && child.signalCode === null) killed = child.kill('SIGKILL');
    };
    if (kill.nth === 0) timers.push(setTimeout(doKill, kill.ms));
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      stderr += text;
      for (const line of text.split('\n')) if (line.startsWith('▶') && ++actions === kill.nth) timers.push(setTimeout(doKill, kill.ms));
    });
    timers.push(
      setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the run did not end within 60 s:\n${stderr}`));
      }, 60_000),
    );
    child.on('error', reject);
    child.on('exit', (code) => {
      for (const timer of timers) clearTimeout(timer);
      resolve({ killed, code, stdout, stderr });
    });
  });
}

export interface KillStats {
  kills: number;
  /** Repositories run to the end (a plan finished before the kills were all made is followed by a fresh one). */
  plans: number;
  /** Rows logged failed with "outcome unknown": actions a kill cut short, retried after. */
  outcomeUnknown: number;
  /** Runs after a kill that found working copies to resume. */
  resumed: number;
  /** Plans an escape hatch stopped (repeated kills of a step), answered with approve --retry of each phase that waited. */
  retried: number;
}

/**
 * A person answers a plan that waits, phase by phase: `approve --retry` of the phase it stands at, again while it
 * still waits (several phases can wait at once: approve answers the phase it names only). Only the escape hatches
 * may block these plans, and no phase waits twice.
 */
export async function answerEach(root: string, blocked: Inspection, label: string): Promise<Inspection> {
  let now = blocked;
  const answered = new Set<string>();
  while (now.blockers.length > 0) {
    expect(now.blockers[0], `${label}: only the escape hatches block`).toMatch(/failed \d+ times|iterations without progress/);
    expect(answered.has(now.phase!), `${label}: ${now.phase} answered twice`).toBe(false);
    answered.add(now.phase!);
    const approve = await runCli(['approve', WAVE_PLAN, now.phase!, '--retry', '--note', 'killed runs'], root);
    expect(approve.code, approve.stderr).toBe(0);
    now = inspect(root, `${label}: ${now.phase} approved`);
  }
  return now;
}

/** The phases whose working copies have an action in flight that process `pid` started (read from the copies' plans). */
export function copiesInFlight(root: string, pid: number, plan = WAVE_PLAN): string[] {
  const home = wavesHome(join(root, plan));
  if (!existsSync(home)) return [];
  return readdirSync(home).filter((name) => {
    try {
      return new RegExp(`^\\s+in_flight: .*pid ${pid}\\)`, 'm').test(readFileSync(join(home, name, plan), 'utf8'));
    } catch {
      return false;
    }
  });
}

/**
 * `deepplan run <plan> --loop --parallel n`, SIGKILLed as soon as `count` working copies have an action in flight at
 * once (polled every 5 ms; the steps must take long enough to overlap): a kill at exactly the point that cuts every
 * copy's action short.
 */
export function runAndKillInFlight(root: string, parallel: number, count: number): Promise<KilledRun> {
  return new Promise((resolve, reject) => {
    const child = startWaveRun(root, parallel);
    let stdout = '';
    let stderr = '';
    let killed = false;
    const poll = setInterval(() => {
      if (child.exitCode !== null || child.signalCode !== null || copiesInFlight(root, child.pid!).length < count) return;
      killed = child.kill('SIGKILL');
      clearInterval(poll);
    }, 5);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the run did not end within 60 s:\n${stderr}`));
    }, 60_000);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(poll);
      clearTimeout(timer);
      resolve({ killed, code, stdout, stderr });
    });
  });
}

/** The processes whose working folder is inside one of `folders`, as `pid command (in folder)`. */
export function processesWorkingIn(folders: string[]): string[] {
  return otherProcesses()
    .filter(({ cwd }) => cwd !== null && folders.some((folder) => cwd === folder || cwd.startsWith(`${folder}/`)))
    .map(({ pid, command, cwd }) => `${pid} ${command.slice(0, 100)}(in ${cwd})`);
}

/**
 * No process of a killed run lives on in its repository or its working copies: each command dies with the run
 * (src/execute/sandbox.ts diesWithRun). Waits up to 2 s for the kernel to deliver the signals, then names what is left
 * (and kills it, so that one failure does not slow every test after it).
 */
export async function expectNothingLeftRunning(root: string, label: string): Promise<void> {
  const folders = [root, wavesHome(join(root, WAVE_PLAN))];
  let left = processesWorkingIn(folders);
  for (let waited = 0; left.length > 0 && waited < 2_000; waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = processesWorkingIn(folders);
  }
  for (const entry of left) {
    try {
      process.kill(Number(entry.split(' ')[0]), 'SIGKILL');
    } catch {
      // Gone.
    }
  }
  expect(left, `${label}: processes of the killed run still running`).toEqual([]);
}

/**
 * Kills `kills` parallel runs of sibling plans (`make` builds a repository) at random moments, checking the plan after
 * each; a plan that finishes is checked to the end (`check`) and followed by a fresh one; the last is then run to the
 * end without kills. A plan an escape hatch blocked (the same step cut short three times, five rows without progress)
 * is answered with approve --retry of each phase that waits, as a person would (answerEach).
 */
export async function killAndResume(make: () => string, kills: number, parallel: number, check: (root: string, rows: LogRow[]) => void): Promise<KillStats> {
  const stats: KillStats = { kills: 0, plans: 0, outcomeUnknown: 0, resumed: 0, retried: 0 };
  let root = make();
  let previous = inspect(root, 'fresh');
  const answer = async (blocked: Inspection, label: string) => {
    stats.retried++;
    return answerEach(root, blocked, label);
  };
  const finish = (now: Inspection) => {
    expect(now.inFlight).toBeNull();
    expect(lintText(now.text, join(root, WAVE_PLAN)).filter((finding) => finding.severity === 'error')).toEqual([]);
    // Every failed row is an action a kill cut short, logged before it was retried.
    const failed = now.rows.filter((row) => row.result === 'failed');
    for (const row of failed) expect(row.notes, row.cells.join(' | ')).toMatch(/^outcome unknown: /);
    stats.outcomeUnknown += failed.length;
    stats.plans++;
    check(root, now.rows);
  };
  for (let attempt = 1; stats.kills < kills; attempt++) {
    expect(attempt, 'runs that end by themselves are the exception').toBeLessThanOrEqual(kills * 2 + 10);
    const roll = Math.random();
    const kill = roll < 0.3 ? { nth: 0, ms: 300 + Math.random() * 1_500 } : { nth: 1 + Math.floor(Math.random() * 6), ms: Math.random() * 300 };
    const label = `run ${attempt} (${JSON.stringify(kill)})`;
    const run = await runAndKill(root, parallel, kill);
    if (run.killed) await expectNothingLeftRunning(root, label);
    if (/resuming P\d+ in its working copy/.test(run.stderr)) stats.resumed++;
    let now = inspect(root, label);
    // Rows are only ever appended; no step is done twice.
    expect(
      now.rows.slice(0, previous.rows.length).map((row) => row.cells),
      `${label}: earlier rows unchanged`,
    ).toEqual(previous.rows.map((row) => row.cells));
    const done = liveDoneSteps(now.rows);
    expect(new Set(done).size, `${label}: no step done twice\n${now.rows.map((row) => row.cells.join(' | ')).join('\n')}`).toBe(done.length);
    if (run.killed) stats.kills++;
    else expect([0, 3], `${label}: a run that ended by itself\n${run.stderr}`).toContain(run.code);
    if (now.status === 'complete') {
      finish(now);
      root = make();
      now = inspect(root, 'fresh');
    } else if (now.blockers.length > 0) now = await answer(now, label);
    previous = now;
  }
  for (let attempt = 0; ; attempt++) {
    const last = await runCli(['run', WAVE_PLAN, '--loop', '--parallel', String(parallel), ...sandboxFlag], root);
    const now = inspect(root, 'final run');
    if (last.stdout.trim().split('\n').pop() === 'BLOCKED_NEED_HUMAN' && attempt < 3) {
      await answer(now, 'final run');
      continue;
    }
    expect(last.stdout.trim().split('\n').pop(), last.stderr).toBe('TASK_COMPLETE');
    finish(now);
    return stats;
  }
}
