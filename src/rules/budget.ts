import { actionsOf, budgetArithmetic as arithmetic, budgetFor, calibrationFor, coefficientsFor, FORMULA } from '../calibration/calibration.js';
import type { Plan } from '../plan/types.js';
import { frontMatterLine, type Rule } from './rule.js';

/**
 * The plan's iteration budget: `budget.max_iterations` read from the front matter on its own (a bad `basis` does not
 * hide it), or null when it is missing or not a finite positive whole number. No iteration runs without one.
 */
export function iterationBudget(plan: Plan): number | null {
  const budget = plan.frontMatter?.data?.['budget'];
  const value = budget !== null && typeof budget === 'object' && !Array.isArray(budget) ? (budget as Record<string, unknown>)['max_iterations'] : undefined;
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1 ? value : null;
}

/** Why a plan has no usable iteration budget, as one line that names the fix; null when it has one. */
export function budgetProblem(plan: Plan, planArg: string): string | null {
  if (iterationBudget(plan) !== null) return null;
  const budget = plan.frontMatter?.data?.['budget'];
  const raw = budget !== null && typeof budget === 'object' && !Array.isArray(budget) ? (budget as Record<string, unknown>)['max_iterations'] : undefined;
  const what =
    budget === undefined
      ? 'has no budget: block'
      : raw === undefined
        ? 'has no budget.max_iterations'
        : `has budget.max_iterations ${describeValue(raw)}, not a finite positive whole number`;
  const example = plan.phases.length > 0 ? minimumBudget(plan.phases.length, plan.criteria?.length ?? 0) : 40;
  return `${planArg} ${what}; no run starts without a finite budget: set budget.max_iterations to a whole number of iterations, e.g. ${example} (deepplan plan computes one)`;
}

function describeValue(value: unknown): string {
  // Quoted as JSON: a hostile value's control characters stay escaped, never reach a terminal raw.
  if (typeof value === 'string') return `${JSON.stringify(value.slice(0, 20))}${value.length > 20 ? '…' : ''} (text)`;
  if (typeof value === 'number') return Number.isNaN(value) ? '.nan' : value === Infinity ? '.inf' : value === -Infinity ? '-.inf' : String(value);
  if (value === null) return 'null';
  return Array.isArray(value) ? '(a list)' : typeof value === 'object' ? '(a mapping)' : String(value);
}

/** The smallest iteration budget the published formula allows: ceil((2 × phases + criteria / 3 + 5) × 1.15). */
export function minimumBudget(phases: number, criteria: number): number {
  return budgetFor(FORMULA, phases, criteria);
}

export function budgetArithmetic(phases: number, criteria: number): string {
  return arithmetic(FORMULA, phases, criteria);
}

export const budget: Rule = {
  id: 'budget',
  severity: 'error',
  description:
    'budget.max_iterations is at least ceil((max(2 × phases, actions) + success criteria / 3 + 5) × 1.15), or the calibrated budget when basis is calibrated.',
  check(plan, context, report) {
    // A missing or unusable max_iterations stops every run before it starts: say so here, with the fix.
    if (plan.frontMatter?.data && iterationBudget(plan) === null) {
      report(budgetProblem(plan, 'the plan')!, { line: frontMatterLine(plan, ['budget', 'max_iterations']) });
      return;
    }
    const max = plan.meta.budget?.max_iterations;
    if (max === undefined || plan.phases.length === 0) return;
    const phases = plan.phases.length;
    const criteria = plan.criteria?.length ?? 0;
    const line = frontMatterLine(plan, ['budget', 'max_iterations']);
    let coefficients = FORMULA;
    let source = 'need at least';
    if (plan.meta.budget?.basis === 'calibrated') {
      try {
        const calibrated = coefficientsFor(calibrationFor(context.root), plan.meta.deliverable);
        if (calibrated.basis === 'calibrated') {
          coefficients = calibrated.coefficients;
          source = `need at least, by the calibrated ${plan.meta.deliverable} coefficients,`;
        } else {
          report(
            `budget.basis is calibrated but calibration/index.yaml has no coefficients for ${plan.meta.deliverable ?? 'this deliverable'}; checked against the formula`,
            {
              line: frontMatterLine(plan, ['budget', 'basis']),
              severity: 'warning',
            },
          );
        }
      } catch (error) {
        report((error as Error).message, { line: frontMatterLine(plan, ['budget', 'basis']) });
        return;
      }
    }
    // A run whose every action succeeds needs one iteration per action: a plan of many steps a phase needs more.
    const actions = actionsOf(plan.phases.map((phase) => ({ steps: phase.steps, gate: phase.gate })));
    const needed = budgetFor(coefficients, phases, criteria, actions);
    if (max < needed) {
      const what = actions > coefficients.phase_weight * phases ? `${phases} phases of ${actions} actions` : `${phases} phases`;
      report(`budget.max_iterations is ${max}; ${what} and ${criteria} criteria ${source} ${arithmetic(coefficients, phases, criteria, actions)}`, { line });
    }
  },
};
