import type { Rule } from './rule.js';

export const sufficiency: Rule = {
  id: 'sufficiency',
  severity: 'error',
  description: 'Of success criteria, constraints and stakeholders, at most one is missing (two or more: interview first).',
  check(plan, _context, report) {
    const parts = [
      { name: 'success criteria', entries: plan.criteria },
      { name: 'constraints', entries: plan.constraints },
      { name: 'stakeholders', entries: plan.stakeholders },
    ];
    const missing = parts.filter((part) => !part.entries || part.entries.length === 0).map((part) => part.name);
    if (missing.length === 0) return;
    const line = plan.sections.find((section) => section.key === 'request')?.heading.start.line ?? 1;
    if (missing.length >= 2) {
      report(`the plan has no ${missing.join(' and no ')}; the context is not sufficient (interview the requester)`, { line });
    } else {
      report(`the plan has no ${missing[0]}`, { line, severity: 'warning' });
    }
  },
};
