import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ENDED_LOOP_FILE, LOOP_FILE, loopPath } from './loop-files.js';
import writeFileAtomic from 'write-file-atomic';
import * as z from 'zod';

/**
 * The loop record of the Claude Code integration, `.deepplan/loop.json`: which plan the loop runs, which session it
 * belongs to, and the step handed to that session and not yet recorded. It is a cache beside the plan, not state of
 * the plan: deleting it cancels the loop and loses nothing the plan needs (the plan file stays the only memory).
 */

export { ENDED_LOOP_FILE, LOOP_FILE, loopPath } from './loop-files.js';

const Pending = z.strictObject({
  /** The log's Action the engine records the answer under. */
  action: z.string().min(1),
  /** The plan's state.revision and log length when the step was handed out: a plan that moved on is not recorded into. */
  revision: z.number().int().min(0),
  rows: z.number().int().min(0),
  /** Files under scope.write (size:mtime) when the step was handed out; what the session changed is measured from it. */
  snapshot: z.record(z.string(), z.string()),
  /**
   * How the prompt reached the session: `command` (printed by deepplan hook start into the slash command's output) or
   * `hook` (the reason of a Stop hook block, so the next Stop has stop_hook_active: true).
   */
  via: z.enum(['command', 'hook']),
  /** sha256 of the plan file when the step was handed out: a plan edited by anyone but the engine is not recorded into. */
  plan_sha: z.string().regex(/^[0-9a-f]{64}$/),
});

export const LoopRecordSchema = z.strictObject({
  /** The plan, relative to the repository root. */
  plan: z.string().min(1),
  /** The Claude Code session the loop belongs to; null until the first Stop of the session that started it. */
  session_id: z.string().min(1).nullable(),
  /** Printed by deepplan hook start: the session whose transcript holds it is the one that started the loop. */
  token: z.string().min(8),
  started: z.string(),
  /** Log rows when the loop started: --max-iterations counts the rows appended since. */
  start_rows: z.number().int().min(0),
  max_iterations: z.number().int().min(1).nullable(),
  sandbox: z.boolean(),
  active: z.boolean(),
  /** Why the loop ended (the signal, --max-iterations, ...); null while it runs. */
  ended: z.string().nullable(),
  /** Prompts handed out since the last row the loop saw appended (bounds a loop that records nothing). */
  handed_out: z.number().int().min(0),
  pending: Pending.nullable(),
});

export type LoopRecord = z.infer<typeof LoopRecordSchema>;
export type PendingStep = z.infer<typeof Pending>;

export class LoopFileError extends Error {
  override name = 'LoopFileError';
}

/** The loop record, or null when there is none; a record that cannot be read is a LoopFileError. */
export function readLoop(root: string): LoopRecord | null {
  let text: string;
  try {
    text = readFileSync(loopPath(root), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new LoopFileError(`${LOOP_FILE} cannot be read (${(error as Error).message.split('\n')[0]})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new LoopFileError(`${LOOP_FILE} is not valid JSON; run deepplan hook start again (or delete it to cancel the loop)`);
  }
  const parsed = LoopRecordSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new LoopFileError(
      `${LOOP_FILE} is not a loop record (${issue.path.join('.') || 'top level'}: ${issue.message}); run deepplan hook start again (or delete it to cancel the loop)`,
    );
  }
  return parsed.data;
}

export async function writeLoop(root: string, record: LoopRecord): Promise<void> {
  const path = loopPath(root);
  mkdirSync(dirname(path), { recursive: true });
  await writeFileAtomic(path, `${JSON.stringify(record, null, 2)}\n`);
}

export function removeLoop(root: string): void {
  rmSync(loopPath(root), { force: true });
  rmSync(join(root, ENDED_LOOP_FILE), { force: true });
}

/** Ends the loop: its record moves from LOOP_FILE to ENDED_LOOP_FILE with the reason. */
export async function endLoop(root: string, record: LoopRecord, reason: string): Promise<void> {
  const ended = join(root, ENDED_LOOP_FILE);
  mkdirSync(dirname(ended), { recursive: true });
  await writeFileAtomic(ended, `${JSON.stringify({ ...record, active: false, ended: reason, pending: null }, null, 2)}\n`);
  rmSync(loopPath(root), { force: true });
}

/** The record of the loop that ended last, or null (none, or unreadable: an ended loop decides nothing). */
export function readEndedLoop(root: string): LoopRecord | null {
  try {
    const parsed = LoopRecordSchema.safeParse(JSON.parse(readFileSync(join(root, ENDED_LOOP_FILE), 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export function newLoop(
  plan: string,
  options: { sessionId: string | null; startRows: number; maxIterations: number | null; sandbox: boolean; now: Date },
): LoopRecord {
  return {
    plan,
    session_id: options.sessionId,
    token: randomUUID(),
    started: options.now.toISOString(),
    start_rows: options.startRows,
    max_iterations: options.maxIterations,
    sandbox: options.sandbox,
    active: true,
    ended: null,
    handed_out: 0,
    pending: null,
  };
}

/**
 * `deepplan hook cancel`: removes the loop record (an unreadable one too, and an ended loop's, so that `hook stop
 * --plan` may start a new one) and says what it removed. The plan is not touched. `shownRoot` names the repository.
 */
export function cancelLoop(root: string, shownRoot: string): string {
  let loop: LoopRecord | null;
  try {
    loop = readLoop(root);
  } catch (error) {
    if (!(error instanceof LoopFileError)) throw error;
    removeLoop(root);
    return `deepplan: removed an unreadable ${LOOP_FILE}; no loop runs`;
  }
  if (loop === null) {
    const ended = readEndedLoop(root);
    removeLoop(root);
    return `deepplan: no loop runs in ${shownRoot}${ended ? ` (the loop for ${ended.plan} had ended: ${ended.ended ?? 'ended'})` : ''}`;
  }
  removeLoop(root);
  const what = loop.active ? 'is cancelled' : `had already ended (${loop.ended ?? 'ended'}); its record is removed`;
  return `deepplan: the loop for ${loop.plan} ${what}; the plan is as the engine last wrote it`;
}
