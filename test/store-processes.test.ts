import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, it, type ExpectStatic } from 'vitest';
import { contextFor, lintPlan } from '../src/lint/lint.js';
import { decodePlan, parsePlan } from '../src/plan/parse.js';
import type { Plan } from '../src/plan/types.js';
import { PROJECT_ROOT, SMALL_PLAN, SMALL_PLAN_SKILLS, makeRepo } from './support/fixtures.js';

// The acceptance test of safe writes: real processes, real locks, real SIGKILLs. The writers run the built
// library (dist/), the checks here use the sources; `npm test` builds dist/ before vitest runs.

const WORKER = join(PROJECT_ROOT, 'test', 'support', 'plan-writer.mjs');
const BUILT = ['store', 'update', 'parse', 'text', 'schema'].map((name) => ({
  source: join(PROJECT_ROOT, 'src', 'plan', `${name}.ts`),
  built: join(PROJECT_ROOT, 'dist', 'plan', `${name}.js`),
}));

const roots: string[] = [];
let cacheRoot: string | null = null;
const children = new Set<ChildProcess>();

beforeAll(() => {
  for (const { source, built } of BUILT) {
    if (!existsSync(built)) {
      throw new Error(`${built} is missing: run \`npm run build\` first (\`npm test\` does), the writer processes import dist/`);
    }
    if (statSync(source).mtimeMs > statSync(built).mtimeMs) {
      throw new Error(`${built} is older than ${source}: run \`npm run build\` first (\`npm test\` does)`);
    }
  }
});

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
  cacheRoot = null;
});

function compileCache(): string {
  if (cacheRoot === null) {
    cacheRoot = mkdtempSync(join(tmpdir(), 'deepplan-compile-cache-'));
    roots.push(cacheRoot);
  }
  return cacheRoot;
}

/** A repository with the small plan under plans/ as each of `names`; returns their paths. */
function plans(...names: string[]): string[] {
  const root = makeRepo(SMALL_PLAN_SKILLS);
  roots.push(root);
  mkdirSync(join(root, 'plans'));
  return names.map((name) => {
    const path = join(root, 'plans', name);
    writeFileSync(path, SMALL_PLAN);
    return path;
  });
}

interface Writer {
  child: ChildProcess;
  /** Complete lines of standard output so far. */
  lines: string[];
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when a line matching `pattern` has been printed (rejects if the writer exits first). */
  waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<void>;
}

function startWriter(plan: string, count: number, label: string, flags: string[] = []): Writer {
  const child = spawn(process.execPath, [WORKER, plan, String(count), label, ...flags], {
    // Dozens of writers start: Node's compile cache makes each start a third cheaper.
    env: { ...process.env, NODE_COMPILE_CACHE: compileCache() },
    stdio: [flags.includes('--wait-go') ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const lines: string[] = [];
  const waiters: Array<{ pattern: RegExp; resolve: () => void }> = [];
  let partial = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      for (const waiter of waiters.filter((candidate) => candidate.pattern.test(line))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderr += chunk;
  });
  // 'close' comes after the pipes are drained, so `lines` then holds everything the writer printed.
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
  });
  const waitFor = (pattern: RegExp, timeoutMs = 20_000) => {
    if (lines.some((line) => pattern.test(line))) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`writer ${label} printed no ${pattern} in ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
      waiters.push({
        pattern,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
      void exit.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`writer ${label} exited (code ${code}, signal ${signal}) before printing ${pattern}; stderr: ${stderr}`));
      });
    });
  };
  return { child, lines, stderr: () => stderr, exit, waitFor };
}

/** The revisions a writer reported (`end <n> <revision>`). */
function reportedRevisions(writer: Writer): number[] {
  return writer.lines.flatMap((line) => {
    const match = /^end \d+ (\d+)$/.exec(line);
    return match ? [Number(match[1])] : [];
  });
}

/** Reads the plan from disk and checks what must hold in every version of it; returns the plan. */
function checkInStep(expect: ExpectStatic, path: string, context: string): Plan {
  const decoded = decodePlan(readFileSync(path));
  if ('error' in decoded) throw new Error(`${context}: ${decoded.error.message}`);
  const plan = parsePlan(decoded.text, { path });
  expect(plan.diagnostics, context).toEqual([]);
  const rows = plan.log?.rows ?? [];
  expect(
    rows.map((row) => row.number),
    `${context}: rows numbered without gaps`,
  ).toEqual(rows.map((_, index) => index + 1));
  expect(plan.meta.state?.iteration, `${context}: state.iteration = log rows`).toBe(rows.length);
  // Every write of the writers adds one row and one revision, and the plan starts at revision 0 with no rows.
  expect(plan.meta.state?.revision, `${context}: state.revision = log rows`).toBe(rows.length);
  const last = rows[rows.length - 1];
  if (last) expect(plan.meta.state?.next_action, `${context}: next_action of the last row`).toBe(`Continue after ${last.notes}`);
  const findings = lintPlan(plan, contextFor(path)).filter(
    (finding) => finding.ruleId === 'parse' || finding.ruleId === 'state-consistency' || finding.ruleId === 'iteration-log',
  );
  expect(findings, `${context}: lint`).toEqual([]);
  return plan;
}

describe('safe writes across processes', () => {
  it('two processes × 200 updates of one plan lose nothing', async ({ expect }) => {
    const [path] = plans('shared.md') as [string];
    const initial = parsePlan(SMALL_PLAN).meta.state!.revision;
    const writers = ['A', 'B'].map((label) => startWriter(path, 200, label, ['--pause=3', '--wait-go']));
    // Both start writing at the same moment, so their writes really contend.
    await Promise.all(writers.map((writer) => writer.waitFor(/^ready$/)));
    for (const writer of writers) writer.child.stdin!.end('go\n');
    const exits = await Promise.all(writers.map((writer) => writer.exit));
    exits.forEach((exit, index) => {
      expect(exit, `writer ${'AB'[index]} stderr: ${writers[index]!.stderr()}`).toEqual({ code: 0, signal: null });
    });

    const plan = checkInStep(expect, path, 'after 2 × 200 writes');
    const rows = plan.log!.rows;
    expect(rows).toHaveLength(400);
    expect(rows.map((row) => row.number)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    expect(plan.meta.state?.iteration).toBe(400);
    expect(plan.meta.state?.revision).toBe(initial + 400);
    for (const label of ['A', 'B']) {
      // Every row of each writer, exactly once, in the writer's own order.
      const own = rows.filter((row) => row.notes.startsWith(`${label}#`)).map((row) => row.notes);
      expect(own).toEqual(Array.from({ length: 200 }, (_, i) => `${label}#${i + 1}`));
    }
    // Each write got a revision of its own: no two writes were made from the same version of the file.
    const revisions = writers.flatMap(reportedRevisions).sort((a, b) => a - b);
    expect(revisions).toEqual(Array.from({ length: 400 }, (_, i) => initial + i + 1));
    // The writers really took turns (otherwise this test would prove little about concurrency).
    const turns = rows.filter((row, index) => index > 0 && row.notes[0] !== rows[index - 1]!.notes[0]).length;
    expect(turns).toBeGreaterThanOrEqual(2);
    expect(readdirSync(join(path, '..'))).toEqual(['shared.md']);
  }, 90_000);

  it('a writer killed with SIGKILL at random moments (≥ 50 times) always leaves the plan parseable, state and log in step', async ({ expect }) => {
    const LANES = 5;
    const KILLS_PER_LANE = 10;
    const paths = plans(...Array.from({ length: LANES }, (_, lane) => `lane-${lane}.md`));
    const stats = { kills: 0, midRun: 0, insideUpdate: 0, lockHeld: 0, landedUnreported: 0 };

    const lane = async (path: string, laneIndex: number) => {
      for (let kill = 1; kill <= KILLS_PER_LANE; kill++) {
        const context = `lane ${laneIndex}, kill ${kill}`;
        const rowsBefore = parsePlan(readFileSync(path, 'utf8')).log!.rows.length;
        // A writer that would run far longer than we let it; each must clear the lock a killed one left behind
        // well before the 10 s stale timeout, or it fails on the 3 s lock wait.
        const writer = startWriter(path, 1_000_000, `L${laneIndex}K${kill}`, ['--lock-wait=3000']);
        await writer.waitFor(/^ready$/);
        if (Math.random() < 0.5) {
          // Some random time into the run: the first writes.
          await delay(Math.random() * 80);
        } else {
          // After a random number of writes, a random time into the next one.
          await writer.waitFor(new RegExp(`^end ${1 + Math.floor(Math.random() * 3)} `));
          await delay(Math.random() * 20);
        }
        writer.child.kill('SIGKILL');
        const exit = await writer.exit;
        expect(exit, `${context}: the writer must die of the kill, not on its own; stderr: ${writer.stderr()}`).toEqual({
          code: null,
          signal: 'SIGKILL',
        });
        stats.kills++;

        const ends = writer.lines.filter((line) => line.startsWith('end ')).length;
        const begins = writer.lines.filter((line) => line.startsWith('begin ')).length;
        if (begins > 0 && !writer.lines.includes('done')) stats.midRun++;
        if (begins > ends) stats.insideUpdate++;
        if (existsSync(`${path}.lock`)) stats.lockHeld++;

        const plan = checkInStep(expect, path, context);
        const rowsAfter = plan.log!.rows.length;
        // Every write the writer saw succeed is on disk; at most one more (killed after the rename, before it returned).
        expect(rowsAfter, `${context}: rows written`).toBeGreaterThanOrEqual(rowsBefore + ends);
        expect(rowsAfter, `${context}: rows written`).toBeLessThanOrEqual(rowsBefore + ends + (begins > ends ? 1 : 0));
        if (rowsAfter > rowsBefore + ends) stats.landedUnreported++;
      }

      // A fresh writer still gets in at once, however the last one died.
      const started = Date.now();
      const fresh = startWriter(path, 3, `L${laneIndex}fresh`, ['--lock-wait=3000']);
      const exit = await fresh.exit;
      expect(exit, `lane ${laneIndex}: fresh writer; stderr: ${fresh.stderr()}`).toEqual({ code: 0, signal: null });
      expect(Date.now() - started).toBeLessThan(8_000);
      const plan = checkInStep(expect, path, `lane ${laneIndex}, fresh writer`);
      expect(plan.log!.rows.slice(-3).map((row) => row.notes)).toEqual([1, 2, 3].map((n) => `L${laneIndex}fresh#${n}`));
      expect(existsSync(`${path}.lock`)).toBe(false);
      expect(existsSync(`${path}.lock.json`)).toBe(false);
    };

    await Promise.all(paths.map((path, index) => lane(path, index)));

    // Temp files of writes cut short are left beside the plans (nothing removes them after a SIGKILL); reported only.
    const names = new Set(paths.map((path) => basename(path)));
    const tempFilesLeft = readdirSync(join(paths[0]!, '..')).filter((name) => !names.has(name)).length;
    console.info(`SIGKILL stats: ${JSON.stringify({ ...stats, tempFilesLeft })}`);
    expect(stats.kills).toBeGreaterThanOrEqual(50);
    // The kills landed while writes were going on, not before the first or after the last.
    expect(stats.midRun).toBeGreaterThanOrEqual(40);
    expect(stats.insideUpdate).toBeGreaterThanOrEqual(25);
    // Many left the lock behind, and the next writer had to clear it.
    expect(stats.lockHeld).toBeGreaterThanOrEqual(10);
  }, 90_000);
});
