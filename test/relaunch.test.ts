import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { bubblewrapAvailable } from '../src/execute/sandbox.js';
import { parsePlan } from '../src/plan/parse.js';
import { cliEnvironment, CLI, makeRepo, PROJECT_ROOT } from './support/fixtures.js';
import { SANDBOX } from './support/model-plan.js';

/**
 * Started with a Node older than 22, deepplan re-launches itself on the project's own Node (src/cli/main.ts). The
 * launched process must own the run: a signal to the launcher reaches it, and when the launcher is killed outright
 * it dies at once. Each test runs a plan of slow scripted steps with the machine's old Node and checks that after
 * the signal no log row is appended and no process of the run is left.
 */

const BUNDLED = join(PROJECT_ROOT, 'node_modules', 'node', 'bin', 'node');

/** A node on PATH older than 22 (the machine's own), if there is one. */
function oldNode(): string | null {
  let candidates: string[] = [];
  try {
    candidates = execFileSync('which', ['-a', 'node'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    return null;
  }
  for (const path of [...candidates, '/usr/local/bin/node', '/usr/bin/node']) {
    try {
      const version = execFileSync(path, ['--version'], { encoding: 'utf8' }).trim();
      if (Number(/^v(\d+)/.exec(version)?.[1] ?? 99) < 22) return path;
    } catch {
      // not there
    }
  }
  return null;
}

const OLD_NODE = oldNode();
const sandboxFlag = SANDBOX && bubblewrapAvailable() ? [] : ['--no-sandbox'];
const STEPS = 12;

/** `node scripts/slow.mjs <file> <token>`: waits half a second, then writes the file. */
const SLOW_SCRIPT = `import { mkdirSync, writeFileSync } from 'node:fs';
const [file] = process.argv.slice(2);
await new Promise((resolve) => setTimeout(resolve, 500));
mkdirSync('out', { recursive: true });
writeFileSync(file, 'part\\n');
`;

function digestPlan(token: string): string {
  const steps = Array.from({ length: STEPS }, (_, index) => `${index + 1}. run: \`node scripts/slow.mjs out/part-${index + 1}.txt ${token}\``).join('\n');
  return `---
deepplan: 1
id: nightly-digest
title: Nightly digest in twelve parts
status: approved
created: 2026-11-20
workstream: content
deliverable: content
quality_bar: structural
budget:
  max_iterations: 40
  basis: formula
scope:
  write: [out/**]
  commands: [node scripts/]
state:
  phase: P1
  iteration: 0
  revision: 0
  next_action: Write the parts
  blockers: []
  updated: 2026-11-20T10:00:00Z
---

# Nightly digest in twelve parts

## Request

Write the twelve parts of tonight's digest.

## Success criteria

- [ ] SC1: Every part exists. verify: \`test -s out/part-${STEPS}.txt\`

## Skills

### Mapped

| Skill | Phases | Why |
| --- | --- | --- |

### Excluded

| Skill | Reason |
| --- | --- |

## Phases

### P1. Write the parts
- Inputs: none
- Outputs: out/*.txt
- Context: direct
- Depends on: none
- Done when: every part exists. verify: \`test -s out/part-${STEPS}.txt\`
- Status: pending

${steps}

## Running learnings

## Iteration log

| # | When | Phase | Action | Result | Signal | Notes |
| --- | --- | --- | --- | --- | --- | --- |
`;
}

const roots: string[] = [];
const launched: ChildProcess[] = [];
afterAll(() => {
  for (const child of launched) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function rowsOf(root: string): number {
  return parsePlan(readFileSync(join(root, 'plans/p.md'), 'utf8')).log?.rows.length ?? 0;
}

/** Processes of this run: its environment carries the token (launcher, child), or its command line does (the steps, bwrap). */
function processesOf(token: string): Array<{ pid: number; exe: string }> {
  const found: Array<{ pid: number; exe: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      if (/^State:\s+Z/m.test(status)) continue; // a zombie runs nothing
      const text = `${readFileSync(`/proc/${entry}/environ`, 'latin1')}\0${readFileSync(`/proc/${entry}/cmdline`, 'latin1')}`;
      if (!text.includes(token)) continue;
      let exe = '';
      try {
        exe = readlinkSync(`/proc/${entry}/exe`);
      } catch {
        // gone meanwhile
      }
      found.push({ pid: Number(entry), exe });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await sleep(50);
  }
  return condition();
}

/** Starts `deepplan run --loop` with the old Node, in its own process group (as a terminal's job is), after one row. */
async function startRun(): Promise<{
  root: string;
  token: string;
  launcher: ChildProcess;
  exited: Promise<{ code: number | null; signal: string | null }>;
  output: () => { stdout: string; stderr: string };
}> {
  const token = `digest-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  const root = makeRepo({ 'plans/p.md': digestPlan(token), 'scripts/slow.mjs': SLOW_SCRIPT });
  roots.push(root);
  const launcher = spawn(OLD_NODE!, [CLI, 'run', 'plans/p.md', '--loop', ...sandboxFlag], {
    cwd: root,
    env: cliEnvironment({ DEEPPLAN_TEST_RUN: token, CI: '1' }),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  launched.push(launcher);
  let stdout = '';
  let stderr = '';
  launcher.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  launcher.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => launcher.on('exit', (code, signal) => resolve({ code, signal })));
  expect(await until(() => rowsOf(root) >= 1, 20_000), `no row within 20 s: ${stderr}`).toBe(true);
  // The run is carried out by the project's own Node, launched by the old one.
  const processes = processesOf(token);
  expect(processes.some((entry) => entry.pid === launcher.pid)).toBe(true);
  expect(processes.some((entry) => entry.exe === BUNDLED || entry.exe.endsWith('/node_modules/node/bin/node'))).toBe(true);
  return { root, token, launcher, exited, output: () => ({ stdout, stderr }) };
}

/** After the launcher ended: nothing of the run is left, and no row comes later. */
async function expectNothingAfter(root: string, token: string, rowsAtSignal: number, slack: number): Promise<number> {
  expect(await until(() => processesOf(token).length === 0, 1_500), `left running: ${JSON.stringify(processesOf(token))}`).toBe(true);
  const rows = rowsOf(root);
  expect(rows).toBeLessThanOrEqual(rowsAtSignal + slack);
  // Four steps' time: a run that went on would have appended rows by now.
  await sleep(2_000);
  expect(rowsOf(root)).toBe(rows);
  expect(rows).toBeLessThan(STEPS);
  expect(processesOf(token)).toEqual([]);
  return rows;
}

describe.skipIf(OLD_NODE === null || !existsSync(BUNDLED))("the run launched on the project's Node by an older Node is owned by its launcher", () => {
  it('SIGTERM to the launcher reaches the launched run: it ends with the signal, no row after it', async () => {
    const { root, token, launcher, exited } = await startRun();
    const rows = rowsOf(root);
    process.kill(launcher.pid!, 'SIGTERM');
    // The launcher does not die of the signal itself: it passes it on and ends as the launched run did (143 = SIGTERM).
    expect(await exited).toEqual({ code: 143, signal: null });
    await expectNothingAfter(root, token, rows, 1);
  }, 30_000);

  it('SIGKILL to the launcher: the launched run dies at once, no row after it', async () => {
    const { root, token, launcher, exited } = await startRun();
    // Killed while an action is in flight (between two iterations there is none to leave behind).
    const inFlight = () => /^ {2}in_flight: /m.test(readFileSync(join(root, 'plans/p.md'), 'utf8'));
    expect(await until(inFlight, 10_000), 'an action in flight').toBe(true);
    process.kill(launcher.pid!, 'SIGKILL');
    const rows = rowsOf(root);
    expect(await exited).toEqual({ code: null, signal: 'SIGKILL' });
    const after = await expectNothingAfter(root, token, rows, 1);
    // The action it was doing is left in flight: the next run logs it as "outcome unknown" before anything else.
    const plan = parsePlan(readFileSync(join(root, 'plans/p.md'), 'utf8'));
    expect(after).toBeGreaterThanOrEqual(1);
    expect(String((plan.meta.state as Record<string, unknown>)['in_flight'] ?? '')).toMatch(/^P1\.\d+ run node scripts\/slow\.mjs/);
  }, 30_000);

  it('Ctrl-C (SIGINT to the whole job) stops the run gracefully once: the current iteration ends, then it stops', async () => {
    const { root, token, launcher, exited, output } = await startRun();
    const rows = rowsOf(root);
    // A terminal sends SIGINT to the foreground job's process group: the launcher and the launched run both get it.
    process.kill(-launcher.pid!, 'SIGINT');
    await exited;
    // Taken as one interrupt (a second would quit at once): the iteration in progress is logged, the signal printed.
    expect(output().stderr.match(/interrupted; stopping/g)).toHaveLength(1);
    expect(output().stdout.trim().split('\n').pop()).toBe('CONTINUE');
    await expectNothingAfter(root, token, rows, 1);
  }, 30_000);

  it('SIGINT to the launcher alone (kill -INT) reaches the launched run', async () => {
    const { root, token, launcher, exited, output } = await startRun();
    const rows = rowsOf(root);
    process.kill(launcher.pid!, 'SIGINT');
    await exited;
    expect(output().stderr).toContain('interrupted; stopping');
    expect(output().stdout.trim().split('\n').pop()).toBe('CONTINUE');
    await expectNothingAfter(root, token, rows, 1);
  }, 30_000);
});
