import type { Rule } from './rule.js';

export const phaseDependencies: Rule = {
  id: 'phase-dependencies',
  severity: 'error',
  description: '`Depends on` names only phases of the plan, never the phase itself, and the dependencies have no cycle.',
  check(plan, _context, report) {
    const phases = new Map(plan.phases.filter((phase) => !phase.malformedHeading).map((phase) => [phase.id, phase]));
    for (const phase of phases.values()) {
      const line = phase.fields.get('depends on')?.line ?? phase.heading.start.line;
      for (const dependency of phase.dependsOn) {
        if (dependency === phase.id) report(`${phase.id} depends on itself`, { line, fix: `remove ${phase.id} from its own Depends on (line ${line})` });
        else if (!phases.has(dependency)) {
          report(`${phase.id} depends on ${dependency}, which is not a phase of this plan`, {
            line,
            fix: `remove ${dependency} from ${phase.id}'s Depends on (line ${line}), or name the phase it means (${[...phases.keys()]
              .filter((id) => id !== phase.id)
              .slice(0, 8)
              .join(', ')})`,
          });
        }
      }
    }
    // Depth-first search; each cycle is reported once, at the phase where it was entered.
    const state = new Map<string, 'visiting' | 'done'>();
    const stack: string[] = [];
    const reported = new Set<string>();
    const visit = (id: string) => {
      state.set(id, 'visiting');
      stack.push(id);
      for (const next of phases.get(id)?.dependsOn ?? []) {
        if (next === id || !phases.has(next)) continue;
        if (state.get(next) === 'visiting') {
          const cycle = [...stack.slice(stack.indexOf(next)), next];
          const key = [...cycle.slice(0, -1)].sort().join(',');
          if (!reported.has(key)) {
            reported.add(key);
            report(`dependency cycle: ${cycle.join(' → ')}`, {
              line: phases.get(next)!.heading.start.line,
              fix: `break the cycle: take ${cycle[cycle.length - 2]} out of ${next}'s Depends on, or drop another link of ${cycle.join(' → ')}`,
            });
          }
        } else if (!state.has(next)) {
          visit(next);
        }
      }
      stack.pop();
      state.set(id, 'done');
    };
    for (const id of phases.keys()) if (!state.has(id)) visit(id);
  },
};
