import { type SessionOptions, type SessionReview, runNewSession as runSession, startNewSession } from '../pipeline/session.js';
import type { MountNewScreen, RunChoice } from '../ui/new-screen.js';
import { EXIT, interruptSignal, UserError } from './exit.js';
import { asUserError, planningFailure } from './planning.js';

export type NewOptions = SessionOptions;

/** Exit status after Ctrl-C. */
export const EXIT_INTERRUPTED = 130;

/** What the session needs from its surroundings; tests replace the terminal, the review and the run. */
export interface NewSessionIo {
  cwd: string;
  /** Mounts the screens (Ink's render on a terminal, ink-testing-library in tests). */
  mount: MountNewScreen;
  /** Aborted by a SIGINT from outside the screens (Ctrl-C on the screens arrives as a key). */
  signal: AbortSignal;
  /** Lines for the person after the screens have gone (standard error). */
  say(line: string): void;
  /** Default: the review rounds in this process (src/pipeline/session.ts reviewInProcess). */
  review?: SessionReview;
  /** Runs the approved plan as `deepplan run --once | --loop` does; its exit status. */
  run(planPath: string, choice: Exclude<RunChoice, 'later'>): Promise<number>;
  /** Fixed dates for reproducible plans (tests). */
  today?: string;
  now?: string;
}

/** `deepplan new` on a terminal; anywhere else one line pointing to `deepplan plan` (exit 2), without loading Ink. */
export async function runNewCommand(request: string | undefined, options: NewOptions): Promise<number> {
  if (!process.stdin.isTTY || !process.stdout.isTTY || process.env['CI']) {
    throw new UserError(
      `deepplan new needs a terminal${process.env['CI'] ? ' (CI is set)' : ''}; ` +
        'in scripts and CI use deepplan plan --request "…" (--answers answers.yaml or --yes)',
    );
  }
  return runNewSession(request, options, {
    cwd: process.cwd(),
    signal: interruptSignal(),
    async mount(store, actions) {
      const { renderNewScreen } = await import('../ui/new-screen.js');
      return renderNewScreen(store, actions);
    },
    say: (line) => process.stderr.write(`${line}\n`),
    async run(path, choice) {
      const { runRunCommand } = await import('./run-command.js');
      return runRunCommand(path, { [choice]: true, executor: 'builtin' });
    },
  });
}

/**
 * The interactive planning session (src/pipeline/session.ts) on the screens of src/ui/new-screen.tsx, then the run
 * the person chose. Bad arguments fail before any screen: one line, exit 2.
 */
export async function runNewSession(requestArgument: string | undefined, options: NewOptions, io: NewSessionIo): Promise<number> {
  const start = asUserError(() => startNewSession(requestArgument, options, io.cwd));
  const { renderNewSession } = await import('../ui/new-screen.js');
  const approve = async (path: string) => {
    const { approvePlan } = await import('../execute/approve.js');
    await approvePlan(path);
  };
  const session = {
    ...start,
    approve,
    ...(io.review ? { review: io.review } : {}),
    ...(io.today ? { today: io.today } : {}),
    ...(io.now ? { now: io.now } : {}),
  };
  const outcome = await renderNewSession((screen) => runSession({ ...session, ...screen }), {
    mount: io.mount,
    asking: start.request === null,
    signal: io.signal,
  });
  if (outcome.message) io.say(outcome.message);
  if (outcome.kind === 'interrupted') return EXIT_INTERRUPTED;
  if (outcome.kind === 'failed') throw planningFailure(outcome.error);
  return outcome.choice === 'later' ? EXIT.ok : io.run(outcome.plan, outcome.choice);
}
