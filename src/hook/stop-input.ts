import { existsSync } from 'node:fs';
import * as z from 'zod/mini';
import '../plan/zod.js';
import { findRepoRoot } from '../config/config.js';
import { loopPath } from './loop-files.js';

/** What Claude Code gives a Stop hook on standard input (the fields deepplan reads; others are kept). */
export const StopInput = z.looseObject({
  session_id: z.string().check(z.minLength(1)),
  transcript_path: z.optional(z.string()),
  cwd: z.optional(z.string()),
  hook_event_name: z.optional(z.string()),
  stop_hook_active: z.optional(z.boolean()),
  last_assistant_message: z.optional(z.nullable(z.string())),
});
export type StopHookInput = z.infer<typeof StopInput>;

/** The hook's input, or why standard input is not a Stop hook's JSON. */
export function readStopInput(stdin: string): { input: StopHookInput } | { problem: string } {
  try {
    const parsed = StopInput.safeParse(JSON.parse(stdin));
    if (parsed.success) return { input: parsed.data };
    return { problem: `${parsed.error.issues[0]!.path.join('.') || 'input'}: ${parsed.error.issues[0]!.message}` };
  } catch (error) {
    return { problem: (error as Error).message.split('\n')[0]! };
  }
}

/**
 * A stop no loop can be concerned with: another hook event, or no loop recorded in the repository and no `--plan`
 * that could start one. The Stop hook then prints nothing, whatever else it would read; `hook stop` answers it
 * without loading the engine (a finished loop's record has moved aside, so its stops end here too).
 */
export function concernsNoLoop(input: StopHookInput, options: { cwd: string; plan?: string }): boolean {
  if (input.hook_event_name !== undefined && input.hook_event_name !== 'Stop') return true;
  return options.plan === undefined && !existsSync(loopPath(findRepoRoot(input.cwd ?? options.cwd)));
}
