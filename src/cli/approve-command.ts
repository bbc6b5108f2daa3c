import { approvePhase, approvePlan } from '../execute/approve.js';
import { EngineError } from '../execute/executors.js';
import { PlanFileError, PlanPathError } from '../plan/store.js';
import { planPathArgument } from './plan-argument.js';
import { EXIT, UserError } from './program.js';

/** `deepplan approve <plan> <phase> [--note] [--retry]`. */
export async function runApproveCommand(plan: string, phase: string | undefined, options: { note?: string; retry?: boolean }): Promise<number> {
  planPathArgument(plan);
  try {
    if (phase === undefined) {
      if (options.retry) throw new UserError('--retry needs a phase: deepplan approve <plan> <phase> --retry');
      await approvePlan(plan);
      process.stdout.write(`${plan}: approved for execution; run it with deepplan run ${plan} --loop\n`);
      return EXIT.ok;
    }
    const result = await approvePhase(plan, phase, options);
    process.stdout.write(`${phase.toUpperCase()} ${options.retry ? 'cleared for another try' : 'approved'} (log row ${result.row}); next: ${result.nextAction ?? 'verify the success criteria'}\n`);
    return EXIT.ok;
  } catch (error) {
    // A path that is no plan file at all is a usage error, also when it changed after the check above.
    if (error instanceof PlanPathError) throw new UserError(error.message, EXIT.usage);
    if (error instanceof EngineError || error instanceof PlanFileError) throw new UserError(error.message, EXIT.failed);
    throw error;
  }
}
