import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lintText } from '../src/lint/lint.js';
import { wavesHome } from '../src/runners/waves.js';
import { allStepRefs, liveDoneSteps } from './support/log-steps.js';
import { runCli } from './support/fixtures.js';
import { removeScaleRepos } from './support/scale-repos.js';
import {
  answerEach,
  expectNothingLeftRunning,
  inspect,
  runAndKillInFlight,
  sandboxFlag,
  siblingWaveRepo,
  WAVE_PLAN,
  waveSteps,
  workingCopies,
} from './support/waves-repos.js';

/**
 * Waves that stop waiting for a person, at exactly the points that once made them hard to finish: every working copy
 * cut short in its action three runs in a row (each copy's step then fails a third time, and the merged log stalls),
 * and two sibling phases blocked at once. Several phases can wait for a person at the same time; each is answered on
 * its own (`deepplan approve <plan> <phase>` clears the blockers of that phase only), and the plan then finishes.
 */

afterAll(removeScaleRepos);

const signalOf = (stdout: string) => stdout.trim().split('\n').pop();
const run = (root: string) => runCli(['run', WAVE_PLAN, '--loop', '--parallel', '4', ...sandboxFlag], root);
/** The phase whose approval a blocker asks for (the test's own reading of the blocker text). */
const askedFor = (blocker: string) => /deepplan approve plans\/w\.md (P\d+)/.exec(blocker)?.[1] ?? /^(P\d+)[ .:]/.exec(blocker)?.[1];

describe('deepplan run --parallel, resumed at the points that matter', () => {
  it('every copy cut short three runs in a row: every phase that stalls waits at once, each is answered, then TASK_COMPLETE', async () => {
    const root = siblingWaveRepo(4);
    // Each write is new (a time stamp): an action the kill cut short after its write must not make the retry's write a
    // no-change. While the runs are killed, the siblings' steps take 20 s (the shared brief's keeps 200 ms): the four copies' actions
    // overlap however busy the machine is (the kill comes as soon as all four are in flight, so the length costs
    // nothing; on a loaded CI machine the four copies once took more than a second to start, and a step of one second
    // ended before the last began). The copies keep that script; the runs that finish use new copies, made after it is
    // set back to steps of 200 ms.
    const put = join(root, 'scripts/put.mjs');
    const quick = readFileSync(put, 'utf8').replace("lines.join('\\n') + '\\n'", "lines.join('\\n') + '\\n' + Date.now() + '\\n'");
    writeFileSync(put, quick.replace('setTimeout(resolve, 200)', "setTimeout(resolve, file.startsWith('out/p') ? 20000 : 200)"));
    expect(readFileSync(put, 'utf8')).toMatch(/20000 : 200\)[^]*Date\.now\(\)/);
    const siblings = ['P2', 'P3', 'P4', 'P5'];
    for (let kill = 1; kill <= 3; kill++) {
      const killed = await runAndKillInFlight(root, 4, siblings.length);
      expect(killed.killed, `kill ${kill}: ${killed.stderr}`).toBe(true);
      // Each copy's action (a step of 20 s) dies with the run that started it.
      await expectNothingLeftRunning(root, `kill ${kill}`);
      inspect(root, `kill ${kill}`);
    }
    writeFileSync(put, quick);
    // Each copy holds the action the last kill cut short; the plan has the rows of the first two.
    expect(workingCopies(root).filter((name) => !name.includes('.'))).toEqual(siblings);
    expect(inspect(root, 'killed').rows.filter((row) => row.result === 'failed')).toHaveLength(4);

    // The copies' rows are merged: 8 rows without progress in a row. The 5th stops the plan, and each copy's after it
    // names its own phase: the plan waits at all four at once (before, it waited at one and kept the others' rows).
    const first = await run(root);
    expect(signalOf(first.stdout), first.stderr).toBe('BLOCKED_NEED_HUMAN');
    const blocked = inspect(root, 'blocked');
    expect(blocked.rows.filter((row) => row.result === 'failed')).toHaveLength(8);
    expect(blocked.blockers.map(askedFor)).toEqual(siblings);
    expect(blocked.phase).toBe('P2');

    // Answering P2 leaves the other three waiting; P2 is not waiting any more.
    const p2 = await runCli(['approve', WAVE_PLAN, 'P2', '--retry', '--note', 'killed runs'], root);
    expect(p2.code, p2.stderr).toBe(0);
    expect(p2.stdout).toMatch(/^P2 cleared for another try by Test Approver \(log row 10\); the plan still waits for a person at P3, P4, P5: 6 iterations/);
    const after = inspect(root, 'P2 answered');
    expect(after.blockers.map(askedFor)).toEqual(['P3', 'P4', 'P5']);
    expect([after.phase, after.status, after.rows.at(-1)!.signal]).toEqual(['P3', 'blocked', 'BLOCKED_NEED_HUMAN']);
    const again = await runCli(['approve', WAVE_PLAN, 'P2', '--retry'], root);
    expect([again.code, again.stderr.trim().split('\n')]).toEqual([
      1,
      [expect.stringMatching(/^deepplan: P2 is not waiting for a person \(the plan is blocked at P3, not P2/)],
    ]);
    // A run now stops at once: the plan still waits. It only logs the action the last kill cut short in P2's old copy
    // (P2 starts over in a new one), as a run without --parallel logs an action in flight after an approval.
    const still = await run(root);
    expect(signalOf(still.stdout), still.stderr).toBe('BLOCKED_NEED_HUMAN');
    const waiting = inspect(root, 'still waiting');
    expect(waiting.rows).toHaveLength(11);
    expect(waiting.rows.at(-1)).toMatchObject({ phase: 'P2', result: 'failed', signal: 'BLOCKED_NEED_HUMAN' });
    expect(waiting.blockers.map(askedFor)).toEqual(['P3', 'P4', 'P5']);

    // A person may answer them in any order: the blocker of P4 asks for P4's approval, though the plan stands at P3.
    const p4 = await runCli(['approve', WAVE_PLAN, 'P4', '--retry', '--note', 'killed runs'], root);
    expect(p4.code, p4.stderr).toBe(0);
    expect(p4.stdout).toMatch(/; the plan still waits for a person at P3, P5: /);
    await answerEach(root, inspect(root, 'answer the rest'), 'the rest');
    // The answered phases start over in new copies; the actions the last kill cut short, in the old copies, are logged
    // first: every action a kill cut short is in the log once, three per phase, each from its own killed run.
    const last = await run(root);
    expect(signalOf(last.stdout), last.stderr).toBe('TASK_COMPLETE');
    const done = inspect(root, 'done');
    expect(liveDoneSteps(done.rows)).toEqual(allStepRefs(waveSteps(4)));
    const failed = done.rows.filter((candidate) => candidate.result === 'failed');
    for (const row of failed) expect(row.notes).toMatch(/^outcome unknown: /);
    for (const phase of siblings) {
      const cut = failed.filter((row) => row.phase === phase).map((row) => /pid (\d+)/.exec(row.notes)?.[1]);
      expect(cut, phase).toHaveLength(3);
      expect(new Set(cut).size, phase).toBe(3);
    }
    expect(lintText(done.text, join(root, WAVE_PLAN)).filter((finding) => finding.severity === 'error')).toEqual([]);
    expect(workingCopies(root)).toEqual([]);
  }, 90_000);

  it('two siblings blocked at once: the plan waits at both, approve answers the phase it names, the other still waits', async () => {
    // P3 and P4 start with a tool that is not there yet: each copy's first iteration blocks in pre-flight.
    const root = siblingWaveRepo(3, [
      ['  commands: [node scripts/]', '  commands: [node scripts/, scripts/late.sh]'],
      ['run: `node scripts/put.mjs out/p3/s1.md "P3 first"`', 'run: `scripts/late.sh out/p3/s1.md "P3 first"`'],
      ['run: `node scripts/put.mjs out/p4/s1.md "P4 first"`', 'run: `scripts/late.sh out/p4/s1.md "P4 first"`'],
    ]);
    const first = await run(root);
    expect(signalOf(first.stdout), first.stderr).toBe('BLOCKED_NEED_HUMAN');
    const blocked = inspect(root, 'blocked');
    expect(blocked.blockers.map(askedFor).sort()).toEqual(['P3', 'P4']);
    const waitsAt = blocked.phase!;
    const other = waitsAt === 'P3' ? 'P4' : 'P3';
    expect(
      blocked.rows
        .filter((row) => row.result === 'blocked')
        .map((row) => row.phase)
        .sort(),
    ).toEqual(['P3', 'P4']);

    // P2 ran beside them; it stopped after its first step, when the plan began to wait, and its copy stays.
    expect(workingCopies(root)).toContain('P2');
    expect(readFileSync(join(root, 'out/p2/s1.md'), 'utf8')).not.toBe('');
    // Meanwhile a person rewrites P2's first draft in the repository: no copy may overwrite it.
    writeFileSync(join(root, 'out/p2/s1.md'), 'rewritten by a person\n');

    // The person installs the tool and answers the phase the plan stands at: the other phase still waits.
    writeFileSync(join(root, 'scripts/late.sh'), '#!/bin/sh\nmkdir -p "$(dirname "$1")"\necho "$2" > "$1"\n');
    chmodSync(join(root, 'scripts/late.sh'), 0o755);
    const one = await runCli(['approve', WAVE_PLAN, waitsAt, '--retry', '--note', 'installed late.sh'], root);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toContain(`; the plan still waits for a person at ${other}: ${other} pre-flight: scripts/late.sh`);
    const half = inspect(root, 'one answered');
    expect([half.phase, half.status, half.blockers.map(askedFor)]).toEqual([other, 'blocked', [other]]);
    expect(half.rows.at(-1)).toMatchObject({ action: `${waitsAt} approve`, result: 'ok', signal: 'BLOCKED_NEED_HUMAN' });
    const stillBlocked = await run(root);
    expect(signalOf(stillBlocked.stdout), stillBlocked.stderr).toBe('BLOCKED_NEED_HUMAN');

    const two = await runCli(['approve', WAVE_PLAN, other, '--retry', '--note', 'installed late.sh'], root);
    expect(two.code, two.stderr).toBe(0);
    expect(two.stdout).toMatch(new RegExp(`^${other} cleared for another try by Test Approver \\(log row \\d+\\); next: `));
    const last = await run(root);
    expect(signalOf(last.stdout), last.stderr).toBe('TASK_COMPLETE');
    const done = inspect(root, 'done');
    expect(liveDoneSteps(done.rows)).toEqual(allStepRefs(waveSteps(3)));
    expect(workingCopies(root)).toEqual([]);
    // P2's copy, older than the person's draft, was made again from the repository: the person's draft stands.
    expect(readFileSync(join(root, 'out/p2/s1.md'), 'utf8')).toBe('rewritten by a person\n');
    expect(readFileSync(join(root, 'out/p2/s2.md'), 'utf8')).toBe('P2 second\n');
  }, 90_000);

  it('removes the copies of a plan that ended blocked once a run without --parallel finishes it, or once its repository is gone', async () => {
    const blocked = async () => {
      const root = siblingWaveRepo(2, [
        ['  commands: [node scripts/]', '  commands: [node scripts/, scripts/late.sh]'],
        ['run: `node scripts/put.mjs out/p3/s1.md "P3 first"`', 'run: `scripts/late.sh out/p3/s1.md "P3 first"`'],
      ]);
      const first = await run(root);
      expect(signalOf(first.stdout), first.stderr).toBe('BLOCKED_NEED_HUMAN');
      expect(
        workingCopies(root)
          .filter((name) => !name.includes('.'))
          .sort(),
      ).toEqual(['P2', 'P3']);
      writeFileSync(join(root, 'scripts/late.sh'), '#!/bin/sh\nmkdir -p "$(dirname "$1")"\necho "$2" > "$1"\n');
      chmodSync(join(root, 'scripts/late.sh'), 0o755);
      expect((await runCli(['approve', WAVE_PLAN, 'P3', '--retry'], root)).code).toBe(0);
      return root;
    };
    // Finished without --parallel: its last iteration removes the copies.
    const serial = await blocked();
    const finished = await runCli(['run', WAVE_PLAN, '--loop', ...sandboxFlag], serial);
    expect(signalOf(finished.stdout), finished.stderr).toBe('TASK_COMPLETE');
    expect(workingCopies(serial)).toEqual([]);
    // Its repository removed: the next --parallel run of any plan removes its copies.
    const gone = await blocked();
    rmSync(gone, { recursive: true, force: true });
    expect(existsSync(wavesHome(join(gone, WAVE_PLAN)))).toBe(true);
    const other = siblingWaveRepo(2);
    const done = await run(other);
    expect(signalOf(done.stdout), done.stderr).toBe('TASK_COMPLETE');
    expect(existsSync(wavesHome(join(gone, WAVE_PLAN)))).toBe(false);
    expect(workingCopies(other)).toEqual([]);
  }, 90_000);
});
