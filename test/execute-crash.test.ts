import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bubblewrapAvailable } from '../src/execute/sandbox.js';
import { lintText } from '../src/lint/lint.js';
import { parsePlan } from '../src/plan/parse.js';
import type { LogRow } from '../src/plan/types.js';
import { CLI, cliEnvironment, runCli, skillFile } from './support/fixtures.js';
import { edit } from './support/plan-text.js';
import { PUT_SCRIPT, scriptedRepo } from './support/scripted.js';
import { partsPlan } from './support/parts-plan.js';
import { allStepRefs, doneSteps, liveDoneSteps, stepRef } from './support/log-steps.js';

/**
 * Crash safety of `deepplan run` (the plan file is the agent's only memory, so a crash must never corrupt it):
 * SIGKILL at random moments never leaves a plan that fails to parse or a log out of step with `state`, an action
 * that was in flight is logged as "outcome unknown" by the next run, and concurrent runs of one plan lose no row.
 *
 * Commands run under bubblewrap when it is installed (as in production); without it (or with
 * DEEPPLAN_TEST_NO_SANDBOX) the runs pass --no-sandbox: the plan file's crash safety does not depend on the sandbox.
 */

const sandboxFlag = process.env['DEEPPLAN_TEST_NO_SANDBOX'] || !bubblewrapAvailable() ? ['--no-sandbox'] : [];
if (!bubblewrapAvailable()) console.warn('crash tests run with --no-sandbox: bubblewrap (bwrap) is not installed (apt-get install bubblewrap)');

const PLAN = 'plans/p.md';

function crashPlan(steps: number[]): string {
  return partsPlan({
    id: 'crash-test',
    title: 'Crash test',
    request: 'Write many small files, one per step, so that a run can be killed in the middle of any of them.',
    steps,
    maxIterations: 200,
  });
}

/** The plan of the kill test (9 steps: it completes now and then under kills) and of the concurrency test. */
const CRASH_STEPS = [3, 3, 3];
const CONCURRENT_STEPS = [6, 6, 6, 6];

/** Its publish-page writes a local file and says so, so the unattended plan needs no human gate before it. */
const LOCAL_PUBLISH = {
  '.claude/skills/publish-page/SKILL.md': skillFile('publish-page', 'metadata:\n  run: node scripts/put.mjs out/page.html\n  irreversible: false\n'),
};

function crashRepo(steps: number[]): string {
  return scriptedRepo(crashPlan(steps), LOCAL_PUBLISH);
}

interface Inspection {
  text: string;
  rows: LogRow[];
  inFlight: string | null;
  status: string | undefined;
  blockers: string[];
  phase: string | null | undefined;
}

const CRASH_RULES = new Set(['state-consistency', 'iteration-log', 'front-matter']);

/** Reads the plan and asserts what must hold after any crash: it parses, its log is in step with `state`. */
function inspect(root: string, label: string, rules: Set<string> | 'all' = CRASH_RULES): Inspection {
  const path = join(root, PLAN);
  const text = readFileSync(path, 'utf8');
  const plan = parsePlan(text, { path });
  expect(
    plan.diagnostics.filter((diagnostic) => diagnostic.severity === 'error'),
    `${label}: parse errors`,
  ).toEqual([]);
  const state = plan.meta.state;
  expect(state, `${label}: state`).toBeDefined();
  const rows = plan.log?.rows ?? [];
  expect(state!.iteration, `${label}: state.iteration vs log rows`).toBe(rows.length);
  expect(
    rows.map((row) => row.number),
    `${label}: rows numbered 1..n`,
  ).toEqual(rows.map((_, index) => index + 1));
  expect(state!.revision, `${label}: revision`).toBeGreaterThanOrEqual(rows.length);
  const errors = lintText(text, path).filter((finding) => finding.severity === 'error' && (rules === 'all' || rules.has(finding.ruleId)));
  expect(errors, `${label}: lint errors`).toEqual([]);
  const inFlight = (state as unknown as Record<string, unknown>)['in_flight'];
  return {
    text,
    rows,
    inFlight: typeof inFlight === 'string' ? inFlight : null,
    status: plan.meta.status,
    blockers: state!.blockers ?? [],
    phase: state!.phase,
  };
}

function logText(rows: LogRow[]): string {
  return rows.map((row) => row.cells.join(' | ')).join('\n');
}

type KillPlan = { kind: 'time'; ms: number } | { kind: 'action'; nth: number; ms: number } | { kind: 'in-flight'; ms: number };

interface KilledRun {
  pid: number;
  killed: boolean;
  code: number | null;
  stdout: string;
  stderr: string;
  waited: boolean;
}

/**
 * Starts `deepplan run plans/p.md --loop` and SIGKILLs it `ms` milliseconds after: its start (`time`), the n-th action
 * line on standard error (`action`: the line comes just before the in-flight record is written), or the moment the
 * plan shows this process's action in flight (`in-flight`: polled). Kills land in start-up, in lock, read and write
 * code, during actions and during the write that logs them. A run that ends by itself first is not killed.
 */
function runAndKill(root: string, kill: KillPlan): Promise<KilledRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'run', PLAN, '--loop', ...sandboxFlag], {
      cwd: root,
      env: cliEnvironment(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let killed = false;
    let actions = 0;
    const timers: NodeJS.Timeout[] = [];
    const doKill = () => {
      if (child.exitCode === null && child.signalCode === null) killed = child.kill('SIGKILL');
    };
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      stderr += text;
      if (kill.kind !== 'action') return;
      for (const line of text.split('\n')) {
        if (line.startsWith('▶') && ++actions === kill.nth) timers.push(setTimeout(doKill, kill.ms));
      }
    });
    if (kill.kind === 'time') timers.push(setTimeout(doKill, kill.ms));
    if (kill.kind === 'in-flight') {
      const mine = `pid ${child.pid})`;
      const poll = setInterval(() => {
        let text = '';
        try {
          text = readFileSync(join(root, PLAN), 'utf8');
        } catch {
          return;
        }
        if (/^ {2}in_flight: /m.test(text) && text.includes(mine)) {
          clearInterval(poll);
          timers.push(setTimeout(doKill, kill.ms));
        }
      }, 4);
      timers.push(poll);
    }
    // A run must never hang (a stale lock is noticed at once); 20 s is far beyond a whole plan's run.
    timers.push(
      setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the run did not end within 20 s:\n${stderr}`));
      }, 20_000),
    );
    child.on('error', reject);
    child.on('exit', (code) => {
      for (const timer of timers) clearTimeout(timer);
      for (const timer of timers) clearInterval(timer);
      resolve({ pid: child.pid!, killed, code, stdout, stderr, waited: /^waiting: /m.test(stderr) });
    });
  });
}

function randomKill(afterInFlight: boolean): KillPlan {
  const roll = Math.random();
  // After a kill that left an action in flight, give the next run time to log it and retry the step more often, so
  // runs of kills of one step (three failures block the plan) stay the exception.
  if (afterInFlight && roll < 0.4) return { kind: 'time', ms: 450 + Math.random() * 550 };
  // Start-up takes some 400 ms: these land in start-up, lock and read code as well as in the first iterations.
  if (roll < 0.3) return { kind: 'time', ms: Math.random() * 700 };
  // Later, in a process that has run several iterations (and so that a plan gets done now and then).
  if (roll < 0.4) return { kind: 'time', ms: 700 + Math.random() * 1_800 };
  // Around the in-flight write, and in the action (some 200 ms) or the write that logs it.
  if (roll < 0.7) return { kind: 'action', nth: Math.random() < 0.75 ? 1 : 2, ms: Math.random() * 250 };
  return { kind: 'in-flight', ms: Math.random() * 200 };
}

/** Files next to the plan other than the plan itself: write-file-atomic temp files, lock folders, lock records. */
function leftovers(root: string): string[] {
  return readdirSync(join(root, 'plans')).filter((name) => name !== 'p.md');
}

/** Kills per lane; two lanes (two repositories) run side by side to use both cores. */
const KILLS_PER_LANE = 26;
const LANES = 2;

interface LaneStats {
  kills: number;
  selfExited: number;
  inFlight: number;
  recovered: number;
  completed: number;
  blocked: number;
  waited: number;
  leftovers: Set<string>;
}

/**
 * Kills `kills` runs of a scripted plan and checks the plan after each kill; a completed plan is replaced by a fresh
 * repository. Then runs the last one to the end without kills.
 */
async function killLane(lane: number, kills: number): Promise<LaneStats> {
  let root = crashRepo(CRASH_STEPS);
  let previous = inspect(root, `lane ${lane}: fresh`);
  /** The action a killed run left in flight, and how many rows the log had then. */
  let pending: { inFlight: string; action: string; rowsAt: number } | null = null;
  const stats: LaneStats = { kills: 0, selfExited: 0, inFlight: 0, recovered: 0, completed: 0, blocked: 0, waited: 0, leftovers: new Set() };

  for (let attempt = 1; stats.kills < kills; attempt++) {
    expect(attempt, 'runs that end by themselves are the exception').toBeLessThanOrEqual(kills + 30);
    const kill = randomKill(pending !== null);
    const label = `lane ${lane}, run ${attempt} (${JSON.stringify(kill)})`;
    const run = await runAndKill(root, kill);
    if (run.waited) stats.waited++;
    for (const name of leftovers(root)) stats.leftovers.add(name.replace(/^p\.md\.(?:[0-9a-f]{6,}|\d+)$/, 'p.md.<temp>'));
    const now = inspect(root, label);
    // Rows are only ever appended.
    expect(
      now.rows.slice(0, previous.rows.length).map((row) => row.cells),
      `${label}: earlier rows unchanged`,
    ).toEqual(previous.rows.map((row) => row.cells));
    if (run.killed) stats.kills++;
    else {
      stats.selfExited++;
      expect([0, 3], `${label}: exit code of a run that ended by itself\n${run.stderr}`).toContain(run.code);
      expect(now.inFlight, `${label}: a run that ended by itself leaves nothing in flight`).toBeNull();
    }

    // An action left in flight is logged as "outcome unknown" before anything else happens to the log.
    if (pending !== null) {
      if (now.rows.length > pending.rowsAt) {
        const row = now.rows[pending.rowsAt]!;
        expect(row.action, `${label}: the row after a kill in flight`).toBe(pending.action);
        expect(row.result).toBe('failed');
        expect(row.notes).toMatch(/^outcome unknown: /);
        stats.recovered++;
        pending = null;
      } else {
        expect(now.inFlight, `${label}: the in-flight record stays until it is logged`).toBe(pending.inFlight);
      }
    }
    if (now.inFlight !== null && pending === null) {
      expect(run.killed, `${label}: only a killed run leaves an action in flight`).toBe(true);
      expect(now.inFlight).toMatch(new RegExp(`^P\\d+\\.\\d+ .* \\(started \\S+, pid ${run.pid}\\)$`));
      stats.inFlight++;
      pending = { inFlight: now.inFlight, action: now.inFlight.replace(/\s+\(started .*\)$/, ''), rowsAt: now.rows.length };
    }
    // A step is done once (since its phase last started over); a retried step was first logged as failed.
    const done = liveDoneSteps(now.rows);
    expect(new Set(done).size, `${label}: no step done twice\n${logText(now.rows)}\n${run.stderr}`).toBe(done.length);
    previous = now;

    if (now.status === 'complete') {
      const finished = inspect(root, `${label}: complete`, 'all');
      expect(liveDoneSteps(finished.rows)).toEqual(allStepRefs(CRASH_STEPS));
      stats.completed++;
      root = crashRepo(CRASH_STEPS);
      previous = inspect(root, `lane ${lane}: fresh`);
    } else if (now.blockers.length > 0) {
      // Kills of the same step three times in a row (or five rows without progress) trip the escape hatches; a
      // person answers with approve --retry. Nothing else may block this plan.
      expect(now.blockers[0], `${label}: the only blockers are the escape hatches`).toMatch(/failed \d+ times|iterations without progress/);
      stats.blocked++;
      const approve = await runCli(['approve', PLAN, now.phase!, '--retry', '--note', 'killed runs'], root);
      expect(approve.code, approve.stderr).toBe(0);
      previous = inspect(root, `${label}: approved`);
      expect(previous.rows.length).toBe(now.rows.length + 1);
    }
  }

  // Finally, run to the end without kills.
  for (let attempt = 0; ; attempt++) {
    const last = await runCli(['run', PLAN, '--loop', ...sandboxFlag], root);
    const signal = last.stdout.trim().split('\n').pop();
    const now = inspect(root, `lane ${lane}: final run`);
    if (pending !== null) {
      expect(now.rows[pending.rowsAt]?.action).toBe(pending.action);
      expect(now.rows[pending.rowsAt]?.notes).toMatch(/^outcome unknown: /);
      stats.recovered++;
      pending = null;
    }
    if (signal === 'BLOCKED_NEED_HUMAN' && attempt < 2) {
      // Only an escape hatch tripped by the kills before the final run can block it.
      expect(now.blockers[0]).toMatch(/failed \d+ times|iterations without progress/);
      expect((await runCli(['approve', PLAN, now.phase!, '--retry'], root)).code).toBe(0);
      continue;
    }
    expect(signal, last.stderr).toBe('TASK_COMPLETE');
    expect(last.code).toBe(0);
    expect(now.inFlight).toBeNull();
    const findings = lintText(now.text, join(root, PLAN)).filter((finding) => finding.severity === 'error');
    expect(findings).toEqual([]);
    expect(liveDoneSteps(now.rows)).toEqual(allStepRefs(CRASH_STEPS));
    // Stale locks and their records are gone; a leftover temp file of a killed write is harmless.
    expect(leftovers(root).filter((name) => /^p\.md\.(run\.)?lock(\.json)?$/.test(name))).toEqual([]);
    for (const [index, count] of CRASH_STEPS.entries())
      for (let step = 2; step <= count; step++) expect(existsSync(join(root, `out/p${index + 1}/s${step}.md`))).toBe(true);
    return stats;
  }
}

describe('deepplan run killed with SIGKILL at random moments', () => {
  it(`never leaves a broken plan or a log out of step with state, and logs every action in flight (${LANES * KILLS_PER_LANE} kills)`, async () => {
    const lanes = await Promise.all(Array.from({ length: LANES }, (_, index) => killLane(index + 1, KILLS_PER_LANE)));
    const total = (key: Exclude<keyof LaneStats, 'leftovers'>) => lanes.reduce((sum, lane) => sum + lane[key], 0);
    const seen = [...new Set(lanes.flatMap((lane) => [...lane.leftovers]))].sort();
    console.info(
      `crash test: ${total('kills')} kills (${total('selfExited')} runs ended by themselves), ${total('inFlight')} with an action in flight, ${total('recovered')} logged as outcome unknown; ` +
        `${total('completed')} plans completed under kills, ${total('blocked')} escape-hatch blocks approved, ${total('waited')} runs found a lock left behind; leftovers seen: ${seen.join(', ') || 'none'}`,
    );
    expect(total('kills')).toBeGreaterThanOrEqual(50);
    // Every kill in flight was logged (the last ones by the final runs).
    expect(total('recovered')).toBe(total('inFlight'));
    expect(total('inFlight')).toBeGreaterThanOrEqual(8);
  }, 180_000);

  it('is not held up by stale locks, lock records and temp files of killed processes', async () => {
    const root = crashRepo(CRASH_STEPS);
    // A process id that is surely gone: a child that has exited.
    const dead = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['-e', '']);
      child.on('exit', () => resolve(child.pid!));
    });
    const plans = join(root, 'plans');
    // The run lock of a writer killed between taking the lock and recording itself: a folder with no record.
    mkdirSync(join(plans, 'p.md.run.lock'));
    // The write lock of a writer killed while it held it: a folder and a record naming a dead process.
    mkdirSync(join(plans, 'p.md.lock'));
    writeFileSync(join(plans, 'p.md.lock.json'), JSON.stringify({ pid: dead, host: hostname() }));
    // proper-lockfile takes a lock folder as abandoned once its mtime is 10 s old; with an mtime in the future only
    // the owner checks of store.ts can free these (the run would otherwise wait until runCli's time-out).
    const future = new Date(Date.now() + 3_600_000);
    for (const folder of ['p.md.run.lock', 'p.md.lock']) utimesSync(join(plans, folder), future, future);
    // A temp file of a write killed before its rename.
    writeFileSync(join(plans, 'p.md.1f2e3d4c'), readFileSync(join(plans, 'p.md'), 'utf8').slice(0, 500));
    const result = await runCli(['run', PLAN, '--once', ...sandboxFlag], root);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim().split('\n').pop()).toBe('CONTINUE');
    const after = inspect(root, 'after stale locks', 'all');
    expect(after.rows.map((row) => row.action)).toEqual(['P1.1 /fetch-notes "P1 step 1"']);
    expect(leftovers(root)).toEqual(['p.md.1f2e3d4c']);
  });
});

describe('concurrent runs of one plan', () => {
  it('four --once processes started together each log exactly one row (3 rounds)', async () => {
    const root = crashRepo(CONCURRENT_STEPS);
    let before = inspect(root, 'fresh');
    for (let round = 1; round <= 3; round++) {
      const results = await Promise.all([1, 2, 3, 4].map(() => runCli(['run', PLAN, '--once', ...sandboxFlag], root)));
      for (const result of results) {
        expect(result.code, `round ${round}: ${result.stderr}`).toBe(0);
        expect(result.stdout.trim().split('\n').pop()).toBe('CONTINUE');
      }
      const after = inspect(root, `round ${round}`, 'all');
      expect(after.rows.length).toBe(before.rows.length + 4);
      expect(after.rows.slice(0, before.rows.length).map((row) => row.cells)).toEqual(before.rows.map((row) => row.cells));
      const added = after.rows.slice(before.rows.length);
      expect(added.map((row) => row.result)).toEqual(['ok', 'ok', 'ok', 'ok']);
      expect(after.inFlight).toBeNull();
      before = after;
    }
    // Twelve rows, twelve different steps, in the plan's order: no step ran twice, none was skipped.
    expect(doneSteps(before.rows)).toEqual(allStepRefs(CONCURRENT_STEPS).slice(0, 12));
    expect(before.rows.map(stepRef)).toEqual(allStepRefs(CONCURRENT_STEPS).slice(0, 12));
    expect(leftovers(root)).toEqual([]);
  }, 60_000);
});

// strace stands in for the scheduler: it holds one waiter up for 100 ms at the moment it removes a dead owner's lock.
const straceWorks =
  spawnSync('strace', ['-f', '-qq', '-o', '/dev/null', '-e', 'trace=unlink', '-e', 'inject=unlink:delay_enter=1000', 'true'], { stdio: 'ignore' }).status === 0;
if (!straceWorks) console.warn('the lock race test is skipped: strace (with syscall delay injection) is not available (apt-get install strace)');

/** Starts a process in `root` with the clean environment, collecting its output. */
function launch(
  root: string,
  command: string,
  args: string[],
): { child: ChildProcess; stderr: () => string; done: Promise<{ code: number | null; stdout: string }> } {
  const child = spawn(command, args, { cwd: root, env: cliEnvironment(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  return { child, stderr: () => stderr, done: new Promise((resolve, reject) => child.on('error', reject).on('exit', (code) => resolve({ code, stdout }))) };
}

async function until(condition: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** put.mjs whose first run with the argument `slow` takes 10 s (the retry after a kill is quick). */
const SLOW_ONCE_PUT_SCRIPT = `${PUT_SCRIPT}import { existsSync } from 'node:fs';
if (process.argv.includes('slow') && !existsSync('notes/slept')) {
  writeFileSync('notes/slept', '');
  await new Promise((resolve) => setTimeout(resolve, 10_000));
}
`;

describe.skipIf(!straceWorks)('two runs waiting on the lock of a killed run', () => {
  // The bug this guards against (src/plan/store.ts before the fix): each waiter reads the dead owner's record, then
  // removes the record and the folder. A waiter held up between the two removed the lock the other waiter had taken
  // in the meantime, took it too, and both ran an iteration: one failed with "changed underneath" (exit 1), or logged
  // the other's live action as "outcome unknown" and ran it a second time.
  it('never both take it, even when one of them is held up while it clears it (2 rounds)', async () => {
    const slowPlan = edit(crashPlan(CRASH_STEPS), '1. /fetch-notes "P1 step 1"', '1. /fetch-notes "P1 step 1" slow');
    for (let round = 1; round <= 2; round++) {
      const root = scriptedRepo(slowPlan, { ...LOCAL_PUBLISH, 'scripts/put.mjs': SLOW_ONCE_PUT_SCRIPT });
      const record = join(root, 'plans/p.md.run.lock.json');
      const args = [CLI, 'run', PLAN, '--once', ...sandboxFlag];
      const holder = launch(root, process.execPath, args);
      // In flight, and asleep in its action: P1.1's file is written (on a busy machine the sandbox can take a while).
      await until(
        () => /^ {2}in_flight: .*\bslow\b/m.test(readFileSync(join(root, PLAN), 'utf8')) && existsSync(join(root, 'notes/slept')),
        'the holder to start its slow action',
      );
      // Waiter A: every removal or rename of the lock's owner record is held up for 100 ms.
      const slowed = launch(root, 'strace', [
        '-f',
        '-qq',
        '-o',
        '/dev/null',
        '-P',
        record,
        '-e',
        'trace=unlink,unlinkat,rename,renameat,renameat2',
        '-e',
        'inject=unlink,unlinkat,rename,renameat,renameat2:delay_enter=100000',
        process.execPath,
        ...args,
      ]);
      const quick = launch(root, process.execPath, args);
      await until(() => /^waiting: /m.test(slowed.stderr()) && /^waiting: /m.test(quick.stderr()), 'both waiters to wait for the lock');
      holder.child.kill('SIGKILL');
      await holder.done;
      const results = await Promise.all([slowed.done, quick.done]);
      for (const [index, result] of results.entries()) {
        const stderr = [slowed, quick][index]!.stderr();
        expect(result.code, `round ${round}, waiter ${'AB'[index]}: ${stderr}`).toBe(0);
        expect(result.stdout.trim().split('\n').pop()).toBe('CONTINUE');
      }
      // Exactly one of them logged the killed run's action, then each ran one step. The killed run had written
      // P1.1's file before it slept, so the retry rewrites the same bytes: done, but no change by content.
      const after = inspect(root, `round ${round}`, 'all');
      expect(after.rows.map((row) => `${stepRef(row)} ${row.result}`)).toEqual(['P1.1 failed', 'P1.1 no-change', 'P1.2 ok']);
      expect(after.rows[0]!.notes).toMatch(/^outcome unknown: /);
      expect([slowed, quick].filter((waiter) => /^recovering: /m.test(waiter.stderr()))).toHaveLength(1);
      expect(leftovers(root)).toEqual([]);
    }
  }, 60_000);
});
