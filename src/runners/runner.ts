import { resolve } from 'node:path';
import { loadConfig } from '../config/config.js';
import { LoopControl, runLoop } from '../execute/loop.js';
import { runIteration, type EngineEvent, type IterationOptions, type IterationReport } from '../execute/iteration.js';
import { ModelRunner } from '../models/runner.js';
import { readPlanFile } from '../plan/store.js';
import type { LogResult, Signal } from '../plan/types.js';

/**
 * The seam under the loop (DESIGN.md "A Runner seam"): something that runs a plan's iterations until a signal other
 * than CONTINUE. The plan file is the only state, so every runner drives the same engine entry, one iteration of
 * one plan file (execute/iteration.ts runIteration), and differs only in where and how durably the iterations run:
 * in this process (LocalRunner), or as durable steps of a workflow on PostgreSQL shared by workers (runners/dbos.ts).
 */

/** What a runner is asked to do. Paths are resolved against `root`, the repository holding the plan. */
export interface PlanRunRequest {
  /** The plan file, relative to `root` (a workflow's input must mean the same file on every worker). */
  plan: string;
  root: string;
  /** At most this many iterations in this run (the plan's own budget stops it too). */
  maxIterations?: number;
  sandbox?: boolean;
  maxCostUsd?: number | null;
  onEvent?: (event: EngineEvent) => void;
}

/** One log row an iteration wrote, as runners report it (small and serialisable: a durable step's output). */
export interface RunRow {
  number: number;
  action: string;
  result: LogResult;
  signal: Signal;
}

/** What one iteration returned, reduced to what a runner records. */
export interface IterationSummary {
  signal: Signal;
  rows: RunRow[];
  blockers: string[];
  /** Files the iteration's action changed, repository-relative. */
  changed: string[];
}

export interface PlanRunResult {
  signal: Signal;
  /** Iterations this run called (a recovered durable run counts the ones recorded before the crash too). */
  iterations: number;
  blockers: string[];
}

export interface Runner {
  readonly name: string;
  run(request: PlanRunRequest): Promise<PlanRunResult>;
}

/** One iteration of `request.plan`, as every runner calls it: a fresh config, models and plan read per iteration. */
export async function runOneIteration(request: PlanRunRequest, signal?: AbortSignal): Promise<IterationSummary> {
  const planPath = resolve(request.root, request.plan);
  const config = loadConfig(request.root);
  const models = new ModelRunner({ config, root: request.root, ...(signal ? { signal } : {}), maxCostUsd: request.maxCostUsd ?? null, notice: () => {} });
  const before = await readPlanFile(planPath);
  models.ledger.startFrom(before.meta.state?.spent_usd ?? 0);
  const options: IterationOptions = {
    planPath,
    root: request.root,
    config,
    models,
    sandbox: request.sandbox !== false,
    maxCostUsd: request.maxCostUsd ?? null,
    ...(request.onEvent ? { onEvent: request.onEvent } : {}),
  };
  return summarize(await runIteration(options));
}

export function summarize(report: IterationReport): IterationSummary {
  return {
    signal: report.signal,
    rows: report.rows.map(({ number, action, result, signal }) => ({ number, action, result, signal })),
    blockers: report.blockers,
    changed: report.changed,
  };
}

/** The iterations in this process, one after another: what `deepplan run --loop` does, behind the seam. */
export class LocalRunner implements Runner {
  readonly name = 'local';

  constructor(private readonly signal?: AbortSignal) {}

  async run(request: PlanRunRequest): Promise<PlanRunResult> {
    const ended = await runLoop({
      iterate: () => runOneIteration(request, this.signal),
      limit: request.maxIterations ?? Number.POSITIVE_INFINITY,
      ...(this.signal ? { control: LoopControl.from(this.signal) } : {}),
    });
    return { signal: ended.last?.signal ?? 'CONTINUE', iterations: ended.count, blockers: ended.last?.blockers ?? [] };
  }
}
