import { approvePhase, approvePlan } from '../execute/approve.js';
import { EngineError } from '../execute/executors.js';
import { PlanFileError } from '../plan/store.js';
import { EXIT, UserError } from './program.js';

/** `deepplan approve <plan> <phase> [--note] [--retry]`. */
export async function runApproveCommand(plan: string, phase: string | undefined, options: { note?: string; retry?: boolean }): Promise<number> {
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
    if (error instanceof EngineError || error instanceof PlanFileError) throw new UserError(error.message, EXIT.failed);
    throw error;
  }
}
