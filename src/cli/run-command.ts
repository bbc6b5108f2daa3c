import { existsSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { findRepoRoot, loadConfig } from '../config/config.js';
import { EngineError } from '../execute/executors.js';
import { runIteration, type EngineEvent, type IterationReport } from '../execute/iteration.js';
import { ModelRunner } from '../models/runner.js';
import { PlanFileError } from '../plan/store.js';
import type { Signal } from '../plan/types.js';
import { EXIT, interruptSignal, UserError } from './program.js';

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
  if (!existsSync(planPath)) throw new UserError(`${planArgument}: no such file`);
  const root = findRepoRoot(dirname(planPath));
  const config = loadConfig(root);
  if (options.executor === 'command' && !config.execute?.agent?.command) {
    throw new UserError('--executor command needs execute.agent.command in deepplan.config.yaml, e.g. execute: {agent: {command: "claude -p"}}');
  }
  const signal = interruptSignal();
  const models = new ModelRunner({ config, root, signal, maxCostUsd: options.maxCost ?? null, notice: (line) => process.stderr.write(`${line}\n`) });
  const print = (event: EngineEvent) => {
    if (options.json) process.stdout.write(`${JSON.stringify(event)}\n`);
    else {
      const line = describe(event);
      if (line) process.stderr.write(`${line}\n`);
    }
  };
  const limit = options.loop ? (options.maxIterations ?? Number.POSITIVE_INFINITY) : 1;
  let last: IterationReport | null = null;
  let count = 0;
  try {
    while (count < limit) {
      count++;
      last = await runIteration({
        planPath,
        root,
        config,
        models,
        executor: options.executor,
        sandbox: options.sandbox !== false,
        commit: options.commit === true,
        maxCostUsd: options.maxCost ?? null,
        onEvent: print,
      });
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
    if (spent > 0) process.stderr.write(`model cost this run: $${spent.toFixed(4)}\n`);
  } else {
    process.stdout.write(`${JSON.stringify({ type: 'result', signal: report.signal, blockers: report.blockers, nextAction: report.nextAction, plan: relative(process.cwd(), planPath) })}\n`);
  }
  process.stdout.write(`${report.signal}\n`);
  return exitCodeOf(report.signal);
}
