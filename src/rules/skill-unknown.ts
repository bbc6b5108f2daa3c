import type { Rule } from './rule.js';

export const skillUnknown: Rule = {
  id: 'skill-unknown',
  severity: 'warning',
  description: 'Every skill the plan names is an installed Agent Skill (a folder with a valid SKILL.md).',
  check(plan, context, report) {
    const names = new Map<string, number>();
    for (const skill of [...(plan.skills?.mapped ?? []), ...(plan.skills?.excluded ?? [])]) {
      if (skill.name && !names.has(skill.name)) names.set(skill.name, skill.line);
    }
    for (const phase of plan.phases) {
      for (const step of phase.steps) {
        if (step.skill && !names.has(step.skill)) names.set(step.skill, step.line);
      }
    }
    if (names.size === 0) return;
    const index = context.skills();
    // Once the plan is approved, a skill a step invokes or the audit maps that is not installed stops the executor.
    const approved = ['approved', 'executing', 'complete', 'blocked'].includes(plan.meta.status ?? '');
    const used = new Set([
      ...(plan.skills?.mapped ?? []).map((skill) => skill.name),
      ...plan.phases.flatMap((phase) => phase.steps.map((step) => step.skill ?? '')),
    ]);
    for (const [name, line] of names) {
      const severity = approved && used.has(name) ? ('error' as const) : undefined;
      if (index.skills.has(name)) continue;
      const invalid = index.invalid.find((skill) => skill.dir.endsWith(`/${name}`) || skill.dir.endsWith(`\\${name}`));
      if (invalid)
        report(`skill ${name} is installed but invalid: ${invalid.problem}`, { line, severity, fix: `repair ${invalid.dir}/SKILL.md: ${invalid.problem}` });
      else {
        report(
          `skill ${name} is not installed (no ${name}/SKILL.md in .claude/skills, .agents/skills, skills or the configured skill paths)${severity ? '; the plan is approved and the executor cannot run it' : ''}`,
          {
            line,
            severity,
            fix: `install ${name} (.claude/skills/${name}/SKILL.md), or replace it at line ${line} with an installed skill`,
          },
        );
      }
    }
  },
};
