import type { Rule } from './rule.js';

export const CONTEXT_MODES = ['direct', 'extract_then_assemble', 'map_reduce'] as const;
export const GATES = ['none', 'human', 'review'] as const;
export const PHASE_STATUSES = ['pending', 'active', 'done', 'blocked'] as const;

export const phaseFields: Rule = {
  id: 'phase-fields',
  severity: 'error',
  description: 'Each phase has a `P<n>. Title` heading, a unique id, a field list with `Done when`, valid field values and steps.',
  check(plan, _context, report) {
    const seen = new Map<string, number>();
    for (const phase of plan.phases) {
      const line = phase.heading.start.line;
      if (phase.malformedHeading) {
        report(`phase heading "${phase.title}" is not of the form \`### P<n>. Title\``, { line });
        continue;
      }
      if (seen.has(phase.id)) report(`phase id ${phase.id} is used twice (first on line ${seen.get(phase.id)})`, { line });
      else seen.set(phase.id, line);
      if (phase.fields.size === 0) {
        report(`${phase.id} has no field list (Inputs, Outputs, Context, Depends on, Gate, Done when, Status) under its heading`, { line });
        continue;
      }
      const fieldLine = (key: string) => phase.fields.get(key)?.line ?? line;
      if (!phase.doneWhen)
        report(`${phase.id} has no \`Done when\` field`, {
          line,
          fix: `add "- Done when: <what is true at the end>. verify: \`<command>\`" to ${phase.id}'s fields`,
        });
      else if (phase.doneWhen.verifyMalformed) {
        report(`${phase.id} \`Done when\` has \`verify:\` without one backticked command`, {
          line: fieldLine('done when'),
          fix: `write ${phase.id}'s verify (line ${fieldLine('done when')}) as one command in backticks: verify: \`test -s <output>\``,
        });
      }
      if (phase.context !== null && !(CONTEXT_MODES as readonly string[]).includes(phase.context)) {
        report(`${phase.id} Context "${phase.context}" is not one of ${CONTEXT_MODES.join(', ')}`, {
          line: fieldLine('context'),
          fix: `set ${phase.id}'s Context (line ${fieldLine('context')}) to one of ${CONTEXT_MODES.join(', ')}`,
        });
      }
      if (phase.gate !== null && !(GATES as readonly string[]).includes(phase.gate)) {
        report(`${phase.id} Gate "${phase.gate}" is not one of ${GATES.join(', ')}`, {
          line: fieldLine('gate'),
          fix: `set ${phase.id}'s Gate (line ${fieldLine('gate')}) to one of ${GATES.join(', ')}`,
        });
      }
      if (phase.status !== null && !(PHASE_STATUSES as readonly string[]).includes(phase.status)) {
        report(`${phase.id} Status "${phase.status}" is not one of ${PHASE_STATUSES.join(', ')}`, {
          line: fieldLine('status'),
          fix: `set ${phase.id}'s Status (line ${fieldLine('status')}) to one of ${PHASE_STATUSES.join(', ')}`,
        });
      }
      if (phase.steps.length === 0)
        report(`${phase.id} has no steps (an ordered list after the fields)`, {
          line,
          fix: `add the steps of ${phase.id} as a numbered list after its fields (1. run: \`…\`, 1. /skill …)`,
        });
      for (const step of phase.steps) {
        if (step.kind === 'run' && step.command === null) {
          report(`${phase.id}.${step.index} is a \`run:\` step without one backticked command`, {
            line: step.line,
            fix: `write ${phase.id}.${step.index} (line ${step.line}) as run: followed by one command in backticks`,
          });
        }
      }
    }
  },
};
