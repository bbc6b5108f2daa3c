import { resolve } from 'node:path';
import { approvePhase, defaultApprover, unmetNote } from '../execute/approve.js';
import { EngineError } from '../execute/executors.js';
import type { IterationReport } from '../execute/iteration.js';
import { eventLine, LoopControl, type LoopEvent, reportOfEnd, runLoop } from '../execute/loop.js';
import { closingLines, type PreparedRun, prepareRun, RunRefusal, resultLine } from '../execute/run.js';
import { PlanFileError, readPlanFile } from '../plan/store.js';
import type { Signal } from '../plan/types.js';
import { parallelProblem, wavesOf, withWaves } from '../runners/waves.js';
import type { DashboardMount } from '../ui/run-dashboard.js';
import { EXIT, interruptSignal, UserError } from './exit.js';
import { planPathArgument } from './plan-argument.js';

export interface RunOptions {
  once?: boolean;
  loop?: boolean;
  maxIterations?: number;
  parallel?: number;
  maxCost?: number;
  executor: 'builtin' | 'command';
  sandbox?: boolean;
  commit?: boolean;
  json?: boolean;
}

export const exitCodeOf = (signal: Signal): number => (signal === 'BLOCKED_NEED_HUMAN' ? EXIT.blocked : EXIT.ok);

/** The engine's refusals as one line and exit 1 (2 for a run that cannot start for a usage reason). */
async function asUserErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof RunRefusal) throw new UserError(error.message, error.exit === 'usage' ? EXIT.usage : EXIT.failed);
    if (error instanceof EngineError || error instanceof PlanFileError) throw new UserError(error.message, EXIT.failed);
    throw error;
  }
}

/** `run --loop` on a terminal: the one loop, shown by the Ink dashboard, which approves a waiting human gate with `a`. */
export async function runDashboard(run: Pick<PreparedRun, 'planPath' | 'root' | 'config' | 'models' | 'iterate'>, limit: number, mount?: DashboardMount) {
  const { DashboardStore, openRunDashboard } = await import('../ui/run-dashboard.js');
  const plan = await readPlanFile(run.planPath);
  const { name, problem } = defaultApprover(run);
  const control = new LoopControl();
  const screen = openRunDashboard(DashboardStore.open(plan, run.planPath, { approver: name, message: problem }), control, mount, wavesOf(run));
  const gates = {
    plan,
    approve: async (gate: string, by: string) => {
      const result = await approvePhase(run.planPath, gate, { by });
      return { plan: result.plan, note: result.unmet ? unmetNote(gate, result.unmet) : null };
    },
  };
  const spentUsd = () => run.models.ledger.spentUsd;
  const looping = asUserErrors(() => runLoop({ iterate: run.iterate, limit, control, gates, onEvent: screen.onEvent, spentUsd }));
  const ended = await looping.catch(async (error: unknown) => {
    await screen.close(false);
    throw error;
  });
  await screen.close(true);
  return reportOfEnd(ended, run.planPath);
}

/** `deepplan run <plan> --once | --loop`: the last line of standard output is exactly the signal. */
export async function runRunCommand(planArgument: string, options: RunOptions): Promise<number> {
  const both = Boolean(options.once) === Boolean(options.loop);
  const problem = both ? 'give exactly one of --once (one iteration) or --loop (until a signal other than CONTINUE)' : parallelProblem(options);
  if (problem) throw new UserError(problem);
  const planPath = resolve(planArgument);
  // No such file, or no plan file at all (a folder): a usage error (exit 2), as for every command.
  planPathArgument(planArgument);
  const { executor, sandbox, commit, maxCost } = options;
  const setup = { planPath, shown: planArgument, executor, sandbox: sandbox !== false, commit: commit === true, maxCostUsd: maxCost ?? null };
  const prepared = await asUserErrors(() => prepareRun({ ...setup, signal: interruptSignal(), notice: (line) => process.stderr.write(`${line}\n`) }));
  const run = withWaves(prepared, { ...setup, parallel: options.parallel, maxIterations: options.maxIterations }); // --parallel: a loop of waves
  const limit = options.loop ? (options.maxIterations ?? Number.POSITIVE_INFINITY) : 1;
  // On a terminal, --loop gets the dashboard; in CI, with --json or piped, plain lines (and no Ink or React).
  const dashboard = options.loop && !options.json && process.stdout.isTTY && process.stdin.isTTY && !process.env['CI'];
  const report = await (dashboard ? runDashboard(run, limit) : runPlain(run, limit, options)).finally(() => wavesOf(run)?.close());
  process.stdout.write(`${report.signal}\n`);
  return exitCodeOf(report.signal);
}

/** Progress on standard error (or the engine's events as JSON lines on standard output), then how the run ended. */
async function runPlain(run: PreparedRun, limit: number, options: RunOptions): Promise<IterationReport> {
  const print = (event: LoopEvent) => {
    const line = eventLine(event);
    if (line !== null) process[options.json ? 'stdout' : 'stderr'].write(`${options.json ? JSON.stringify(event) : line}\n`);
  };
  const ended = await asUserErrors(() => runLoop({ iterate: run.iterate, limit, control: LoopControl.from(interruptSignal()), onEvent: print }));
  const report = await reportOfEnd(ended, run.planPath);
  const maxIterations = options.loop ? (options.maxIterations ?? null) : null;
  const lines = options.json ? [resultLine(report, run.planPath)] : closingLines(report, ended, { models: run.models, maxIterations });
  for (const line of lines) process[options.json ? 'stdout' : 'stderr'].write(`${line}\n`);
  return report;
}
