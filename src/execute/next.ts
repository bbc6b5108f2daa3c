import { stepActionText } from '../plan/log-grammar.js';
import type { Phase, Plan, Step } from '../plan/types.js';
import { budgetProblem, iterationBudget } from '../rules/budget.js';
import { logLines } from '../plan/log-table.js';
import { acceptsPhase, byKind, completedSteps, gateRounds, lastApprovalIndex, phaseRows, type ModelStepTest } from './history.js';

export { budgetProblem, iterationBudget };

/**
 * What the next iteration does, read from the plan alone: a pure function of the file, so any process that reads
 * the plan picks the same action.
 */
export type NextAction =
  | { kind: 'complete' }
  /** Blocked until a person acts (`deepplan approve`); no iteration runs. */
  | { kind: 'waiting'; phase: Phase | null; blockers: string[] }
  /** The iteration budget is spent. */
  | { kind: 'budget'; phase: Phase | null }
  /** Run this step. `redo` says why a completed step runs again (the phase's check failed, a reviewer asked for changes). */
  | { kind: 'step'; phase: Phase; step: Step; redo: string | null }
  /** Every step ran: check the phase's Done when (and its human gate) again. */
  | { kind: 'check'; phase: Phase }
  /** The phase's quality gate: the reviewer checks its outputs. */
  | { kind: 'gate'; phase: Phase }
  /** Every phase is done: verify the success criteria. */
  | { kind: 'criteria'; phase: Phase };

export function isDone(phase: Phase): boolean {
  return phase.status === 'done';
}

/** The first phase, in document order, that is not done and whose dependencies are all done. */
export function currentPhase(plan: Plan): Phase | null {
  const done = new Set(plan.phases.filter(isDone).map((phase) => phase.id));
  return plan.phases.find((phase) => !done.has(phase.id) && phase.dependsOn.every((id) => done.has(id))) ?? null;
}

export function nextAction(plan: Plan, isModelStep: ModelStepTest = byKind): NextAction {
  const lines = logLines(plan.log);
  const state = plan.meta.state;
  if (plan.meta.status === 'complete') return { kind: 'complete' };
  const phase = currentPhase(plan);
  const blockers = state?.blockers ?? [];
  if (blockers.length > 0) return { kind: 'waiting', phase, blockers };
  // The engine never loops without a finite budget, whoever drives it (run, the dashboard, the Claude Code hook).
  const budget = iterationBudget(plan);
  if (budget === null) return { kind: 'waiting', phase, blockers: [budgetProblem(plan, 'the plan')!] };
  if (lines.count >= budget) return { kind: 'budget', phase };
  if (phase === null) {
    const open = plan.phases.filter((candidate) => !isDone(candidate));
    if (open.length > 0)
      return { kind: 'waiting', phase: open[0]!, blockers: [`${open.map((p) => p.id).join(', ')} cannot start: their dependencies never finish`] };
    const last = plan.phases[plan.phases.length - 1];
    return last ? { kind: 'criteria', phase: last } : { kind: 'complete' };
  }
  // What follows reads the phase's own rows and its approvals only (phaseRows): a long log's other rows stay unread.
  const { rows } = phaseRows(lines, phase.id);
  // Rows before the last approval of this phase that asked for a retry do not count: the phase starts over.
  const since = lastApprovalIndex(rows, phase.id) + 1;
  const fresh = rows.slice(since);
  const retried = since > 0 && !acceptsPhase(rows[since - 1]!);
  const done = completedSteps(phase, retried ? fresh : rows, isModelStep);
  const step = phase.steps.find((candidate) => !done.has(candidate.index));
  if (step) return { kind: 'step', phase, step, redo: null };
  if (phase.gate === 'review') {
    const { lastVerdict } = gateRounds(phase.id, rows);
    if (lastVerdict !== 'APPROVED') return { kind: 'gate', phase };
  }
  // Every step ran and the phase is still open: its check failed (or the run stopped before checking). A step a model
  // carries out can try again; scripted steps would only repeat themselves.
  const redo = [...phase.steps].reverse().find(isModelStep);
  if (redo && fresh.some((row) => row.phase === phase.id)) return { kind: 'step', phase, step: redo, redo: "the phase's Done when check does not pass yet" };
  return { kind: 'check', phase };
}

/** `P3.2 run node scripts/x.mjs`: the log's Action for a step (two rows with the same Action are the same action). */
export function stepAction(phase: Phase, step: Step, detail?: string): string {
  if (step.kind === 'run') return stepActionText(phase.id, step.index, `run ${step.command ?? step.text}`);
  if (step.kind === 'skill') return stepActionText(phase.id, step.index, `/${step.skill}${detail ? ` ${detail}` : step.args ? ` ${step.args}` : ''}`);
  return stepActionText(phase.id, step.index, detail ?? step.text);
}

export function describeNext(next: NextAction): string | null {
  switch (next.kind) {
    case 'complete':
      return null;
    case 'waiting':
      return next.blockers[0] ?? 'waiting for a person';
    case 'budget':
      return 'the iteration budget is spent: raise budget.max_iterations, then deepplan approve --retry';
    case 'step':
      return `${next.phase.id}.${next.step.index}: ${next.step.text}`;
    case 'check':
      return `${next.phase.id}: check "${next.phase.doneWhen?.text ?? 'Done when'}"`;
    case 'gate':
      return `${next.phase.id} gate: the reviewer checks the phase's outputs`;
    case 'criteria':
      return 'verify the success criteria';
  }
}
