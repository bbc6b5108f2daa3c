import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { budgetArithmetic, budgetFor, FORMULA, fitDeliverable, readCalibration, type HistoryEntry } from '../src/calibration/calibration.js';
import { lintText } from '../src/lint/lint.js';
import { CLI, SMALL_PLAN, SMALL_PLAN_SKILLS, edit, logRows, makeRepo } from './support/fixtures.js';
import { edits } from './support/plan-text.js';

/** A history of `count` plans of one deliverable that used `ratio` × the formula's base each (before the margin). */
function history(deliverable: string, ratios: number[]): HistoryEntry[] {
  return ratios.map((ratio, index) => {
    const phases = 6 + (index % 5);
    const criteria = 3 + (index % 4);
    const base = 2 * phases + criteria / 3 + 5;
    return { id: `${deliverable}-${index}`, deliverable, phases, criteria, iterations: Math.round(base * ratio) };
  });
}

describe('the budget', () => {
  it('follows the formula and shows its arithmetic', () => {
    expect(budgetFor(FORMULA, 16, 6)).toBe(45);
    expect(budgetArithmetic(FORMULA, 16, 6)).toBe('ceil((2 × 16 + 6 / 3 + 5) × 1.15) = 45');
    expect(budgetFor({ ...FORMULA, margin: 0.5 }, 16, 6)).toBe(20);
  });

  it('ships the published priors', () => {
    const shipped = readCalibration(new URL('../calibration/index.yaml', import.meta.url));
    expect(shipped.priors.formula).toMatchObject(FORMULA);
    expect(shipped.priors.coverage).toBe(0.9);
    expect(shipped.history).toEqual([]);
  });
});

describe('fitting a margin on synthetic histories', () => {
  it('picks the smallest margin that covers at least 90% of past runs', () => {
    // Ten infrastructure plans that used between 0.40 and 0.56 of the base; one outlier used 1.0.
    const runs = history('infrastructure', [0.4, 0.42, 0.44, 0.46, 0.48, 0.5, 0.52, 0.54, 0.56, 1.0]);
    const fit = fitDeliverable(runs, 'infrastructure', FORMULA, 0.9)!;
    expect(fit.plans).toBe(10);
    expect(fit.cutShort).toBeLessThanOrEqual(1);
    expect(fit.margin).toBeGreaterThanOrEqual(0.5);
    expect(fit.margin).toBeLessThan(0.6);
    // One step less and two runs would have been cut short.
    const lower = Math.round((fit.margin - 0.01) * 100) / 100;
    expect(runs.filter((run) => budgetFor({ ...FORMULA, margin: lower }, run.phases, run.criteria) < run.iterations).length).toBeGreaterThan(1);
    // Candidates report how many past plans each margin would have cut short, falling as the margin grows.
    const counts = fit.candidates.map((candidate) => candidate.cutShort);
    expect([...counts].sort((a, b) => b - a)).toEqual(counts);
    expect(fit.candidates.find((candidate) => candidate.margin === 1.15)!.cutShort).toBe(0);
  });

  it('raises the margin above the formula when past runs needed more', () => {
    const fit = fitDeliverable(history('content', [1.2, 1.25, 1.3, 1.3, 1.35, 1.4, 1.1, 1.2, 1.3, 1.32]), 'content', FORMULA, 0.9)!;
    expect(fit.margin).toBeGreaterThan(1.15);
    expect(fit.cutShort).toBeLessThanOrEqual(1);
  });

  it('has nothing to fit for a deliverable without history', () => {
    expect(fitDeliverable(history('content', [1]), 'research', FORMULA, 0.9)).toBeNull();
  });
});

function completePlan(id: string, iterations: number): string {
  let text = edits(SMALL_PLAN, [
    ['id: weekly-summary', `id: ${id}`],
    ['status: approved', 'status: complete'],
    ['deliverable: content', 'deliverable: research'],
    [/Status: pending/g, 'Status: done'],
    [/- \[ \] SC/g, '- [x] SC'],
    ['max_iterations: 15', 'max_iterations: 40'],
  ]);
  const rows = Array.from(
    { length: iterations },
    (_, i) =>
      [
        `2026-11-${String(10 + Math.floor(i / 10)).padStart(2, '0')}T10:${String(i % 60).padStart(2, '0')}:00Z`,
        'P1',
        `P1.1 /fetch-notes part ${i}`,
        'ok',
        i === iterations - 1 ? 'TASK_COMPLETE' : 'CONTINUE',
      ] as [string, string, string, string, string],
  );
  text = `${text}${logRows(rows)}\n`;
  return edits(text, [
    ['iteration: 0', `iteration: ${iterations}`],
    ['revision: 0', `revision: ${iterations}`],
    ['phase: P1', 'phase: null'],
  ]);
}

describe('deepplan calibrate', () => {
  it('adds finished plans to the history, refits the margin, keeps the comments and makes calibrated budgets lint', () => {
    const plans = Object.fromEntries([5, 6, 6, 7, 7, 8].map((iterations, index) => [`plans/done-${index}.md`, completePlan(`done-${index}`, iterations)]));
    const root = makeRepo({ ...SMALL_PLAN_SKILLS, ...plans, 'plans/open.md': SMALL_PLAN });
    const dry = spawnSync(process.execPath, [CLI, 'calibrate', '--dry-run'], { cwd: root, encoding: 'utf8' });
    expect(dry.status).toBe(0);
    expect(dry.stdout).toMatch(/^6 finished plan\(s\) added; 6 in the history \(calibration\/index\.yaml\)$/m);
    expect(dry.stdout).toMatch(/^research: 6 past plan\(s\)$/m);
    expect(dry.stdout).toMatch(/calibrated margin 0\.\d\d \(formula 1\.15\) \(dry run: not written\)/);

    const run = spawnSync(process.execPath, [CLI, 'calibrate', '--json'], { cwd: root, encoding: 'utf8' });
    expect(run.status).toBe(0);
    const result = JSON.parse(run.stdout) as { added: string[]; fits: Array<{ deliverable: string; margin: number; applied: boolean }> };
    expect(result.added.sort()).toEqual(['done-0', 'done-1', 'done-2', 'done-3', 'done-4', 'done-5']);
    const fit = result.fits[0]!;
    expect(fit).toMatchObject({ deliverable: 'research', applied: true });
    const written = readFileSync(join(root, 'calibration', 'index.yaml'), 'utf8');
    expect(written).toContain('# deepplan calibration index (format version 1).');
    const index = readCalibration(join(root, 'calibration', 'index.yaml'));
    expect(index.history).toHaveLength(6);
    expect(index.coefficients['research']?.margin).toBe(fit.margin);
    // Its source says how it was fitted, not the prior's text (which names the 1.15 margin).
    expect(index.coefficients['research']?.['source']).toBe(
      'fitted by deepplan calibrate: the smallest margin under which 90% of 6 finished research plans stayed within budget',
    );

    // Run again: nothing new is added.
    const again = spawnSync(process.execPath, [CLI, 'calibrate', '--json'], { cwd: root, encoding: 'utf8' });
    expect((JSON.parse(again.stdout) as { added: string[] }).added).toEqual([]);

    // A research plan may now budget with the calibrated margin; the rule checks it against that margin.
    const calibrated = budgetFor({ ...FORMULA, margin: fit.margin }, 3, 3);
    const plan = edit(edit(SMALL_PLAN, 'deliverable: content', 'deliverable: research'), 'basis: formula', 'basis: calibrated');
    const findings = (max: number) =>
      lintText(edit(plan, 'max_iterations: 15', `max_iterations: ${max}`), join(root, 'plans', 'new.md')).filter((f) => f.ruleId === 'budget');
    expect(findings(calibrated)).toEqual([]);
    expect(findings(calibrated - 1)[0]!.message).toMatch(/by the calibrated research coefficients/);
  });

  it('warns when a plan claims a calibrated budget that calibration does not have', () => {
    const root = makeRepo({ ...SMALL_PLAN_SKILLS });
    const plan = edit(SMALL_PLAN, 'basis: formula', 'basis: calibrated');
    const findings = lintText(plan, join(root, 'plans', 'p.md')).filter((f) => f.ruleId === 'budget');
    expect(findings).toEqual([
      expect.objectContaining({ severity: 'warning', message: expect.stringMatching(/has no coefficients for content; checked against the formula/) }),
    ]);
  });
});

describe('the budget covers the actions', () => {
  it('a 19-phase plan with 152 per-account steps gets a budget above its actions, with the arithmetic shown', async () => {
    const { actionsOf, budgetArithmetic, budgetFor, FORMULA } = await import('../src/calibration/calibration.js');
    const phases = Array.from({ length: 19 }, (_, index) => ({
      steps: Array.from({ length: index < 17 ? 8 : 8 }, () => ({})),
      gate: index === 0 ? 'human' : 'none',
    }));
    const actions = actionsOf(phases);
    expect(actions).toBe(153);
    const budget = budgetFor(FORMULA, 19, 6, actions);
    expect(budget).toBeGreaterThan(actions);
    expect(budget).toBe(Math.ceil((153 + 2 + 5) * 1.15));
    expect(budgetArithmetic(FORMULA, 19, 6, actions)).toBe(`ceil((max(2 × 19, 153 actions) + 6 / 3 + 5) × 1.15) = ${budget}`);
    // Few actions a phase: the published formula, unchanged.
    expect(budgetFor(FORMULA, 16, 6, 20)).toBe(45);
    expect(budgetArithmetic(FORMULA, 16, 6, 20)).toBe('ceil((2 × 16 + 6 / 3 + 5) × 1.15) = 45');
  });
});
