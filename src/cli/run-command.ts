import { dirname, relative, resolve } from 'node:path';
import { findRepoRoot, loadConfig } from '../config/config.js';
import { EngineError } from '../execute/executors.js';
import { approvePhase, resolveApprover } from '../execute/approve.js';
import { approverName } from '../execute/history.js';
import { runIteration, type EngineEvent, type IterationOptions, type IterationReport } from '../execute/iteration.js';
import { budgetProblem } from '../execute/next.js';
import { ModelRunner } from '../models/runner.js';
import { PlanFileError, readPlanFile, unreadableReason } from '../plan/store.js';
import type { Plan, Signal } from '../plan/types.js';
import type { DashboardKeys, DashboardRow, DashboardStore } from '../ui/run-dashboard.js';
import { planPathArgument } from './plan-argument.js';
import { EXIT, interruptSignal, UserError } from './exit.js';

export interface RunOptions {
  once?: boolean;
  loop?: boolean;
  maxIterations?: number;
  maxCost?: number;
  executor: 'builtin' | 'command';
  sandbox?: boolean;
  commit?: boolean;
  json?: boolean;
}

/** The waiting human gate a blocker names (`P1 gate: waiting for approval ...`), if any. */
export function waitingGate(blockers: string[]): string | null {
  for (const blocker of blockers) {
    const match = /^(P\d+[a-z]?) gate: waiting for approval/.exec(blocker);
    if (match) return match[1]!;
  }
  return null;
}

/** What shows the dashboard: Ink on the terminal (renderRunDashboard), or a test's renderer. */
export type DashboardMount = (store: DashboardStore, keys: DashboardKeys) => { unmount(): void };

/**
 * `deepplan run --loop` on a terminal: the same iterations, shown by the Ink dashboard (src/ui/run-dashboard.tsx).
 * A waiting human gate is approved with `a` and a confirmation, in the name of the configured user (user.name of
 * deepplan.config.yaml, else git config user.name) or the name the person types; the log row names them.
 */
export async function runDashboard(planPath: string, limit: number, optionsFor: (onEvent: (event: EngineEvent) => void) => IterationOptions, models: ModelRunner, mount?: DashboardMount): Promise<IterationReport> {
  const { DashboardStore, renderRunDashboard } = await import('../ui/run-dashboard.js');
  const plan = await readPlanFile(planPath);
  const { root, config } = optionsFor(() => {});
  let approver: string | null = null;
  let approverProblem: string | null = null;
  try {
    approver = resolveApprover({ config, root })?.name ?? null;
  } catch (error) {
    // A configured name unfit for the log: the person types one instead, told why.
    if (!(error instanceof EngineError)) throw error;
    approverProblem = error.message;
  }
  // The log rows the dashboard has printed: the last 8 when it opens, then every new one (it prints each once).
  let shown: DashboardRow[] = [];
  const rowsOf = (current: Plan): DashboardRow[] => {
    const last = shown[shown.length - 1]?.number ?? -Infinity;
    const fresh = (current.log?.rows ?? []).filter((row) => (row.number ?? 0) > last).map((row) => ({ number: row.number ?? 0, action: row.action, result: row.result, signal: row.signal }));
    shown = shown.length === 0 ? fresh.slice(-8) : [...shown, ...fresh];
    return shown;
  };
  const fromPlan = (current: Plan) => ({
    title: `${current.meta.title ?? relative(process.cwd(), planPath)} (${relative(process.cwd(), planPath)})`,
    phasesDone: current.phases.filter((phase) => phase.status === 'done').length,
    phasesTotal: current.phases.length,
    currentPhase: current.meta.state?.phase ?? null,
    iteration: current.log?.rows.length ?? 0,
    budget: current.meta.budget?.max_iterations ?? null,
    rows: rowsOf(current),
    blockers: current.meta.state?.blockers ?? [],
  });
  const store = new DashboardStore({ ...fromPlan(plan), costUsd: 0, action: null, signal: null, gate: waitingGate(plan.meta.state?.blockers ?? []), approver, paused: false, stopping: false, message: approverProblem });
  const control: { paused: boolean; stop: boolean; quit: boolean; approve: string | null } = { paused: false, stop: false, quit: false, approve: null };
  let wake: (() => void) | null = null;
  const nudge = () => {
    wake?.();
    wake = null;
  };
  const nextKey = () => new Promise<void>((resolvePromise) => (wake = resolvePromise));
  const app = (mount ?? renderRunDashboard)(store, {
    pause() {
      control.paused = !control.paused;
      store.set({ paused: control.paused });
      nudge();
    },
    stop() {
      control.stop = true;
      store.set({ stopping: true });
      nudge();
    },
    approve(name) {
      control.approve = name;
      nudge();
    },
    quit() {
      control.quit = true;
      nudge();
    },
  });
  // A terminal that goes away (stdin closed) quits rather than leaving the loop waiting for a key.
  const onEnd = () => {
    control.quit = true;
    nudge();
  };
  process.stdin.once('end', onEnd);
  let last: IterationReport | null = null;
  let count = 0;
  try {
    while (!control.stop && !control.quit) {
      if (store.get().gate) {
        // Blocked at a human gate: wait for a confirmed `a` (or s/q).
        while (control.approve === null && !control.stop && !control.quit) await nextKey();
        if (control.approve === null) break;
        const checked = approverName(control.approve);
        control.approve = null;
        if ('problem' in checked) {
          store.set({ message: `not approved: ${checked.problem}` });
          continue;
        }
        const gate = store.get().gate!;
        const approved = await approvePhase(planPath, gate, { by: checked.name });
        // A name typed once is the name of this run's next approvals too.
        store.set({ ...fromPlan(approved.plan), gate: null, signal: null, approver: checked.name, message: `${gate} approved by ${checked.name}` });
        continue;
      }
      if (count >= limit) break;
      while (control.paused && !control.stop && !control.quit) await nextKey();
      if (control.stop || control.quit) break;
      count++;
      last = await runIteration(
        optionsFor((event) => {
          if (event.type === 'action') store.set({ action: event.action });
          else if (event.type === 'notice') store.set({ message: event.message });
        }),
      );
      store.set({ ...fromPlan(last.plan), costUsd: models.ledger.spentUsd, signal: last.signal, action: null, gate: last.signal === 'BLOCKED_NEED_HUMAN' ? waitingGate(last.blockers) : null });
      if (last.signal === 'TASK_COMPLETE' || (last.signal === 'BLOCKED_NEED_HUMAN' && store.get().gate === null)) break;
    }
  } catch (error) {
    process.stdin.off('end', onEnd);
    app.unmount();
    if (error instanceof EngineError || error instanceof PlanFileError) throw new UserError(error.message, EXIT.failed);
    throw error;
  }
  process.stdin.off('end', onEnd);
  // Let Ink draw the last state (it throttles frames) before the dashboard goes.
  await new Promise((resolvePromise) => setTimeout(resolvePromise, 120));
  app.unmount();
  if (last === null) {
    // Nothing ran (quit at once, or a gate left waiting): the plan's own state decides the signal.
    const current = await readPlanFile(planPath);
    const blockers = current.meta.state?.blockers ?? [];
    return { signal: current.meta.status === 'complete' ? 'TASK_COMPLETE' : blockers.length > 0 ? 'BLOCKED_NEED_HUMAN' : 'CONTINUE', rows: [], blockers, nextAction: current.meta.state?.next_action ?? null, plan: current, changed: [], engineMs: 0, actionMs: 0, prompt: null };
  }
  if (store.get().gate && last.signal !== 'BLOCKED_NEED_HUMAN') return { ...last, signal: 'BLOCKED_NEED_HUMAN' };
  return last;
}

export function exitCodeOf(signal: Signal): number {
  return signal === 'BLOCKED_NEED_HUMAN' ? EXIT.blocked : EXIT.ok;
}

function describe(event: EngineEvent): string | null {
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
      return `  #${event.number} ${event.result} → ${event.signal}${event.notes ? `  (${event.notes.length > 200 ? `${event.notes.slice(0, 199)}…` : event.notes})` : ''}`;
  }
}

/**
 * `deepplan run <plan> --once | --loop`: the last line of standard output is exactly the signal; progress goes to
 * standard error (or JSON lines to standard output with --json, the signal still last).
 */
export async function runRunCommand(planArgument: string, options: RunOptions): Promise<number> {
  if (Boolean(options.once) === Boolean(options.loop)) throw new UserError('give exactly one of --once (one iteration) or --loop (until a signal other than CONTINUE)');
  const planPath = resolve(planArgument);
  // No such file, or no plan file at all (a folder): a usage error (exit 2), as for every command.
  planPathArgument(planArgument);
  const root = findRepoRoot(dirname(planPath));
  const config = loadConfig(root);
  if (options.executor === 'command' && !config.execute?.agent?.command) {
    throw new UserError('--executor command needs execute.agent.command in deepplan.config.yaml, e.g. execute: {agent: {command: "claude -p"}}');
  }
  // No run without a finite iteration budget (the engine refuses too, whoever drives it): one line, before anything runs.
  let before: Plan;
  try {
    before = await readPlanFile(planPath);
  } catch (error) {
    if (error instanceof PlanFileError) throw new UserError(error.message, EXIT.failed);
    throw error;
  }
  const noBudget = unreadableReason(before) === null && before.frontMatter?.data ? budgetProblem(before, relative(process.cwd(), planPath) || planArgument) : null;
  if (noBudget) throw new UserError(noBudget, EXIT.usage);
  if (before.meta.status === 'draft' || before.meta.status === 'in_review') {
    const shown = relative(process.cwd(), planPath) || planArgument;
    throw new UserError(`${shown} is ${before.meta.status}, not approved; ${before.meta.status === 'in_review' ? `finish its review (deepplan review ${shown}), then ` : ''}approve it for execution with deepplan approve ${shown}`, EXIT.failed);
  }
  const signal = interruptSignal();
  // --max-cost, else limits.max_cost; either counts the plan's whole spend (state.spent_usd), not this run's alone.
  const models = new ModelRunner({ config, root, signal, maxCostUsd: options.maxCost ?? null, notice: (line) => process.stderr.write(`${line}\n`) });
  models.ledger.startFrom(before.meta.state?.spent_usd ?? 0);
  const print = (event: EngineEvent) => {
    if (options.json) process.stdout.write(`${JSON.stringify(event)}\n`);
    else {
      const line = describe(event);
      if (line) process.stderr.write(`${line}\n`);
    }
  };
  const limit = options.loop ? (options.maxIterations ?? Number.POSITIVE_INFINITY) : 1;
  const iterationOptions = (onEvent: (event: EngineEvent) => void): IterationOptions => ({
    planPath,
    root,
    config,
    models,
    executor: options.executor,
    sandbox: options.sandbox !== false,
    commit: options.commit === true,
    maxCostUsd: options.maxCost ?? null,
    onEvent,
  });
  // On a terminal, --loop gets the dashboard; in CI, with --json or piped, plain lines (and no Ink or React).
  if (options.loop && !options.json && process.stdout.isTTY && process.stdin.isTTY && !process.env['CI']) {
    const report = await runDashboard(planPath, limit, iterationOptions, models);
    process.stdout.write(`${report.signal}\n`);
    return exitCodeOf(report.signal);
  }
  let last: IterationReport | null = null;
  let count = 0;
  try {
    while (count < limit) {
      count++;
      last = await runIteration(iterationOptions(print));
      if (last.signal !== 'CONTINUE' || signal.aborted) break;
    }
  } catch (error) {
    if (error instanceof EngineError || error instanceof PlanFileError) throw new UserError(error.message, EXIT.failed);
    throw error;
  }
  const report = last!;
  if (!options.json) {
    if (report.signal === 'BLOCKED_NEED_HUMAN') for (const blocker of report.blockers) process.stderr.write(`blocked: ${blocker}\n`);
    else if (report.signal === 'CONTINUE' && report.nextAction) process.stderr.write(`next: ${report.nextAction}\n`);
    if (options.loop && Number.isFinite(limit) && count >= limit && report.signal === 'CONTINUE') process.stderr.write(`stopped after --max-iterations ${limit}\n`);
    const spent = models.ledger.spentUsd;
    if (spent > 0) process.stderr.write(`model cost this run: $${spent.toFixed(4)} (this plan so far: $${models.ledger.totalUsd.toFixed(4)})\n`);
  } else {
    process.stdout.write(`${JSON.stringify({ type: 'result', signal: report.signal, blockers: report.blockers, nextAction: report.nextAction, plan: relative(process.cwd(), planPath) })}\n`);
  }
  process.stdout.write(`${report.signal}\n`);
  return exitCodeOf(report.signal);
}
