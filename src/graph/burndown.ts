import { isCriteriaRow } from '../plan/log-grammar.js';
import type { Plan } from '../plan/types.js';

/**
 * The iteration burn-down of a run: after each logged iteration, how many iterations of `budget.max_iterations` are
 * left, and how many phases are done by then. Drawn together, a reader sees whether the run burns its budget faster
 * than it finishes phases. Pure functions of the parsed plan.
 */

export interface BurndownPoint {
  /** 1-based position of the log row. */
  iteration: number;
  /** budget - iteration; negative past the budget; null without a budget. */
  remaining: number | null;
  /** Phases done by this iteration (a done phase counts from its last log row on). */
  phasesDone: number;
}

export type Pace = 'on-pace' | 'behind' | 'over-budget';

export interface BurndownSeries {
  budget: number | null;
  used: number;
  /** budget - used, negative past the budget; null without a budget. */
  remaining: number | null;
  phasesTotal: number;
  phasesDone: number;
  /** Phases marked done that no log row names (done before the first iteration, by hand). */
  phasesDoneAtStart: number;
  /**
   * `behind`: at least one whole phase behind the even pace (used / budget × phases); `over-budget`: more rows than
   * the budget; null without a budget or before the first iteration.
   */
  pace: Pace | null;
  points: BurndownPoint[];
}

export function burndownSeries(plan: Plan): BurndownSeries {
  const rows = plan.log?.rows ?? [];
  const budget = plan.meta.budget?.max_iterations ?? null;
  // A done phase is counted as done from its last row on: the write that appends that row marks it done.
  const finishedAt: number[] = [];
  let phasesDoneAtStart = 0;
  for (const phase of plan.phases) {
    if (phase.status !== 'done') continue;
    let last = 0;
    rows.forEach((row, index) => {
      // The `P<n> gate criteria` rows check the success criteria after the last phase; they finish no phase.
      if (row.phase === phase.id && !isCriteriaRow(row)) last = index + 1;
    });
    if (last === 0) phasesDoneAtStart++;
    else finishedAt.push(last);
  }
  const points = rows.map((_, index) => {
    const iteration = index + 1;
    return {
      iteration,
      remaining: budget === null ? null : budget - iteration,
      phasesDone: phasesDoneAtStart + finishedAt.filter((at) => at <= iteration).length,
    };
  });
  const used = rows.length;
  const phasesDone = phasesDoneAtStart + finishedAt.length;
  const phasesTotal = plan.phases.length;
  let pace: Pace | null = null;
  if (budget !== null && used > 0) {
    if (used > budget) pace = 'over-budget';
    else if (phasesTotal > 0 && budget > 0 && (used / budget) * phasesTotal - phasesDone >= 1) pace = 'behind';
    else pace = 'on-pace';
  }
  return { budget, used, remaining: budget === null ? null : budget - used, phasesTotal, phasesDone, phasesDoneAtStart, pace, points };
}

export interface BurndownChartOptions {
  /** Columns the chart may take, labels included (at most 80 is the point). Default 72. */
  width?: number;
  /** Rows of the plot area. Default 9 (an odd count puts half the budget on the middle row). */
  height?: number;
  /** Box-drawing characters and dots (a terminal); otherwise plain ASCII (NO_COLOR, pipes, logs). */
  unicode?: boolean;
}

const ASCII = { axis: '|', corner: '+', rule: '-', tick: '+', budget: '*', work: 'o', both: '#', over: '!' };
const UNICODE = { axis: '│', corner: '└', rule: '─', tick: '┴', budget: '●', work: '○', both: '◉', over: '✖' };

/**
 * The burn-down as lines of text: x = iterations (0 to the larger of the budget and the iterations used), y =
 * iterations left of the budget (the budget line), with the phases left scaled to the same height (the work line).
 * Where the budget line runs below the work line, the run burns faster than it progresses.
 */
export function renderBurndown(series: BurndownSeries, options: BurndownChartOptions = {}): string[] {
  const { budget, used } = series;
  if (budget === null) return ['burn-down   no budget.max_iterations in the front matter: nothing to burn down'];
  if (used === 0) return [`burn-down   no iterations logged yet; ${budget} in the budget`];
  const chars = options.unicode ? UNICODE : ASCII;
  const height = Math.max(3, Math.floor(options.height ?? 9));
  const labelWidth = Math.max(String(budget).length, 1);
  const plotWidth = Math.max(10, Math.min(60, Math.floor(options.width ?? 72) - labelWidth - 2));
  const span = Math.max(budget, used, 1);
  const column = (iteration: number) => Math.round((iteration / span) * (plotWidth - 1));
  const row = (value: number) => (budget <= 0 ? 0 : Math.round((Math.min(Math.max(value, 0), budget) / budget) * (height - 1)));

  // Each cell records which lines pass through it; a cell both lines share shows the `both` mark.
  const cells = Array.from({ length: height }, () => Array.from({ length: plotWidth }, () => ({ budget: '', work: false })));
  const doneAt = (iteration: number) =>
    iteration <= 0 ? series.phasesDoneAtStart : (series.points[Math.min(iteration, used) - 1]?.phasesDone ?? series.phasesDone);
  const last = column(used);
  for (let c = 0; c <= last; c++) {
    // The iteration this column stands for (the last column is the latest row); the budget line is straight, the
    // work line steps down as phases finish.
    const iteration = c === last ? used : Math.min(used, (c / (plotWidth - 1)) * span);
    const left = budget - iteration;
    cells[row(left)]![c]!.budget = left < 0 ? chars.over : chars.budget;
    if (series.phasesTotal > 0) {
      const phasesLeft = series.phasesTotal - doneAt(Math.floor(iteration + 1e-9));
      cells[row((phasesLeft / series.phasesTotal) * budget)]![c]!.work = true;
    }
  }
  const grid = cells.map((line) =>
    line.map(({ budget: mark, work }) => (mark && work ? (mark === chars.over ? chars.over : chars.both) : mark || (work ? chars.work : ' '))),
  );

  const middle = Math.floor((height - 1) / 2);
  const lines: string[] = [];
  for (let r = height - 1; r >= 0; r--) {
    const label = r === height - 1 ? String(budget) : r === 0 ? '0' : r === middle ? String(Math.round((budget * middle) / (height - 1))) : '';
    lines.push(`${label.padStart(labelWidth)} ${chars.axis}${grid[r]!.join('')}`.trimEnd());
  }

  // The x axis, with a tick where the budget ends when the run went past it, and the iteration numbers under it.
  const rule = Array.from({ length: plotWidth }, () => chars.rule);
  if (used > budget) rule[column(budget)] = chars.tick;
  lines.push(`${' '.repeat(labelWidth)} ${chars.corner}${rule.join('')}`);
  const ticks = Array.from({ length: plotWidth + 8 }, () => ' ');
  let free = 0;
  for (const value of [...new Set([0, used, budget])].sort((a, b) => a - b)) {
    const text = String(value);
    const start = Math.max(column(value) - (value === 0 ? 0 : text.length - 1), free);
    if (start + text.length > ticks.length) continue;
    ticks.splice(start, text.length, ...text);
    free = start + text.length + 1;
  }
  lines.push(`${' '.repeat(labelWidth + 2)}${ticks.join('').trimEnd()}  iterations`);

  const legend = [`${chars.budget} iterations left of ${budget}`];
  if (series.phasesTotal > 0) legend.push(`${chars.work} phases left of ${series.phasesTotal} (scaled)`);
  if (used > budget) legend.push(`${chars.over} past the budget`);
  lines.push(`${' '.repeat(labelWidth + 2)}${legend.join('   ')}`);
  for (const line of paceLines(series)) lines.push(`${' '.repeat(labelWidth + 2)}${line}`);
  return lines;
}

function percent(part: number, whole: number): string {
  return whole > 0 ? `${Math.round((part / whole) * 100)}%` : '-';
}

/** How much of the budget is used against how much of the plan is done, then what that means. */
export function paceLines(series: BurndownSeries): string[] {
  const { budget, used, phasesDone, phasesTotal } = series;
  if (budget === null) return [`${used} iterations used; no budget`];
  const usage = `${used} of ${budget} iterations used (${percent(used, budget)}), ${phasesDone} of ${phasesTotal} phases done (${percent(phasesDone, phasesTotal)})`;
  switch (series.pace) {
    case 'over-budget':
      return [usage, `over budget by ${used - budget} iteration${used - budget === 1 ? '' : 's'}`];
    case 'behind':
      return [usage, 'burning the budget faster than the phases progress'];
    case 'on-pace':
      return [usage, 'on pace: the phases keep up with the budget'];
    default:
      return [usage];
  }
}
