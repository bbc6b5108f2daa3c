import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runIteration } from '../src/execute/iteration.js';
import { lockPlan, runLockOf } from '../src/plan/store.js';
import { checkInStep, compileCache, dealRepo, eightWriters, PLAN, readPlan, removeDealRepos, sandboxFlag, start, stepOf } from './support/deal-writers.js';
import { edits } from './support/plan-text.js';

/**
 * Every writer of a plan takes the same lock, and an action that ran is never thrown away. `review` and plan-level
 * `approve` used to write the plan while a `run --once` had an action in flight; the run then found the revision
 * moved, threw the finished action away ("changed underneath"), and the next run logged a false "outcome unknown"
 * row and did the step again. The same eight writers over 20 rounds: test/long/writers-concurrency.test.ts.
 */

afterAll(removeDealRepos);

describe('eight processes writing one plan: run --once, approve (plan and phase) and review', () => {
  it('lose no action that ran and log no false "outcome unknown" (4 rounds, two-step phases so that gates come up)', async () => {
    await eightWriters({ rounds: 4, phases: 8, steps: 2, least: { effects: 4, reviewWrites: 6, phaseApprovals: 1, planApprovals: 1 } });
    // 32 starts of the CLI: ~15 s on a busy two-core machine.
  }, 120_000);
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
    const text = edits(readFileSync(path, 'utf8'), [
      ['2. run: `node scripts/deal-step.mjs P1.2 globex-expansion`', '2. run: `node scripts/meddle.mjs learning P1.2`'],
      ['3. run: `node scripts/deal-step.mjs P1.3 initech-pilot`', '3. run: `node scripts/meddle.mjs step P1.3`'],
    ]);
    writeFileSync(path, text);
    writeFileSync(join(root, 'scripts/meddle.mjs'), MEDDLE);
    return root;
  }
  // The plan file is read-only to every command in the sandbox; without it, a step stands in for the other writer.
  const iterate = (root: string) => runIteration({ planPath: join(root, PLAN), root, config: {}, models: null, sandbox: false });

  it("records the row on the fresh text when the change leaves it meaningful, keeping the other writer's change", async () => {
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
    expect(report.rows.map((row) => [row.number, row.action, row.result, row.signal])).toEqual([
      [3, 'P1.3 run node scripts/meddle.mjs step P1.3', 'ok', 'BLOCKED_NEED_HUMAN'],
    ]);
    expect(report.blockers).toHaveLength(1);
    expect(report.blockers[0]).toMatch(
      /^P1: the plan changed while P1\.3 ran \(step P1\.3 was changed or removed\); its row is recorded as it happened; check the plan, then deepplan approve .*deals\.md P1 --retry$/,
    );
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
    const release = await lockPlan(
      runLockOf(path),
      5_000,
      (holder) => heard.push(`waiting for ${holder}`),
      (holder) => heard.push(`took over from ${holder}`),
    );
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
    const cache = compileCache();
    const result = await start(root, 'run', ['run', PLAN, '--once', ...sandboxFlag], cache);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(/^waiting: /m);
    expect(result.stdout.trim().split('\n').at(-1)).toBe('CONTINUE');
    expect(checkInStep(root, 'after the take-over').log!.rows.map((row) => stepOf(row))).toEqual(['P1.1']);
    expect(existsSync(lock)).toBe(false);
  });
});
