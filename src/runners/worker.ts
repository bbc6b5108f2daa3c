import { hostname } from 'node:os';
import type { Signal } from '../plan/types.js';
import type { DbosRunner, WorkerOptions } from './dbos.js';

/**
 * A worker of the durable runner for `deepplan worker` (src/cli/worker-command.ts): DBOS started (loaded only here,
 * when a worker starts), and the plans given on the command line run to their ends, their signals combined.
 */

/** The worker could not start, or a run failed: one line, for the command to print. */
export class WorkerError extends Error {
  override name = 'WorkerError';
}

/** How a worker runs: what `deepplan worker` takes besides the database and the plans. */
export interface WorkerSettings {
  /** Default: the host name. */
  executorId?: string;
  concurrency: number;
  workerConcurrency: number;
  maxIterations?: number;
  maxCost?: number;
  sandbox?: boolean;
}

export interface WorkerStart extends WorkerSettings {
  databaseUrl: string;
  root: string;
  /** deepplan's version: workers recover only the runs of their own version. */
  version: string;
  log: (line: string) => void;
}

/** Launches DBOS in this process and serves the queue. */
export async function startWorker(start: WorkerStart): Promise<DbosRunner> {
  const { DbosRunner } = await import('./dbos.js');
  const { databaseUrl, root, concurrency, workerConcurrency, log } = start;
  const options: WorkerOptions = {
    databaseUrl,
    root,
    executorId: start.executorId ?? hostname(),
    concurrency,
    workerConcurrency,
    sandbox: start.sandbox !== false,
    applicationVersion: `deepplan-${start.version}`,
    log,
  };
  try {
    return await DbosRunner.start(options);
  } catch (error) {
    throw new WorkerError(`cannot start the worker: ${firstLine(error)}`);
  }
}

export interface WorkerRuns {
  /** The plans, relative to `root`. */
  plans: string[];
  root: string;
  maxIterations?: number;
  maxCost?: number;
  say: (line: string) => void;
}

/** Starts (or joins) each plan's run and waits for all; a line per plan, then the worst of their signals. */
export async function runPlansOnWorker(runner: DbosRunner, runs: WorkerRuns): Promise<Signal> {
  const { plans, root } = runs;
  let combined: Signal = 'TASK_COMPLETE';
  try {
    const results = await Promise.all(
      plans.map((plan) => runner.run({ plan, root, maxIterations: runs.maxIterations ?? 10_000, maxCostUsd: runs.maxCost ?? null })),
    );
    for (const [index, result] of results.entries()) {
      runs.say(`${plans[index]}: ${result.signal} after ${result.iterations} iteration(s)${result.blockers.length ? `; blocked: ${result.blockers[0]}` : ''}`);
      combined = worse(combined, result.signal);
    }
  } catch (error) {
    await runner.stop().catch(() => {});
    throw new WorkerError(`the run failed: ${firstLine(error)}`);
  }
  await runner.stop();
  return combined;
}

/** The worse of two signals, for several plans: blocked over continue over complete. */
function worse(a: Signal, b: Signal): Signal {
  const rank: Record<Signal, number> = { TASK_COMPLETE: 0, CONTINUE: 1, BLOCKED_NEED_HUMAN: 2 };
  return rank[a] >= rank[b] ? a : b;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}
