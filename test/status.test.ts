import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { burndownSeries, renderBurndown, type BurndownSeries } from '../src/graph/burndown.js';
import { parsePlan } from '../src/plan/parse.js';
import { CLI, PROJECT_ROOT, edit, logRows, makeRepo, SMALL_PLAN } from './support/fixtures.js';
import { editAll } from './support/plan-text.js';

function deepplan(args: string[], cwd = PROJECT_ROOT) {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('deepplan status', () => {
  it('shows phases done, iterations of the budget, the next action and the last iterations', () => {
    const result = deepplan(['status', 'plans/nightly-backup.md']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Nightly backup of the AgentCRM database \(nightly-backup\): executing$/m);
    expect(result.stdout).toMatch(/^phases {6}\[#{6}-{24}\] 1\/5 done, at P2$/m);
    expect(result.stdout).toMatch(/^iterations {2}3 of 20$/m);
    expect(result.stdout).toMatch(/^ {2}▶ P2 {3}Export a first archive from the replica$/m);
    expect(result.stdout).toMatch(/^ {4}2 {2}2026-11-19T09:08:11Z {2}failed {4}CONTINUE {11}P2\.1 \/backup-export/m);
  });

  it('prints JSON for scripts', () => {
    const report = JSON.parse(deepplan(['status', 'plans/nightly-backup.md', '--json']).stdout);
    expect(report).toMatchObject({
      id: 'nightly-backup',
      status: 'executing',
      iterations: { used: 3, budget: 20 },
      phases: { done: 1, total: 5, current: 'P2' },
      criteria: { ticked: 0, total: 3 },
      blockers: [],
    });
    expect(report.lastRows).toHaveLength(3);
  });

  it('explains an unreadable plan in one line', () => {
    const root = makeRepo({ 'plans/bad.md': '\u0000binary' });
    const result = deepplan(['status', 'plans/bad.md'], root);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe('deepplan: plans/bad.md: line 1: file is binary (it contains NUL bytes), not a Markdown plan');
    expect(deepplan(['status', 'plans/none.md'], root)).toMatchObject({ code: 2 });
  });
});

/**
 * The small plan (three phases) with budget `budget` and `rows` log rows: P1 for the first third, P2 for the next,
 * P3 after that; `done` phases are marked done.
 */
function planWith(budget: number, rows: number, done = 0): string {
  const phases = ['P1', 'P2', 'P3'];
  const log = Array.from({ length: rows }, (_, index): [string, string, string, string, string] => {
    const phase = phases[Math.min(2, Math.floor((index * 3) / Math.max(rows, 1)))]!;
    const when = new Date(Date.UTC(2026, 10, 20, 10, 0, index)).toISOString().replace('.000Z', 'Z');
    return [when, phase, `${phase}.1 run node scripts/step.mjs ${index + 1}`, 'ok', 'CONTINUE'];
  });
  let count = 0;
  const text = editAll(
    edit(SMALL_PLAN, 'max_iterations: 15', `max_iterations: ${budget}`),
    '- Status: pending',
    () => `- Status: ${count++ < done ? 'done' : 'pending'}`,
  );
  return rows === 0 ? text : `${text}${logRows(log)}\n`;
}

const series = (budget: number, rows: number, done = 0) => burndownSeries(parsePlan(planWith(budget, rows, done)));

/** The rightmost mark of a line of the chart: its column, the index of its text line (0 at the top) and its y label. */
function lastMark(chart: string[], marks = /[*#!]/): { column: number; index: number; label: string } | null {
  let best: { column: number; index: number; label: string } | null = null;
  chart.forEach((line, index) => {
    const match = /^\s*(\d*) [|│](.*)$/.exec(line);
    if (!match) return;
    const plot = match[2]!;
    for (let column = plot.length - 1; column >= 0; column--) {
      if (marks.test(plot[column]!)) {
        if (!best || column > best.column) best = { column, index, label: match[1]! };
        break;
      }
    }
  });
  return best;
}
const lastBudgetRow = (chart: string[], marks?: RegExp) => lastMark(chart, marks)?.label ?? null;

describe('the burn-down series', () => {
  it('has one point per log row: the iterations left of the budget, and the phases done by then', () => {
    const result = series(20, 9, 2);
    expect(result).toMatchObject({ budget: 20, used: 9, remaining: 11, phasesTotal: 3, phasesDone: 2, phasesDoneAtStart: 0 });
    expect(result.points.map((point) => point.remaining)).toEqual([19, 18, 17, 16, 15, 14, 13, 12, 11]);
    // P1 has rows 1-3, P2 rows 4-6: each counts as done from its last row on.
    expect(result.points.map((point) => point.phasesDone)).toEqual([0, 0, 1, 1, 1, 2, 2, 2, 2]);
    expect(result.pace).toBe('on-pace');
  });

  it('says when the run burns faster than the phases progress, and when it is over budget', () => {
    // 9 of 12 iterations for 1 of 3 phases: the even pace would have 2.25 done.
    expect(series(12, 9, 1).pace).toBe('behind');
    const over = series(5, 8, 2);
    expect(over.points.map((point) => point.remaining)).toEqual([4, 3, 2, 1, 0, -1, -2, -3]);
    expect(over).toMatchObject({ remaining: -3, pace: 'over-budget' });
  });

  it('has no points and no pace before the first iteration; a phase done without rows counts from the start', () => {
    expect(series(15, 0)).toMatchObject({ used: 0, remaining: 15, points: [], pace: null });
    expect(series(15, 0, 1)).toMatchObject({ phasesDone: 1, phasesDoneAtStart: 1 });
  });
});

describe('the burn-down chart', () => {
  it('puts the latest point of the budget line at the iterations left, with the budget and the rows used on the axes', () => {
    // 10 of 20 used: the last mark sits on the middle row, labelled 10.
    const half = renderBurndown(series(20, 10, 1));
    expect(lastBudgetRow(half)).toBe('10');
    expect(half[0]).toMatch(/^20 \|/);
    expect(half.some((line) => /^ {4}0 +10 +20 {2}iterations$/.test(line))).toBe(true);
    // 20 of 20: the last mark is on the 0 row; 1 of 40 barely moves from the top.
    expect(lastBudgetRow(renderBurndown(series(20, 20, 3)))).toBe('0');
    expect(lastBudgetRow(renderBurndown(series(40, 1)))).toBe('40');
    expect(half.slice(-2)).toEqual(['    10 of 20 iterations used (50%), 1 of 3 phases done (33%)', '    on pace: the phases keep up with the budget']);
  });

  it('draws the phases left beside the budget, so a run that burns faster than it progresses shows it', () => {
    // 9 of 12 used, 1 of 3 phases done: the phases line ends above the budget line.
    const behind = renderBurndown(series(12, 9, 1));
    expect(behind).toContain('    * iterations left of 12   o phases left of 3 (scaled)');
    expect(lastMark(behind, /[o#]/)!.index).toBeLessThan(lastMark(behind, /[*#]/)!.index);
    expect(behind.at(-1)).toBe('    burning the budget faster than the phases progress');
    // 9 of 12 used, every phase done: the phases line ends on the 0 row, under the budget line.
    const ahead = renderBurndown(series(12, 9, 3));
    expect(lastBudgetRow(ahead, /[o#]/)).toBe('0');
    expect(lastMark(ahead, /[o#]/)!.index).toBeGreaterThan(lastMark(ahead, /[*#]/)!.index);
    expect(ahead.at(-1)).toBe('    on pace: the phases keep up with the budget');
  });

  it('marks the iterations past the budget and says by how much', () => {
    const chart = renderBurndown(series(10, 14, 2));
    expect(chart.join('\n')).toMatch(/!/);
    expect(lastBudgetRow(chart, /!/)).toBe('0');
    const axis = chart.find((line) => /^ +\+-/.test(line))!;
    expect(axis).toMatch(/\+-+\+-+$/);
    expect(chart.slice(-2)).toEqual(['    14 of 10 iterations used (140%), 2 of 3 phases done (67%)', '    over budget by 4 iterations']);
  });

  it('says so instead of drawing when there are no rows or no budget', () => {
    expect(renderBurndown(series(15, 0))).toEqual(['burn-down   no iterations logged yet; 15 in the budget']);
    const noBudget: BurndownSeries = { ...series(15, 3), budget: null };
    expect(renderBurndown(noBudget)).toEqual(['burn-down   no budget.max_iterations in the front matter: nothing to burn down']);
  });

  it('fits 80 columns at any budget, in plain ASCII unless asked for box drawing', () => {
    for (const [budget, rows] of [
      [3, 2],
      [45, 30],
      [999, 1200],
      [100000, 99999],
    ] as const) {
      const chart = renderBurndown(series(budget, rows, 1), { width: 80 });
      for (const line of chart) expect(Array.from(line).length, line).toBeLessThanOrEqual(80);
      expect(chart.join('')).toMatch(/^[\x20-\x7e]*$/);
    }
    const unicode = renderBurndown(series(20, 10, 1), { unicode: true });
    expect(unicode[0]).toMatch(/^20 │/);
    expect(unicode.join('\n')).toMatch(/└─+/);
  });
});

describe('deepplan status: the burn-down', () => {
  it('shows the chart under the phases, plain when piped, and --json gains the numbers without the art', () => {
    const root = makeRepo({ 'plans/p.md': planWith(12, 9, 1) });
    const text = deepplan(['status', 'plans/p.md'], root);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^12 \|/m);
    expect(text.stdout).toMatch(/^ {4}9 of 12 iterations used \(75%\), 1 of 3 phases done \(33%\)\n {4}burning the budget faster than the phases progress$/m);
    expect(text.stdout).not.toMatch(/[│└●○]/);
    const json = deepplan(['status', 'plans/p.md', '--json'], root);
    const report = JSON.parse(json.stdout) as { burndown: BurndownSeries };
    expect(report.burndown.points).toHaveLength(9);
    expect(report.burndown.points[8]).toEqual({ iteration: 9, remaining: 3, phasesDone: 1 });
    expect(report.burndown).toMatchObject({ budget: 12, used: 9, remaining: 3, pace: 'behind' });
    expect(json.stdout).not.toMatch(/iterations used/);
  });

  it('says no iterations are logged yet for a fresh plan', () => {
    const root = makeRepo({ 'plans/p.md': SMALL_PLAN });
    const result = deepplan(['status', 'plans/p.md'], root);
    expect(result.stdout).toMatch(/^burn-down {3}no iterations logged yet; 15 in the budget$/m);
    expect(JSON.parse(deepplan(['status', 'plans/p.md', '--json'], root).stdout).burndown.points).toEqual([]);
  });
});
