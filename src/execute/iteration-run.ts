import { relative } from 'node:path';
import type { Config } from '../config/config.js';
import type { ModelRunner } from '../models/runner.js';
import type { GateKind } from '../plan/log-grammar.js';
import type { LogResult, Phase, Plan, Signal, Step } from '../plan/types.js';
import { createRuleContext } from '../rules/context.js';
import type { RuleContext } from '../rules/rule.js';
import { carriedOutByModel, executionContext, type ActionOutcome, type ExecutionContext } from './executors.js';

/**
 * The run object of one iteration: what every step of the iteration (pre-flight, act, decide, record) shares, so
 * that none of them takes a long list of parameters. It also holds the engine's public types (options, events, the
 * report, the agent seam), which iteration.ts re-exports.
 */

export interface IterationOptions {
  planPath: string;
  root: string;
  config: Config;
  models: ModelRunner | null;
  executor?: 'builtin' | 'command';
  /** false: --no-sandbox. */
  sandbox?: boolean;
  commit?: boolean;
  maxCostUsd?: number | null;
  /** How long to wait for another run of the same plan. */
  lockWaitMs?: number;
  env?: Record<string, string | undefined>;
  now?: () => Date;
  onEvent?: (event: EngineEvent) => void;
  /**
   * With executor 'command': who answers a step handed to an external agent. Default: execute.agent.command on
   * standard input. The Claude Code Stop hook passes the session's own answer (src/hook/session-loop.ts).
   */
  agent?: AgentRunner;
}

/** A model step handed to an external agent: the prompt it gets and the log's Action for it. */
export interface AgentHandOff {
  prompt: string;
  action: string;
}

/** What an external agent did with a hand-off: its output (the status block on the last line) and what changed. */
export interface AgentAnswer {
  stdout: string;
  code: number | null;
  timedOut: boolean;
  changed: string[];
  actionMs: number;
  /** What the agent printed on standard error (a failed row's excerpt shows it). */
  stderr?: string;
}

export type AgentRunner = (handOff: AgentHandOff, context: ExecutionContext) => Promise<AgentAnswer>;

export type EngineEvent =
  | { type: 'waiting-for-lock'; holder: string }
  | { type: 'recovered'; action: string }
  | { type: 'action'; action: string; phase: string }
  | { type: 'notice'; message: string }
  | { type: 'row'; number: number; action: string; result: LogResult; signal: Signal; notes: string };

export interface IterationReport {
  signal: Signal;
  /** The rows this call appended (a recovered iteration adds one before the action's). */
  rows: Array<{ number: number; action: string; result: LogResult; signal: Signal; notes: string }>;
  blockers: string[];
  nextAction: string | null;
  plan: Plan;
  changed: string[];
  /** Milliseconds in the engine itself and in the action (commands, model calls, verify commands). */
  engineMs: number;
  actionMs: number;
  /** The prompt the executor model got, when it got one (its size is what the bounded-prompt rule measures). */
  prompt: string | null;
}

/** What the iteration decided after its action: the row and the plan's new state. */
export interface Decision {
  outcome: ActionOutcome;
  phase: Phase;
  signal: Signal;
  blockers: string[];
  phaseStatus: Map<string, 'active' | 'done' | 'blocked'>;
  ticks: Map<string, boolean>;
  learnings: string[];
  complete: boolean;
  checkNotes: string[];
}

/** The command a blocker tells the person to run once they have looked: `deepplan approve plans/p.md P3 --retry`. */
export function approveCommand(run: Pick<IterationRun, 'planArg'>, phaseId: string, retry: boolean): string {
  return `deepplan approve ${run.planArg} ${phaseId}${retry ? ' --retry' : ''}`;
}

/** One iteration in progress: its options, contexts and the plan as this iteration last read or wrote it. */
export interface IterationRun {
  readonly options: IterationOptions;
  /** The plan's absolute path. */
  readonly planPath: string;
  /** The plan path as messages name it (relative to the working directory). */
  readonly planArg: string;
  readonly context: ExecutionContext;
  readonly ruleContext: RuleContext;
  /** Which steps of this run a model (or agent) carries out; a tool skill is a command. */
  readonly isModelStep: (step: Step) => boolean;
  readonly emit: (event: EngineEvent) => void;
  readonly now: () => Date;
  readonly report: IterationReport;
  plan: Plan;
}

/**
 * What the iteration is doing, as decide() switches on it: a step (run, refused or handed out), a gate of the phase's
 * boundary (the reviewer, the phase's check again, the plan's success criteria), an action found in flight after a
 * crash, or an action pre-flight blocked before it ran.
 */
export type Taken = { kind: 'step'; step: Step } | { kind: 'gate'; gate: GateKind } | { kind: 'recovered' } | { kind: 'pre-flight' };

/** The run object of an iteration over `plan` (read by the caller, at `planPath`). */
export function openRun(options: IterationOptions, plan: Plan, planPath: string): IterationRun {
  const ruleContext = createRuleContext(options.root, options.config);
  const context = executionContext(plan, {
    root: options.root,
    planPath,
    config: options.config,
    skills: ruleContext.skills(),
    models: options.models,
    sandbox: options.sandbox ?? true,
    ...(options.executor ? { executor: options.executor } : {}),
    ...(options.env ? { env: options.env } : {}),
  });
  const report: IterationReport = { signal: 'CONTINUE', rows: [], blockers: [], nextAction: null, plan, changed: [], engineMs: 0, actionMs: 0, prompt: null };
  return {
    options,
    planPath,
    planArg: relative(process.cwd(), planPath) || planPath,
    context,
    ruleContext,
    isModelStep: (step) => carriedOutByModel(step, context.skills),
    emit: options.onEvent ?? (() => {}),
    now: options.now ?? (() => new Date()),
    report,
    plan,
  };
}
