import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { runIteration, type IterationReport } from '../src/execute/iteration.js';
import { approvePhase } from '../src/execute/approve.js';
import { runLoop } from '../src/execute/loop.js';
import { hasFiles } from '../src/execute/executors.js';
import { lintText } from '../src/lint/lint.js';
import { parsePlan } from '../src/plan/parse.js';
import { setState } from '../src/plan/update.js';
import { edit, runCli } from './support/fixtures.js';
import { SCRIPTED_PLAN, scriptedRepo } from './support/scripted.js';

function readPlan(root: string) {
  return parsePlan(readFileSync(join(root, 'plans/p.md'), 'utf8'));
}

function errorsOf(root: string): string[] {
  const path = join(root, 'plans/p.md');
  return lintText(readFileSync(path, 'utf8'), path)
    .filter((finding) => finding.severity === 'error')
    .map((finding) => `${finding.ruleId}: ${finding.message}`);
}

function iterate(root: string, options: { commit?: boolean } = {}): Promise<IterationReport> {
  return runIteration({ planPath: join(root, 'plans/p.md'), root, config: {}, models: null, ...options });
}

/** Iterations until a signal other than CONTINUE (or `limit`). */
async function loop(root: string, limit = 30): Promise<IterationReport[]> {
  const reports: IterationReport[] = [];
  await runLoop({ iterate: () => iterate(root), limit, onEvent: (event) => event.type === 'iteration' && reports.push(event.report) });
  return reports;
}

const lastLine = (text: string) => text.trim().split('\n').pop();

describe('deepplan run on a scripted plan', () => {
  it('runs to the human gate, waits without writing, and after approve runs to TASK_COMPLETE; the finished plan lints clean', async () => {
    const root = scriptedRepo();
    const first = await runCli(['run', 'plans/p.md', '--loop'], root);
    expect(lastLine(first.stdout)).toBe('BLOCKED_NEED_HUMAN');
    expect(first.code, first.stderr).toBe(3);
    expect(first.stderr).toContain('blocked: P3 gate: waiting for approval by Ana, account lead');
    const blocked = readPlan(root);
    expect(blocked.meta.status).toBe('blocked');
    expect(blocked.meta.state?.blockers?.[0]).toMatch(/^P3 gate: waiting for approval/);
    expect(blocked.phases.map((phase) => phase.status)).toEqual(['done', 'done', 'blocked']);
    expect(errorsOf(root)).toEqual([]);

    // Blocked: another run does nothing and writes nothing.
    const before = readFileSync(join(root, 'plans/p.md'), 'utf8');
    const again = await runCli(['run', 'plans/p.md', '--once'], root);
    expect([again.code, lastLine(again.stdout)]).toEqual([3, 'BLOCKED_NEED_HUMAN']);
    expect(readFileSync(join(root, 'plans/p.md'), 'utf8')).toBe(before);

    const approve = await runCli(['approve', 'plans/p.md', 'P3', '--note', 'Ana: the page reads well'], root);
    expect(approve.code, approve.stderr).toBe(0);
    expect(approve.stdout).toContain('next: verify the success criteria');
    const last = await runCli(['run', 'plans/p.md', '--loop'], root);
    expect([last.code, lastLine(last.stdout)]).toEqual([0, 'TASK_COMPLETE']);

    const plan = readPlan(root);
    expect(plan.meta.status).toBe('complete');
    expect(plan.criteria?.map((criterion) => criterion.checked)).toEqual([true, true, true]);
    expect(plan.phases.map((phase) => phase.status)).toEqual(['done', 'done', 'done']);
    const rows = plan.log!.rows;
    expect(rows.map((row) => row.number)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(rows.map((row) => row.action.split(' ').slice(0, 2).join(' '))).toEqual([
      'P1.1 /fetch-notes',
      'P2.1 /write-summary',
      'P3.1 /publish-page',
      'P3.2 run',
      'P3 approve',
      'P3 gate',
    ]);
    expect(rows.map((row) => row.signal)).toEqual(['CONTINUE', 'CONTINUE', 'CONTINUE', 'BLOCKED_NEED_HUMAN', 'CONTINUE', 'TASK_COMPLETE']);
    expect(plan.meta.state).toMatchObject({ iteration: 6, phase: null, blockers: [] });
    expect(plan.learnings?.map((entry) => entry.text)).toEqual(['P3 (approval): Ana: the page reads well']);
    expect(readFileSync(join(root, 'out/summary.md'), 'utf8')).toBe('- Acme: renewed\n- Globex: paused\n- Initech: new\n');
    expect(errorsOf(root)).toEqual([]);

    // Complete: nothing more to do, nothing written.
    const done = await runCli(['run', 'plans/p.md', '--once'], root);
    expect([done.code, lastLine(done.stdout)]).toEqual([0, 'TASK_COMPLETE']);
    expect(readPlan(root).log!.rows.length).toBe(6);
  });

  it('a success criterion that fails at the end is named in the blocker with what it checks', async () => {
    const root = scriptedRepo(
      edit(
        SCRIPTED_PLAN,
        '- [ ] SC2: The summary has one line per account. verify: \`test "$(grep -c \'^- \' out/summary.md)" -ge 3\`',
        '- [ ] SC2: The summary is signed. verify: \`grep -q Signed out/summary.md\`',
      ),
    );
    await loop(root);
    await approvePhase(join(root, 'plans/p.md'), 'P3');
    const [report] = await loop(root);
    expect(report!.signal).toBe('BLOCKED_NEED_HUMAN');
    expect(report!.blockers[0]).toMatch(
      /^every phase is done but success criteria fail: SC2 "The summary is signed", verify `grep -q Signed out\/summary\.md` \(exit 1\); fix them, then deepplan approve \S+ P3 --retry$/,
    );
  });

  it('finishing on the last allowed iteration is a completion, not a budget stop', async () => {
    const root = scriptedRepo(edit(SCRIPTED_PLAN, 'max_iterations: 15', 'max_iterations: 6'));
    await loop(root);
    // A gate whose Done when passed: nothing to say about it.
    expect((await approvePhase(join(root, 'plans/p.md'), 'P3')).unmet).toBeNull();
    const [report] = await loop(root);
    expect(report!.signal).toBe('TASK_COMPLETE');
    expect(readPlan(root).log!.rows.length).toBe(6);
  });

  it('stops with a summary when the budget is spent, and stays stopped', async () => {
    const root = scriptedRepo(edit(SCRIPTED_PLAN, 'max_iterations: 15', 'max_iterations: 2'));
    const reports = await loop(root);
    expect(reports.map((report) => report.signal)).toEqual(['CONTINUE', 'BLOCKED_NEED_HUMAN']);
    const plan = readPlan(root);
    expect(plan.meta.state?.blockers?.[0]).toMatch(
      /^Budget spent: 2 of 2 iterations used; phases done 2\/3 \(at P2: Write the summary\); criteria verified 0\/3/,
    );
    const again = await iterate(root);
    expect(again.signal).toBe('BLOCKED_NEED_HUMAN');
    expect(readPlan(root).log!.rows.length).toBe(2);
    await expect(approvePhase(join(root, 'plans/p.md'), 'P3', { retry: true })).rejects.toThrow(/not waiting|budget/);
    await expect(approvePhase(join(root, 'plans/p.md'), 'P2', { retry: true })).rejects.toThrow(/raise budget.max_iterations/);
  });

  it('blocks a scripted step that failed 3 times; after the fix, approve --retry lets it run again and the log still lints', async () => {
    const plan = edit(SCRIPTED_PLAN, '2. run: `node scripts/put.mjs out/published.txt https://wiki.example/summary`', '2. run: `node scripts/flaky.mjs`');
    const root = scriptedRepo(plan, { 'scripts/flaky.mjs': 'console.error("wiki is down"); process.exit(2);\n' });
    const failed = (await loop(root)).slice(-3);
    expect(failed.map((report) => report.rows[0]!.result)).toEqual(['failed', 'failed', 'failed']);
    expect(failed.map((report) => report.signal)).toEqual(['CONTINUE', 'CONTINUE', 'BLOCKED_NEED_HUMAN']);
    expect(failed[2]!.blockers[0]).toMatch(/^P3\.2 failed 3 times \(last: exit 2: wiki is down\); a scripted step has no alternative/);
    expect(readPlan(root).log!.rows.at(-1)!.notes).toBe('exit 2: wiki is down');
    expect(errorsOf(root)).toEqual([]);

    writeFileSync(join(root, 'scripts/flaky.mjs'), 'import { writeFileSync } from "node:fs"; writeFileSync("out/published.txt", "ok\\n");\n');
    await approvePhase(join(root, 'plans/p.md'), 'P3', { retry: true, note: 'the wiki is back' });
    const rest = await loop(root);
    expect(rest.at(-1)!.signal).toBe('BLOCKED_NEED_HUMAN');
    expect(rest.at(-1)!.blockers[0]).toMatch(/^P3 gate: waiting for approval/);
    expect(rest.map((report) => report.rows[0]!.action.split(' ')[0])).toEqual(['P3.1', 'P3.2']);
    const after = readPlan(root);
    expect(after.learnings?.map((entry) => entry.text)).toContain('P3.2: failed before (exit 2: wiki is down), then succeeded');
    expect(errorsOf(root)).toEqual([]);
  });

  it('blocks after 5 iterations without progress', async () => {
    const steps = ['1. /fetch-notes "- Acme renewed"', ...[2, 3, 4, 5, 6, 7].map((n) => `${n}. run: \`node scripts/noop.mjs ${n}\``)].join('\n');
    // Seven steps in P1: 11 actions in all, so the budget the rule asks for is 20.
    const plan = edit(edit(SCRIPTED_PLAN, '1. /fetch-notes "- Acme renewed" "- Globex paused"', steps), 'max_iterations: 15', 'max_iterations: 20');
    const root = scriptedRepo(plan, { 'scripts/noop.mjs': '' });
    const reports = await loop(root);
    expect(reports.map((report) => report.rows[0]!.result)).toEqual(['ok', 'no-change', 'no-change', 'no-change', 'no-change', 'no-change']);
    expect(reports.at(-1)!.signal).toBe('BLOCKED_NEED_HUMAN');
    expect(reports.at(-1)!.blockers[0]).toMatch(/^5 iterations without progress/);
    expect(errorsOf(root)).toEqual([]);
  });

  it('blocks a phase whose Done when fails after every scripted step ran', async () => {
    const root = scriptedRepo(edit(SCRIPTED_PLAN, 'verify: `test -s out/summary.md`', 'verify: `grep -q Initrode out/summary.md`'));
    const reports = await loop(root);
    expect(reports.at(-1)!.signal).toBe('BLOCKED_NEED_HUMAN');
    expect(reports.at(-1)!.blockers[0]).toMatch(/^P2: every step ran but the Done when check fails \(Done when exit 1\)/);
    expect(readPlan(root).phases[1]!.status).toBe('blocked');
  });

  it('a step whose command names a gate completes like any step (only the Action reference makes a gate row)', async () => {
    const step = '2. run: `node scripts/put.mjs out/published.txt https://wiki.example/summary`';
    const root = scriptedRepo(edit(SCRIPTED_PLAN, step, '2. run: `node scripts/put.mjs out/published.txt the gate review passed`'));
    const reports = await loop(root);
    expect(reports.at(-1)!.blockers[0]).toMatch(/^P3 gate: waiting for approval/);
    const rows = readPlan(root).log!.rows.filter((row) => row.action.startsWith('P3.2 '));
    expect(rows.map((row) => row.notes.split(';')[0])).toEqual(['step done']);
  });

  it('will not finish a phase whose mapped skill was never invoked (runtime skill drift)', async () => {
    const plan = edit(
      SCRIPTED_PLAN,
      '1. /write-summary "- Acme: renewed" "- Globex: paused" "- Initech: new"',
      '1. run: `node scripts/put.mjs out/summary.md "- Acme"`',
    );
    const root = scriptedRepo(plan);
    const reports = await loop(root);
    expect(reports.at(-1)!.blockers[0]).toMatch(/^P2 cannot be done: skill \/write-summary mapped to it was never invoked \(skill drift\)/);
  });

  it('refuses a run: step outside scope.commands, and a command writing outside scope fails in the sandbox', async () => {
    const root = scriptedRepo(edit(SCRIPTED_PLAN, '1. /fetch-notes "- Acme renewed" "- Globex paused"', '1. run: `curl -o notes/week.md http://example.com`'));
    const [report] = await loop(root);
    expect(report!.rows[0]).toMatchObject({ result: 'blocked', signal: 'BLOCKED_NEED_HUMAN' });
    expect(report!.blockers[0]).toMatch(/does not start with an allowed prefix \(scope.commands: node scripts\/\)/);

    const outside = scriptedRepo(
      edit(SCRIPTED_PLAN, '1. /fetch-notes "- Acme renewed" "- Globex paused"', '1. run: `node scripts/put.mjs scripts/hack.mjs x`'),
    );
    const [escaped] = await loop(outside);
    expect(escaped!.rows[0]!.result).toBe('failed');
    expect(escaped!.rows[0]!.notes).toMatch(/^exit 1: Error: EROFS: read-only file system/);
    expect(() => readFileSync(join(outside, 'scripts/hack.mjs'))).toThrow();
  });

  it("passes a tool skill's arguments as plain words: substitutions stay text, operators are refused", async () => {
    // $( ) and $VAR inside double quotes would be expanded by sh -c; quoted word by word they are only text.
    const substituted = scriptedRepo(
      edit(SCRIPTED_PLAN, '1. /fetch-notes "- Acme renewed" "- Globex paused"', '1. /fetch-notes "- Acme $(touch pwned)" "- Globex $HOME"'),
    );
    const [first] = await loop(substituted, 1);
    expect(first!.rows[0]).toMatchObject({ result: 'ok' });
    expect(readFileSync(join(substituted, 'notes/week.md'), 'utf8')).toBe('- Acme $(touch pwned)\n- Globex $HOME\n');
    expect(existsSync(join(substituted, 'pwned'))).toBe(false);

    for (const args of ['x; touch pwned', 'x && touch pwned', 'x | tee pwned', 'x > pwned', 'notes/../../etc/passwd']) {
      const root = scriptedRepo(edit(SCRIPTED_PLAN, '1. /fetch-notes "- Acme renewed" "- Globex paused"', `1. /fetch-notes ${args}`));
      const [report] = await loop(root, 1);
      expect(report!.rows[0], args).toMatchObject({ result: 'blocked', signal: 'BLOCKED_NEED_HUMAN' });
      expect(report!.blockers[0], args).toMatch(/^P1\.1 is refused: the arguments ".*" (hold shell syntax|name a path with \.\.)/);
      expect(existsSync(join(root, 'pwned')), args).toBe(false);
    }
  });

  it('pre-flight blocks a phase that touches more than 20 files, and a plan on another branch', async () => {
    const files = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`notes/in-${i}.md`, 'x\n']));
    const wide = scriptedRepo(edit(SCRIPTED_PLAN, '- Inputs: notes/accounts.md', '- Inputs: notes/in-*.md'), files);
    const [report] = await loop(wide);
    expect(report!.blockers[0]).toMatch(/^P1 pre-flight: P1 touches 22 files \(over 20\); split it by entity/);
    expect(readPlan(wide).log!.rows[0]).toMatchObject({ result: 'blocked', signal: 'BLOCKED_NEED_HUMAN' });

    const root = scriptedRepo(edit(SCRIPTED_PLAN, 'owner: Ana, account lead', 'owner: Ana, account lead\nbranch: summary/week-47'));
    rmSync(join(root, '.git'), { recursive: true });
    execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: root });
    const [offBranch] = await loop(root);
    expect(offBranch!.blockers[0]).toMatch(/the plan runs on branch summary\/week-47 but main is checked out/);
  });

  it('logs an action whose outcome is unknown after a crash before anything is retried', async () => {
    const root = scriptedRepo();
    const path = join(root, 'plans/p.md');
    writeFileSync(
      path,
      setState(readFileSync(path, 'utf8'), {
        in_flight: 'P1.1 /fetch-notes "- Acme renewed" "- Globex paused" (started 2026-11-22T10:00:00Z, pid 999999)',
      } as never),
    );
    const report = await iterate(root);
    expect(report.rows.map((row) => row.result)).toEqual(['failed', 'ok']);
    expect(report.rows[0]!.notes).toMatch(/^outcome unknown: the run stopped after starting this action/);
    const plan = readPlan(root);
    expect((plan.meta.state as Record<string, unknown>)['in_flight']).toBeUndefined();
    expect(plan.meta.state?.iteration).toBe(2);
    expect(errorsOf(root)).toEqual([]);
  });

  it('commits the plan and the changed files after each iteration with --commit', async () => {
    const root = scriptedRepo();
    rmSync(join(root, '.git'), { recursive: true });
    const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' });
    git('init', '-q', '-b', 'main');
    git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '--allow-empty', '-m', 'start');
    const result = await runCli(['run', 'plans/p.md', '--once', '--commit'], root, {
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@example.com',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@example.com',
    });
    expect(result.code, result.stderr).toBe(0);
    expect(git('log', '--format=%s', '-1').trim()).toBe('deepplan: P1.1 ok, iteration 1');
    expect(git('show', '--name-only', '--format=', 'HEAD').trim().split('\n').sort()).toEqual(['notes/week.md', 'plans/p.md']);
  });

  it('a review gate with the offline reviewer sends back an output that still holds a placeholder', async () => {
    const plan = edit(SCRIPTED_PLAN, '- Depends on: P1\n- Done when', '- Depends on: P1\n- Gate: review\n- Done when');
    const root = scriptedRepo(edit(plan, '1. /write-summary "- Acme: renewed" "- Globex: paused" "- Initech: new"', '1. /write-summary "- Acme: TODO"'));
    const reports = await loop(root);
    expect(reports.map((report) => report.rows[0]!.action)).toContain('P2 gate review');
    expect(reports.at(-1)!.blockers[0]).toMatch(
      /^P2 gate: the reviewer asked for changes \(REVISE round 1: out\/summary.md still holds a placeholder \("TODO"\)\) and no step of the phase can revise them/,
    );
  });
});

describe('outputs of a phase', () => {
  it('finds files of a pattern whose glob is in the middle of the path, and not empty ones', () => {
    const root = scriptedRepo(SCRIPTED_PLAN, { 'crm/acme/sync.json': '{}\n', 'crm/globex/notes.md': 'x\n', 'out/empty.md': '' });
    expect(hasFiles(root, 'crm/*/sync.json')).toBe(true);
    expect(hasFiles(root, 'crm/*/missing.json')).toBe(false);
    expect(hasFiles(root, 'out/empty.md')).toBe(false);
    expect(hasFiles(root, 'notes/*.md')).toBe(true);
  });
});

describe('deepplan run: arguments and exit codes', () => {
  it('exits 2 on bad arguments, 1 on a plan that is not approved, 0 on CONTINUE', async () => {
    const root = scriptedRepo();
    expect((await runCli(['run', 'plans/p.md'], root)).code).toBe(2);
    expect((await runCli(['run', 'plans/missing.md', '--once'], root)).code).toBe(2);
    const draft = scriptedRepo(edit(SCRIPTED_PLAN, 'status: approved', 'status: draft'));
    const refused = await runCli(['run', 'plans/p.md', '--once'], draft);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^deepplan: plans\/p.md is draft, not approved; approve it for execution with deepplan approve plans\/p.md$/m);
    const once = await runCli(['run', 'plans/p.md', '--once'], root);
    expect([once.code, lastLine(once.stdout)]).toEqual([0, 'CONTINUE']);
    expect(once.stderr).toContain('next: P2.1: /write-summary');
    const loopTwo = await runCli(['run', 'plans/p.md', '--loop', '--max-iterations', '1'], root);
    expect([loopTwo.code, lastLine(loopTwo.stdout)]).toEqual([0, 'CONTINUE']);
    expect(readPlan(root).log!.rows.length).toBe(2);
  });

  it('without bubblewrap refuses to run commands unless --no-sandbox, and writes nothing', async () => {
    const root = scriptedRepo();
    const before = readFileSync(join(root, 'plans/p.md'), 'utf8');
    // PATH holds sh and node but not bwrap.
    const path = mkdtempSync(join(tmpdir(), 'deepplan-bin-'));
    symlinkSync('/bin/sh', join(path, 'sh'));
    symlinkSync(process.execPath, join(path, 'node'));
    const refused = await runCli(['run', 'plans/p.md', '--once'], root, { PATH: path });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^deepplan: bubblewrap \(bwrap\) is not installed, so commands cannot run sandboxed; install it \(Debian: apt-get install bubblewrap\) or pass --no-sandbox/,
    );
    expect(readFileSync(join(root, 'plans/p.md'), 'utf8')).toBe(before);
    const unsandboxed = await runCli(['run', 'plans/p.md', '--once', '--no-sandbox'], root, { PATH: path });
    expect([unsandboxed.code, lastLine(unsandboxed.stdout)]).toEqual([0, 'CONTINUE']);
    expect(readFileSync(join(root, 'notes/week.md'), 'utf8')).toBe('- Acme renewed\n- Globex paused\n');
  });

  it('approves a reviewed plan for execution only when it lints clean, and refuses a phase that is not waiting', async () => {
    const root = scriptedRepo(edit(SCRIPTED_PLAN, 'status: approved', 'status: in_review'));
    const ok = await runCli(['approve', 'plans/p.md'], root);
    expect(ok.code, ok.stderr).toBe(0);
    expect(readPlan(root).meta.status).toBe('approved');
    const notWaiting = await runCli(['approve', 'plans/p.md', 'P2'], root);
    expect(notWaiting.code).toBe(1);
    expect(notWaiting.stderr).toMatch(/P2 is not waiting for a person \(the plan is not blocked/);
    const broken = scriptedRepo(edit(edit(SCRIPTED_PLAN, 'status: approved', 'status: in_review'), '| newsletter-builder | Not a newsletter |\n', ''));
    const refused = await runCli(['approve', 'plans/p.md'], broken);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/cannot be approved: 1 lint error/);
  });
});
