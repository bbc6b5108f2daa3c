import { join } from 'node:path';

/**
 * Where the loop of a Claude Code session keeps its record, relative to the repository root. Its own module, with no
 * dependencies, so that `hook stop` can see there is no loop without loading the engine (src/cli/hook-stop-command.ts).
 */
export const LOOP_FILE = join('.deepplan', 'loop.json');
/**
 * Where a loop's record goes when the loop ends: the plugin's Stop hook command checks for LOOP_FILE before it
 * starts Node, so a project whose loop has ended costs nothing per stop; `hook stop --plan` reads this one so that
 * it does not start the ended loop again.
 */
export const ENDED_LOOP_FILE = join('.deepplan', 'loop-ended.json');

export function loopPath(root: string): string {
  return join(root, LOOP_FILE);
}
