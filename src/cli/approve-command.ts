import { createInterface } from 'node:readline/promises';
import { loadConfig } from '../config/config.js';
import { approvePhase, approvePlan, resolveApprover, unmetNote, waitingPhase } from '../execute/approve.js';
import { EngineError } from '../execute/executors.js';
import { approverName } from '../execute/history.js';
import { blockerPhase } from '../plan/log-grammar.js';
import { PlanFileError, PlanPathError, readPlanFile } from '../plan/store.js';
import { planPathArgument } from './plan-argument.js';
import { EXIT, UserError } from './exit.js';

export interface ApproveCommandOptions {
  note?: string;
  retry?: boolean;
  by?: string;
}

/** `deepplan approve <plan> <phase> [--by] [--note] [--retry]`. */
export async function runApproveCommand(plan: string, phase: string | undefined, options: ApproveCommandOptions): Promise<number> {
  const { root } = planPathArgument(plan);
  try {
    if (phase === undefined) {
      if (options.retry) throw new UserError('--retry needs a phase: deepplan approve <plan> <phase> --retry');
      if (options.by !== undefined) throw new UserError('--by names who passes a phase\'s gate: deepplan approve <plan> <phase> --by "Dana Ruiz"');
      await approvePlan(plan);
      process.stdout.write(`${plan}: approved for execution; run it with deepplan run ${plan} --loop\n`);
      return EXIT.ok;
    }
    const by = await approverFor(plan, phase, options.by, root);
    const result = await approvePhase(plan, phase, { ...options, by });
    const done = `${phase.toUpperCase()} ${options.retry ? 'cleared for another try' : 'approved'} by ${by} (log row ${result.row})`;
    // Other phases that wait for a person (run --parallel, the matrix) are answered each on its own.
    const phases = [...new Set(result.waiting.map(blockerPhase))].join(', ');
    const then =
      result.waiting.length > 0
        ? `the plan still waits for a person at ${phases}: ${result.waiting[0]}`
        : `next: ${result.nextAction ?? 'verify the success criteria'}`;
    process.stdout.write(`${done}; ${then}\n`);
    if (result.unmet) process.stderr.write(`note: ${unmetNote(phase, result.unmet)}\n`);
    return EXIT.ok;
  } catch (error) {
    // A path that is no plan file at all is a usage error, also when it changed after the check above.
    if (error instanceof PlanPathError) throw new UserError(error.message, EXIT.usage);
    if (error instanceof EngineError || error instanceof PlanFileError) throw new UserError(error.message, EXIT.failed);
    throw error;
  }
}

/**
 * Who approves: --by, else user.name of deepplan.config.yaml, else git config user.name; on a terminal with none of
 * them, the person types it; elsewhere the command refuses (exit 2) and asks for --by.
 */
async function approverFor(plan: string, phase: string, by: string | undefined, root: string): Promise<string> {
  let known;
  try {
    known = resolveApprover({ by, config: loadConfig(root), root });
  } catch (error) {
    if (error instanceof EngineError) throw new UserError(error.message, EXIT.usage);
    throw error;
  }
  if (known) return known.name;
  // No name to ask for or refuse over when the approval would be refused anyway (no such phase, not waiting).
  waitingPhase(await readPlanFile(plan, { root }), plan, phase);
  const refusal = `who approves? give your name: deepplan approve ${plan} ${phase} --by "Dana Ruiz" (or set user.name in deepplan.config.yaml, or git config user.name)`;
  if (!process.stdin.isTTY || !process.stderr.isTTY) throw new UserError(refusal, EXIT.usage);
  const answer = await askName(`Approve ${phase.toUpperCase()} as (your name): `);
  if (answer === null || answer.trim() === '') throw new UserError(refusal, EXIT.usage);
  const checked = approverName(answer);
  if ('problem' in checked) throw new UserError(checked.problem, EXIT.usage);
  return checked.name;
}

/** One readline question on the terminal; null when the input ends (Ctrl-D). Ctrl-C ends the command (exit 130). */
async function askName(question: string): Promise<string | null> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  // Ctrl-D or Ctrl-C leave the cursor after the question: the message that follows starts a line of its own.
  const closed = new Promise<null>((resolvePromise) =>
    prompt.once('close', () => {
      process.stderr.write('\n');
      resolvePromise(null);
    }),
  );
  const interrupted = new Promise<never>((_, rejectPromise) =>
    prompt.once('SIGINT', () => {
      process.stderr.write('\n');
      rejectPromise(new UserError('interrupted; nothing was approved', 130));
    }),
  );
  try {
    return await Promise.race([prompt.question(question), closed, interrupted]);
  } finally {
    prompt.removeAllListeners('close');
    prompt.close();
  }
}
