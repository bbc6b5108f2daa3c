import { budgetArithmetic as arithmetic, budgetFor, calibrationFor, coefficientsFor, FORMULA } from '../calibration/calibration.js';
import { frontMatterLine, type Rule } from './rule.js';

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
  description: 'budget.max_iterations is at least ceil((2 × phases + success criteria / 3 + 5) × 1.15), or the calibrated budget when basis is calibrated.',
  check(plan, context, report) {
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
          report(`budget.basis is calibrated but calibration/index.yaml has no coefficients for ${plan.meta.deliverable ?? 'this deliverable'}; checked against the formula`, {
            line: frontMatterLine(plan, ['budget', 'basis']),
            severity: 'warning',
          });
        }
      } catch (error) {
        report((error as Error).message, { line: frontMatterLine(plan, ['budget', 'basis']) });
        return;
      }
    }
    const needed = budgetFor(coefficients, phases, criteria);
    if (max < needed) {
      report(`budget.max_iterations is ${max}; ${phases} phases and ${criteria} criteria ${source} ${arithmetic(coefficients, phases, criteria)}`, { line });
    }
  },
};
