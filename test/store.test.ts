import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parsePlan } from '../src/plan/parse.js';
import { PlanFileError, readPlanFile, RevisionConflictError, updatePlanFile } from '../src/plan/store.js';
import { appendLogRow, setState } from '../src/plan/update.js';
import { SMALL_PLAN, SMALL_PLAN_SKILLS, edit, makeRepo } from './support/fixtures.js';

const roots: string[] = [];

afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** A repository holding the small plan (or `text`) at plans/weekly.md, alone in its folder; returns the plan's path. */
function planFile(text: string | Buffer = SMALL_PLAN): string {
  const root = makeRepo(SMALL_PLAN_SKILLS);
  roots.push(root);
  mkdirSync(join(root, 'plans'));
  const path = join(root, 'plans', 'weekly.md');
  writeFileSync(path, text);
  return path;
}

function planDir(path: string): string {
  return join(path, '..');
}

/** One iteration as the executor writes it: a log row, and state.iteration in step with the log. */
function iteration(action: string) {
  return (text: string, plan: ReturnType<typeof parsePlan>): string => {
    const rows = plan.log?.rows.length ?? 0;
    const withRow = appendLogRow(text, {
      when: `2026-11-20T10:${String(rows).padStart(2, '0')}:00Z`,
      phase: 'P1',
      action,
      result: 'ok',
      signal: 'CONTINUE',
    });
    return setState(withRow, { iteration: rows + 1, next_action: `after ${action}` });
  };
}

function revisionOf(path: string): number | undefined {
  return parsePlan(readFileSync(path, 'utf8')).meta.state?.revision;
}

/** Resolves with the process id of a child that has exited (so no process has that id any more). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const pid = child.pid;
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', () => resolve());
  });
  if (pid === undefined) throw new Error('the child got no pid');
  // A zombie still answers kill(pid, 0); the exit event comes after it was reaped, so this must throw ESRCH.
  expect(() => process.kill(pid, 0)).toThrow();
  return pid;
}

describe('updatePlanFile', () => {
  it('bumps state.revision by exactly 1 per write and hands the edit the current text and plan', async () => {
    const path = planFile();
    const seen: Array<[number | undefined, boolean]> = [];
    for (let i = 1; i <= 3; i++) {
      const before = readFileSync(path, 'utf8');
      const result = await updatePlanFile(path, (text, plan) => {
        seen.push([plan.meta.state?.revision, text === before]);
        return iteration(`P1.1 run step ${i}`)(text, plan);
      });
      expect(result.meta.state?.revision).toBe(i);
      expect(revisionOf(path)).toBe(i);
      expect(result.text).toBe(readFileSync(path, 'utf8'));
    }
    expect(seen).toEqual([
      [0, true],
      [1, true],
      [2, true],
    ]);
    const plan = parsePlan(readFileSync(path, 'utf8'));
    expect(plan.diagnostics).toEqual([]);
    expect(plan.meta.state?.iteration).toBe(3);
    expect(plan.log?.rows.map((row) => row.action)).toEqual(['P1.1 run step 1', 'P1.1 run step 2', 'P1.1 run step 3']);
  });

  it('changes nothing but the revision line when the edit changes nothing', async () => {
    const path = planFile();
    await updatePlanFile(path, (text) => text);
    const before = SMALL_PLAN.split('\n');
    const after = readFileSync(path, 'utf8').split('\n');
    expect(after).toHaveLength(before.length);
    const changed = after.flatMap((line, index) => (line === before[index] ? [] : [[before[index], line]]));
    expect(changed).toEqual([['  revision: 0', '  revision: 1']]);
  });

  it('sets the revision itself, whatever the edit wrote there', async () => {
    const path = planFile();
    const result = await updatePlanFile(path, (text) => setState(text, { revision: 42 }));
    expect(result.meta.state?.revision).toBe(1);
    expect(revisionOf(path)).toBe(1);
  });

  it('serialises concurrent writers of one process: 20 at once give 20 rows and revision 20', async () => {
    const path = planFile();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => updatePlanFile(path, iteration(`P1.1 run step ${i + 1}`), { lockWaitMs: 20_000 })));
    expect(results.map((plan) => plan.meta.state?.revision).sort((a, b) => a! - b!)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const plan = parsePlan(readFileSync(path, 'utf8'));
    expect(plan.meta.state?.revision).toBe(20);
    expect(plan.meta.state?.iteration).toBe(20);
    expect(plan.log?.rows.map((row) => row.number)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(new Set(plan.log?.rows.map((row) => row.action)).size).toBe(20);
  });

  it('throws RevisionConflictError with a one-line message when expectedRevision is stale, and leaves the file alone', async () => {
    const path = planFile();
    await updatePlanFile(path, iteration('P1.1 run first'), { expectedRevision: 0 });
    const bytes = readFileSync(path);
    const edit = vi.fn((text: string) => text);
    const error = await updatePlanFile(path, edit, { expectedRevision: 0 }).then(
      () => null,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(RevisionConflictError);
    expect(error).toBeInstanceOf(PlanFileError);
    const conflict = error as RevisionConflictError;
    expect(conflict.expected).toBe(0);
    expect(conflict.actual).toBe(1);
    expect(conflict.message).not.toMatch(/\n/);
    expect(conflict.message).toContain(path);
    expect(conflict.message).toMatch(/expected revision 0, found 1/);
    expect(edit).not.toHaveBeenCalled();
    expect(readFileSync(path).equals(bytes)).toBe(true);
    expect(existsSync(`${path}.lock`)).toBe(false);

    const next = await updatePlanFile(path, iteration('P1.1 run second'), { expectedRevision: 1 });
    expect(next.meta.state?.revision).toBe(2);
  });

  it('refuses an edit that destroys the front matter and leaves the file byte-for-byte unchanged', async () => {
    const path = planFile();
    await updatePlanFile(path, iteration('P1.1 run first'));
    const bytes = readFileSync(path);
    await expect(updatePlanFile(path, (text) => text.replace(/^---\n/, ''))).rejects.toThrow(/front matter/);
    expect(readFileSync(path).equals(bytes)).toBe(true);
    // The lock was released: the next writer gets in at once.
    await updatePlanFile(path, iteration('P1.1 run second'), { lockWaitMs: 200 });
    expect(revisionOf(path)).toBe(2);
  });

  it('refuses an edit that would leave state unreadable (an invalid state.iteration)', async () => {
    const path = planFile();
    const bytes = readFileSync(path);
    const error = await updatePlanFile(path, (text) => edit(text, '  iteration: 0', '  iteration: lots')).then(
      () => null,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(PlanFileError);
    expect((error as Error).message).toMatch(/^refusing to write .*weekly\.md: the update would leave it unreadable/);
    expect(readFileSync(path).equals(bytes)).toBe(true);
  });

  it('lets an exception of the edit through and leaves the file and the lock as they were', async () => {
    const path = planFile();
    const bytes = readFileSync(path);
    await expect(
      updatePlanFile(path, () => {
        throw new Error('the edit failed');
      }),
    ).rejects.toThrow('the edit failed');
    expect(readFileSync(path).equals(bytes)).toBe(true);
    expect(existsSync(`${path}.lock`)).toBe(false);
    expect(existsSync(`${path}.lock.json`)).toBe(false);
  });

  it('refuses to update a file that does not parse', async () => {
    const broken = edit(SMALL_PLAN, '  iteration: 0', '  iteration: [0');
    const path = planFile(broken);
    await expect(updatePlanFile(path, (text) => text)).rejects.toThrow(/^cannot update .*weekly\.md: line \d+: YAML/);
    expect(readFileSync(path, 'utf8')).toBe(broken);
  });

  it("gives PlanFileError 'cannot read ... no such file' for a missing plan, and leaves no lock behind", async () => {
    const dir = planDir(planFile());
    const missing = join(dir, 'missing.md');
    const error = await updatePlanFile(missing, (text) => text).then(
      () => null,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(PlanFileError);
    expect((error as Error).message).toBe(`cannot read ${missing}: no such file`);
    expect(readdirSync(dir)).toEqual(['weekly.md']);
    await expect(readPlanFile(missing)).rejects.toThrow(`cannot read ${missing}: no such file`);
    // In a folder that does not exist either, it still says so in one line.
    const nowhere = join(dir, 'no-such-folder', 'plan.md');
    await expect(updatePlanFile(nowhere, (text) => text)).rejects.toThrow(/^cannot (read|lock) .*plan\.md: no such file$/);
  });

  it('gives up with "locked by another deepplan process" after lockWaitMs while a live writer holds the lock', async () => {
    const path = planFile();
    const bytes = readFileSync(path);
    // What a live writer holds: proper-lockfile's folder and the owner record naming a running process (this one).
    const release = await lockfile.lock(path, { realpath: false });
    writeFileSync(`${path}.lock.json`, JSON.stringify({ pid: process.pid, host: hostname() }));
    try {
      const started = Date.now();
      // Longer than the grace after which an unrecorded lock counts as abandoned: a recorded live one never does.
      const error = await updatePlanFile(path, (text) => text, { lockWaitMs: 1_500 }).then(
        () => null,
        (caught: unknown) => caught,
      );
      const waited = Date.now() - started;
      expect(error).toBeInstanceOf(PlanFileError);
      expect((error as Error).message).toBe(`${path} is locked by another deepplan process; try again when it has finished`);
      expect(waited).toBeGreaterThanOrEqual(1_490);
      expect(waited).toBeLessThan(6_000);
      expect(readFileSync(path).equals(bytes)).toBe(true);
      expect(existsSync(`${path}.lock`)).toBe(true);
    } finally {
      rmSync(`${path}.lock.json`);
      await release();
    }
    // Once the lock is free, the same write goes through.
    await updatePlanFile(path, (text) => text, { lockWaitMs: 300 });
    expect(revisionOf(path)).toBe(1);
  });

  it('keeps a lock whose recorded owner is alive, or on another host', async () => {
    const path = planFile();
    mkdirSync(`${path}.lock`);
    for (const owner of [
      { pid: process.pid, host: hostname() },
      { pid: await deadPid(), host: `not-${hostname()}` },
    ]) {
      writeFileSync(`${path}.lock.json`, JSON.stringify(owner));
      await expect(updatePlanFile(path, (text) => text, { lockWaitMs: 200 })).rejects.toThrow(/is locked by another deepplan process/);
      expect(existsSync(`${path}.lock`)).toBe(true);
      expect(revisionOf(path)).toBe(0);
    }
  });

  it('clears at once a lock whose recorded owner process on this host is dead', async () => {
    const path = planFile();
    const pid = await deadPid();
    // A fresh lock: proper-lockfile alone would wait 10 s for it to go stale, far beyond lockWaitMs.
    mkdirSync(`${path}.lock`);
    writeFileSync(`${path}.lock.json`, JSON.stringify({ pid, host: hostname() }));
    const started = Date.now();
    const result = await updatePlanFile(path, iteration('P1.1 run after a crash'), { lockWaitMs: 2_000 });
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(result.meta.state?.revision).toBe(1);
    expect(existsSync(`${path}.lock`)).toBe(false);
    expect(existsSync(`${path}.lock.json`)).toBe(false);
  });

  it.each([
    ['no owner record', null],
    ['an empty (half-written) owner record', ''],
  ])('clears a lock folder with %s after a short grace, long before the 10 s stale timeout', async (_name, record) => {
    // What a writer killed between creating the lock folder and recording itself (or between removing its record
    // and the folder) leaves behind.
    const path = planFile();
    mkdirSync(`${path}.lock`);
    if (record !== null) writeFileSync(`${path}.lock.json`, record);
    const started = Date.now();
    const result = await updatePlanFile(path, iteration('P1.1 run after a crash'), { lockWaitMs: 5_000 });
    const waited = Date.now() - started;
    expect(result.meta.state?.revision).toBe(1);
    // A live writer records itself within milliseconds, so the folder is only taken after a grace of a second.
    expect(waited).toBeGreaterThanOrEqual(900);
    expect(waited).toBeLessThan(5_000);
    expect(readdirSync(planDir(path))).toEqual(['weekly.md']);
  });

  it('gives the lock back and fails in one line when it cannot record the lock owner', async () => {
    const path = planFile();
    mkdirSync(`${path}.lock.json`);
    const error = await updatePlanFile(path, (text) => text, { lockWaitMs: 200 }).then(
      () => null,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(PlanFileError);
    expect((error as Error).message).toBe(`cannot lock ${path}: cannot record the lock's owner in ${path}.lock.json: is a directory`);
    expect(existsSync(`${path}.lock`)).toBe(false);
    expect(revisionOf(path)).toBe(0);
  });

  it.each([
    ['CRLF', SMALL_PLAN.replace(/\n/g, '\r\n'), false],
    ['BOM', `\uFEFF${SMALL_PLAN}`, true],
    ['CRLF and BOM', `\uFEFF${SMALL_PLAN.replace(/\n/g, '\r\n')}`, true],
  ])('keeps %s through updates', async (_name, text, bom) => {
    const path = planFile(text);
    const crlf = text.includes('\r\n');
    await updatePlanFile(path, iteration('P1.1 run first'));
    await updatePlanFile(path, iteration('P1.1 run second'));
    const bytes = readFileSync(path);
    const written = bytes.toString('utf8');
    const bomBytes = Buffer.from([0xef, 0xbb, 0xbf]);
    expect(bytes.subarray(0, 3).equals(bomBytes)).toBe(bom);
    // Exactly one BOM, never two.
    expect(bytes.subarray(3, 6).equals(bomBytes)).toBe(false);
    if (crlf) expect(written).not.toMatch(/(?<!\r)\n/);
    else expect(written).not.toContain('\r');
    const plan = parsePlan(written);
    expect(plan.diagnostics).toEqual([]);
    expect(plan.bom).toBe(bom);
    expect(plan.meta.state).toMatchObject({ revision: 2, iteration: 2, next_action: 'after P1.1 run second' });
    expect(plan.log?.rows.map((row) => [row.number, row.action])).toEqual([
      [1, 'P1.1 run first'],
      [2, 'P1.1 run second'],
    ]);
    // Apart from the rows and the state lines, the file is the original byte for byte.
    const strip = (value: string) =>
      value
        .replace(/^\uFEFF/, '')
        .split(/\r?\n/)
        .filter((line) => !/^\| \d+ \|/.test(line) && !/^ {2}(iteration|revision|next_action):/.test(line));
    expect(strip(written)).toEqual(strip(text));
  });

  it('leaves no temp files, lock folder or owner record beside the plan', async () => {
    const path = planFile();
    for (let i = 1; i <= 5; i++) await updatePlanFile(path, iteration(`P1.1 run step ${i}`));
    await expect(updatePlanFile(path, (text) => text.replace(/^---\n/, ''))).rejects.toThrow();
    await expect(updatePlanFile(path, (text) => text, { expectedRevision: 0 })).rejects.toThrow(RevisionConflictError);
    expect(readdirSync(planDir(path))).toEqual(['weekly.md']);
    expect(revisionOf(path)).toBe(5);
  });
});

/** Bytes this process has read through read(2) and its kin so far (Linux's /proc/self/io), or null where there is none. */
function bytesRead(): number | null {
  try {
    return Number(/^rchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))![1]);
  } catch {
    return null;
  }
}

describe('a read of a plan this process wrote last', () => {
  /** A plan with `rows` log rows, the last one's state in step. */
  const longPlan = (rows: number) => {
    let text = SMALL_PLAN;
    for (let k = 1; k <= rows; k++) {
      text += `| ${k} | 2026-11-20T10:00:00Z | P1 | P1.1 run step ${k} with a note long enough to make the row a line | ok | CONTINUE | row ${k} |\n`;
    }
    return setState(text, { iteration: rows });
  };

  it.skipIf(bytesRead() === null)('reads only its head again, not the log, and gives the plan as written', async () => {
    const path = planFile(longPlan(4000));
    const written = await updatePlanFile(path, iteration('P1.1 run one more'));
    const before = bytesRead()!;
    const read = await readPlanFile(path);
    const read2 = await readPlanFile(path);
    const took = bytesRead()! - before;
    expect(readFileSync(path).length).toBeGreaterThan(400_000);
    // Two reads of the head (the front matter) and the file's own stat: a few kB, not twice 400 kB.
    expect(took).toBeLessThan(20_000);
    for (const plan of [read, read2]) {
      expect(plan.text).toBe(written.text);
      expect(plan.log!.rows).toHaveLength(4001);
      expect(plan.meta.state?.revision).toBe(written.meta.state?.revision);
    }
    // Not parsed again: the plan the write parsed its text into, for a read through the same path.
    expect(read).toBe(written);
    expect(read2).toBe(written);
    // Through another spelling of the path, parsed (its plan names the path as given), and the same plan.
    const other = `${path.slice(0, -'weekly.md'.length)}../plans/weekly.md`;
    const again = await readPlanFile(other);
    expect(again).not.toBe(written);
    expect(again.path).toBe(other);
    expect({ ...again, path: null, pointAt: null, log: again.log!.rows }).toEqual({ ...written, path: null, pointAt: null, log: written.log!.rows });
  });

  it('sees a change made since by anyone else, of the same size, in the log or the head', async () => {
    const path = planFile(longPlan(50));
    const written = await updatePlanFile(path, iteration('P1.1 run one more'));
    const text = readFileSync(path, 'utf8');
    // A row changed in place, keeping the file's size (after a clock tick, as any later write comes).
    await new Promise((resolve) => setTimeout(resolve, 20));
    writeFileSync(path, text.replace('| row 7 |', '| row X |'));
    const changed = await readPlanFile(path);
    expect(changed.log!.rows[6]!.notes).toBe('row X');
    expect(changed).not.toBe(written);
    // And the next_action in the front matter, the same length again.
    const edited = readFileSync(path, 'utf8');
    await new Promise((resolve) => setTimeout(resolve, 20));
    writeFileSync(path, edited.replace('after P1.1 run one more', 'after P1.1 run one mXre'));
    expect((await readPlanFile(path)).meta.state?.next_action).toBe('after P1.1 run one mXre');
    // A new file in its place (an editor's save), with the same bytes: read whole, and the same plan.
    const replaced = `${path}.new`;
    writeFileSync(replaced, edited);
    renameSync(replaced, path);
    expect((await readPlanFile(path)).meta.state?.next_action).toBe('after P1.1 run one more');
  });
});
