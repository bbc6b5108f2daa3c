import { chmodSync, lstatSync, readFileSync, readlinkSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { carriedOutByModel } from '../src/execute/executors.js';
import { failuresIn, failuresOf, lastRowWithAction, linesWithoutProgress, phaseRows, rowsOf, rowsWithoutProgress } from '../src/execute/history.js';
import { runIteration } from '../src/execute/iteration.js';
import { describeNext, nextAction } from '../src/execute/next.js';
import { logLines, logNeedle } from '../src/plan/log-table.js';
import { parsePlan } from '../src/plan/parse.js';
import { beginPieces } from '../src/plan/pieces.js';
import { updatePlanFile } from '../src/plan/store.js';
import { splitTableRow } from '../src/plan/text.js';
import type { LogRow, Plan } from '../src/plan/types.js';
import { appendLearning, appendLogRow, deleteFrontMatterKey, setPhaseStatus, setPlanStatus, setState, tickCriterion } from '../src/plan/update.js';
import { createRuleContext } from '../src/rules/context.js';
import { makeRepo, SMALL_PLAN } from './support/fixtures.js';
import { SCRIPTED_PLAN, scriptedRepo } from './support/scripted.js';
import { seededRandom } from './support/random.js';

// An iteration reads a long log's rows as it needs them (IterationLog.lines): found by what their lines hold, read one
// by one. These tests hold that to what reading every row gives: the rows themselves, the scans of the engine over
// them, the next action it writes, and the text its edits make.

/** A small generator of the same numbers each run. */
const random = seededRandom;

const TIME = '2026-11-20T10:00:00Z';

/** A plan with `rows` (already escaped) as its log's rows. */
function withRows(plan: string, rows: string[]): string {
  return plan.replace(/(\| --- \| --- \| --- \| --- \| --- \| --- \| --- \|\n)/, `$1${rows.map((row) => `${row}\n`).join('')}`);
}

/** What a row line reads as, by the log format's own rule (cells split at unescaped pipes; a 7th cell and on is Notes). */
function expectedRow(line: string, number: number): Omit<LogRow, 'line'> & { line: number } {
  const cells = splitTableRow(line);
  const numberText = cells[0] ?? '';
  return {
    cells,
    number: /^\d+$/.test(numberText) ? Number(numberText) : null,
    when: cells[1] ?? '',
    phase: cells[2] ?? '',
    action: cells[3] ?? '',
    result: cells[4] ?? '',
    signal: cells[5] ?? '',
    notes: cells.length > 7 ? cells.slice(6).join(' | ') : (cells[6] ?? ''),
    line: number,
  };
}

/** The same plan without its log's lines: every scan then reads every row (the engine's reading before lines). */
function withoutLines(plan: Plan): Plan {
  return { ...plan, log: plan.log ? { ...plan.log } : null };
}

const ACTIONS = [
  'P1.1 /fetch-notes "- Acme renewed" "- Globex paused"',
  'P2.1 /write-summary "- Acme: renewed"',
  'P3.1 /publish-page "<h1>Summary</h1>"',
  'P3.2 run node scripts/put.mjs out/published.txt https://wiki.example/summary',
  'P1 approve',
  'P2 approve',
  'P3 gate review',
  'P2 gate check',
  'P9.1 run node x | y',
  'P12.3 read_file notes/P1.md',
];
const NOTES = ['step done; 1 file changed', 'retry by Ana: again', 'approved by Ana: fine', 'APPROVED round 1', 'REVISE round 1: fix P2', 'a | b → é', ''];
const RESULTS = ['ok', 'no-change', 'failed', 'blocked'];

function randomRows(next: () => number, count: number): string[] {
  const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]!;
  return Array.from({ length: count }, (_, k) => {
    const action = pick(ACTIONS);
    const phase = /^P\d+/.exec(action)![0];
    const cells = [String(k + 1), TIME, next() < 0.9 ? phase : pick(['P1', 'P2', 'P3']), action, pick(RESULTS), 'CONTINUE', pick(NOTES)];
    return `| ${cells.map((cell) => cell.replace(/\|/g, '\\|')).join(' | ')} |`;
  });
}

describe('a long log read as lines', () => {
  it('gives the rows every row line reads as, one by one or all together, and finds rows by what their lines hold', () => {
    const next = random(18);
    const rows = randomRows(next, 500);
    // A row with a cell too many (an unescaped pipe) and one with a cell too few.
    rows[40] = `| 41 | ${TIME} | P1 | P1.1 x | ok | CONTINUE | a | b |`;
    rows[41] = `| 42 | ${TIME} | P1 | P1.1 x | ok |`;
    for (const variant of ['lf', 'crlf', 'no final break'] as const) {
      let text = withRows(SCRIPTED_PLAN, rows);
      if (variant === 'crlf') text = text.replace(/\n/g, '\r\n');
      if (variant === 'no final break') text = text.replace(/\n$/, '');
      const plan = parsePlan(text);
      const log = plan.log!;
      const lines = logLines(log);
      expect(lines.count).toBe(500);
      const firstLine = log.headerLine! + 2;
      // Rows asked for one by one before `rows` is read are the very objects `rows` then holds.
      const early = [0, 41, 250, 499].map((index) => lines.row(index));
      const all = log.rows;
      expect(all).toEqual(rows.map((line, k) => expectedRow(line, firstLine + k)));
      expect([0, 41, 250, 499].map((index) => all[index])).toEqual(early);
      expect(early.every((row, k) => row === all[[0, 41, 250, 499][k]!])).toBe(true);
      expect(log.problems.map((problem) => [problem.line, problem.message])).toEqual([
        [firstLine + 40, 'log row has 8 cells; the header has 7'],
        [firstLine + 41, 'log row has 5 cells; the header has 7'],
      ]);
      for (const needle of ['P1', 'P2', 'approve', logNeedle('a | b'), 'é', '', 'nowhere', 'P12', '\n', 'P1 |']) {
        const expected = needle.includes('\n') ? [] : rows.flatMap((line, k) => (line.includes(needle) ? [k] : []));
        expect(lines.containing(needle), `${variant}: ${JSON.stringify(needle)}`).toEqual(expected);
      }
      expect(() => lines.row(500)).toThrow(RangeError);
    }
  });

  it('reads the same rows again after rows are appended, whether or not they were read whole before', () => {
    const next = random(7);
    const text = withRows(SCRIPTED_PLAN, randomRows(next, 300));
    const first = parsePlan(text);
    const grown = appendLogRow(beginPieces(text), { when: TIME, phase: 'P1', action: 'P1.1 new | row', result: 'ok', signal: 'CONTINUE', notes: 'é' });
    const again = parsePlan(grown);
    expect(logLines(again.log).count).toBe(301);
    expect(logLines(again.log).row(300)).toMatchObject({ action: 'P1.1 new | row', notes: 'é', number: 301 });
    // Read whole now (the cache then holds the rows), then read once more after another append.
    expect(again.log!.rows.slice(0, 300)).toEqual(first.log!.rows.map((row) => ({ ...row, line: row.line })));
    const third = parsePlan(appendLogRow(beginPieces(grown), { when: TIME, phase: 'P2', action: 'P2.1 x', result: 'failed', signal: 'CONTINUE' }));
    expect(third.log!.rows.map((row) => row.action)).toEqual([...again.log!.rows.map((row) => row.action), 'P2.1 x']);
    expect(logLines(third.log).containing('P2.1 x')).toEqual([301]);
  });

  it('gives the engine the same answers as reading every row: next action, failures, stalls, earlier failures', () => {
    const next = random(2026);
    const skills = createRuleContext(makeRepo({}), {}).skills();
    const isModelStep = (step: Parameters<typeof carriedOutByModel>[0]) => carriedOutByModel(step, skills);
    for (let round = 0; round < 150; round++) {
      let text = withRows(SCRIPTED_PLAN, randomRows(next, 210 + Math.floor(next() * 60)));
      text = text.replace('max_iterations: 15', 'max_iterations: 5000');
      for (const phase of ['P1', 'P2', 'P3']) {
        text = setPhaseStatus(text, phase, (['pending', 'active', 'done'] as const)[Math.floor(next() * 3)]!);
      }
      const plan = parsePlan(text);
      const full = withoutLines(plan);
      expect(logLines(full.log).containing('P1').length).toBe(plan.log!.rows.length);
      expect(nextAction(plan, isModelStep), `round ${round}`).toEqual(nextAction(full, isModelStep));
      const lines = logLines(plan.log);
      const rows = plan.log!.rows;
      expect(linesWithoutProgress(lines)).toBe(rowsWithoutProgress(rows));
      for (const action of ACTIONS) {
        for (const phase of ['P1', 'P2', 'P3']) expect(failuresIn(lines, action, phase)).toBe(failuresOf(action, phase, rows));
        const failed = (row: LogRow) => row.action === action && row.result === 'failed';
        expect(lastRowWithAction(lines, action, failed)).toBe(rows.findLast(failed) ?? null);
      }
      for (const phase of ['P1', 'P2', 'P3']) {
        const own = phaseRows(lines, phase).rows;
        // Every row of the phase is among them, in order.
        expect(own.filter((row) => row.phase === phase)).toEqual(rowsOf(rows, phase));
      }
    }
  });
});

describe('an iteration on a long log', () => {
  it('writes the next action that reading every row of the written plan gives, and learns from a failure far up the log', async () => {
    const filler = Array.from({ length: 260 }, (_, k) => {
      if (k === 0) return `| 1 | ${TIME} | P1 | P1.1 /fetch-notes "- Acme renewed" "- Globex paused" | failed | CONTINUE | exit 1: the CRM was down |`;
      return `| ${k + 1} | ${TIME} | P9 | P9.${(k % 3) + 1} run node scripts/other.mjs P1 P2 P3 | ok | CONTINUE | step done; other work |`;
    });
    const root = scriptedRepo(withRows(SCRIPTED_PLAN, filler).replace('max_iterations: 15', 'max_iterations: 400'));
    const path = join(root, 'plans/p.md');
    const skills = createRuleContext(root, {}).skills();
    const isModelStep = (step: Parameters<typeof carriedOutByModel>[0]) => carriedOutByModel(step, skills);
    let continued = 0;
    for (let k = 0; k < 8; k++) {
      const report = await runIteration({ planPath: path, root, config: {}, models: null, sandbox: false });
      const written = parsePlan(readFileSync(path, 'utf8'));
      if (report.signal !== 'CONTINUE') break;
      continued++;
      expect(written.meta.state?.next_action).toBe(describeNext(nextAction(withoutLines(written), isModelStep)));
    }
    expect(continued).toBeGreaterThanOrEqual(3);
    const plan = parsePlan(readFileSync(path, 'utf8'));
    expect(plan.log!.rows.length).toBeGreaterThan(262);
    expect(plan.learnings?.map((learning) => learning.text)).toContainEqual(
      expect.stringMatching(/^P1\.1: failed before \(.*CRM was down.*\), then succeeded$/),
    );
  });
});

describe('the edits of a log row and the front matter', () => {
  it('make the same text whether the front matter is cut from the pieces of the edits or from the text itself', () => {
    const next = random(5);
    const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]!;
    const words = ['ok', 'Ana — lead', 'café', '𝄞 clef', 'a | b', 'x\\y', '---'];
    const rows = randomRows(next, 40);
    const bases = [
      SMALL_PLAN,
      `\uFEFF${SMALL_PLAN}`,
      SMALL_PLAN.replace(/\n/g, '\r\n'),
      withRows(SMALL_PLAN, rows),
      `${withRows(SMALL_PLAN, rows)}\n## After\n\n- é\n`,
    ];
    for (let round = 0; round < 80; round++) {
      const base = pick(bases);
      const steps = Array.from({ length: 1 + Math.floor(next() * 8) }, () => ({ kind: Math.floor(next() * 7), word: pick(words), flag: next() < 0.5 }));
      const run = (pieced: boolean) => {
        let text = beginPieces(base);
        for (const { kind, word, flag } of steps) {
          // Without pieces: the edit finds no chain its input ends, and reads the text itself.
          if (!pieced) beginPieces('');
          text = [
            () => setState(text, { next_action: word, iteration: 3 }),
            () => appendLogRow(text, { when: TIME, phase: 'P1', action: `P1.1 ${word}`, result: 'ok', signal: 'CONTINUE', notes: word }),
            () => setPhaseStatus(text, flag ? 'P1' : 'P2', flag ? 'done' : 'active'),
            () => tickCriterion(text, 'SC1', flag),
            () => appendLearning(text, `P1.1: ${word}`),
            () => setPlanStatus(text, flag ? 'executing' : 'blocked'),
            () => deleteFrontMatterKey(text, ['state', 'next_action']),
          ][kind]!();
        }
        return text;
      };
      expect(run(true), `round ${round}`).toBe(run(false));
    }
  });
});

describe('the atomic write', () => {
  it("keeps the plan's mode, writes through a symlink to it, and leaves no temp file", async () => {
    const root = makeRepo({ 'plans/real.md': SMALL_PLAN });
    const real = join(root, 'plans/real.md');
    chmodSync(real, 0o640);
    symlinkSync('real.md', join(root, 'plans/p.md'));
    const plan = await updatePlanFile(join(root, 'plans/p.md'), (text) => setState(text, { next_action: 'written through the link' }));
    expect(plan.meta.state?.next_action).toBe('written through the link');
    expect(lstatSync(join(root, 'plans/p.md')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(root, 'plans/p.md'))).toBe('real.md');
    expect(readFileSync(real, 'utf8')).toContain('next_action: written through the link');
    expect(statSync(real).mode & 0o777).toBe(0o640);
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(join(root, 'plans')).sort()).toEqual(['p.md', 'real.md']);
  });
});
