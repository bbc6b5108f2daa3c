import { isSubstantial, type Rule } from './rule.js';

export const MIN_SUBSTANTIAL_PHASES = 15;
export const MAX_PHASES = 25;

export const phaseCount: Rule = {
  id: 'phase-count',
  severity: 'warning',
  description: 'Substantial plans (quality bar adversarial, or 10+ phases) have 15 to 25 phases; no plan has more than 25.',
  check(plan, _context, report) {
    const section = plan.sections.find((candidate) => candidate.key === 'phases');
    if (!section) return;
    const count = plan.phases.length;
    const line = section.heading.start.line;
    if (count === 0) {
      report('the `## Phases` section has no phases (`### P1. Title`)', { line, severity: 'error' });
      return;
    }
    if (count > MAX_PHASES) {
      report(`the plan has ${count} phases; more than ${MAX_PHASES} is too many for one plan (split it)`, { line });
    } else if (isSubstantial(plan) && count < MIN_SUBSTANTIAL_PHASES) {
      const why = plan.meta.quality_bar === 'adversarial' ? 'an adversarial plan' : 'a plan of 10 or more phases';
      report(`the plan has ${count} phases; ${why} should have ${MIN_SUBSTANTIAL_PHASES} to ${MAX_PHASES} (size the phases)`, { line });
    }
  },
};
