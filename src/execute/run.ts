import { dirname, relative } from 'node:path';
import { findRepoRoot, loadConfig, type Config } from '../config/config.js';
import { ModelRunner } from '../models/runner.js';
import { PlanFileError, readPlanFile, unreadableReason } from '../plan/store.js';
import type { Plan } from '../plan/types.js';
import { EngineError } from './executors.js';
import { runIteration, type EngineEvent, type IterationOptions, type IterationReport } from './iteration.js';
import type { LoopEnd } from './loop.js';
import { budgetProblem } from './next.js';

/**
 * What `deepplan run` checks and sets up before its loop: the configuration, the plan (readable, approved, with a
 * finite budget), the model runner whose ledger starts from the plan's own spend, and the options of each iteration.
 */

/** Why a run does not start: `usage` (exit 2: a missing agent command, no finite budget) or `failed` (exit 1). */
export class RunRefusal extends EngineError {
  constructor(
    message: string,
    readonly exit: 'usage' | 'failed',
  ) {
    super(message);
  }
}

export interface RunSetup {
  planPath: string;
  /** The plan as the person named it, for messages. */
  shown: string;
  executor: 'builtin' | 'command';
  sandbox: boolean;
  commit: boolean;
  /** --max-cost, else limits.max_cost; either counts the plan's whole spend (state.spent_usd), not this run's alone. */
  maxCostUsd: number | null;
  signal?: AbortSignal;
  notice: (line: string) => void;
}

export interface PreparedRun {
  planPath: string;
  root: string;
  config: Config;
  /** The plan as the run starts. */
  plan: Plan;
  models: ModelRunner;
  iterationOptions(onEvent: (event: EngineEvent) => void): IterationOptions;
  /** One iteration of this run (the loop's `iterate`). */
  iterate(onEvent: (event: EngineEvent) => void): Promise<IterationReport>;
}

export async function prepareRun(setup: RunSetup): Promise<PreparedRun> {
  const { planPath } = setup;
  const root = findRepoRoot(dirname(planPath));
  const config = loadConfig(root);
  if (setup.executor === 'command' && !config.execute?.agent?.command) {
    throw new RunRefusal('--executor command needs execute.agent.command in deepplan.config.yaml, e.g. execute: {agent: {command: "claude -p"}}', 'usage');
  }
  let plan: Plan;
  try {
    plan = await readPlanFile(planPath);
  } catch (error) {
    if (error instanceof PlanFileError) throw new RunRefusal(error.message, 'failed');
    throw error;
  }
  // No run without a finite iteration budget (the engine refuses too, whoever drives it): one line, before anything runs.
  const shown = relative(process.cwd(), planPath) || setup.shown;
  const noBudget = unreadableReason(plan) === null && plan.frontMatter?.data ? budgetProblem(plan, shown) : null;
  if (noBudget) throw new RunRefusal(noBudget, 'usage');
  const status = plan.meta.status;
  if (status === 'draft' || status === 'in_review') {
    const review = status === 'in_review' ? `finish its review (deepplan review ${shown}), then ` : '';
    throw new RunRefusal(`${shown} is ${status}, not approved; ${review}approve it for execution with deepplan approve ${shown}`, 'failed');
  }
  const models = new ModelRunner({ config, root, maxCostUsd: setup.maxCostUsd, notice: setup.notice, ...(setup.signal ? { signal: setup.signal } : {}) });
  models.ledger.startFrom(plan.meta.state?.spent_usd ?? 0);
  const iterationOptions = (onEvent: (event: EngineEvent) => void): IterationOptions => ({
    planPath,
    root,
    config,
    models,
    executor: setup.executor,
    sandbox: setup.sandbox,
    commit: setup.commit,
    maxCostUsd: setup.maxCostUsd,
    onEvent,
  });
  return { planPath, root, config, plan, models, iterationOptions, iterate: (onEvent) => runIteration(iterationOptions(onEvent)) };
}

/**
 * The lines `deepplan run` ends with on standard error: the blockers or the next action, the --max-iterations of a
 * --loop reached (`maxIterations`; null for --once or no limit), the spend.
 */
export function closingLines(
  report: IterationReport,
  ended: Pick<LoopEnd<unknown>, 'reason'>,
  run: Pick<PreparedRun, 'models'> & { maxIterations: number | null },
): string[] {
  const lines: string[] = [];
  if (report.signal === 'BLOCKED_NEED_HUMAN') for (const blocker of report.blockers) lines.push(`blocked: ${blocker}`);
  else if (report.signal === 'CONTINUE' && report.nextAction) lines.push(`next: ${report.nextAction}`);
  if (ended.reason === 'limit' && run.maxIterations !== null && report.signal === 'CONTINUE') lines.push(`stopped after --max-iterations ${run.maxIterations}`);
  const ledger = run.models.ledger;
  if (ledger.spentUsd > 0) lines.push(`model cost this run: $${ledger.spentUsd.toFixed(4)} (this plan so far: $${ledger.totalUsd.toFixed(4)})`);
  return lines;
}

/** The last JSON line of `deepplan run --json` before the signal. */
export function resultLine(report: IterationReport, planPath: string): string {
  return JSON.stringify({
    type: 'result',
    signal: report.signal,
    blockers: report.blockers,
    nextAction: report.nextAction,
    plan: relative(process.cwd(), planPath),
  });
}
