import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { bubblewrapAvailable } from '../src/execute/sandbox.js';
import { lintText } from '../src/lint/lint.js';
import { LocalRunner } from '../src/runners/runner.js';
import { workflowPrefix } from '../src/runners/dbos.js';
import { parsePlan } from '../src/plan/parse.js';
import type { LogRow } from '../src/plan/types.js';
import { CLI, cliEnvironment, runCli, skillFile } from './support/fixtures.js';
import { startPostgres, type PostgresCluster } from './support/postgres.js';
import { scriptedRepo } from './support/scripted.js';
import { PARTS_SKILLS, partsPlan } from './support/parts-plan.js';
import { allStepRefs, doneSteps } from './support/log-steps.js';

/**
 * The durable runner (src/runners/dbos.ts) against a real PostgreSQL: two `deepplan worker` processes share one plan's
 * run through the queue; the one running it is killed with SIGKILL again and again and started again under the same
 * executor id. At the end the plan is TASK_COMPLETE, every step is done exactly once, the log is numbered without gaps
 * and the audit is clean. Each scripted step takes a fixed 150 ms, so kills land in the middle of steps as well as
 * between them.
 */

const PLAN = 'plans/p.md';
const STEPS = [3, 3, 3];
const KILLS = 6;
const STEP_MS = 150;
const CLI_ENTRY = CLI;
const sandboxFlag = process.env['DEEPPLAN_TEST_NO_SANDBOX'] || !bubblewrapAvailable() ? ['--no-sandbox'] : [];

/** put.mjs that takes a fixed time first, so a step is long enough to be killed in. */
const SLOW_PUT = `import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${STEP_MS});
const [file, ...lines] = process.argv.slice(2);
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, lines.join('\\n') + '\\n');
`;

const SKILLS = PARTS_SKILLS;

function durablePlan(): string {
  return partsPlan({
    id: 'durable-test',
    title: 'Durable run test',
    request: 'Write small files, one per step, on workers that are killed while they work.',
    steps: STEPS,
    maxIterations: 60,
  });
}

function durableRepo(): string {
  return scriptedRepo(durablePlan(), {
    'scripts/put.mjs': SLOW_PUT,
    // Tool skills write their step's file under out/ (the first step of each part).
    ...Object.fromEntries(
      SKILLS.map((name, index) => [
        `.claude/skills/${name}/SKILL.md`,
        skillFile(name, `metadata:\n  run: node scripts/put.mjs out/p${index + 1}/s1.md\n  irreversible: false\n`),
      ]),
    ),
  });
}

interface Worker {
  id: string;
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exit: Promise<number | null>;
}

/** Rows each executor wrote, from the workers' `<id>: plans/p.md #n …` lines. */
const rowsBy = new Map<string, number>();
let lastWriter: string | null = null;

function startWorker(id: string, url: string, root: string): Worker {
  const child = spawn(process.execPath, [CLI_ENTRY, 'worker', PLAN, '--database-url', url, '--executor-id', id, ...sandboxFlag], {
    cwd: root,
    env: cliEnvironment(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const worker: Worker = { id, child, stdout: '', stderr: '', exit: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
  child.stdout!.on('data', (chunk: Buffer) => (worker.stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    worker.stderr += text;
    for (const line of text.split('\n')) {
      const match = /^(\w+): plans\/p\.md #\d+ /.exec(line);
      if (match) {
        rowsBy.set(match[1]!, (rowsBy.get(match[1]!) ?? 0) + 1);
        lastWriter = match[1]!;
      }
    }
  });
  return worker;
}

function readLog(root: string): { rows: LogRow[]; text: string; iteration: number | undefined; status: string | undefined } {
  const text = readFileSync(join(root, PLAN), 'utf8');
  const plan = parsePlan(text, { path: join(root, PLAN) });
  return { rows: plan.log?.rows ?? [], text, iteration: plan.meta.state?.iteration, status: plan.meta.status };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let cluster: PostgresCluster | null = null;

beforeAll(() => {
  cluster = startPostgres('test/runner-dbos.test.ts');
});

afterAll(() => {
  cluster?.stop();
});

describe('deepplan worker: the durable runner on PostgreSQL', () => {
  it(`two workers run one plan to TASK_COMPLETE through ${KILLS} SIGKILLs, every step done exactly once`, async (context) => {
    if (!cluster) return context.skip();
    const started = performance.now();
    const root = durableRepo();
    const url = cluster.url('deepplan_dbos');
    const workers = new Map<string, Worker>();
    // A failed test leaves no worker behind (they would outlive it and its database).
    onTestFinished(() => {
      for (const worker of workers.values()) if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
    });
    workers.set('a', startWorker('a', url, root));
    // The second worker joins the run the first one enqueued (started after it, so there is one run to join).
    await waitFor(
      () => /serving/.test(workers.get('a')!.stderr),
      20_000,
      () => workers.get('a')!.stderr,
    );
    workers.set('b', startWorker('b', url, root));

    let kills = 0;
    let rowsAtKill = -1;
    const finished = () => [...workers.values()].some((worker) => worker.child.exitCode !== null && worker.child.signalCode === null);
    while (kills < KILLS && !finished()) {
      await sleep(200 + Math.random() * 500);
      // Two rows since the last kill (the "outcome unknown" row and the retried step), and the last row made
      // progress: no step is killed twice in a row (three failures of one step would rightly block the plan), and a
      // retry that finds its file already written (a no-change row) never joins a streak of five rows without
      // progress (which would rightly block it too).
      const { rows } = readLog(root);
      if (finished() || rows.length < rowsAtKill + 2 || rows.at(-1)?.result !== 'ok') continue;
      const victim = workers.get(lastWriter ?? 'a')!;
      victim.child.kill('SIGKILL');
      await victim.exit;
      kills++;
      rowsAtKill = readLog(root).rows.length;
      workers.set(victim.id, startWorker(victim.id, url, root));
    }

    // Every worker's log on a timeout: a worker that waits says nothing of why; the other one's log may.
    const logs = () => [...workers.values()].map((worker) => `worker ${worker.id}:\n${worker.stderr}`).join('\n');
    const codes = await Promise.all([...workers.values()].map((worker) => withTimeout(worker.exit, 60_000, logs)));
    const seconds = (performance.now() - started) / 1000;
    for (const [index, worker] of [...workers.values()].entries()) {
      expect(codes[index], worker.stderr).toBe(0);
      expect(worker.stdout.trim().split('\n').pop(), worker.stderr).toBe('TASK_COMPLETE');
    }

    const { rows, text, iteration, status } = readLog(root);
    const log = rows.map((row) => row.cells.join(' | ')).join('\n');
    expect(status, log).toBe('complete');
    expect(
      rows.map((row) => row.number),
      'rows numbered 1..n, none twice, none lost',
    ).toEqual(rows.map((_, index) => index + 1));
    expect(iteration, 'state.iteration is the row count').toBe(rows.length);
    expect(rows.at(-1)?.signal).toBe('TASK_COMPLETE');
    const done = doneSteps(rows);
    const all = allStepRefs(STEPS);
    expect(done, `every step done exactly once\n${log}`).toEqual(all);
    // The only failures are actions a kill cut short, logged as such.
    for (const row of rows.filter((candidate) => candidate.result === 'failed')) expect(row.notes, log).toMatch(/^outcome unknown: /);
    expect(lintText(text, join(root, PLAN)).filter((finding) => finding.severity === 'error')).toEqual([]);
    const audit = await runCli(['audit', PLAN, ...sandboxFlag], root);
    expect(audit.code, audit.stdout + audit.stderr).toBe(0);
    // Both workers ran iterations of the one plan.
    expect([...rowsBy.keys()].sort(), JSON.stringify([...rowsBy])).toEqual(['a', 'b']);
    const recovered = rows.filter((row) => row.notes.startsWith('outcome unknown')).length;
    console.log(
      `durable run: ${kills} kills, ${rows.length} rows (${recovered} actions cut short and logged), rows by worker ${JSON.stringify(Object.fromEntries(rowsBy))}, ${seconds.toFixed(1)} s`,
    );
  }, 120_000);
});

async function waitFor(test: () => boolean, ms: number, detail: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out:\n${detail()}`);
    await sleep(50);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, detail: () => string): Promise<T> {
  return Promise.race([promise, sleep(ms).then(() => Promise.reject(new Error(`timed out after ${ms} ms: ${detail()}`)))]);
}

describe('the Runner seam', () => {
  it('LocalRunner runs the iterations in this process to the same end, and stops at --max-iterations', async () => {
    const root = durableRepo();
    const first = await new LocalRunner().run({ plan: PLAN, root, sandbox: sandboxFlag.length === 0, maxIterations: 2 });
    expect(first).toMatchObject({ signal: 'CONTINUE', iterations: 2 });
    const rest = await new LocalRunner().run({ plan: PLAN, root, sandbox: sandboxFlag.length === 0 });
    expect(rest.signal).toBe('TASK_COMPLETE');
    const { rows, status } = readLog(root);
    expect(status).toBe('complete');
    expect(rows.filter((row) => row.notes.startsWith('step done'))).toHaveLength(9);
  }, 60_000);

  it("names a plan's durable runs by its path, so a run in progress is found and joined", () => {
    expect(workflowPrefix('plans/p.md')).toMatch(/^deepplan:plans\/p\.md:[0-9a-f]{12}:$/);
    expect(workflowPrefix('plans/p.md')).not.toBe(workflowPrefix('plans/q.md'));
    // Two paths that read alike once cleaned still differ (the digest is of the path itself).
    expect(workflowPrefix('plans/a b.md')).not.toBe(workflowPrefix('plans/a_b.md'));
  });
});
