import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { approvalNotes, approverName, approverOf } from '../src/execute/history.js';
import { parsePlan } from '../src/plan/parse.js';
import { runCli, writeFile } from './support/fixtures.js';
import { scriptedRepo } from './support/scripted.js';

/**
 * `deepplan approve <plan> <phase>` names who approved in the log row: --by, else user.name of deepplan.config.yaml,
 * else git config user.name, else it refuses. Git's own configuration is replaced per test (GIT_CONFIG_GLOBAL), so
 * the machine's user.name never leaks in.
 */

const sandboxFlag = process.env['DEEPPLAN_TEST_NO_SANDBOX'] ? ['--no-sandbox'] : [];

/** An environment whose git knows `name` as user.name (or no name at all). */
function gitEnv(name: string | null): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'deepplan-gitconfig-'));
  const file = join(dir, 'gitconfig');
  writeFileSync(file, name === null ? '' : `[user]\n\tname = ${name}\n`);
  return { GIT_CONFIG_GLOBAL: file, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_COUNT: '0', HOME: dir, XDG_CONFIG_HOME: dir };
}

const planText = (root: string) => readFileSync(join(root, 'plans/p.md'), 'utf8');
const lastRow = (root: string) => parsePlan(planText(root)).log!.rows.at(-1)!;

let atGate: string;

/** A copy of the plan stopped at P3's human gate (a weekly account summary: fetch, write, publish with a gate). */
function gateCopy(config?: string): string {
  const copy = mkdtempSync(join(tmpdir(), 'deepplan-approve-'));
  cpSync(atGate, copy, { recursive: true });
  if (config !== undefined) writeFile(copy, 'deepplan.config.yaml', config);
  return copy;
}

beforeAll(async () => {
  atGate = scriptedRepo();
  const run = await runCli(['run', 'plans/p.md', '--loop', ...sandboxFlag], atGate);
  expect(run.stdout.trim().split('\n').pop(), run.stderr).toBe('BLOCKED_NEED_HUMAN');
}, 60_000);

describe('deepplan approve names who approved', () => {
  it('--by: the log row and the output name the person, whatever git says', async () => {
    const root = gateCopy();
    const approve = await runCli(['approve', 'plans/p.md', 'P3', '--by', '  Dana   Ruiz ', '--note', 'the page reads well'], root, gitEnv('Git Someone'));
    expect(approve.code, approve.stderr).toBe(0);
    expect(approve.stdout).toBe('P3 approved by Dana Ruiz (log row 5); next: verify the success criteria\n');
    expect(lastRow(root)).toMatchObject({ action: 'P3 approve', result: 'ok', notes: 'approved by Dana Ruiz: the page reads well' });
    // The learning keeps the note (the log row carries the name).
    expect(parsePlan(planText(root)).learnings?.map((entry) => entry.text)).toEqual(['P3 (approval): the page reads well']);
  });

  it('the configured user (user.name of deepplan.config.yaml) when there is no --by; --by still wins', async () => {
    const root = gateCopy('user:\n  name: Priya Natarajan\n');
    const approve = await runCli(['approve', 'plans/p.md', 'p3'], root, gitEnv('Git Someone'));
    expect(approve.code, approve.stderr).toBe(0);
    expect(lastRow(root).notes).toBe('approved by Priya Natarajan');

    const other = gateCopy('user:\n  name: Priya Natarajan\n');
    expect((await runCli(['approve', 'plans/p.md', 'P3', '--retry', '--by', 'Lee Okafor'], other, gitEnv(null))).code).toBe(0);
    expect(lastRow(other).notes).toBe('retry by Lee Okafor');
  });

  it('git config user.name when neither --by nor the configuration names anyone', async () => {
    const root = gateCopy();
    const approve = await runCli(['approve', 'plans/p.md', 'P3', '--note', 'ship it'], root, gitEnv('Lee Okafor'));
    expect(approve.code, approve.stderr).toBe(0);
    expect(lastRow(root).notes).toBe('approved by Lee Okafor: ship it');
  });

  it('refuses without a name (one line asking for --by, exit 2), and writes nothing', async () => {
    const root = gateCopy();
    const before = planText(root);
    const refused = await runCli(['approve', 'plans/p.md', 'P3', '--note', 'ship it'], root, gitEnv(null));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^deepplan: who approves\? give your name: deepplan approve plans\/p\.md P3 --by "[^"]+" .*\n$/);
    expect(planText(root)).toBe(before);

    // A name the log cannot hold, and --by where no gate is passed: usage errors too, and nothing written.
    const colon = await runCli(['approve', 'plans/p.md', 'P3', '--by', 'Dana: the lead'], root, gitEnv(null));
    expect(colon).toMatchObject({ code: 2, stderr: "deepplan: --by: the approver's name may not hold a colon: Dana: the lead\n" });
    const badConfig = gateCopy('user:\n  name: "Dana: lead"\n');
    expect((await runCli(['approve', 'plans/p.md', 'P3'], badConfig, gitEnv(null))).stderr).toMatch(/^deepplan: user\.name of deepplan\.config\.yaml: .*colon/);
    // A phase that is not waiting is refused as such (exit 1), before anyone is asked for a name.
    const notWaiting = await runCli(['approve', 'plans/p.md', 'P1'], root, gitEnv(null));
    expect(notWaiting).toMatchObject({ code: 1, stderr: expect.stringMatching(/^deepplan: P1 is not waiting for a person/) });
    const plan = await runCli(['approve', 'plans/p.md', '--by', 'Dana Ruiz'], root, gitEnv(null));
    expect(plan.code).toBe(2);
    expect(plan.stderr).toMatch(/^deepplan: --by names who passes a phase's gate/);
    const unknownKey = gateCopy('user:\n  nmae: Dana Ruiz\n');
    expect((await runCli(['approve', 'plans/p.md', 'P3'], unknownKey, gitEnv(null))).stderr).toBe(
      `deepplan: ${join(unknownKey, 'deepplan.config.yaml')}: unknown key user.nmae; did you mean name?\n`,
    );
    expect(planText(root)).toBe(before);
  });
});

describe("the approval row's notes, written and read in one place", () => {
  it('approvalNotes writes what approverOf reads; rows that name no one read as null', () => {
    for (const [options, notes] of [
      [{ by: 'Dana Ruiz', note: 'reads  well' }, 'approved by Dana Ruiz: reads well'],
      [{ by: 'Dana Ruiz', retry: true }, 'retry by Dana Ruiz'],
      [{ by: null, note: 'ok' }, 'approved: ok'],
    ] as const) {
      expect(approvalNotes(options)).toBe(notes);
      expect(approverOf({ notes })).toBe(options.by);
    }
    // Older rows, and notes that only mention a name, name no approver.
    expect(approverOf({ notes: 'approved: approved in the run dashboard' })).toBeNull();
    expect(approverOf({ notes: 'approved: by Michael' })).toBeNull();
    expect(approverOf({ notes: 'step done; approved by Dana' })).toBeNull();
    expect(approverName(' Ana\tSilva ')).toEqual({ name: 'Ana Silva' });
    for (const bad of ['', '   ', 'Ana: lead', 'Ana\u0007', 'x'.repeat(81)]) expect(approverName(bad)).toHaveProperty('problem');
  });
});
