import { approvePhase } from '../execute/approve.js';
import { EngineError } from '../execute/executors.js';
import { PlanFileError } from '../plan/store.js';
import { EXIT, UserError } from './program.js';

/** `deepplan approve <plan> <phase> [--note] [--retry]`. */
export async function runApproveCommand(plan: string, phase: string, options: { note?: string; retry?: boolean }): Promise<number> {
  try {
    const result = await approvePhase(plan, phase, options);
    process.stdout.write(`${phase.toUpperCase()} ${options.retry ? 'cleared for another try' : 'approved'} (log row ${result.row}); next: ${result.nextAction ?? 'verify the success criteria'}\n`);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof EngineError || error instanceof PlanFileError) throw new UserError(error.message, EXIT.failed);
    throw error;
  }
}
