import { Command } from 'commander';
import { MATRIX_HELP, MATRIX_MERGE_HELP, MATRIX_READY_HELP, MATRIX_RUN_HELP, WORKER_HELP } from './help.js';
import { parseCost, parsePositiveInteger } from './options.js';
import type { WorkerCommandOptions } from './worker-command.js';

/**
 * The scale-out commands (docs/scale-out.md): `worker` (the durable runner, src/cli/worker-command.ts) and
 * `matrix ready | run | merge` (the GitHub Actions matrix, src/cli/matrix-command.ts). This module imports commander,
 * the help texts and the shared option parsers; each command's module loads when it runs. program.ts: `registerScaleOutCommands(program, output);`.
 */

/** Adds `worker` and `matrix` to the program (program.ts: `registerScaleOutCommands(program, output);`). */
export function registerScaleOutCommands(program: Command, output: { exitCode: number }): void {
  program
    .command('worker')
    .description('run plans on the durable engine (DBOS on PostgreSQL): workers on several machines share one queue')
    .argument('[plans...]', 'plans to start (or join) and wait for; none: serve the queue until stopped')
    .option('--database-url <url>', 'the PostgreSQL database of the queue (default: $DEEPPLAN_DATABASE_URL)')
    .option('--executor-id <id>', "this worker's id, unique among workers and kept across restarts (default: the host name)")
    .option('--concurrency <n>', 'plan runs at once across all workers', parsePositiveInteger, 4)
    .option('--worker-concurrency <n>', 'plan runs at once in this worker', parsePositiveInteger, 2)
    .option('--max-iterations <n>', 'stop a run started here after n iterations', parsePositiveInteger)
    .option('--max-cost <usd>', 'refuse model calls past this spend of the plan', parseCost)
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
    .addHelpText('after', MATRIX_HELP);
  matrix
    .command('ready')
    .description('print the phases that can run now, as JSON for a matrix (fromJSON)')
    .argument('<plan>', 'the plan file')
    .addHelpText('after', MATRIX_READY_HELP)
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
    .addHelpText('after', MATRIX_RUN_HELP)
    .action(async (plan: string, options: { phase: string; records: string; sandbox?: boolean }) => {
      const { runMatrixPhase } = await import('./matrix-command.js');
      output.exitCode = await runMatrixPhase(plan, options);
    });
  matrix
    .command('merge')
    .description('apply the row records of matrix jobs to the plan (one locked, revision-checked write)')
    .argument('<plan>', 'the plan file')
    .argument('<records...>', 'row record files or folders holding them')
    .addHelpText('after', MATRIX_MERGE_HELP)
    .action(async (plan: string, records: string[]) => {
      const { runMatrixMerge } = await import('./matrix-command.js');
      output.exitCode = await runMatrixMerge(plan, records);
    });
  return matrix;
}
