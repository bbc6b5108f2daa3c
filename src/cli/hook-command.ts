import { relative } from 'node:path';
import { findRepoRoot } from '../config/config.js';
import { EngineError } from '../execute/executors.js';
import { cancelLoop, LoopFileError } from '../hook/loop.js';
import { startLoop } from '../hook/session-loop.js';
import { PlanFileError, PlanPathError } from '../plan/store.js';
import { planPathArgument } from './plan-argument.js';
import { EXIT, UserError } from './exit.js';
import { exitCodeOf } from './run-command.js';

/**
 * `deepplan hook start | stop | cancel`: the automated loop in a Claude Code session (docs/claude-code.md). The
 * plugin in integrations/claude-code/ runs start from its /deepplan:loop command and stop as its Stop hook.
 */

export interface HookLoopOptions {
  maxIterations?: number;
  sandbox?: boolean;
  /** Seconds the hook may spend running the plan's command steps before it gives the turn back. */
  timeLimit?: number;
}

export const DEFAULT_TIME_LIMIT_S = 300;

export const progress = (line: string) => process.stderr.write(`${line}\n`);

/**
 * Claude Code runs this command (its /deepplan:loop): Claude Code sets CLAUDECODE=1 in the environment of the
 * commands it runs (observed with Claude Code 2.1.332). A slash command whose command exits non-zero is a failed
 * command: the session never gets a turn, and `claude -p` prints nothing. So there the reason goes to standard
 * output, where the session reads and reports it, and the exit status is 0.
 */
export function calledFromClaudeCode(env: NodeJS.ProcessEnv = process.env): boolean {
  return env['CLAUDECODE'] === '1';
}

/** Starts the loop for a plan in this session and prints the first model step's prompt (or the plan's signal). */
export async function runHookStartCommand(plan: string, options: HookLoopOptions & { session?: string }): Promise<number> {
  const fromClaudeCode = calledFromClaudeCode();
  try {
    // No such file, or no plan file at all (a folder): a usage error (exit 2), as for every command.
    planPathArgument(plan);
    const result = await startLoop(plan, {
      ...(options.maxIterations ? { maxIterations: options.maxIterations } : {}),
      ...(options.session ? { sessionId: options.session } : {}),
      sandbox: options.sandbox !== false,
      timeLimitMs: (options.timeLimit ?? DEFAULT_TIME_LIMIT_S) * 1000,
      progress,
    });
    process.stdout.write(`${result.text}\n`);
    return fromClaudeCode ? EXIT.ok : exitCodeOf(result.signal);
  } catch (error) {
    const known = error instanceof EngineError || error instanceof PlanFileError || error instanceof LoopFileError || error instanceof UserError;
    if (known && fromClaudeCode) {
      process.stdout.write(`deepplan: the loop cannot start: ${error.message.split('\n')[0]}\n`);
      return EXIT.ok;
    }
    if (error instanceof PlanPathError) throw new UserError(error.message, EXIT.usage);
    if (error instanceof EngineError || error instanceof PlanFileError || error instanceof LoopFileError) throw new UserError(error.message, EXIT.failed);
    throw error;
  }
}

/** Ends the loop: removes the loop record (the plan is not touched). */
export async function runHookCancelCommand(): Promise<number> {
  const root = findRepoRoot(process.cwd());
  process.stdout.write(`${cancelLoop(root, relative(process.cwd(), root) || '.')}\n`);
  return EXIT.ok;
}
