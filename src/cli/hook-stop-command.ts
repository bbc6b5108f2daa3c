import { concernsNoLoop, readStopInput } from '../hook/stop-input.js';
import { EXIT, UserError } from './exit.js';
import type { HookLoopOptions } from './hook-command.js';

/**
 * `deepplan hook stop`, the Claude Code Stop hook: the hook's JSON on standard input, the hand-out or allow JSON (or
 * nothing) on standard output; always exit 0. Claude Code runs it on every stop of a session, so a stop that no loop
 * is concerned with (no loop in the repository, or a finished one) is answered before the engine is loaded.
 */
export async function runHookStopCommand(options: HookLoopOptions & { plan?: string }): Promise<number> {
  if (process.stdin.isTTY)
    throw new UserError("deepplan hook stop reads a Claude Code Stop hook's JSON on standard input; Claude Code runs it (docs/claude-code.md)");
  const stdin = await readStdin();
  const cwd = process.cwd();
  const read = readStopInput(stdin);
  if ('input' in read && concernsNoLoop(read.input, { cwd, ...(options.plan ? { plan: options.plan } : {}) })) return EXIT.ok;
  const [{ stopHook }, { DEFAULT_TIME_LIMIT_S, progress }] = await Promise.all([import('../hook/session-loop.js'), import('./hook-command.js')]);
  const output = await stopHook(stdin, {
    cwd,
    ...(options.plan ? { plan: options.plan } : {}),
    ...(options.maxIterations ? { maxIterations: options.maxIterations } : {}),
    sandbox: options.sandbox !== false,
    timeLimitMs: (options.timeLimit ?? DEFAULT_TIME_LIMIT_S) * 1000,
    progress,
  });
  if (output) process.stdout.write(`${JSON.stringify(output)}\n`);
  return EXIT.ok;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
