import { hostname } from 'node:os';
import { relative } from 'node:path';
import { budgetProblem } from '../execute/next.js';
import { bubblewrapAvailable, NO_BUBBLEWRAP } from '../execute/sandbox.js';
import { toPosix } from '../plan/text.js';
import type { Signal } from '../plan/types.js';
import { EXIT, packageVersion, UserError } from './exit.js';
import { readPlanArgument } from './plan-argument.js';

/**
 * `deepplan worker`: a worker of the durable runner (src/runners/dbos.ts). Workers on any number of machines share
 * one PostgreSQL database; each takes plan runs from the shared queue. Given plans, the worker also starts (or joins)
 * their runs and exits when they end, the combined signal as the last line; without plans it serves the queue until
 * SIGTERM or Ctrl-C. The command is registered by src/cli/scale-out.ts.
 */

export interface WorkerCommandOptions {
  databaseUrl?: string;
  executorId?: string;
  concurrency: number;
  workerConcurrency: number;
  maxIterations?: number;
  maxCost?: number;
  sandbox?: boolean;
}

function databaseUrlOf(options: WorkerCommandOptions): string {
  const url = options.databaseUrl ?? process.env['DEEPPLAN_DATABASE_URL'];
  if (!url) throw new UserError('give --database-url postgresql://user@host/database (or set DEEPPLAN_DATABASE_URL)');
  if (!/^postgres(ql)?:\/\//.test(url)) throw new UserError(`--database-url must be a postgresql:// URL, not ${url.split(':')[0]}:…`);
  return url;
}

/** The worse of two signals, for several plans: blocked over continue over complete. */
function worse(a: Signal, b: Signal): Signal {
  const rank: Record<Signal, number> = { TASK_COMPLETE: 0, CONTINUE: 1, BLOCKED_NEED_HUMAN: 2 };
  return rank[a] >= rank[b] ? a : b;
}

export async function runWorkerCommand(planArguments: string[], options: WorkerCommandOptions): Promise<number> {
  const databaseUrl = databaseUrlOf(options);
  const sandbox = options.sandbox !== false;
  if (sandbox && !bubblewrapAvailable()) throw new UserError(NO_BUBBLEWRAP);
  const root = process.cwd();
  const plans: string[] = [];
  for (const argument of planArguments) {
    const { plan, path } = await readPlanArgument(argument, { phases: true });
    const shown = toPosix(relative(root, path));
    if (shown.startsWith('..')) throw new UserError(`${argument} is outside ${root}; start the worker in the plan's repository`);
    const noBudget = budgetProblem(plan, shown);
    if (noBudget) throw new UserError(noBudget);
    if (plan.meta.status === 'draft' || plan.meta.status === 'in_review')
      throw new UserError(`${shown} is ${plan.meta.status}, not approved; approve it with deepplan approve ${shown}`, EXIT.failed);
    plans.push(shown);
  }
  const say = (line: string) => process.stderr.write(`${line}\n`);
  // pg warns of DBOS's own use of it on every worker; not the user's to act on.
  process.noDeprecation = true;
  const { DbosRunner } = await import('../runners/dbos.js');
  let runner: Awaited<ReturnType<typeof DbosRunner.start>>;
  try {
    runner = await DbosRunner.start({
      databaseUrl,
      root,
      executorId: options.executorId ?? hostname(),
      concurrency: options.concurrency,
      workerConcurrency: options.workerConcurrency,
      sandbox,
      applicationVersion: `deepplan-${packageVersion()}`,
      log: say,
    });
  } catch (error) {
    throw new UserError(`cannot start the worker: ${firstLine(error)}`, EXIT.failed);
  }
  say(`worker ${runner.options.executorId}: serving ${plans.length > 0 ? plans.join(', ') : 'the queue'}`);
  let stopping = false;
  const stop = async () => {
    if (stopping) process.exit(130);
    stopping = true;
    say('worker: stopping; its unfinished runs resume when a worker with the same --executor-id starts');
    await runner.stop().catch(() => {});
    process.exit(plans.length > 0 ? 130 : EXIT.ok);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  if (plans.length === 0) return new Promise<number>(() => {});
  let combined: Signal = 'TASK_COMPLETE';
  try {
    const results = await Promise.all(
      plans.map((plan) => runner.run({ plan, root, maxIterations: options.maxIterations ?? 10_000, maxCostUsd: options.maxCost ?? null })),
    );
    for (const [index, result] of results.entries()) {
      say(`${plans[index]}: ${result.signal} after ${result.iterations} iteration(s)${result.blockers.length ? `; blocked: ${result.blockers[0]}` : ''}`);
      combined = worse(combined, result.signal);
    }
  } catch (error) {
    await runner.stop().catch(() => {});
    throw new UserError(`the run failed: ${firstLine(error)}`, EXIT.failed);
  }
  await runner.stop();
  process.stdout.write(`${combined}\n`);
  return combined === 'BLOCKED_NEED_HUMAN' ? EXIT.blocked : EXIT.ok;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}
