import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { journalBytes, recoverInPlace, TAIL_SAMPLE } from '../src/plan/journal.js';
import { requestText } from '../src/execute/gate.js';
import { longLogOf, ROOM_OPEN, setInPlaceFrom, textOf } from '../src/plan/long-log.js';
import { lintFile } from '../src/lint/lint.js';
import { clearMemos } from '../src/plan/memos.js';
import { parsePlan } from '../src/plan/parse.js';
import { journalPathOf, readPlanFile, readPlanFileSync, updatePlanFile } from '../src/plan/store.js';
import { appendLearning, appendLogRow, setPhaseStatus, setState, tickCriterion } from '../src/plan/update.js';
import type { Plan } from '../src/plan/types.js';
import { BASES } from './corpus/bases.js';
import { PROJECT_ROOT, SMALL_PLAN, SMALL_PLAN_SKILLS, edit, logRows, makeRepo } from './support/fixtures.js';
import { seededRandom } from './support/random.js';

// Writes in place (src/plan/long-log.ts, src/plan/journal.ts): a plan with a long log gets its new rows written after
// its last byte and its head written over the old one, under an undo journal. These tests hold that such a write
// leaves exactly the file a whole write would have left (but for the room comment), that the plan it hands back is
// the plan its file parses to, that a write killed at any step is undone, and that a reader never sees half of one.

const roots: string[] = [];
let threshold = 0;
beforeAll(() => {
  // Small plans are written in place too here (the default is for logs of 32 kB and more).
  threshold = setInPlaceFrom(2048);
});
afterAll(() => {
  setInPlaceFrom(threshold);
});
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** The small plan with `count` rows in its log (one note with a character beyond Latin-1), state in step with them. */
function longPlan(count: number): string {
  const rows = Array.from({ length: count }, (_, k): [string, string, string, string, string, string] => [
    `2026-11-20T${String(8 + Math.floor(k / 3600)).padStart(2, '0')}:${String(Math.floor(k / 60) % 60).padStart(2, '0')}:${String(k % 60).padStart(2, '0')}Z`,
    'P1',
    `P1.${(k % 3) + 1} run node scripts/put.mjs notes/week-${k}.md`,
    k % 7 === 3 ? 'failed' : 'ok',
    'CONTINUE',
    k % 50 === 0 ? `checked — Zürich ${k}` : `row ${k}`,
  ]);
  const text = `${SMALL_PLAN}${logRows(rows)}\n`;
  return edit(edit(text, 'iteration: 0', `iteration: ${count}`), 'revision: 0', `revision: ${count}`);
}

/** What the engine's writes tell the store: their edits may be made in place (store.ts). */
const IN_PLACE = { inPlace: true } as const;

/** Where the journal of a write in place of the plan at `path` goes (in its repository's .deepplan/). */
const undoOf = (path: string) => journalPathOf(realpathSync(path));

function planFile(text: string, name = 'weekly.md'): string {
  const root = makeRepo(SMALL_PLAN_SKILLS);
  roots.push(root);
  mkdirSync(join(root, 'plans'), { recursive: true });
  const path = join(root, 'plans', name);
  writeFileSync(path, text);
  return path;
}

/** The k-th edit of a run of them: a row, the state, and now and then a phase's status, a tick, a learning. */
function step(k: number) {
  return (text: string, plan: Plan): string => {
    const count = plan.log!.lines!.count;
    let edited = appendLogRow(text, {
      when: `2026-11-21T10:${String(Math.floor(k / 60) % 60).padStart(2, '0')}:${String(k % 60).padStart(2, '0')}Z`,
      phase: k % 2 === 0 ? 'P1' : 'P2',
      action: `P${(k % 2) + 1}.${(k % 3) + 1} run node scripts/put.mjs out/${k}.md`,
      result: k % 5 === 0 ? 'failed' : 'ok',
      signal: 'CONTINUE',
      notes: k % 9 === 0 ? `a | pipe and ✓ ${k}` : `note ${k}`,
    });
    if (k % 4 === 0) edited = setPhaseStatus(edited, k % 8 === 0 ? 'P1' : 'P2', k % 8 === 0 ? 'active' : 'done');
    if (k % 6 === 0) edited = tickCriterion(edited, 'SC1', k % 12 === 0);
    // Learnings of many lengths, a long one now and then: the room runs out and a whole write makes more.
    if (k % 5 === 2) edited = appendLearning(edited, `Learning ${k}: ${'the step needs the week file first; '.repeat(k % 3 === 0 ? 40 : 2)}`);
    return setState(edited, { iteration: count + 1, next_action: `Step ${k}${'!'.repeat(k % 37)}`, phase: k % 2 === 0 ? 'P1' : 'P2' });
  };
}

/** The text of a plan written in place, without its room comment (which a whole write of a short log never adds). */
const withoutRoom = (text: string) => text.replace(new RegExp(`${ROOM_OPEN} *-->\\n\\n`), '');

/** What of a plan its readers read, for a comparison: every field, rows, problems, and points all through the text. */
function shape(plan: Plan) {
  const log = plan.log!;
  const points = [];
  for (let offset = 0; offset < plan.text.length; offset += 211) points.push(plan.pointAt(offset));
  points.push(plan.pointAt(plan.text.length - 1));
  return {
    text: plan.text,
    bom: plan.bom,
    eol: plan.eol,
    meta: plan.meta,
    frontMatter: plan.frontMatter && { ...plan.frontMatter, doc: null },
    sections: plan.sections,
    criteria: plan.criteria,
    constraints: plan.constraints,
    stakeholders: plan.stakeholders,
    skills: plan.skills,
    phases: plan.phases,
    learnings: plan.learnings,
    log: {
      headingLine: log.headingLine,
      header: log.header,
      headerLine: log.headerLine,
      rows: log.rows,
      problems: log.problems,
      insertOffset: log.insertOffset,
    },
    lines: {
      count: log.lines!.count,
      last: log.lines!.row(log.lines!.count - 1),
      failed: log.lines!.containing('| failed |'),
      pipes: log.lines!.containing('a \\| pipe'),
    },
    disabled: plan.disabled,
    diagnostics: plan.diagnostics,
    points,
  };
}

describe('a plan with a long log, written in place', () => {
  it('leaves the file a whole write leaves, and hands back the plan that file parses to (90 writes)', async () => {
    const start = longPlan(120);
    const inPlace = planFile(start);
    const whole = planFile(start, 'whole.md');
    let written = 0;
    for (let k = 0; k < 90; k++) {
      const plan = await updatePlanFile(inPlace, step(k), IN_PLACE);
      if (longLogOf(plan) !== null) written++;
      const before = setInPlaceFrom(Number.POSITIVE_INFINITY);
      try {
        await updatePlanFile(whole, step(k));
      } finally {
        setInPlaceFrom(before);
      }
      const text = readFileSync(inPlace, 'utf8');
      expect(withoutRoom(text), `write ${k}`).toBe(readFileSync(whole, 'utf8'));
      // The plan handed back is what the file parses to, and what this process reads back.
      expect(shape(plan), `write ${k}`).toEqual(shape(parsePlan(text, { path: inPlace })));
      expect(await readPlanFile(inPlace)).toBe(plan);
    }
    // All but the first (which makes the room) and those the room ran out at were made in place.
    expect(written).toBeGreaterThanOrEqual(80);
    expect(written).toBeLessThan(90);
    expect(readFileSync(inPlace, 'utf8')).toContain(ROOM_OPEN);
    expect(existsSync(undoOf(inPlace))).toBe(false);
    // The room comment is nothing to the rules: the plan lints as its twin written whole does (but for the lines).
    const findings = (path: string) =>
      lintFile(path, join(path, '..')).then((result) => result.findings.map((finding) => `${finding.ruleId}: ${finding.message}`));
    expect(await findings(inPlace)).toEqual(await findings(whole));
    // A process that never wrote it reads the same plan.
    clearMemos();
    expect(shape(await readPlanFile(inPlace))).toEqual(shape(parsePlan(readFileSync(inPlace, 'utf8'), { path: inPlace })));
  });

  it('joins the rows written since to the others every 64 rows, and reads the same across the join (150 writes)', async () => {
    const start = longPlan(120);
    const inPlace = planFile(start);
    const whole = planFile(start, 'whole.md');
    // Rows and state only: no learning uses the room up, so no write is made whole after the first.
    const rowOnly = (k: number) => (text: string, plan: Plan) =>
      setState(
        appendLogRow(text, { when: '2026-11-22T10:00:00Z', phase: 'P1', action: `P1.1 run node ${k}.mjs`, result: 'ok', signal: 'CONTINUE', notes: `n${k}` }),
        { iteration: plan.log!.lines!.count + 1, next_action: `after ${k}${'.'.repeat(k % 11)}` },
      );
    let inPlaceWrites = 0;
    for (let k = 0; k < 150; k++) {
      const plan = await updatePlanFile(inPlace, rowOnly(k), IN_PLACE);
      if (longLogOf(plan) !== null) inPlaceWrites++;
      if ([0, 62, 63, 64, 65, 128, 129, 149].includes(k)) {
        expect(shape(plan), `write ${k}`).toEqual(shape(parsePlan(readFileSync(inPlace, 'utf8'), { path: inPlace })));
        expect(longLogOf(plan)?.base.length ?? 0, `write ${k}`).toBe(k === 0 ? 0 : 1 + Math.floor(k / 64));
      }
    }
    expect(inPlaceWrites).toBe(149);
    const before = setInPlaceFrom(Number.POSITIVE_INFINITY);
    try {
      for (let k = 0; k < 150; k++) await updatePlanFile(whole, rowOnly(k));
    } finally {
      setInPlaceFrom(before);
    }
    expect(withoutRoom(readFileSync(inPlace, 'utf8'))).toBe(readFileSync(whole, 'utf8'));
  });

  it('writes whole for an edit that does not say it may be made in place (one that parses what it made)', async () => {
    const path = planFile(longPlan(100));
    await updatePlanFile(path, step(0), IN_PLACE);
    const before = await updatePlanFile(path, step(1), IN_PLACE);
    expect(longLogOf(before)).not.toBeNull();
    // A merge of rows (as runners/matrix.ts makes): each row numbered after the one before, read from the text made.
    const merged = await updatePlanFile(path, (text) => {
      let edited = text;
      for (const note of ['a', 'b', 'c'])
        edited = appendLogRow(edited, {
          when: '2026-11-22T10:00:00Z',
          phase: 'P1',
          action: `P1.1 run node ${note}.mjs`,
          result: 'ok',
          signal: 'CONTINUE',
          notes: note,
        });
      return setState(edited, { iteration: parsePlan(edited).log!.rows.length });
    });
    expect(longLogOf(merged)).toBeNull();
    const rows = parsePlan(readFileSync(path, 'utf8')).log!.rows;
    expect(rows.slice(-3).map((row) => row.number)).toEqual([103, 104, 105]);
    expect(merged.meta.state!.iteration).toBe(105);
  });

  it('writes whole when no journal can be written (its folder is taken by a file)', async () => {
    const path = planFile(longPlan(100));
    await updatePlanFile(path, step(0), IN_PLACE);
    const journals = join(undoOf(path), '..');
    rmSync(journals, { recursive: true, force: true });
    mkdirSync(join(journals, '..'), { recursive: true });
    writeFileSync(journals, 'not a folder');
    const plan = await updatePlanFile(path, step(1), IN_PLACE);
    expect(longLogOf(plan)).toBeNull();
    expect(plan.log!.lines!.count).toBe(102);
    expect(shape(plan)).toEqual(shape(parsePlan(readFileSync(path, 'utf8'), { path })));
    rmSync(journals);
    expect(longLogOf(await updatePlanFile(path, step(2), IN_PLACE))).not.toBeNull();
  });

  it('writes whole a plan with a section after its log, or CRLF line breaks (no room comment either)', async () => {
    const after = planFile(`${longPlan(100)}\n## Appendix\n\nNotes for the team.\n`);
    const crlf = planFile(longPlan(100).replace(/\n/g, '\r\n'), 'crlf.md');
    for (const path of [after, crlf]) {
      for (let k = 0; k < 3; k++) expect(longLogOf(await updatePlanFile(path, step(k), IN_PLACE))).toBeNull();
      const text = readFileSync(path, 'utf8');
      expect(text).not.toContain(ROOM_OPEN);
      expect(parsePlan(text).log!.rows.length).toBe(103);
    }
    expect(readFileSync(after, 'utf8')).toMatch(/\| 103 \|[^\n]*\n\n## Appendix\n\nNotes for the team\.\n$/);
  });

  it("never changes the room comment's words where they are the plan's own text (a code block, a phase)", async () => {
    const fake = `${ROOM_OPEN}    -->`;
    const text = longPlan(100).replace('## Running learnings\n', `## Running learnings\n\n\`\`\`\n${fake}\n\`\`\`\n`);
    const path = planFile(text);
    for (let k = 0; k < 4; k++) await updatePlanFile(path, step(k), IN_PLACE);
    const after = readFileSync(path, 'utf8');
    // The words in the code block are as they were; a room of deepplan's own went in above the log.
    expect(after).toContain(`\`\`\`\n${fake}\n\`\`\``);
    expect(after.split(ROOM_OPEN)).toHaveLength(3);
    expect(after).toMatch(new RegExp(`${ROOM_OPEN} {2048}-->\\n\\n## Iteration log`.replace(' {2048}', ' +')));
    expect(shape(await updatePlanFile(path, step(4), IN_PLACE))).toEqual(shape(parsePlan(readFileSync(path, 'utf8'), { path })));
  });

  it("quotes the Request without putting the whole text together (textOf, the gate's requestText)", async () => {
    const path = planFile(longPlan(150));
    await updatePlanFile(path, step(0), IN_PLACE);
    const plan = await updatePlanFile(path, step(1), IN_PLACE);
    expect(longLogOf(plan)).not.toBeNull();
    const request = plan.sections.find((section) => section.key === 'request')!;
    const quoted = requestText(plan);
    const near = textOf(plan, request.heading.start.offset, request.endOffset);
    // The whole text is still a getter: nothing asked for it.
    expect(Object.getOwnPropertyDescriptor(plan, 'text')?.get).toBeTypeOf('function');
    const whole = readFileSync(path, 'utf8');
    expect(near).toBe(whole.slice(request.heading.start.offset, request.endOffset));
    expect(quoted).toBe(whole.slice(request.heading.end.offset, request.endOffset).trim());
    // A range into the rows is the whole text's.
    expect(textOf(plan, whole.length - 200, whole.length)).toBe(whole.slice(-200));
  });

  it('reads the file again after someone else changed it between two writes', async () => {
    const path = planFile(longPlan(80));
    await updatePlanFile(path, step(0), IN_PLACE);
    await updatePlanFile(path, step(1), IN_PLACE);
    // A person adds a learning with an editor (a new file in its place), then the engine writes again.
    const edited = readFileSync(path, 'utf8').replace('## Running learnings\n', '## Running learnings\n\n- Ask Dana before the send.\n');
    writeFileSync(`${path}.tmp`, edited);
    renameSync(`${path}.tmp`, path);
    const plan = await updatePlanFile(path, step(2), IN_PLACE);
    const text = readFileSync(path, 'utf8');
    expect(text).toContain('- Ask Dana before the send.');
    expect(plan.log!.lines!.count).toBe(83);
    expect(shape(plan)).toEqual(shape(parsePlan(text, { path })));
  });

  it('is made whole when the room comment was taken out, which puts it back', async () => {
    const path = planFile(longPlan(80));
    await updatePlanFile(path, step(0), IN_PLACE);
    writeFileSync(path, withoutRoom(readFileSync(path, 'utf8')));
    const plan = await updatePlanFile(path, step(1), IN_PLACE);
    expect(longLogOf(plan)).toBeNull();
    expect(readFileSync(path, 'utf8')).toContain(ROOM_OPEN);
    expect(longLogOf(await updatePlanFile(path, step(2), IN_PLACE))).not.toBeNull();
  });
});

describe('writes in place on the corpus workloads (deal review, enrichment, newsletter, content), random edits', () => {
  /** A small seeded generator: the same edits on every run. */
  function random(seed: number) {
    const next = seededRandom(seed);
    return { next, pick: <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]! };
  }
  const NOTES = ['ok', 'a | pipe', 'Zürich — ✓ done', 'wrote drafts/acme.md', '`code` and *stars*', 'x'.repeat(300), ''];

  for (const [index, base] of BASES.entries()) {
    it(`${base.name}: 60 random writes leave what whole writes leave, and the plan its file parses to`, async () => {
      const start = parsePlan(base.plan);
      const phases = start.phases.map((phase) => phase.id);
      const criteria = (start.criteria ?? []).flatMap((criterion) => (criterion.id ? [criterion.id] : []));
      // A long log first: 200 rows of the first phase.
      const rows = Array.from({ length: 200 }, (_, k): [string, string, string, string, string, string] => [
        '2026-11-20T08:00:00Z',
        phases[0]!,
        `${phases[0]}.1 run node scripts/step.mjs ${k}`,
        'ok',
        'CONTINUE',
        `row ${k}`,
      ]);
      const text = `${base.plan.replace(/\n*$/, '\n')}${logRows(rows)}\n`;
      const plan = parsePlan(text);
      const iteration = plan.meta.state!.iteration;
      const withState = setState(text, { iteration: iteration + 200, revision: plan.meta.state!.revision + 200 });
      const inPlace = planFile(withState, `${base.name}.md`);
      const whole = planFile(withState, `${base.name}-whole.md`);
      const edits = random(7919 * (index + 1));
      let written = 0;
      for (let k = 0; k < 60; k++) {
        const choice = edits.next();
        const phase = edits.pick(phases);
        const note = edits.pick(NOTES);
        // Every random choice made before the edit, which runs once per file (and again if a write is made whole).
        const status = edits.pick(['pending', 'active', 'done', 'blocked'] as const);
        const criterion = criteria.length > 0 ? edits.pick(criteria) : null;
        const ticked = edits.next() < 0.5;
        const learning = `Learned ${k}: ${'the records come first. '.repeat(Math.floor(edits.next() * 30))}`;
        const next = `${phase}: ${'next '.repeat(Math.floor(edits.next() * 40))}`;
        const edit = (current: string, read: Plan): string => {
          let edited = appendLogRow(current, {
            when: '2026-11-21T10:00:00Z',
            phase,
            action: `${phase}.1 run node scripts/step.mjs`,
            result: 'ok',
            signal: 'CONTINUE',
            notes: note,
          });
          if (choice < 0.3) edited = setPhaseStatus(edited, phase, status);
          if (choice > 0.7 && criterion !== null) edited = tickCriterion(edited, criterion, ticked);
          if (choice > 0.85) edited = appendLearning(edited, learning);
          return setState(edited, { iteration: read.log!.lines!.count + 1, next_action: next, phase });
        };
        const done = await updatePlanFile(inPlace, edit, IN_PLACE);
        if (longLogOf(done) !== null) written++;
        const before = setInPlaceFrom(Number.POSITIVE_INFINITY);
        try {
          await updatePlanFile(whole, edit);
        } finally {
          setInPlaceFrom(before);
        }
        const now = readFileSync(inPlace, 'utf8');
        expect(withoutRoom(now), `${base.name}, write ${k}`).toBe(readFileSync(whole, 'utf8'));
        expect(shape(done), `${base.name}, write ${k}`).toEqual(shape(parsePlan(now, { path: inPlace })));
      }
      expect(written).toBeGreaterThan(40);
    });
  }
});

describe('a write in place killed at any step', () => {
  /** The plan before a write in place and after it, and the journal that write made (rebuilt: same bytes). */
  async function before_and_after() {
    const path = planFile(longPlan(90));
    await updatePlanFile(path, step(0), IN_PLACE);
    await updatePlanFile(path, step(1), IN_PLACE);
    const old = readFileSync(path);
    const oldPlan = await readPlanFile(path);
    const headLength = longLogOf(oldPlan)!.headBytes.length;
    const ino = statSync(path, { bigint: true }).ino;
    await updatePlanFile(path, step(2), IN_PLACE);
    const after = readFileSync(path);
    expect(statSync(path, { bigint: true }).ino).toBe(ino);
    const journal = journalBytes(old.length, ino, old.subarray(0, headLength), old.subarray(old.length - TAIL_SAMPLE));
    return { path, old, after, headLength, journal };
  }

  const states: Array<[string, (s: Awaited<ReturnType<typeof before_and_after>>) => { plan: Buffer; journal: Buffer }]> = [
    ['while it wrote the journal', (s) => ({ plan: s.old, journal: s.journal.subarray(0, s.journal.length - 100) })],
    ['after the journal, before the plan', (s) => ({ plan: s.old, journal: s.journal })],
    ['after the rows, before the head', (s) => ({ plan: Buffer.concat([s.old, s.after.subarray(s.old.length)]), journal: s.journal })],
    [
      'half way through the head',
      (s) => ({
        plan: Buffer.concat([s.after.subarray(0, 4096), s.old.subarray(4096, s.headLength), s.old.subarray(s.headLength), s.after.subarray(s.old.length)]),
        journal: s.journal,
      }),
    ],
    ['after the plan was synced, before the journal was removed', (s) => ({ plan: s.after, journal: s.journal })],
  ];

  for (const [when, make] of states) {
    it(`${when}: readers read the plan before it, and the next writer puts that plan back`, async () => {
      const s = await before_and_after();
      const { plan, journal } = make(s);
      writeFileSync(s.path, plan);
      mkdirSync(join(undoOf(s.path), '..'), { recursive: true });
      writeFileSync(undoOf(s.path), journal);
      clearMemos();
      const whole = journal.length === s.journal.length;
      // A reader (no lock) reads the version before the write; a journal cut short means the plan was not touched.
      expect(readPlanFileSync(s.path).text).toBe(s.old.toString('utf8'));
      expect((await readPlanFile(s.path)).text).toBe(s.old.toString('utf8'));
      expect(existsSync(undoOf(s.path))).toBe(true);
      // The next writer undoes it under the lock, then writes on top of the old plan.
      const next = await updatePlanFile(s.path, step(3), IN_PLACE);
      expect(existsSync(undoOf(s.path))).toBe(false);
      const text = readFileSync(s.path, 'utf8');
      expect(shape(next)).toEqual(shape(parsePlan(text, { path: s.path })));
      const oldPlan = parsePlan(s.old.toString('utf8'));
      expect(next.log!.lines!.count).toBe(oldPlan.log!.lines!.count + 1);
      expect(next.meta.state!.revision).toBe(oldPlan.meta.state!.revision + 1);
      expect(whole || plan === s.old).toBe(true);
    });
  }

  it('recovery is itself safe to repeat, and a journal of a replaced file is dropped', async () => {
    const s = await before_and_after();
    writeFileSync(s.path, s.after);
    writeFileSync(undoOf(s.path), s.journal);
    expect(recoverInPlace(s.path, undoOf(s.path))).toBe(true);
    expect(readFileSync(s.path)).toEqual(s.old);
    expect(recoverInPlace(s.path, undoOf(s.path))).toBe(false);
    // A journal says nothing of a plan replaced since (another inode), nor of one rewritten with other bytes where the
    // plan ended (its old inode reused, or written over): readers read the file as it is, the writer leaves it alone.
    const other = Buffer.from(longPlan(200));
    for (const replace of ['written over', 'renamed over'] as const) {
      writeFileSync(undoOf(s.path), s.journal);
      if (replace === 'renamed over') {
        writeFileSync(`${s.path}.new`, other);
        renameSync(`${s.path}.new`, s.path);
      } else {
        writeFileSync(s.path, other);
      }
      clearMemos();
      expect(readPlanFileSync(s.path).text, replace).toBe(other.toString('utf8'));
      expect(recoverInPlace(s.path, undoOf(s.path))).toBe(true);
      expect(readFileSync(s.path), replace).toEqual(other);
    }
  });
});

describe('a reader racing a writer in place', () => {
  it('never reads half of a write (another process writes 150 times)', async () => {
    const path = planFile(longPlan(1200));
    const script = join(path, '..', 'writer.mjs');
    writeFileSync(
      script,
      `import { updatePlanFile } from ${JSON.stringify(join(PROJECT_ROOT, 'dist/plan/store.js'))};
import { appendLogRow, setState } from ${JSON.stringify(join(PROJECT_ROOT, 'dist/plan/update.js'))};
for (let k = 0; k < 150; k++) {
  await updatePlanFile(process.argv[2], (text, plan) => {
    const count = plan.log.lines.count;
    const edited = appendLogRow(text, { when: '2026-11-22T10:00:00Z', phase: 'P1', action: 'P1.1 run node x.mjs', result: 'ok', signal: 'CONTINUE', notes: 'n' + k });
    return setState(edited, { iteration: count + 1, next_action: 'next '.repeat(k % 23) });
  }, { inPlace: true });
}
`,
    );
    const writer = spawn(process.execPath, [script, path], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    writer.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => writer.on('exit', resolve));
    let done = false;
    void exited.then(() => (done = true));
    let reads = 0;
    const seen = new Set<number>();
    while (!done) {
      clearMemos();
      const plan = reads % 2 === 0 ? readPlanFileSync(path) : await readPlanFile(path);
      expect(plan.diagnostics).toEqual([]);
      const state = plan.meta.state!;
      // A whole write: the state counts exactly the rows the log holds.
      expect(plan.log!.lines!.count).toBe(state.iteration);
      seen.add(state.revision);
      reads++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await exited, stderr).toBe(0);
    expect(parsePlan(readFileSync(path, 'utf8')).meta.state!.iteration).toBe(1350);
    // The reads overlapped the writes: they saw many revisions.
    expect(seen.size).toBeGreaterThan(20);
  }, 60_000);
});

// strace stands in for the kill: SIGKILL on entry to one system call of the write (the call does not happen).
const straceWorks =
  spawnSync('strace', ['-f', '-qq', '-o', '/dev/null', '-e', 'trace=openat', '-e', 'inject=openat:signal=KILL:when=1', 'true'], { stdio: 'ignore' }).signal ===
  'SIGKILL';
if (!straceWorks) console.warn('the kill-at-each-call test is skipped: strace (with signal injection) is not available (apt-get install strace)');

describe.skipIf(!straceWorks)('a process killed at each system call of its write in place', () => {
  // The calls of one write in place, in order (journal.ts): the journal's bytes and its sync, the rows, the head, the
  // plan's sync, the journal's removal.
  const calls: Array<[string, string, number]> = [
    ['writing the journal', 'write', 1],
    ['syncing the journal', 'fdatasync', 1],
    ['appending the rows', 'pwrite64', 1],
    ['writing the head', 'pwrite64', 2],
    ['syncing the plan', 'fdatasync', 2],
    ['removing the journal', 'unlink,unlinkat', 1],
  ];
  it.each(calls)('killed %s: readers read the plan before the write, the next writer undoes it and writes on top', async (_, call, when) => {
    const path = planFile(longPlan(1300));
    await updatePlanFile(path, step(0), IN_PLACE);
    expect(readFileSync(path, 'utf8')).toContain(ROOM_OPEN);
    const old = readFileSync(path, 'utf8');
    const script = join(path, '..', 'write-once.mjs');
    writeFileSync(
      script,
      `import { updatePlanFile } from ${JSON.stringify(join(PROJECT_ROOT, 'dist/plan/store.js'))};
import { appendLogRow, setState } from ${JSON.stringify(join(PROJECT_ROOT, 'dist/plan/update.js'))};
await updatePlanFile(process.argv[2], (text, plan) => {
  const edited = appendLogRow(text, { when: '2026-11-22T10:00:00Z', phase: 'P1', action: 'P1.1 run node x.mjs', result: 'ok', signal: 'CONTINUE', notes: 'killed' });
  return setState(edited, { iteration: plan.log.lines.count + 1, next_action: 'a longer next action than before, by far' });
}, { inPlace: true });
`,
    );
    const real = realpathSync(path);
    const traced = spawnSync(
      'strace',
      [
        '-f',
        '-qq',
        '-o',
        '/dev/null',
        '-P',
        real,
        '-P',
        undoOf(path),
        '-e',
        `trace=${call}`,
        '-e',
        `inject=${call}:signal=KILL:when=${when}`,
        process.execPath,
        script,
        path,
      ],
      { encoding: 'utf8' },
    );
    expect(traced.signal, traced.stderr).toBe('SIGKILL');
    // Killed part way: the journal is there, and the plan may be half written.
    expect(existsSync(undoOf(path))).toBe(true);
    clearMemos();
    expect(readPlanFileSync(path).text).toBe(old);
    // The next writer undoes the write and makes its own on the plan as it was.
    const next = await updatePlanFile(path, step(1), IN_PLACE);
    expect(existsSync(undoOf(path))).toBe(false);
    const text = readFileSync(path, 'utf8');
    expect(text).not.toContain('| killed |');
    expect(next.log!.lines!.count).toBe(parsePlan(old).log!.lines!.count + 1);
    expect(shape(next)).toEqual(shape(parsePlan(text, { path })));
  });
});
