import { Command, InvalidArgumentError } from 'commander';
import type { WorkerCommandOptions } from './worker-command.js';

/**
 * The scale-out commands (docs/scale-out.md): `worker` (the durable runner, src/cli/worker-command.ts) and
 * `matrix ready | run | merge` (the GitHub Actions matrix, src/cli/matrix-command.ts). This module imports commander
 * alone; each command's module loads when it runs. program.ts: `registerScaleOutCommands(program, output);`.
 */

const WORKER_HELP = `
Examples:
  $ deepplan worker --database-url postgresql://deepplan@db/deepplan --executor-id build-1
        serve the queue until stopped (run one per machine, each with its own --executor-id)
  $ deepplan worker plans/outreach.md --database-url "$DEEPPLAN_DATABASE_URL" --executor-id laptop
        start (or join) the plan's run, serve the queue, exit when the run ends

A worker killed mid-run loses nothing: start it again with the same --executor-id and its runs resume (the plan
file's log gets an "outcome unknown" row for an action cut short, as after any crash). Every worker must see the
same repository files (one machine, or a shared folder). docs/scale-out.md says when to use which runner.
Exit status: 0 CONTINUE or TASK_COMPLETE, 3 BLOCKED_NEED_HUMAN, 1 the run or the database failed, 2 bad arguments.`;

function positiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError('give a whole number of 1 or more');
  return number;
}

function positiveCost(value: string): number {
  const cost = Number(value);
  if (!Number.isFinite(cost) || cost <= 0) throw new InvalidArgumentError('give a cost in US dollars, e.g. 2.50');
  return cost;
}

/** Adds `worker` and `matrix` to the program (program.ts: `registerScaleOutCommands(program, output);`). */
export function registerScaleOutCommands(program: Command, output: { exitCode: number }): void {
  program
    .command('worker')
    .description('run plans on the durable engine (DBOS on PostgreSQL): workers on several machines share one queue')
    .argument('[plans...]', 'plans to start (or join) and wait for; none: serve the queue until stopped')
    .option('--database-url <url>', 'the PostgreSQL database of the queue (default: $DEEPPLAN_DATABASE_URL)')
    .option('--executor-id <id>', "this worker's id, unique among workers and kept across restarts (default: the host name)")
    .option('--concurrency <n>', 'plan runs at once across all workers', positiveInteger, 4)
    .option('--worker-concurrency <n>', 'plan runs at once in this worker', positiveInteger, 2)
    .option('--max-iterations <n>', 'stop a run started here after n iterations', positiveInteger)
    .option('--max-cost <usd>', 'refuse model calls past this spend of the plan', positiveCost)
    .option('--no-sandbox', 'run commands without bubblewrap')
    .addHelpText('after', WORKER_HELP)
    .action(async (plans: string[], options: WorkerCommandOptions) => {
      const { runWorkerCommand } = await import('./worker-command.js');
      output.exitCode = await runWorkerCommand(plans, options);
    });
  program.addCommand(matrixCommand(output));
}

function matrixCommand(output: { exitCode: number }): Command {
  // The subcommands' modules load only when run.
  const matrix = new Command('matrix')
    .description("run a plan's ready phases as parallel GitHub Actions jobs, then merge their rows into the plan")
    .addHelpText('after', '\nThe workflow: deepplan init --workflow matrix; docs/scale-out.md.\nExit status: see each command.');
  matrix
    .command('ready')
    .description('print the phases that can run now, as JSON for a matrix (fromJSON)')
    .argument('<plan>', 'the plan file')
    .addHelpText(
      'after',
      `
Examples:
  $ deepplan matrix ready plans/outreach.md     {"phase":["P2","P3","P4"],"count":3,"finish":false,"blocked":null}

finish is true when every phase is done and one serial run verifies the success criteria; blocked names what a
person must do first.
Exit status: 0 printed (count may be 0), 1 the plan cannot be read, 2 bad arguments.`,
    )
    .action(async (plan: string) => {
      const { runMatrixReady } = await import('./matrix-command.js');
      output.exitCode = await runMatrixReady(plan);
    });
  matrix
    .command('run')
    .description("run one phase's iterations in this copy of the repository and write its row record")
    .argument('<plan>', 'the plan file')
    .requiredOption('--phase <id>', 'the phase to run (one of matrix ready)')
    .option('--records <dir>', 'where the row record goes', '.deepplan/matrix')
    .option('--no-sandbox', 'run commands without bubblewrap')
    .addHelpText(
      'after',
      `
Examples:
  $ deepplan matrix run plans/outreach.md --phase P3 --records deepplan-records

Runs in a job's own checkout: the phase's iterations change this copy's plan, and the record
(<records>/<plan id>.<phase>.json) is what the merge applies to the real one.
Exit status: 0 the phase is done, 3 it is blocked (the record says why), 1 the run failed, 2 bad arguments.`,
    )
    .action(async (plan: string, options: { phase: string; records: string; sandbox?: boolean }) => {
      const { runMatrixPhase } = await import('./matrix-command.js');
      output.exitCode = await runMatrixPhase(plan, options);
    });
  matrix
    .command('merge')
    .description('apply the row records of matrix jobs to the plan (one locked, revision-checked write)')
    .argument('<plan>', 'the plan file')
    .argument('<records...>', 'row record files or folders holding them')
    .addHelpText(
      'after',
      `
Examples:
  $ deepplan matrix merge plans/outreach.md deepplan-records

Records already in the plan's log are skipped (a merge job run again writes nothing).
Exit status: 0 merged, 1 a record does not fit the plan (nothing is written), 2 bad arguments.`,
    )
    .action(async (plan: string, records: string[]) => {
      const { runMatrixMerge } = await import('./matrix-command.js');
      output.exitCode = await runMatrixMerge(plan, records);
    });
  return matrix;
}
