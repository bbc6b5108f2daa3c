import type { Rule } from './rule.js';

export const MIN_MAPPED_SKILLS = 3;
export const MIN_EXCLUDED_SKILLS = 2;

export const skillAudit: Rule = {
  id: 'skill-audit',
  severity: 'error',
  description: 'The skill audit maps at least 3 skills to phases and excludes at least 2, each with a reason.',
  check(plan, _context, report) {
    const section = plan.sections.find((candidate) => candidate.key === 'skills');
    if (!section || !plan.skills) return;
    const line = section.heading.start.line;
    const { mapped, excluded } = plan.skills;
    const phaseIds = new Set(plan.phases.map((phase) => phase.id));
    if (mapped === null) report('the skill audit has no `### Mapped` table (| Skill | Phases | Why |)', { line });
    if (excluded === null) report('the skill audit has no `### Excluded` table (| Skill | Reason |)', { line });
    if (mapped && mapped.length < MIN_MAPPED_SKILLS) {
      report(`the skill audit maps ${mapped.length} skill(s); at least ${MIN_MAPPED_SKILLS} are needed`, { line });
    }
    if (excluded && excluded.length < MIN_EXCLUDED_SKILLS) {
      report(`the skill audit excludes ${excluded.length} skill(s); at least ${MIN_EXCLUDED_SKILLS} are needed, each with a reason`, { line });
    }
    const mappedNames = new Set<string>();
    for (const skill of mapped ?? []) {
      if (!skill.name) {
        report('a Mapped row has no skill name', { line: skill.line });
        continue;
      }
      if (mappedNames.has(skill.name)) report(`skill ${skill.name} is mapped twice; list its phases in one row`, { line: skill.line });
      mappedNames.add(skill.name);
      if (skill.phases.length === 0) report(`skill ${skill.name} is mapped to no phase`, { line: skill.line });
      for (const phase of skill.phases) {
        if (!phaseIds.has(phase)) {
          report(`skill ${skill.name} is mapped to ${phase}, which is not a phase of this plan`, {
            line: skill.line,
            fix: `take ${phase} out of ${skill.name}'s Phases (line ${skill.line}), or name the phase it means`,
          });
        }
      }
      if (!skill.why) report(`skill ${skill.name} is mapped without saying why`, { line: skill.line, severity: 'warning' });
    }
    for (const skill of excluded ?? []) {
      if (!skill.name) {
        report('an Excluded row has no skill name', { line: skill.line });
        continue;
      }
      // Dashes and quotes as \u escapes: the start-up snapshot's bundle stays ASCII (scripts/build.mjs).
      if (!skill.reason || /^[-\u2013\u2014.?\s]*$|^(?:n\/?a|none|tbd|todo)$/i.test(skill.reason))
        report(`skill ${skill.name} is excluded without a reason`, {
          line: skill.line,
          fix: `say in ${skill.name}'s Reason (line ${skill.line}) why the plan does not use it`,
        });
      if (mappedNames.has(skill.name))
        report(`skill ${skill.name} is both mapped and excluded`, {
          line: skill.line,
          fix: `keep ${skill.name} in the Mapped table or in the Excluded table (line ${skill.line}), not both`,
        });
    }
  },
};
