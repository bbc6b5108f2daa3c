import { relative } from 'node:path';
import { budgetProblem } from '../execute/next.js';
import { bubblewrapAvailable, NO_BUBBLEWRAP } from '../execute/sandbox.js';
import { toPosix } from '../plan/text.js';
import type { DbosRunner } from '../runners/dbos.js';
import { runPlansOnWorker, startWorker, WorkerError, type WorkerSettings } from '../runners/worker.js';
import { EXIT, packageVersion, UserError } from './exit.js';
import { readPlanArgument } from './plan-argument.js';

/**
 * `deepplan worker`: a worker of the durable runner (src/runners/dbos.ts). Workers on any number of machines share
 * one PostgreSQL database; each takes plan runs from the shared queue. Given plans, the worker also starts (or joins)
 * their runs and exits when they end, the combined signal as the last line; without plans it serves the queue until
 * SIGTERM or Ctrl-C. The command is registered by src/cli/scale-out.ts.
 */

export interface WorkerCommandOptions extends WorkerSettings {
  databaseUrl?: string;
}

function databaseUrlOf(options: WorkerCommandOptions): string {
  const url = options.databaseUrl ?? process.env['DEEPPLAN_DATABASE_URL'];
  if (!url) throw new UserError('give --database-url postgresql://user@host/database (or set DEEPPLAN_DATABASE_URL)');
  if (!/^postgres(ql)?:\/\//.test(url)) throw new UserError(`--database-url must be a postgresql:// URL, not ${url.split(':')[0]}:…`);
  return url;
}

/** The plans given, relative to `root`: each must be inside it, have a budget and be approved. */
async function approvedPlans(planArguments: string[], root: string): Promise<string[]> {
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
  return plans;
}

export async function runWorkerCommand(planArguments: string[], options: WorkerCommandOptions): Promise<number> {
  const databaseUrl = databaseUrlOf(options);
  const sandbox = options.sandbox !== false;
  if (sandbox && !bubblewrapAvailable()) throw new UserError(NO_BUBBLEWRAP);
  const root = process.cwd();
  const plans = await approvedPlans(planArguments, root);
  const say = (line: string) => process.stderr.write(`${line}\n`);
  // pg warns of DBOS's own use of it on every worker; not the user's to act on.
  process.noDeprecation = true;
  try {
    const runner = await startWorker({ ...options, databaseUrl, root, version: packageVersion(), log: say });
    say(`worker ${runner.options.executorId}: serving ${plans.length > 0 ? plans.join(', ') : 'the queue'}`);
    stopOnSignals(runner, plans.length > 0, say);
    if (plans.length === 0) return await new Promise<number>(() => {});
    const combined = await runPlansOnWorker(runner, { plans, root, maxIterations: options.maxIterations, maxCost: options.maxCost, say });
    process.stdout.write(`${combined}\n`);
    return combined === 'BLOCKED_NEED_HUMAN' ? EXIT.blocked : EXIT.ok;
  } catch (error) {
    if (error instanceof WorkerError) throw new UserError(error.message, EXIT.failed);
    throw error;
  }
}

/** Ctrl-C or SIGTERM stops the worker (a second one exits at once); its unfinished runs resume on a restart. */
function stopOnSignals(runner: DbosRunner, givenPlans: boolean, say: (line: string) => void): void {
  let stopping = false;
  const stop = async () => {
    if (stopping) process.exit(130);
    stopping = true;
    say('worker: stopping; its unfinished runs resume when a worker with the same --executor-id starts');
    await runner.stop().catch(() => {});
    process.exit(givenPlans ? 130 : EXIT.ok);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}
