import { waitingGateOf } from '../plan/log-grammar.js';
import { readPlanFile } from '../plan/store.js';
import type { Plan, Signal } from '../plan/types.js';
import { approverName } from './history.js';
import type { EngineEvent, IterationReport } from './iteration.js';

/**
 * The one loop: iterate while the signal is CONTINUE. `deepplan run --once | --loop`, the run dashboard, the Claude
 * Code hook and the tests all drive the engine through it. What varies between them is a control (pause, stop, an
 * approval typed at a human gate), a limit, a check before each iteration (the hook hands model steps to its
 * session) and who listens to the events; the loop itself is written once, here.
 */

/** What the loop needs of an iteration's report: its signal and blockers (runners keep a smaller, serialisable one). */
export interface LoopReport {
  signal: Signal;
  blockers: string[];
}

/** What the loop reports while it runs: the engine's own events, then one per iteration and per approval. */
export type LoopEvent<R extends LoopReport = IterationReport> =
  | EngineEvent
  /** After each iteration: its report, this run's model spend, and the human gate the loop now waits at (if any). */
  | { type: 'iteration'; report: R; count: number; costUsd: number | null; gate: string | null }
  /** The loop waits at a human gate for an approval (as it starts, when the plan already waits there). */
  | { type: 'gate'; gate: string }
  /** `note`: what the approver should know (the phase's check was not met when it was accepted), or null. */
  | { type: 'approved'; gate: string; by: string; plan: Plan; note: string | null }
  | { type: 'not-approved'; gate: string; problem: string };

/**
 * Pause, stop and approve from outside the loop (the dashboard's keys, an interrupt). Each takes effect between
 * iterations: an iteration that has started always finishes and writes its row.
 */
export class LoopControl {
  paused = false;
  stopping = false;
  private approval: string | null = null;
  private wake: (() => void) | null = null;

  /** Stop when `signal` aborts (Ctrl-C), as if stop() was called. */
  static from(signal: AbortSignal): LoopControl {
    const control = new LoopControl();
    if (signal.aborted) control.stop();
    else signal.addEventListener('abort', () => control.stop(), { once: true });
    return control;
  }

  togglePause(): boolean {
    this.paused = !this.paused;
    this.nudge();
    return this.paused;
  }

  stop(): void {
    this.stopping = true;
    this.nudge();
  }

  /** A person confirmed approving the waiting gate in `name`'s name (the loop checks the name). */
  approve(name: string): void {
    this.approval = name;
    this.nudge();
  }

  /** The approval given since the last call, once. */
  takeApproval(): string | null {
    const name = this.approval;
    this.approval = null;
    return name;
  }

  /** Resolves at the next pause, stop or approval. */
  changed(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }

  private nudge(): void {
    this.wake?.();
    this.wake = null;
  }
}

export interface LoopSpec<Held, R extends LoopReport = IterationReport> {
  /** One iteration of the engine (runIteration with the caller's options), reporting its events to `onEvent`. */
  iterate(onEvent: (event: EngineEvent) => void): Promise<R>;
  /** Iterations this loop may run; default 1 (`run --once`). */
  limit?: number;
  control?: LoopControl;
  onEvent?: (event: LoopEvent<R>) => void;
  /** This run's model spend so far, for the iteration events. */
  spentUsd?: () => number;
  /** Asked before each iteration: a value that ends the loop instead of iterating (the hook's hand-out of a model step). */
  before?: () => Promise<Held | null>;
  /**
   * Human gates wait in the loop for control.approve(name), then `approve` writes the approval and the loop goes on.
   * Without it a waiting gate ends the loop like any BLOCKED_NEED_HUMAN. `plan` is the plan as the loop starts.
   */
  gates?: { plan: Plan; approve(gate: string, by: string): Promise<{ plan: Plan; note: string | null }> };
}

export interface LoopEnd<Held, R extends LoopReport = IterationReport> {
  /** `signal`: a signal other than CONTINUE; `limit`: the iterations ran out; `stopped`: the control stopped it. */
  reason: 'signal' | 'limit' | 'stopped' | 'held';
  /** The last iteration's report; null when none ran. */
  last: R | null;
  count: number;
  /** The human gate left waiting when the loop ended; null when none waits. */
  gate: string | null;
  held: Held | null;
}

export async function runLoop<Held = never, R extends LoopReport = IterationReport>(spec: LoopSpec<Held, R>): Promise<LoopEnd<Held, R>> {
  const limit = spec.limit ?? 1;
  const control = spec.control;
  const emit = spec.onEvent ?? (() => {});
  let last: R | null = null;
  let count = 0;
  let gate = spec.gates ? waitingGateOf(spec.gates.plan.meta.state?.blockers ?? []) : null;
  const end = (reason: LoopEnd<Held, R>['reason'], held: Held | null = null): LoopEnd<Held, R> => ({ reason, last, count, gate, held });
  if (gate !== null) emit({ type: 'gate', gate });
  for (;;) {
    if (control?.stopping) return end('stopped');
    if (gate !== null && spec.gates) {
      // Blocked at a human gate: wait for a confirmed approval (or a stop).
      let name = control?.takeApproval() ?? null;
      while (name === null && control && !control.stopping) {
        await control.changed();
        name = control.takeApproval();
      }
      if (name === null) return end('stopped');
      const checked = approverName(name);
      if ('problem' in checked) {
        emit({ type: 'not-approved', gate, problem: checked.problem });
        continue;
      }
      const { plan, note } = await spec.gates.approve(gate, checked.name);
      emit({ type: 'approved', gate, by: checked.name, plan, note });
      gate = null;
      continue;
    }
    if (count >= limit) return end('limit');
    while (control?.paused && !control.stopping) await control.changed();
    if (control?.stopping) return end('stopped');
    const held = spec.before ? await spec.before() : null;
    if (held !== null) return end('held', held);
    count++;
    last = await spec.iterate(emit);
    gate = spec.gates && last.signal === 'BLOCKED_NEED_HUMAN' ? waitingGateOf(last.blockers) : null;
    emit({ type: 'iteration', report: last, count, costUsd: spec.spentUsd?.() ?? null, gate });
    if (last.signal !== 'CONTINUE' && gate === null) return end('signal');
  }
}

/** The signal of a plan as it stands, for a loop that ran no iteration (stopped at once, or a gate left waiting). */
export function signalOfPlan(plan: Plan): Signal {
  const blockers = plan.meta.state?.blockers ?? [];
  return plan.meta.status === 'complete' ? 'TASK_COMPLETE' : blockers.length > 0 ? 'BLOCKED_NEED_HUMAN' : 'CONTINUE';
}

/**
 * What a loop ended with, as one report: its last iteration's, or (when none ran) the plan's own state; a human gate
 * left waiting is BLOCKED_NEED_HUMAN whatever the last iteration said.
 */
export async function reportOfEnd(ended: LoopEnd<unknown>, planPath: string): Promise<IterationReport> {
  if (ended.last === null) return reportOfPlan(await readPlanFile(planPath));
  return ended.gate !== null && ended.last.signal !== 'BLOCKED_NEED_HUMAN' ? { ...ended.last, signal: 'BLOCKED_NEED_HUMAN' } : ended.last;
}

/** A report for a loop that ran no iteration: the plan's own state decides the signal. */
export function reportOfPlan(plan: Plan): IterationReport {
  const blockers = plan.meta.state?.blockers ?? [];
  return {
    signal: signalOfPlan(plan),
    rows: [],
    blockers,
    nextAction: plan.meta.state?.next_action ?? null,
    plan,
    changed: [],
    engineMs: 0,
    actionMs: 0,
    prompt: null,
  };
}

/** One line for a loop event, for plain (non-terminal) progress on standard error; null for events with no line. */
export function eventLine(event: LoopEvent): string | null {
  switch (event.type) {
    case 'waiting-for-lock':
      return `waiting: ${event.holder} is running an iteration of this plan`;
    case 'recovered':
      return `recovering: the last run stopped during "${event.action}"; logging it before anything is retried`;
    case 'action':
      return `▶ ${event.action}`;
    case 'notice':
      return `  ${event.message}`;
    case 'row':
      return `  #${event.number} ${event.result} → ${event.signal}${event.notes ? `  (${clip(event.notes, 200)})` : ''}`;
    case 'approved':
      return `${event.gate} approved by ${event.by}${event.note ? `; note: ${event.note}` : ''}`;
    case 'not-approved':
      return `not approved: ${event.problem}`;
    case 'iteration':
    case 'gate':
      return null;
  }
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
