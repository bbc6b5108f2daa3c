import { frontMatterLine, type Rule } from './rule.js';

export const stateConsistency: Rule = {
  id: 'state-consistency',
  severity: 'error',
  description: '`state:` agrees with the plan: iteration = log rows, a known phase, blockers iff blocked, complete only when all is done.',
  check(plan, _context, report) {
    const state = plan.meta.state;
    if (!state) return;
    const rows = plan.log?.rows ?? [];
    if (plan.log && state.iteration !== rows.length) {
      report(`state.iteration is ${state.iteration} but the iteration log has ${rows.length} row(s)`, {
        line: frontMatterLine(plan, ['state', 'iteration']),
        fix: `set state.iteration to ${rows.length}, the number of log rows`,
      });
    }
    if (state.revision < state.iteration) {
      report(`state.revision (${state.revision}) is below state.iteration (${state.iteration}); every iteration writes the file`, {
        line: frontMatterLine(plan, ['state', 'revision']),
        fix: `set state.revision to ${state.iteration} or more`,
      });
    }
    const ids = new Set(plan.phases.map((phase) => phase.id));
    if (state.phase !== null && plan.phases.length > 0 && !ids.has(state.phase)) {
      report(`state.phase is ${state.phase}, which is not a phase of this plan`, {
        line: frontMatterLine(plan, ['state', 'phase']),
        fix: `set state.phase to the phase to run next (${plan.phases.find((phase) => phase.status !== 'done')?.id ?? 'null when all are done'})`,
      });
    }
    const current = plan.phases.find((phase) => phase.id === state.phase);
    const open = plan.phases.filter((phase) => phase.status !== 'done');
    if (current?.status === 'done' && open.length > 0) {
      report(`state.phase is ${state.phase}, which is done; the current phase is ${open[0]!.id}`, {
        line: frontMatterLine(plan, ['state', 'phase']),
        fix: `set state.phase to ${open[0]!.id} (the first phase not done)`,
      });
    }
    const active = plan.phases.filter((phase) => phase.status === 'active');
    if (active.length > 1) {
      report(`${active.length} phases are active (${active.map((phase) => phase.id).join(', ')}); only one phase runs at a time`, {
        line: active[1]!.heading.start.line,
      });
    }
    const blockers = state.blockers ?? [];
    const last = rows[rows.length - 1];
    if (last?.signal === 'BLOCKED_NEED_HUMAN' && blockers.length === 0) {
      report('the last iteration signalled BLOCKED_NEED_HUMAN but state.blockers is empty; say what the human must do', {
        line: frontMatterLine(plan, ['state', 'blockers']),
      });
    }
    if (blockers.length > 0 && last && last.signal !== 'BLOCKED_NEED_HUMAN') {
      report(`state.blockers is not empty but the last iteration signalled ${last.signal}`, {
        line: frontMatterLine(plan, ['state', 'blockers']),
      });
    }
    if (plan.meta.status === 'complete') {
      const open = plan.phases.filter((phase) => phase.status !== 'done').map((phase) => phase.id);
      const unticked = (plan.criteria ?? []).filter((criterion) => criterion.checked !== true).map((criterion) => criterion.id ?? '?');
      if (open.length > 0) report(`status is complete but phase(s) ${open.join(', ')} are not done`, { line: frontMatterLine(plan, ['status']) });
      if (unticked.length > 0) {
        report(`status is complete but success criteria ${unticked.join(', ')} are not ticked`, { line: frontMatterLine(plan, ['status']) });
      }
    }
  },
};
