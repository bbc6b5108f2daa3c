import type { Rule } from './rule.js';

export const skillDrift: Rule = {
  id: 'skill-drift',
  severity: 'error',
  description: 'Every mapped skill is invoked by a step of each phase it is mapped to, and every `/skill` step is mapped to its phase.',
  check(plan, _context, report) {
    const mapped = plan.skills?.mapped;
    if (!mapped) return;
    const mapping = new Map<string, Set<string>>();
    for (const skill of mapped) {
      for (const phaseId of skill.phases) {
        if (!mapping.has(skill.name)) mapping.set(skill.name, new Set());
        mapping.get(skill.name)!.add(phaseId);
        const phase = plan.phases.find((candidate) => candidate.id === phaseId);
        if (!phase) continue;
        const invoked = phase.steps.some((step) => step.kind === 'skill' && step.skill === skill.name);
        if (!invoked) {
          report(`skill ${skill.name} is mapped to ${phaseId} but no step of ${phaseId} invokes /${skill.name}`, {
            line: phase.heading.start.line,
            fix: `invoke /${skill.name} in a step of ${phaseId}, or take ${phaseId} out of ${skill.name}'s Phases in the Mapped table (line ${skill.line})`,
          });
        }
      }
    }
    // An excluded skill invoked is the executor-refusals rule's finding (it says why the skill is excluded).
    const excluded = new Set((plan.skills?.excluded ?? []).map((skill) => skill.name));
    for (const phase of plan.phases) {
      for (const step of phase.steps) {
        if (step.kind !== 'skill' || !step.skill) continue;
        if (excluded.has(step.skill) && !mapping.has(step.skill)) continue;
        if (!mapping.get(step.skill)?.has(phase.id)) {
          report(`${phase.id}.${step.index} invokes /${step.skill}, which the skill audit does not map to ${phase.id}`, {
            line: step.line,
            fix: `map ${step.skill} to ${phase.id} in the Mapped table${plan.skills?.mapped?.find((skill) => skill.name === step.skill) ? ` (line ${plan.skills.mapped.find((skill) => skill.name === step.skill)!.line})` : ''}, or invoke a skill mapped to ${phase.id} in ${phase.id}.${step.index}`,
          });
        }
      }
    }
  },
};
