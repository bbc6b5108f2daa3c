import type { Rule } from './rule.js';

export const successCriteriaVerifiable: Rule = {
  id: 'success-criteria-verifiable',
  severity: 'error',
  description: 'Each success criterion is a numbered task-list item (`- [ ] SCn:`), with a `verify:` command where possible.',
  check(plan, _context, report) {
    const seen = new Map<string, number>();
    for (const criterion of plan.criteria ?? []) {
      const where = { line: criterion.line, column: criterion.column };
      const label = criterion.id ?? `"${criterion.text.slice(0, 40)}"`;
      if (criterion.checked === null) report(`success criterion ${label} is not a task-list item (\`- [ ]\`)`, where);
      if (criterion.id === null) {
        report(`success criterion "${criterion.text.slice(0, 40)}" is not numbered (\`SC1: ...\`)`, where);
      } else if (seen.has(criterion.id)) {
        report(`${criterion.id} is used twice (first on line ${seen.get(criterion.id)})`, where);
      } else {
        seen.set(criterion.id, criterion.line);
      }
      if (criterion.verifyMalformed) {
        report(`${label} has \`verify:\` without one backticked command`, {
          ...where,
          fix: `write ${label}'s verify (line ${criterion.line}) as one command in backticks`,
        });
      } else if (criterion.verify === null) {
        report(`${label} has no \`verify:\` command; the executor's model will have to judge it`, {
          ...where,
          severity: 'warning',
          fix: `add to ${label} (line ${criterion.line}) verify: \`<command>\` that exits 0 only when it is met`,
        });
      }
    }
  },
};
