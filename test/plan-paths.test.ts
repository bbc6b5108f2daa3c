import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bubblewrapAvailable } from '../src/execute/sandbox.js';
import { expandTargets, LintUsageError } from '../src/lint/lint.js';
import { MAX_PLAN_BYTES } from '../src/plan/parse.js';
import { checkPlanPath, PlanPathError, readPlanFile } from '../src/plan/store.js';
import { CLI, cliEnvironment } from './support/fixtures.js';
import { edit } from './support/plan-text.js';
import { SCRIPTED_PLAN, scriptedRepo } from './support/scripted.js';

/**
 * Plan paths that are no plan file: every command that takes a plan refuses them at once with one line, without
 * reading them (a symlink to /dev/zero once made `status` grow by 160 MB/s; a FIFO hung lint, status, review and run;
 * `review` of a symlink to /etc/shadow sent the file to the reviewer model). A path that exists is taken literally,
 * glob characters and all.
 */

const sandboxFlag = process.env['DEEPPLAN_TEST_NO_SANDBOX'] || !bubblewrapAvailable() ? ['--no-sandbox'] : [];
const TIME = '/usr/bin/time';
const measured = existsSync(TIME);
if (!measured) console.warn('plan path tests measure no memory: /usr/bin/time is not installed (apt-get install time)');

const SECRET = 'sk-live-do-not-read-this-0123456789';
const roots: string[] = [];
const servers: Server[] = [];
let root = '';
let outside = '';
let compileCache = '';

/** A repository holding the scripted plan and every kind of path that is not a plan file. */
beforeAll(async () => {
  root = scriptedRepo(SCRIPTED_PLAN, { 'plans/d.md': SCRIPTED_PLAN, 'plans/x-(v2).md': SCRIPTED_PLAN, 'plans/[draft].md': SCRIPTED_PLAN });
  outside = mkdtempSync(join(tmpdir(), 'deepplan-outside-'));
  compileCache = mkdtempSync(join(tmpdir(), 'deepplan-compile-cache-'));
  roots.push(root, outside, compileCache);
  writeFileSync(join(outside, 'secret.md'), `---\ndeepplan: 1\nid: secret\n---\n\n# ${SECRET}\n`);
  mkdirSync(join(outside, 'plans'));
  writeFileSync(join(outside, 'plans', 'other.md'), edit(SCRIPTED_PLAN, 'title: Weekly account summary', `title: ${SECRET}`));
  const plans = join(root, 'plans');
  symlinkSync('/dev/zero', join(plans, 'zero.md'));
  symlinkSync('/dev/urandom', join(plans, 'urandom.md'));
  symlinkSync(join(outside, 'secret.md'), join(plans, 'leak.md'));
  symlinkSync(join(outside, 'plans'), join(root, 'shared-plans'));
  mkdirSync(join(plans, 'folder.md'));
  const fifo = spawn('mkfifo', [join(plans, 'pipe.md')]);
  await new Promise((resolve, reject) => fifo.on('exit', (code) => (code === 0 ? resolve(null) : reject(new Error(`mkfifo exited ${code}`)))));
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(join(plans, 'socket.md'), resolve));
});

afterAll(() => {
  for (const server of servers) server.close();
  for (const dir of roots) rmSync(dir, { recursive: true, force: true });
});

interface Measured {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall-clock time. */
  ms: number;
  /** Processor time (user and system) of the command, in ms, and its peak resident memory, in MB (null without /usr/bin/time). */
  cpuMs: number | null;
  maxRssMb: number | null;
}

/** Runs the CLI under /usr/bin/time (for its peak memory), killed after 10 s if it hangs. */
function measure(args: string[]): Promise<Measured> {
  const command = measured ? TIME : process.execPath;
  const argv = measured ? ['-f', 'maxrss-kb=%M cpu-s=%U+%S', process.execPath, CLI, ...args] : [CLI, ...args];
  const started = performance.now();
  return new Promise((resolve, reject) => {
    // Node's compile cache makes each start a third cheaper (dozens of commands start here).
    const child = spawn(command, argv, { cwd: root, env: { ...cliEnvironment(), NODE_COMPILE_CACHE: compileCache }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const ms = performance.now() - started;
      const usage = /^maxrss-kb=(\d+) cpu-s=([\d.]+)\+([\d.]+)$/m.exec(stderr);
      // time's own lines: the peak memory and processor time, and "Command exited with non-zero status N".
      stderr = stderr.replace(/^maxrss-kb=.*\n?/m, '').replace(/^Command exited with non-zero status \d+\n?/m, '');
      resolve({
        code,
        stdout,
        stderr,
        ms,
        cpuMs: usage ? (Number(usage[2]) + Number(usage[3])) * 1000 : null,
        maxRssMb: usage ? Number(usage[1]) / 1024 : null,
      });
    });
  });
}

/** The arguments of each command for a plan path. */
const COMMANDS: Record<string, (path: string) => string[]> = {
  lint: (path) => ['lint', path],
  status: (path) => ['status', path],
  review: (path) => ['review', path],
  run: (path) => ['run', path, '--once', ...sandboxFlag],
};

/** What a refusal says, for a path under plans/ of the test repository. */
const SPECIAL: Array<[string, string, (shown: string) => RegExp]> = [
  ['a symlink to /dev/zero', 'plans/zero.md', (shown) => new RegExp(`^${shown} \\(a symlink to /dev/zero\\) is a character device; give a plan file$`)],
  [
    'a symlink to /dev/urandom',
    'plans/urandom.md',
    (shown) => new RegExp(`^${shown} \\(a symlink to /dev/urandom\\) is a character device; give a plan file$`),
  ],
  ['a FIFO', 'plans/pipe.md', (shown) => new RegExp(`^${shown} is a FIFO \\(named pipe\\); give a plan file$`)],
  ['a socket', 'plans/socket.md', (shown) => new RegExp(`^${shown} is a socket; give a plan file$`)],
  ['a directory', 'plans/folder.md', (shown) => new RegExp(`^${shown} is a directory; give a plan file$`)],
  [
    'a symlink out of the repository',
    'plans/leak.md',
    (shown) => new RegExp(`^${shown} leads to .*/secret\\.md, outside the repository .*; give a plan file inside it$`),
  ],
];

/** How the commands show the path: as given (review: as given or absolute). */
function shownAs(command: string, path: string): string {
  const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return command === 'review' ? `(?:${escaped(path)}|${escaped(join(root, path))})` : escaped(path);
}

/** Runs `jobs` two at a time (the machine has two cores; more at once would measure the scheduler, not deepplan). */
async function inPairs<T>(jobs: Array<() => Promise<T>>): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const index = next++;
      results[index] = await jobs[index]!();
    }
  };
  await Promise.all([worker(), worker()]);
  return results;
}

describe('a plan path that is no plan file', () => {
  const results = new Map<string, Measured>();
  beforeAll(async () => {
    const cases = Object.entries(COMMANDS).flatMap(([command, args]) => SPECIAL.map(([, path]) => ({ key: `${command} ${path}`, args: args(path) })));
    const measuredCases = await inPairs(
      cases.map(
        ({ args }) =>
          () =>
            measure(args),
      ),
    );
    cases.forEach(({ key }, index) => results.set(key, measuredCases[index]!));
  }, 60_000);

  for (const [command] of Object.entries(COMMANDS)) {
    describe(`deepplan ${command}`, () => {
      it.each(SPECIAL)('refuses %s within 2 s and 200 MB, with one line, reading nothing', (_name, path, message) => {
        const result = results.get(`${command} ${path}`)!;
        const lines = result.stderr.trim().split('\n');
        // review first says which roles run offline; the refusal is its last line.
        const refusal = lines.at(-1)!.replace(/^deepplan: /, '');
        // A directory is a target of lint (the plans in it); an empty one is the refusal there.
        const expected =
          command === 'lint' && path === 'plans/folder.md' ? /^no plan files \(\*\.md\) in the folder plans\/folder\.md$/ : message(shownAs(command, path));
        expect(refusal, result.stderr).toMatch(expected);
        expect(result.stderr).not.toMatch(/^\s+at /m);
        if (command !== 'review') expect(lines, result.stderr).toHaveLength(1);
        expect(result.code).toBe(2);
        expect(result.stdout).not.toMatch(/CONTINUE|TASK_COMPLETE/);
        expect(`${result.stdout}${result.stderr}`).not.toContain(SECRET);
        // Within 2 s of processor time, whatever else the machine runs (the wall clock of a shared test machine says
        // little). A FIFO that blocked the read would be killed after 10 s (no exit code); /dev/zero read whole would
        // take seconds of processor time and gigabytes.
        if (result.cpuMs !== null) expect(result.cpuMs).toBeLessThan(2_000);
        else expect(result.ms).toBeLessThan(2_000);
        if (result.maxRssMb !== null) expect(result.maxRssMb).toBeLessThan(200);
      });
    });
  }

  it.each<[string, string, string[]]>([
    ['approve', 'plans/pipe.md', []],
    ['approve', 'plans/zero.md', ['P1']],
    ['audit', 'plans/urandom.md', []],
    ['graph', 'plans/pipe.md', []],
  ])('%s refuses %s too, with one line and exit 2', async (command, path, extra) => {
    const result = await measure([command, path, ...extra]);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/^deepplan: plans\/\w+\.md (\(a symlink to \/dev\/\w+\) )?is a (FIFO \(named pipe\)|character device); give a plan file\n$/);
    if (result.cpuMs !== null) expect(result.cpuMs).toBeLessThan(2_000);
    // Nothing was locked on its behalf either.
    expect(readdirSync(join(root, 'plans')).filter((name) => name.startsWith(`${path.slice('plans/'.length)}.`))).toEqual([]);
  });

  it('review sends nothing and writes no report for a symlink out of the repository', async () => {
    const result = await measure(['review', 'plans/leak.md']);
    expect(result.code).toBe(2);
    expect(existsSync(join(root, 'reviews', 'secret'))).toBe(false);
    expect(existsSync(join(outside, 'reviews'))).toBe(false);
    // No lock folder or record was left beside the link.
    expect(readdirSync(join(root, 'plans')).filter((name) => name.startsWith('leak.md.'))).toEqual([]);
  });

  it('lint refuses a folder symlinked out of the repository, and a glob does not follow symlinks out of it', async () => {
    const folder = await measure(['lint', 'shared-plans']);
    expect(folder.code).toBe(2);
    expect(folder.stderr).toMatch(/^deepplan: shared-plans leads to .*\/plans, outside the repository .*; give a plan file inside it\n$/);
    expect(folder.stdout).not.toContain(SECRET);
    // The glob lists the regular files under plans/ only: no device, FIFO, socket or link is opened.
    const glob = await measure(['lint', '--format', 'json', 'plans/*.md']);
    if (glob.cpuMs !== null) expect(glob.cpuMs).toBeLessThan(2_000);
    const files = (JSON.parse(glob.stdout) as { files: Array<{ path: string }> }).files.map((file) => file.path).sort();
    expect(files).toEqual(['plans/[draft].md', 'plans/d.md', 'plans/p.md', 'plans/x-(v2).md']);
  });
});

describe('a plan path with glob characters', () => {
  /** lint, status, review and run of one file, in turn. */
  async function readLiterally(path: string): Promise<void> {
    const lint = await measure(['lint', '--format', 'json', path]);
    expect(lint.code, lint.stderr).toBe(0);
    // `[draft]` as a glob would match plans/d.md; the file that exists wins.
    expect((JSON.parse(lint.stdout) as { files: Array<{ path: string }> }).files.map((file) => file.path)).toEqual([path]);
    const status = await measure(['status', '--json', path]);
    expect(status.code, status.stderr).toBe(0);
    expect((JSON.parse(status.stdout) as { path: string }).path).toBe(path);
    const review = await measure(['review', '--no-revise', path]);
    expect([0, 1], review.stderr).toContain(review.code);
    expect(review.stdout).toContain(`${path}: review round 1 by offline/rules`);
    const run = await measure(['run', path, '--once', ...sandboxFlag]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim().split('\n').at(-1)).toBe('CONTINUE');
    expect(readFileSync(join(root, path), 'utf8')).toMatch(/^\| 1 \| .* \| P1 \| P1\.1 \/fetch-notes /m);
    for (const result of [lint, status, review, run]) if (result.maxRssMb !== null) expect(result.maxRssMb).toBeLessThan(200);
  }

  it('is read as the file it names by lint, status, review and run (plans/x-(v2).md, plans/[draft].md)', async () => {
    await Promise.all([readLiterally('plans/x-(v2).md'), readLiterally('plans/[draft].md')]);
  }, 40_000);
});

describe('the plan reader', () => {
  it('refuses devices, FIFOs, sockets, folders and links out of the repository with PlanPathError, before reading', async () => {
    for (const name of ['zero.md', 'urandom.md', 'pipe.md', 'socket.md', 'folder.md', 'leak.md']) {
      const path = join(root, 'plans', name);
      await expect(readPlanFile(path), name).rejects.toThrow(PlanPathError);
      expect(() => checkPlanPath(path), name).toThrow(PlanPathError);
    }
  });

  it('reads a symlink that stays inside the repository, and a regular file through it', async () => {
    const repo = scriptedRepo();
    roots.push(repo);
    symlinkSync('p.md', join(repo, 'plans', 'current.md'));
    const plan = await readPlanFile(join(repo, 'plans', 'current.md'));
    expect(plan.meta.id).toBe('weekly-summary');
    expect(plan.diagnostics.filter((diagnostic) => diagnostic.severity === 'error')).toEqual([]);
  });

  it('checks the repository given as root: a plan of another repository is refused there', () => {
    const repo = scriptedRepo();
    roots.push(repo);
    expect(() => checkPlanPath(join(outside, 'plans', 'other.md'), { root: repo })).toThrow(/outside the repository/);
    expect(checkPlanPath(join(outside, 'plans', 'other.md'))).toBe(join(outside, 'plans', 'other.md'));
  });

  it('reads at most the size limit and one byte more: a larger file is a parse error, not a read of all of it', async () => {
    const repo = scriptedRepo();
    roots.push(repo);
    const big = join(repo, 'plans', 'big.md');
    writeFileSync(big, Buffer.alloc(MAX_PLAN_BYTES + 1024 * 1024, 'a'));
    const plan = await readPlanFile(big);
    expect(plan.diagnostics).toHaveLength(1);
    expect(plan.diagnostics[0]!.message).toBe('file is 6.0 MB; plan files are limited to 5 MB');
  });

  it('lint takes a path that exists literally before expanding it as a glob, and refuses special paths as usage errors', () => {
    expect(expandTargets(['plans/[draft].md'], root)).toEqual([join(root, 'plans', '[draft].md')]);
    expect(expandTargets(['plans/x-(v2).md'], root)).toEqual([join(root, 'plans', 'x-(v2).md')]);
    expect(() => expandTargets(['plans/zero.md'], root)).toThrow(LintUsageError);
    expect(() => expandTargets(['plans/pipe.md'], root)).toThrow(/is a FIFO/);
    expect(() => expandTargets(['plans/no-such-(v3).md'], root)).toThrow(/^no files match plans\/no-such-\(v3\)\.md$/);
  });
});
