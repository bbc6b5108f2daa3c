import type { Rule } from './rule.js';

/** The sections of PLAN_FORMAT.md section 2, in order. */
export const SECTION_ORDER = [
  { key: 'request', title: 'Request', required: true },
  { key: 'success criteria', title: 'Success criteria', required: true },
  { key: 'constraints', title: 'Constraints', required: false },
  { key: 'stakeholders', title: 'Stakeholders', required: false },
  { key: 'skills', title: 'Skills', required: true },
  { key: 'phases', title: 'Phases', required: true },
  { key: 'running learnings', title: 'Running learnings', required: true },
  { key: 'iteration log', title: 'Iteration log', required: true },
] as const;

export const sections: Rule = {
  id: 'sections',
  severity: 'error',
  description: 'The required level-2 sections are present, once each, in the order of the format.',
  check(plan, _context, report) {
    const lastLine = plan.pointAt(plan.text.length).line;
    let previous: { index: number; title: string } | null = null;
    const seen = new Set<string>();
    for (const section of plan.sections) {
      const index = SECTION_ORDER.findIndex((known) => known.key === section.key);
      if (index === -1) continue;
      const line = section.heading.start.line;
      if (seen.has(section.key)) {
        report(`\`## ${section.title}\` appears twice; the second one is ignored`, { line });
        continue;
      }
      seen.add(section.key);
      if (previous && index < previous.index) {
        report(`\`## ${section.title}\` must come before \`## ${previous.title}\``, { line });
      }
      previous = { index, title: section.title };
    }
    for (const known of SECTION_ORDER) {
      if (known.required && !seen.has(known.key))
        report(`missing the \`## ${known.title}\` section`, {
          line: lastLine,
          fix: `add a \`## ${known.title}\` section in its place in the order (docs/plan-format.md)`,
        });
    }
  },
};
