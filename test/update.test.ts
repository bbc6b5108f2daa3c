import { describe, expect, it } from 'vitest';
import { parsePlan } from '../src/plan/parse.js';
import {
  appendLogRow,
  PlanEditError,
  setFrontMatterValue,
  setPhaseStatus,
  setPlanStatus,
  setReview,
  setState,
  tickCriterion,
  type NewLogRow,
} from '../src/plan/update.js';
import { SMALL_PLAN, edit, logRows } from './support/fixtures.js';
import { editAll, edits } from './support/plan-text.js';

const BOM = '\uFEFF';
const STATE_BLOCK = `state:
  phase: P1
  iteration: 0
  revision: 0
  next_action: Fetch the notes
  blockers: []
  updated: 2026-11-20T10:00:00Z
`;

const crlf = (text: string) => text.replace(/\n/g, '\r\n');

/** Line numbers (0-based) where `after` differs from `before`; both must have the same number of lines. */
function changedLineIndexes(before: string, after: string): number[] {
  const a = before.split('\n');
  const b = after.split('\n');
  expect(b).toHaveLength(a.length);
  return a.flatMap((line, index) => (line === b[index] ? [] : [index]));
}

/** 0-based index of the first line equal to `line` at or after the line `after` (a heading, say). */
function lineIndex(text: string, line: string, after?: string): number {
  const lines = text.split('\n');
  const from = after === undefined ? 0 : lines.indexOf(after);
  expect(from).toBeGreaterThanOrEqual(0);
  const index = lines.indexOf(line, from);
  expect(index).toBeGreaterThanOrEqual(0);
  return index;
}

function readable(text: string) {
  const plan = parsePlan(text);
  expect(plan.diagnostics).toEqual([]);
  return plan;
}

const ROW: NewLogRow = {
  when: '2026-11-20T10:02:11Z',
  phase: 'P1',
  action: 'P1.1 /fetch-notes --week current',
  result: 'ok',
  signal: 'CONTINUE',
  notes: 'fetched',
};

describe('setState', () => {
  it('writes each key in place and leaves every other line alone', () => {
    const after = setState(SMALL_PLAN, {
      phase: 'P2',
      iteration: 3,
      revision: 7,
      next_action: 'Write the summary',
      updated: '2026-11-21T09:30:00Z',
    });
    const expected = edit(
      SMALL_PLAN,
      STATE_BLOCK,
      'state:\n  phase: P2\n  iteration: 3\n  revision: 7\n  next_action: Write the summary\n  blockers: []\n  updated: 2026-11-21T09:30:00Z\n',
    );
    expect(after).toBe(expected);
    expect(readable(after).meta.state).toEqual({
      phase: 'P2',
      iteration: 3,
      revision: 7,
      next_action: 'Write the summary',
      blockers: [],
      updated: '2026-11-21T09:30:00Z',
    });
  });

  it('writes null as YAML null and reads it back', () => {
    const after = setState(SMALL_PLAN, { phase: null, next_action: null });
    expect(after).toBe(edit(edit(SMALL_PLAN, '  phase: P1\n', '  phase: null\n'), '  next_action: Fetch the notes\n', '  next_action: null\n'));
    expect(readable(after).meta.state).toMatchObject({ phase: null, next_action: null });
  });

  it('inserts missing keys after the last key of the state map, with the map indentation', () => {
    const fourSpaces = 'state:\n    phase: P1\n    iteration: 0\n    revision: 0\n    updated: 2026-11-20T10:00:00Z\n';
    // state is not the last top-level key here, so an insertion at the end of the front matter would be wrong.
    const text = edit(edit(SMALL_PLAN, STATE_BLOCK, ''), 'budget:\n', `${fourSpaces}budget:\n`);
    const after = setState(text, { next_action: 'Fetch the notes', blockers: ['CRM is down'] });
    expect(after).toBe(
      edit(text, '    updated: 2026-11-20T10:00:00Z\n', '    updated: 2026-11-20T10:00:00Z\n    next_action: Fetch the notes\n    blockers: [CRM is down]\n'),
    );
    const plan = readable(after);
    expect(plan.meta.state).toMatchObject({ next_action: 'Fetch the notes', blockers: ['CRM is down'], iteration: 0 });
    expect(plan.meta.budget).toEqual({ max_iterations: 15, basis: 'formula' });
  });

  it('inserts after a last key whose value is a block list', () => {
    const text = edit(SMALL_PLAN, '  blockers: []\n  updated: 2026-11-20T10:00:00Z\n', '  blockers:\n    - one\n    - two\n');
    const after = setState(text, { updated: '2026-11-22T08:00:00Z' });
    expect(after).toBe(edit(text, '    - two\n---', '    - two\n  updated: 2026-11-22T08:00:00Z\n---'));
    expect(readable(after).meta.state).toMatchObject({ blockers: ['one', 'two'], updated: '2026-11-22T08:00:00Z' });
  });

  it('writes blockers as a one-line flow list, quoting strings with commas, colons, quotes and #', () => {
    const blockers = ['a, b', 'key: value', 'say "hi"', "it's", '# not a comment', 'x #y', '[x]', '{y}', '- dash', '', 'null', '42', 'tab\there'];
    const after = setState(SMALL_PLAN, { blockers });
    const index = lineIndex(SMALL_PLAN, '  blockers: []');
    expect(changedLineIndexes(SMALL_PLAN, after)).toEqual([index]);
    expect(after.split('\n')[index]).toMatch(/^ {2}blockers: \[.*\]$/);
    expect(readable(after).meta.state?.blockers).toEqual(blockers);
  });

  it('replaces a block list on the key line, also when it is the last key before the closing ---', () => {
    const middle = edit(SMALL_PLAN, '  blockers: []\n', '  blockers:\n    - old one\n    - old two\n');
    const afterMiddle = setState(middle, { blockers: ['new: one'] });
    expect(afterMiddle).toBe(edit(middle, '  blockers:\n    - old one\n    - old two\n', '  blockers: ["new: one"]\n'));
    expect(readable(afterMiddle).meta.state?.updated).toBe('2026-11-20T10:00:00Z');

    const last = edit(SMALL_PLAN, '  blockers: []\n  updated: 2026-11-20T10:00:00Z\n', '  blockers:\n  - old one  # why\n  - old two\n');
    const afterLast = setState(last, { blockers: [] });
    expect(afterLast).toBe(edit(last, '  blockers:\n  - old one  # why\n  - old two\n---\n', '  blockers: []\n---\n'));
    expect(readable(afterLast).meta.state?.blockers).toEqual([]);
  });

  it('keeps a comment after a block list key, writing the list on the next line', () => {
    const text = edit(SMALL_PLAN, '  blockers: []\n', '  blockers:  # filled in when blocked\n  - old\n');
    const after = setState(text, { blockers: ['new'] });
    expect(after).toBe(edit(text, '  - old\n', '    [new]\n'));
    expect(readable(after).meta.state?.blockers).toEqual(['new']);
  });

  it('folds a next_action with line breaks to one line', () => {
    const after = setState(SMALL_PLAN, { next_action: 'Fetch the notes\n  then check them\r\nand stop' });
    expect(after).toBe(edit(SMALL_PLAN, '  next_action: Fetch the notes\n', '  next_action: Fetch the notes then check them and stop\n'));
    expect(readable(after).meta.state?.next_action).toBe('Fetch the notes then check them and stop');
  });

  it('keeps same-line comments and comment lines of the front matter', () => {
    const text = edit(
      edit(SMALL_PLAN, 'owner: Ana, account lead\n', '# who answers BLOCKED_NEED_HUMAN\nowner: Ana, account lead\n'),
      STATE_BLOCK,
      'state:  # the executor writes these\n  # current phase\n  phase: P1\n  iteration: 0   # rows in the log\n  revision: 0\n  next_action: Fetch the notes # for now\n  blockers: []\n  updated: 2026-11-20T10:00:00Z\n',
    );
    const after = setState(text, { iteration: 12, next_action: 'Say: done', phase: 'P3' });
    expect(after).toBe(
      edit(
        edit(edit(text, '  iteration: 0   #', '  iteration: 12   #'), '  next_action: Fetch the notes # for now', '  next_action: "Say: done" # for now'),
        '  phase: P1\n',
        '  phase: P3\n',
      ),
    );
    expect(readable(after).meta.state).toMatchObject({ iteration: 12, next_action: 'Say: done', phase: 'P3' });
  });

  it('fills a key that has no value, also when a comment follows it', () => {
    const bare = edit(SMALL_PLAN, '  next_action: Fetch the notes\n', '  next_action:\n');
    const afterBare = setState(bare, { next_action: 'Go' });
    expect(afterBare).toBe(edit(SMALL_PLAN, 'Fetch the notes\n  blockers', 'Go\n  blockers'));
    expect(readable(afterBare).meta.state?.next_action).toBe('Go');

    const commented = edit(SMALL_PLAN, '  next_action: Fetch the notes\n', '  next_action:   # to do\n');
    const afterCommented = setState(commented, { next_action: 'Go' });
    expect(afterCommented).toBe(edit(commented, '  next_action:   # to do\n', '  next_action:   Go # to do\n'));
    expect(readable(afterCommented).meta.state?.next_action).toBe('Go');
  });

  it('replaces a block scalar with a one-line value', () => {
    const text = edit(SMALL_PLAN, '  next_action: Fetch the notes\n', '  next_action: >-\n    Fetch the\n    notes\n\n');
    const after = setState(text, { next_action: 'Write' });
    expect(after).toBe(edit(text, '  next_action: >-\n    Fetch the\n    notes\n', '  next_action: Write\n'));
    expect(readable(after).meta.state).toMatchObject({ next_action: 'Write', blockers: [] });
  });
});

describe('setReview', () => {
  const review = { verdict: 'APPROVED', rounds: 2, reviewer: 'openai/gpt-5.4', report: 'reviews/weekly-summary/round-2.md' } as const;

  it('inserts a review: block when there is none', () => {
    const after = setReview(SMALL_PLAN, review);
    expect(after).toBe(
      edit(
        SMALL_PLAN,
        '  updated: 2026-11-20T10:00:00Z\n---',
        '  updated: 2026-11-20T10:00:00Z\nreview:\n  verdict: APPROVED\n  rounds: 2\n  reviewer: openai/gpt-5.4\n  report: reviews/weekly-summary/round-2.md\n---',
      ),
    );
    expect(readable(after).meta.review).toEqual(review);
  });

  it('updates an existing review in place, keeping its comments and dropping keys the new review lacks', () => {
    const text = edit(
      SMALL_PLAN,
      'scope:\n',
      'review:\n  verdict: REVISE   # first round\n  # who reviewed\n  reviewer: google/gemini-2.5-pro\n  rounds: 1\n  report: reviews/weekly-summary/round-1.md\nscope:\n',
    );
    const after = setReview(text, { verdict: 'APPROVED', rounds: 2, reviewer: 'openai/gpt-5.4' });
    expect(after).toBe(
      edits(text, [
        ['  verdict: REVISE   #', '  verdict: APPROVED   #'],
        ['  reviewer: google/gemini-2.5-pro\n  rounds: 1\n  report: reviews/weekly-summary/round-1.md\n', '  reviewer: openai/gpt-5.4\n  rounds: 2\n'],
      ]),
    );
    expect(readable(after).meta.review).toEqual({ verdict: 'APPROVED', rounds: 2, reviewer: 'openai/gpt-5.4' });
  });

  it('replaces a flow-style review on its line', () => {
    const text = edit(SMALL_PLAN, 'scope:\n', 'review: {verdict: REVISE, rounds: 1, reviewer: google/gemini-2.5-pro}\nscope:\n');
    const after = setReview(text, review);
    expect(changedLineIndexes(text, after)).toEqual([lineIndex(text, 'review: {verdict: REVISE, rounds: 1, reviewer: google/gemini-2.5-pro}')]);
    expect(readable(after).meta.review).toEqual(review);
  });
});

describe('setPlanStatus and setFrontMatterValue', () => {
  it('changes the status line only', () => {
    const after = setPlanStatus(SMALL_PLAN, 'executing');
    expect(after).toBe(edit(SMALL_PLAN, 'status: approved\n', 'status: executing\n'));
    expect(readable(after).meta.status).toBe('executing');
  });

  it('creates a missing parent mapping as a block', () => {
    const text = edit(SMALL_PLAN, 'scope:\n  write: [notes/**, out/**]\n  commands: [node scripts/]\n', '');
    const after = setFrontMatterValue(text, ['scope', 'write'], ['out/**']);
    expect(after).toBe(edit(text, '  updated: 2026-11-20T10:00:00Z\n---', '  updated: 2026-11-20T10:00:00Z\nscope:\n  write: [out/**]\n---'));
    expect(readable(after).meta.scope).toEqual({ write: ['out/**'] });
  });
});

describe('setPhaseStatus', () => {
  it('rewrites the value of an existing Status field only', () => {
    const after = setPhaseStatus(SMALL_PLAN, 'P2', 'active');
    expect(changedLineIndexes(SMALL_PLAN, after)).toEqual([lineIndex(SMALL_PLAN, '- Status: pending', '### P2. Write the summary')]);
    expect(after.split('\n')[lineIndex(SMALL_PLAN, '- Status: pending', '### P2. Write the summary')]).toBe('- Status: active');
    expect(readable(after).phases.map((phase) => phase.status)).toEqual(['pending', 'active', 'pending']);
  });

  it('writes a value into an empty Status field with the space after the colon', () => {
    for (const empty of ['- Status:', '- Status: ']) {
      const text = edit(SMALL_PLAN, '- Status: pending\n\n1. /write-summary', `${empty}\n\n1. /write-summary`);
      const after = setPhaseStatus(text, 'P2', 'done');
      expect(after.split('\n')[lineIndex(text, empty, '### P2. Write the summary')]).toBe('- Status: done');
      expect(readable(after).phases[1]!.status).toBe('done');
    }
  });

  it('adds a missing Status after the last field with the phase bullet character and indentation', () => {
    const fields = `- Inputs: notes/week.md
- Outputs: out/summary.md
- Context: direct
- Depends on: P1
- Done when: one line per account. verify: \`test -s out/summary.md\`
- Status: pending
`;
    const starred = edit(SMALL_PLAN, fields, edit(editAll(fields, /^- /m, '*   '), '*   Status: pending\n', ''));
    const afterStarred = setPhaseStatus(starred, 'P2', 'done');
    expect(afterStarred).toBe(edit(starred, 'verify: `test -s out/summary.md`\n', 'verify: `test -s out/summary.md`\n*   Status: done\n'));

    const plussed = edit(SMALL_PLAN, fields, edit(editAll(fields, /^- /m, ' + '), ' + Status: pending\n', ''));
    const afterPlussed = setPhaseStatus(plussed, 'P2', 'blocked');
    expect(afterPlussed).toBe(edit(plussed, 'verify: `test -s out/summary.md`\n', 'verify: `test -s out/summary.md`\n + Status: blocked\n'));

    for (const after of [afterStarred, afterPlussed]) {
      const phase = readable(after).phases[1]!;
      expect(phase.status).toBe(after === afterStarred ? 'done' : 'blocked');
      expect([...phase.fields.keys()]).toEqual(['inputs', 'outputs', 'context', 'depends on', 'done when', 'status']);
      expect(phase.steps.map((step) => step.skill)).toEqual(['write-summary']);
    }
  });

  it('reads and updates a phase whose field list follows an HTML comment', () => {
    const text = edit(SMALL_PLAN, '### P2. Write the summary\n', '### P2. Write the summary\n\n<!-- deepplan-disable phase-file-ops -->\n');
    expect(readable(text).phases[1]!.doneWhen?.verify).toBe('test -s out/summary.md');
    const after = setPhaseStatus(text, 'P2', 'done');
    expect(changedLineIndexes(text, after)).toEqual([lineIndex(text, '- Status: pending', '### P2. Write the summary')]);
    expect(readable(after).phases[1]!.status).toBe('done');
  });

  it('refuses an unknown phase with a message naming it', () => {
    expect(() => setPhaseStatus(SMALL_PLAN, 'P9', 'done')).toThrow(PlanEditError);
    expect(() => setPhaseStatus(SMALL_PLAN, 'P9', 'done')).toThrow('no phase P9 in the plan');
  });
});

describe('tickCriterion', () => {
  it('ticks one box and changes nothing else', () => {
    const after = tickCriterion(SMALL_PLAN, 'SC2');
    expect(after).toBe(edit(SMALL_PLAN, '- [ ] SC2:', '- [x] SC2:'));
    expect(readable(after).criteria?.map((criterion) => criterion.checked)).toEqual([false, true, false]);
  });

  it('unticks [x] and [X]', () => {
    const text = edit(edit(SMALL_PLAN, '- [ ] SC1:', '- [x] SC1:'), '- [ ] SC3:', '- [X] SC3:');
    const after = tickCriterion(tickCriterion(text, 'SC1', false), 'SC3', false);
    expect(after).toBe(edit(edit(text, '- [x] SC1:', '- [ ] SC1:'), '- [X] SC3:', '- [ ] SC3:'));
    expect(readable(after).criteria?.map((criterion) => criterion.checked)).toEqual([false, false, false]);
  });

  it('refuses an unknown criterion with a message naming it', () => {
    expect(() => tickCriterion(SMALL_PLAN, 'SC9')).toThrow(PlanEditError);
    expect(() => tickCriterion(SMALL_PLAN, 'SC9')).toThrow('no success criterion SC9 in the plan');
  });
});

describe('appendLogRow', () => {
  it('appends row 1 under the header of an empty log', () => {
    const after = appendLogRow(SMALL_PLAN, ROW);
    expect(after).toBe(`${SMALL_PLAN}| 1 | 2026-11-20T10:02:11Z | P1 | P1.1 /fetch-notes --week current | ok | CONTINUE | fetched |\n`);
    expect(readable(after).log?.rows.map((row) => [row.number, row.action, row.notes])).toEqual([[1, ROW.action, 'fetched']]);
  });

  it('numbers after the last row and inserts right under the table when a section follows it', () => {
    const rows = logRows([
      ['2026-11-20T10:02:11Z', 'P1', 'P1.1 /fetch-notes', 'ok', 'CONTINUE'],
      ['2026-11-20T10:05:00Z', 'P1', 'P1 gate', 'ok', 'CONTINUE'],
    ]);
    const text = `${SMALL_PLAN}${rows}\n\n## Appendix\n\n- notes\n`;
    const after = appendLogRow(text, { ...ROW, notes: undefined });
    expect(after).toBe(edit(text, `${rows}\n`, `${rows}\n| 3 | 2026-11-20T10:02:11Z | P1 | P1.1 /fetch-notes --week current | ok | CONTINUE |  |\n`));
    const plan = readable(after);
    expect(plan.log?.rows.map((row) => row.number)).toEqual([1, 2, 3]);
    expect(plan.sections.at(-1)?.key).toBe('appendix');
  });

  it('adds a line break before the row when the table ends the file without one', () => {
    const text = `${SMALL_PLAN}${logRows([['2026-11-20T10:02:11Z', 'P1', 'P1.1 /fetch-notes', 'ok', 'CONTINUE', 'x']])}`;
    const after = appendLogRow(text, ROW);
    expect(after).toBe(`${text}\n| 2 | 2026-11-20T10:02:11Z | P1 | P1.1 /fetch-notes --week current | ok | CONTINUE | fetched |\n`);
    expect(readable(after).log?.rows.map((row) => row.notes)).toEqual(['x', 'fetched']);
  });

  it('escapes pipes and folds line breaks so the cells read back', () => {
    const row: NewLogRow = { ...ROW, action: 'P1.1 run `a | b`', notes: 'first line\nsecond | third\r\nC:\\dir\\| end \\' };
    const after = appendLogRow(SMALL_PLAN, row);
    const line = after.split('\n').at(-2)!;
    expect(line).toBe('| 1 | 2026-11-20T10:02:11Z | P1 | P1.1 run `a \\| b` | ok | CONTINUE | first line second \\| third C:\\dir\\\\| end \\ |');
    const read = readable(after).log!.rows[0]!;
    expect(read.cells).toHaveLength(7);
    expect(read.action).toBe('P1.1 run `a | b`');
    expect(read.notes).toBe('first line second | third C:\\dir\\| end \\');
  });

  it('refuses a plan without a log table', () => {
    const text = edit(SMALL_PLAN, /\| # \|[^]*$/, '');
    expect(() => appendLogRow(text, ROW)).toThrow(PlanEditError);
    expect(() => appendLogRow(text, ROW)).toThrow(/no iteration log table/);
  });
});

describe('line endings and BOM', () => {
  // A plan where every update has something to insert: no Status in P3, no next_action, no review, a log row.
  const lf = edits(`${SMALL_PLAN}${logRows([['2026-11-20T10:02:11Z', 'P1', 'P1.1 /fetch-notes', 'ok', 'CONTINUE']])}\n`, [
    ['- Gate: human\n', '- Gate: human\n<!-- -->\n'],
    ['  next_action: Fetch the notes\n', ''],
    [/(### P3[^]*?)- Status: pending\n/, '$1'],
  ]);
  const updates: Array<[string, (text: string) => string]> = [
    ['setState', (text) => setState(text, { next_action: 'Write\nit', iteration: 1, blockers: ['a, b'] })],
    ['setReview', (text) => setReview(text, { verdict: 'REVISE', rounds: 1, reviewer: 'openai/gpt-5.4' })],
    ['setPlanStatus', (text) => setPlanStatus(text, 'executing')],
    ['setPhaseStatus (replace)', (text) => setPhaseStatus(text, 'P1', 'done')],
    ['setPhaseStatus (insert)', (text) => setPhaseStatus(text, 'P3', 'active')],
    ['tickCriterion', (text) => tickCriterion(text, 'SC3')],
    ['appendLogRow', (text) => appendLogRow(text, { ...ROW, notes: 'a\nb | c' })],
  ];

  it.each(updates)('%s keeps CRLF line endings and the BOM', (_name, update) => {
    expect(parsePlan(lf).phases[2]!.fields.has('status')).toBe(false);
    const lfAfter = update(lf);
    expect(lfAfter).not.toBe(lf);
    expect(lfAfter).not.toContain('\r');
    const crlfAfter = update(`${BOM}${crlf(lf)}`);
    expect(crlfAfter.startsWith(BOM)).toBe(true);
    expect(crlfAfter.slice(1).startsWith(BOM)).toBe(false);
    expect(crlfAfter).not.toMatch(/(?<!\r)\n/);
    expect(crlfAfter).toBe(`${BOM}${crlf(lfAfter)}`);
    expect(parsePlan(crlfAfter).diagnostics).toEqual([]);
  });
});
