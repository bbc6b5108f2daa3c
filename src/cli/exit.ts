import { readFileSync } from 'node:fs';

/**
 * What every command needs from the process, in one module that imports nothing of the CLI: exit codes, the one-line
 * user error, the Ctrl-C signal and the version. Commands import it instead of program.ts, so program.ts (which
 * imports the commands) and the commands form no cycle.
 */

/** Exit codes of PLAN_FORMAT.md section 4. */
export const EXIT = { ok: 0, failed: 1, usage: 2, blocked: 3 } as const;

let version: string | undefined;

/** deepplan's version, from its package.json (read once a process; the start-up snapshot keeps it too). */
export function packageVersion(): string {
  if (version !== undefined) return version;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    version = pkg.version ?? '0.0.0';
  } catch {
    version = '0.0.0';
  }
  return version;
}

/** A failure the user can fix: printed as one line, never a stack trace. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
  ) {
    super(message);
  }
}

let interrupt: AbortController | null = null;

/** Aborts model calls in flight on the first Ctrl-C; a second Ctrl-C ends the process at once. */
export function interruptSignal(): AbortSignal {
  if (!interrupt) {
    const controller = new AbortController();
    interrupt = controller;
    process.on('SIGINT', () => {
      if (controller.signal.aborted) process.exit(130);
      process.stderr.write('\ndeepplan: interrupted; stopping (Ctrl-C again to quit at once)\n');
      process.exitCode = 130;
      controller.abort();
    });
  }
  return interrupt.signal;
}
