import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { readPlanFile } from '../plan/store.js';
import { runLoop } from '../execute/loop.js';
import { runOneIteration, type IterationSummary, type PlanRunRequest, type PlanRunResult, type Runner, type RunRow } from './runner.js';

/**
 * The durable runner: DBOS Transact (a library over PostgreSQL) runs a plan as a workflow whose steps are single
 * iterations, from a queue with a concurrency limit that worker processes on any number of machines share (one
 * system database, a distinct executor id each).
 *
 * Why a crash loses and duplicates nothing: DBOS records each step's output when it returns, and a recovered workflow
 * replays the recorded ones and runs the first unrecorded step again. That step is one iteration, and an iteration
 * reads the plan file afresh under the plan's run lock and appends its row in one atomic, revision-checked write
 * (plan/store.ts updatePlanFile). So a step re-run after its row landed finds that row and runs the NEXT iteration;
 * a step killed before its row landed left its action in flight (state.in_flight), which the re-run logs as
 * "outcome unknown" before it retries the action, as `deepplan run` does after a crash. The plan file stays the only
 * state that matters; DBOS's tables only say which worker runs what, and when to resume.
 *
 * DBOS is loaded on first use (a dynamic import): no other command pays for it.
 */

/** DBOS's application name: scopes deepplan's workflows and queues in a shared system database. */
export const DBOS_APP = 'deepplan';
export const PLAN_QUEUE = 'deepplan-plans';
export const PLAN_WORKFLOW = 'deepplan-plan-run';

export interface WorkerOptions {
  /** postgresql://… of the DBOS system database (created on first launch). */
  databaseUrl: string;
  /** The repository the worker runs plans of (every worker's copy must be the same files: a shared folder). */
  root: string;
  /** Unique per worker process; a worker restarted with the same id resumes that worker's unfinished runs. */
  executorId: string;
  /** Plan runs at once across all workers (the queue's limit). */
  concurrency: number;
  /** Plan runs at once in this worker. */
  workerConcurrency: number;
  sandbox: boolean;
  /** The same code must run under one version on every worker; recovery resumes only runs of its own version. */
  applicationVersion: string;
  /** A line per row this worker wrote, and DBOS's warnings. */
  log?: (line: string) => void;
}

/** A plan run's workflow input: the plan, relative to the worker's root, so every worker reads the same file. */
export interface PlanRunInput {
  plan: string;
  maxIterations: number;
  maxCostUsd: number | null;
}

type DbosModule = typeof import('@dbos-inc/dbos-sdk');
type PlanRunWorkflow = (input: PlanRunInput) => Promise<PlanRunResult>;

/** Workflow ids of one plan start with this: `deepplan:<plan>:`, so a run in progress is found and joined. */
export function workflowPrefix(plan: string): string {
  const digest = createHash('sha256').update(plan).digest('hex').slice(0, 12);
  return `deepplan:${plan.replace(/[^\w./-]/g, '_').slice(0, 80)}:${digest}:`;
}

/**
 * A worker: DBOS launched in this process, the plan-run workflow registered, the queue served. DBOS is one per
 * process, so there is one worker per process.
 */
export class DbosRunner implements Runner {
  readonly name = 'dbos';

  private constructor(
    private readonly dbos: DbosModule,
    private readonly workflow: PlanRunWorkflow,
    readonly options: WorkerOptions,
  ) {}

  static async start(options: WorkerOptions): Promise<DbosRunner> {
    const dbos = await import('@dbos-inc/dbos-sdk');
    const { DBOS } = dbos;
    const log = options.log ?? (() => {});
    const iteration = async (request: PlanRunRequest): Promise<IterationSummary> => {
      const summary = await runOneIteration(request);
      for (const row of summary.rows) log(rowLine(options.executorId, request.plan, row));
      return summary;
    };
    const workflow = DBOS.registerWorkflow(
      async (input: PlanRunInput): Promise<PlanRunResult> => {
        const request: PlanRunRequest = { plan: input.plan, root: options.root, sandbox: options.sandbox, maxCostUsd: input.maxCostUsd };
        // Deterministic: on recovery each recorded iteration returns its recorded summary, in order, so the loop
        // replays to the first iteration that never returned and runs it (and those after it) for real.
        const ended = await runLoop({ iterate: () => DBOS.runStep(() => iteration(request), { name: 'iteration' }), limit: input.maxIterations });
        return { signal: ended.last?.signal ?? 'CONTINUE', iterations: ended.count, blockers: ended.last?.blockers ?? [] };
      },
      // Every kill of the worker running it is a recovery; the plan's budget, not DBOS, bounds a run.
      { name: PLAN_WORKFLOW, maxRecoveryAttempts: 1000 },
    );
    DBOS.setConfig({
      name: DBOS_APP,
      systemDatabaseUrl: options.databaseUrl,
      systemDatabasePoolSize: 6,
      executorID: options.executorId,
      applicationVersion: options.applicationVersion,
      logger: quietLogger(log),
    });
    try {
      await DBOS.launch();
      await DBOS.registerQueue(PLAN_QUEUE, {
        globalConcurrency: options.concurrency,
        workerConcurrency: options.workerConcurrency,
        minPollingIntervalMs: 250,
        onConflict: 'always_update',
      });
    } catch (error) {
      // A launch that failed half-way leaves pools and timers behind; without them the process can end.
      await DBOS.shutdown().catch(() => {});
      throw error;
    }
    return new DbosRunner(dbos, workflow, options);
  }

  /**
   * Runs the plan to a signal on the shared queue: joins the plan's run in progress (queued, or running on any
   * worker) or enqueues a new one, then waits for its result. Whichever worker dequeues it runs it.
   */
  async run(request: PlanRunRequest): Promise<PlanRunResult> {
    const id = await this.enqueue(request);
    if (id === null) return { signal: 'TASK_COMPLETE', iterations: 0, blockers: [] };
    return this.dbos.DBOS.retrieveWorkflow<PlanRunResult>(id).getResult() as Promise<PlanRunResult>;
  }

  /**
   * The id of the plan's run in progress, or of a new run enqueued now; null when there is none and the plan is
   * complete. (A worker restarted just after the run ended would otherwise enqueue a run of a finished plan, which
   * another worker, about to exit, could take and leave unfinished.)
   */
  async enqueue(request: PlanRunRequest): Promise<string | null> {
    const { DBOS } = this.dbos;
    const prefix = workflowPrefix(request.plan);
    const active = await DBOS.listWorkflows({ workflow_id_prefix: prefix, status: ['PENDING', 'ENQUEUED'], limit: 1 });
    if (active[0]) return active[0].workflowID;
    if ((await readPlanFile(join(request.root, request.plan))).meta.status === 'complete') return null;
    const id = `${prefix}${new Date().toISOString()}`;
    const input: PlanRunInput = { plan: request.plan, maxIterations: request.maxIterations ?? 10_000, maxCostUsd: request.maxCostUsd ?? null };
    await DBOS.startWorkflow(this.workflow, { workflowID: id, queueName: PLAN_QUEUE })(input);
    return id;
  }

  async stop(): Promise<void> {
    await this.dbos.DBOS.shutdown();
  }
}

function rowLine(executor: string, plan: string, row: RunRow): string {
  return `${executor}: ${plan} #${row.number} ${row.result} → ${row.signal}  ${row.action}`;
}

/** DBOS's own log: its warnings and errors on the worker's log, its chatter dropped (stdout stays for signals). */
function quietLogger(log: (line: string) => void) {
  const text = (entry: unknown) => (entry instanceof Error ? entry.message : typeof entry === 'string' ? entry : JSON.stringify(entry));
  return {
    info: () => {},
    debug: () => {},
    warn: (entry: unknown) => log(`dbos: ${text(entry)}`),
    error: (entry: unknown) => log(`dbos: ${text(entry)}`),
  };
}
