import { relative, resolve } from 'node:path';
import { outcomeUnknownNotes, parseInFlight, preflightBlocker, preflightNotes, gateActionText, actionNamesPhase } from '../plan/log-grammar.js';
import { lockPlan } from '../plan/store.js';
import type { Signal } from '../plan/types.js';
import { act, agentHandOff } from './act.js';
import { decide } from './decide.js';
import { rowCount } from './history.js';
import { EngineError, makeOutcome } from './executors.js';
import { openRun, type AgentHandOff, type IterationOptions, type IterationReport, type IterationRun } from './iteration-run.js';
import { currentPhase, describeNext, nextAction, stepAction } from './next.js';
import { loadPlan, preflight } from './preflight.js';
import { commitDecision, commitToGit, finishReport, IN_FLIGHT, writeObservation } from './record.js';
import { bubblewrapAvailable, NO_BUBBLEWRAP } from './sandbox.js';
import { snapshot, type Snapshot } from './scope.js';

/**
 * One iteration of DESIGN.md "Execution: one iteration", as a script of its eight steps: read the plan (1),
 * pre-flight (2), exactly one action (3), update the state and append one log row (4, 5), check success (6), the
 * escape hatches (7), one signal (8). The plan file is the only memory; the engine, not a model, decides the signal.
 * The steps live in preflight.ts, act.ts, decide.ts and record.ts; they share one run object (iteration-run.ts).
 */

export type { AgentAnswer, AgentHandOff, AgentRunner, EngineEvent, IterationOptions, IterationReport } from './iteration-run.js';
export { AGENT_STATUS_INSTRUCTIONS, agentHandOff, agentOutcome, parseAgentStatus } from './act.js';

export async function runIteration(options: IterationOptions): Promise<IterationReport> {
  const started = performance.now();
  const planPath = resolve(options.planPath);
  const emit = options.onEvent ?? (() => {});
  const release = await lockPlan(
    `${planPath}.run`,
    options.lockWaitMs ?? 10 * 60_000,
    (holder) => emit({ type: 'waiting-for-lock', holder }),
    (dead) => emit({ type: 'notice', message: `the run lock of ${dead}, which is no longer running, was taken over` }),
  );
  try {
    return await iterate(openRun(options, await loadPlan(planPath), planPath), started);
  } finally {
    await release();
  }
}

async function iterate(run: IterationRun, started: number): Promise<IterationReport> {
  // Every iteration may run a command (a step, a verify): refuse before anything is recorded, not halfway.
  if (run.context.sandbox && !bubblewrapAvailable()) throw new EngineError(NO_BUBBLEWRAP);
  // An action that started but whose row was never written: log it before anything is retried.
  if (!(await recover(run))) return finishReport(run, started);

  // 1. The next action, read from the plan alone.
  const next = nextAction(run.plan, run.isModelStep);
  if (next.kind === 'complete') {
    run.report.signal = 'TASK_COMPLETE';
    return finishReport(run, started);
  }
  if (next.kind === 'waiting' || next.kind === 'budget') {
    const plan = run.plan;
    const approve = ['deepplan approve', relative(process.cwd(), run.planPath), next.phase?.id, '--retry'].filter(Boolean).join(' ');
    run.report.signal = 'BLOCKED_NEED_HUMAN';
    run.report.blockers =
      next.kind === 'waiting'
        ? next.blockers
        : [
            `The iteration budget is spent (${rowCount(plan)} of ${plan.meta.budget?.max_iterations ?? '?'}): ` +
              `raise budget.max_iterations, then run ${approve}`,
          ];
    return finishReport(run, started);
  }
  const phase = next.phase;

  // 2. Pre-flight: a blocker is recorded as a blocked row of the action it stopped.
  const blocker = await preflight(run, next);
  if (blocker) {
    const action = next.kind === 'step' ? stepAction(phase, next.step) : gateActionText(phase.id, null);
    const outcome = makeOutcome({ action, result: 'blocked', notes: preflightNotes(blocker), blocker: preflightBlocker(phase.id, blocker) });
    await commitDecision(run, await decide(run, phase, { kind: 'pre-flight' }, outcome));
    return finishReport(run, started);
  }

  // 3. Exactly one action; 6, 7, 8. check success, the escape hatches, the signal; 4, 5. one write of the row and state.
  const { outcome, taken } = await act(run, next);
  await commitDecision(run, await decide(run, phase, taken, outcome));
  writeObservation(run.options.root, run.plan, rowCount(run.plan), outcome.observation);
  run.report.changed = outcome.changed;
  if (run.options.commit) await commitToGit(run, outcome);
  return finishReport(run, started);
}

/** Logs an action left in flight by a run that stopped; false when its row ended the iteration (a signal other than CONTINUE). */
async function recover(run: IterationRun): Promise<boolean> {
  const inFlight = (run.plan.meta.state as Record<string, unknown>)[IN_FLIGHT];
  if (typeof inFlight !== 'string' || inFlight.trim() === '') return true;
  const { action, started } = parseInFlight(inFlight);
  run.emit({ type: 'recovered', action });
  const plan = run.plan;
  const phase = plan.phases.find((candidate) => actionNamesPhase(action, candidate.id)) ?? currentPhase(plan) ?? plan.phases[0]!;
  const decision = await decide(run, phase, { kind: 'recovered' }, makeOutcome({ action, result: 'failed', notes: outcomeUnknownNotes(started) }));
  await commitDecision(run, decision);
  return decision.signal === 'CONTINUE';
}

/**
 * What the next iteration of a plan run with `--executor command` would do, without doing it or writing anything:
 * `agent` when it hands a model step to the external agent (the prompt and the Action it would log), `stop` when
 * no iteration would run (the signal and why), `engine` when the engine itself acts next (a command, a check, a
 * gate, or a pre-flight blocker it records). The Claude Code Stop hook hands `agent` prompts to its session.
 */
export type HandOffPreview = { revision: number; rows: number; budget: number | null } & (
  | ({ kind: 'agent'; snapshot: Snapshot } & AgentHandOff)
  | { kind: 'stop'; signal: Signal; blockers: string[] }
  | { kind: 'engine'; next: string }
);

export async function nextHandOff(options: IterationOptions): Promise<HandOffPreview> {
  const planPath = resolve(options.planPath);
  const plan = await loadPlan(planPath);
  const run = openRun({ ...options, executor: 'command', onEvent: () => {} }, plan, planPath);
  const context = run.context;
  const where = { revision: plan.meta.state!.revision, rows: rowCount(plan), budget: plan.meta.budget?.max_iterations ?? null };
  const inFlight = (plan.meta.state as Record<string, unknown>)[IN_FLIGHT];
  // A crashed action is the engine's to log first.
  if (typeof inFlight === 'string' && inFlight.trim() !== '') return { ...where, kind: 'engine', next: `recover ${inFlight}` };
  const next = nextAction(plan, run.isModelStep);
  if (next.kind === 'complete') return { ...where, kind: 'stop', signal: 'TASK_COMPLETE', blockers: [] };
  if (next.kind === 'waiting' || next.kind === 'budget')
    return { ...where, kind: 'stop', signal: 'BLOCKED_NEED_HUMAN', blockers: next.kind === 'waiting' ? next.blockers : [describeNext(next)!] };
  if (next.kind !== 'step' || !run.isModelStep(next.step)) return { ...where, kind: 'engine', next: describeNext(next) ?? next.kind };
  // A pre-flight blocker is recorded by the engine (as a blocked row), not handed to the agent.
  if ((await preflight(run, next)) !== null) return { ...where, kind: 'engine', next: 'pre-flight' };
  const skill = next.step.kind === 'skill' ? (context.skills.skills.get(next.step.skill!) ?? null) : null;
  return { ...where, kind: 'agent', ...agentHandOff(plan, next.phase, next.step, next.redo, skill), snapshot: snapshot(context.scope) };
}
