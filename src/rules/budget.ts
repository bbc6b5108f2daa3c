import { frontMatterLine, type Rule } from './rule.js';

/**
 * The smallest iteration budget the format allows: ceil((2 × phases + criteria / 3 + 5) × 1.15).
 * Computed as (6p + c + 15) × 115 / 300 in integers: with 1.15 as a float, exact products such as 40 × 1.15 = 46
 * come out as 45.99... or 46.00...1 and ceil would be off by one.
 */
export function minimumBudget(phases: number, criteria: number): number {
  return Math.ceil(((6 * phases + criteria + 15) * 115) / 300);
}

export function budgetArithmetic(phases: number, criteria: number): string {
  return `ceil((2 × ${phases} + ${criteria} / 3 + 5) × 1.15) = ${minimumBudget(phases, criteria)}`;
}

export const budget: Rule = {
  id: 'budget',
  severity: 'error',
  description: 'budget.max_iterations is at least ceil((2 × phases + success criteria / 3 + 5) × 1.15).',
  check(plan, _context, report) {
    const max = plan.meta.budget?.max_iterations;
    if (max === undefined || plan.phases.length === 0) return;
    const criteria = plan.criteria?.length ?? 0;
    const needed = minimumBudget(plan.phases.length, criteria);
    if (max < needed) {
      report(
        `budget.max_iterations is ${max}; ${plan.phases.length} phases and ${criteria} criteria need at least ${budgetArithmetic(plan.phases.length, criteria)}`,
        { line: frontMatterLine(plan, ['budget', 'max_iterations']) },
      );
    }
  },
};
