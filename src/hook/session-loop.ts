import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { findRepoRoot, loadConfig } from '../config/config.js';
import { EngineError } from '../execute/executors.js';
import { nextHandOff, runIteration, type AgentRunner, type HandOffPreview, type IterationOptions } from '../execute/iteration.js';
import { runLoop } from '../execute/loop.js';
import { changedFiles, snapshot } from '../execute/scope.js';
import { ModelRunner } from '../models/runner.js';
import { readPlanBytesSync } from '../plan/store.js';
import { actionLabel } from '../plan/log-grammar.js';
import { toPosix } from '../plan/text.js';
import type { Signal } from '../plan/types.js';
import { endLoop, newLoop, readEndedLoop, readLoop, removeLoop, writeLoop, type LoopRecord, type PendingStep } from './loop.js';
import { readStopInput, type StopHookInput } from './stop-input.js';
import { lastAssistantText, readTranscript } from './transcript.js';

/**
 * The automated loop inside a Claude Code session. The session is the external agent of `deepplan run --executor
 * command`, turned inside out: `deepplan hook start` hands it the first model step (the same prompt the agent
 * command gets), and the Stop hook, when the session's turn ends, has the engine record the session's answer (the
 * status block on the last line of its last message) exactly as it records an agent command's, runs the command
 * steps that follow, and hands the next model step's prompt back to the session while the plan says CONTINUE. The
 * engine is the only writer of the plan; the session only gets prompts.
 *
 * How Claude Code reads a Stop hook's answer (Claude Code 2.1.332, read from its bundle and observed with `claude -p`
 * against a local Messages API; the fixtures in test/fixtures/hosts/claude-code/ are those runs):
 * - `decision: "block"` with a `reason` continues the turn, the reason reaching the model as a user message
 *   "Stop hook feedback:\n<reason>", but the transcript records it as a hook error and the screen shows
 *   "Stop hook error: <reason>" (and "stop hook problem" in print mode). A hand-out is no error, so the hook does
 *   not use it.
 * - `hookSpecificOutput: {hookEventName: "Stop", additionalContext}` continues the turn the same way (the next Stop
 *   has stop_hook_active: true) and shows as "Stop hook feedback". The hook hands steps out with it.
 * - `systemMessage` is shown to the person; `claude -p --output-format stream-json` carries it as a
 *   `{"type":"system","subtype":"informational","content":"Stop says: ..."}` event, plain `claude -p` prints none of it.
 * - `continue: false` ends the turn (result `terminal_reason: "stop_hook_prevented"`, exit status 0): print mode
 *   shows the last assistant text only. So the loop's end is handed to the session as one last instruction, to say
 *   the ending line: that line is then the answer `claude -p` prints.
 * - After 8 consecutive blocks (CLAUDE_CODE_STOP_HOOK_BLOCK_CAP) Claude Code ends the turn; the count restarts when
 *   the model calls a tool, so a loop whose steps use tools is not cut there.
 */

/** Prompts handed out in a row without the engine appending a row: the loop ends rather than going round. */
export const HAND_OUTS_WITHOUT_ROW = 3;

/**
 * The Stop hook's output (Claude Code's fields): the next prompt as additional context (the turn goes on), or an
 * allowed stop with a message for the person.
 */
export interface StopHookOutput {
  hookSpecificOutput?: { hookEventName: 'Stop'; additionalContext: string };
  systemMessage?: string;
}

/** The turn goes on with `text` as the session's next instruction; `notice` is shown to the person. */
export function handOut(text: string, notice: string): StopHookOutput {
  return { hookSpecificOutput: { hookEventName: 'Stop', additionalContext: text }, systemMessage: notice };
}

/** What the session says, word for word, as its last answer when the loop ends: `claude -p` prints it. */
export function endingLine(message: string): string {
  return `deepplan: ${message}`;
}

/** The loop's end handed to the session: say the ending line and stop (no loop file is left to hand out more). */
function ending(message: string): StopHookOutput {
  const line = endingLine(message);
  return handOut(`The deepplan loop has ended. Do not carry on with the plan. Reply with exactly this line and nothing else:\n${line}`, line);
}

/**
 * deepplan's executor tools as Claude Code's: the hand-out is the prompt an agent command gets, written for
 * deepplan's own five tools; the session carries the step out with its host's tools instead.
 */
const HOST_TOOLS: Record<string, string[]> = {
  read_file: ['Read'],
  write_file: ['Write', 'Edit'],
  list_files: ['Glob'],
  search_text: ['Grep'],
  run_command: ['Bash'],
};

export function forClaudeCode(prompt: string): string {
  const hostTools = (names: string) => [...new Set(names.split(/,\s*|\s+or\s+/).flatMap((name) => HOST_TOOLS[name.trim()] ?? [name.trim()]))].join(', ');
  return prompt
    .replace(
      /^Each iteration you answer with exactly one tool call \([^)]*\) and say whether it finishes the current step\.$/m,
      'Carry out the current step with your own tools (Read, Write, Edit, Glob, Grep, Bash), as many calls as it takes, then say whether it is finished.',
    )
    .replace(/^- Tools this step allows: (.+)$/m, (_line, names: string) => `- Tools this step allows: ${hostTools(names)}`)
    .replace(/^Answer with the one tool call for this iteration\.$/m, 'Do the step now with your tools; your answer ends with the status line below.')
    .replace(/\b(read_file|write_file|list_files|search_text|run_command)\b/g, (name) => HOST_TOOLS[name]!.join('/'));
}

export interface LoopOptions {
  /** The hook's --max-iterations (or hook start's): rows this loop may append. */
  maxIterations?: number;
  /** false: --no-sandbox. */
  sandbox?: boolean;
  /** How long the hook may run the plan's command steps before it hands the turn back. */
  timeLimitMs: number;
  env?: Record<string, string | undefined>;
  now?: () => Date;
  /** One-line progress (the engine's rows), for standard error. */
  progress?: (line: string) => void;
}

// Read like any plan read: a regular file inside the repository, at most the plan size limit.
const sha256 = (path: string) => createHash('sha256').update(readPlanBytesSync(path)).digest('hex');

function engineOptions(root: string, planPath: string, sandbox: boolean, options: LoopOptions, agent: AgentRunner): IterationOptions {
  const config = loadConfig(root);
  const progress = options.progress ?? (() => {});
  const models = new ModelRunner({ config, root, maxCostUsd: null, notice: progress, ...(options.env ? { env: options.env } : {}) });
  return {
    planPath,
    root,
    config,
    models,
    executor: 'command',
    sandbox,
    agent,
    ...(options.env ? { env: options.env } : {}),
    ...(options.now ? { now: options.now } : {}),
    onEvent: (event) => {
      if (event.type === 'row') progress(`deepplan: #${event.number} ${event.action} → ${event.result} (${event.signal})`);
    },
  };
}

/** Between hand-outs the engine's own steps never reach a session: a step the preview handed to it must not run here. */
const noAgent: AgentRunner = async (handOff) => {
  throw new EngineError(`${actionLabel(handOff.action)} became a model step while the hook ran the command steps; run /deepplan:loop again`);
};

type Advance =
  | { kind: 'hand-out'; preview: Extract<HandOffPreview, { kind: 'agent' }> }
  | { kind: 'signal'; signal: Exclude<Signal, 'CONTINUE'>; blockers: string[]; rows: number }
  | { kind: 'loop-budget'; rows: number }
  | { kind: 'time-limit'; rows: number };

/**
 * Runs the engine's own iterations (command steps, checks, gates) until a model step is next (handed to the
 * session), the plan stops (TASK_COMPLETE or BLOCKED_NEED_HUMAN), the loop's --max-iterations is reached, or the
 * time limit passes.
 */
async function advance(loop: LoopRecord, engine: IterationOptions, deadline: number): Promise<Advance> {
  const ended = await runLoop<Advance>({
    iterate: () => runIteration(engine),
    limit: Number.POSITIVE_INFINITY,
    before: async () => {
      const preview = await nextHandOff(engine);
      if (preview.kind === 'stop')
        return { kind: 'signal', signal: preview.signal as Exclude<Signal, 'CONTINUE'>, blockers: preview.blockers, rows: preview.rows };
      if (loop.max_iterations !== null && preview.rows - loop.start_rows >= loop.max_iterations) return { kind: 'loop-budget', rows: preview.rows };
      if (preview.kind === 'agent') return { kind: 'hand-out', preview };
      if (Date.now() >= deadline) return { kind: 'time-limit', rows: preview.rows };
      return null;
    },
  });
  if (ended.held !== null) return ended.held;
  // The loop ends only on a hand-out (held) or a signal other than CONTINUE.
  const report = ended.last!;
  return { kind: 'signal', signal: report.signal as Exclude<Signal, 'CONTINUE'>, blockers: report.blockers, rows: report.plan.log?.rows.length ?? 0 };
}

function pendingOf(preview: Extract<HandOffPreview, { kind: 'agent' }>, planPath: string, via: PendingStep['via']): PendingStep {
  return {
    action: preview.action,
    revision: preview.revision,
    rows: preview.rows,
    snapshot: Object.fromEntries(preview.snapshot),
    via,
    plan_sha: sha256(planPath),
  };
}

/** Where the loop stands, for the one-line messages: `plan iteration 4 of 30; loop 2 of 10`. */
function standing(loop: LoopRecord, rows: number, budget: number | null): string {
  return `plan iteration ${rows} of ${budget ?? '?'}${loop.max_iterations !== null ? `; loop ${rows - loop.start_rows} of ${loop.max_iterations}` : ''}`;
}

function endMessage(loop: LoopRecord, result: Exclude<Advance, { kind: 'hand-out' }>): string {
  switch (result.kind) {
    case 'signal':
      return result.signal === 'TASK_COMPLETE'
        ? `${loop.plan} is TASK_COMPLETE: every phase done and every success criterion verified (${result.rows} iterations); the loop has ended`
        : `${loop.plan} is BLOCKED_NEED_HUMAN: ${result.blockers[0] ?? 'waiting for a person'}; after that, run /deepplan:loop ${loop.plan} again`;
    case 'loop-budget':
      return `the loop reached its --max-iterations ${loop.max_iterations} (${result.rows - loop.start_rows} iterations); the plan says CONTINUE: run /deepplan:loop ${loop.plan} again to go on`;
    case 'time-limit':
      return `the hook ran the plan's command steps until its time limit and more are left; run /deepplan:loop ${loop.plan} again (or deepplan run ${loop.plan} --loop) to go on`;
  }
}

/** What the session reads when a step is handed to it: the engine's agent prompt for the host's tools, with how the loop works. */
function handOffText(loop: LoopRecord, prompt: string): string {
  return [
    `deepplan loop for ${loop.plan}: carry out exactly this one step, then end your turn. The Stop hook records your answer and hands you the next step.`,
    `Do not edit ${loop.plan}: the engine is its only writer.`,
    '',
    forClaudeCode(prompt),
  ].join('\n');
}

export interface StartResult {
  /** What deepplan hook start prints (the slash command's output, which the session reads). */
  text: string;
  signal: Signal;
}

/**
 * `deepplan hook start <plan>`: records the loop for this session (or for the first session whose transcript holds
 * the printed token), runs the command steps up to the first model step and prints that step's prompt.
 */
export async function startLoop(planArgument: string, options: LoopOptions & { sessionId?: string | null }): Promise<StartResult> {
  const planPath = resolve(planArgument);
  if (!existsSync(planPath)) throw new EngineError(`${planArgument}: no such file`);
  const root = findRepoRoot(dirname(planPath));
  const plan = toPosix(relative(root, planPath));
  if (plan.startsWith('..') || isAbsolute(plan)) throw new EngineError(`${planArgument} is outside the repository ${root}`);
  const now = options.now ?? (() => new Date());
  const env = options.env ?? process.env;
  const sessionId = options.sessionId ?? env['CLAUDE_CODE_SESSION_ID'] ?? env['CLAUDE_SESSION_ID'] ?? null;
  const sandbox = options.sandbox ?? true;
  const engine = engineOptions(root, planPath, sandbox, options, noAgent);
  let previous: LoopRecord | null = null;
  try {
    previous = readLoop(root);
  } catch {
    // An unreadable record is replaced.
  }
  const first = await nextHandOff(engine);
  const loop = newLoop(plan, { sessionId: sessionId || null, startRows: first.rows, maxIterations: options.maxIterations ?? null, sandbox, now: now() });
  const result = await advance(loop, engine, Date.now() + options.timeLimitMs);
  if (result.kind !== 'hand-out') {
    // Nothing to hand out: no loop runs (a loop this replaces ends too).
    await endLoop(root, loop, result.kind === 'signal' ? result.signal : result.kind);
    return { text: endingLine(endMessage(loop, result)), signal: result.kind === 'signal' ? result.signal : 'CONTINUE' };
  }
  const pending = pendingOf(result.preview, planPath, 'command');
  // A new loop: the record of one that ended before goes.
  removeLoop(root);
  await writeLoop(root, { ...loop, handed_out: 1, pending });
  const bound = loop.session_id ? `session ${loop.session_id}` : `the session that shows loop token ${loop.token}`;
  const replaced = previous?.active ? ` It replaces the loop for ${previous.plan}${previous.session_id ? ` of session ${previous.session_id}` : ''}.` : '';
  return {
    text: [
      `deepplan loop ${loop.token} started for ${plan} (${bound}); ${actionLabel(result.preview.action)} is handed to you.${replaced}`,
      '',
      handOffText(loop, result.preview.prompt),
    ].join('\n'),
    signal: 'CONTINUE',
  };
}

/**
 * `deepplan hook stop`: the Claude Code Stop hook. Returns the JSON to print, or null to print nothing (a stop that is
 * not this loop's: another session, no loop, a loop that has ended). Never throws: whatever goes wrong allows the
 * stop with a one-line systemMessage.
 */
export async function stopHook(stdin: string, options: LoopOptions & { cwd: string; plan?: string }): Promise<StopHookOutput | null> {
  const read = readStopInput(stdin);
  if ('problem' in read) return allow(`deepplan hook stop: standard input is not a Stop hook's JSON (${read.problem}); the stop is allowed`);
  const input = read.input;
  if (input.hook_event_name !== undefined && input.hook_event_name !== 'Stop') return null;
  try {
    return await stop(input, options);
  } catch (error) {
    return allow(`deepplan: ${(error as Error).message.split('\n')[0]}; the stop is allowed`);
  }
}

function allow(message: string): StopHookOutput {
  return { systemMessage: message };
}

async function stop(input: StopHookInput, options: LoopOptions & { cwd: string; plan?: string }): Promise<StopHookOutput | null> {
  const root = findRepoRoot(input.cwd ?? options.cwd);
  let loop = readLoop(root);
  const wanted = options.plan ? toPosix(relative(root, resolve(options.cwd, options.plan))) : null;
  if (loop === null) {
    if (wanted === null) return null;
    // A loop for this plan has ended: it is not started again until `deepplan hook cancel` clears it.
    if (readEndedLoop(root)?.plan === wanted) return null;
    // --plan in the hook's configuration: the first session that stops starts the loop and owns it.
    const started = newLoop(wanted, {
      sessionId: input.session_id,
      startRows: 0,
      maxIterations: options.maxIterations ?? null,
      sandbox: options.sandbox ?? true,
      now: (options.now ?? (() => new Date()))(),
    });
    const planPath = resolve(root, wanted);
    if (!existsSync(planPath)) return allow(`deepplan: ${wanted}: no such file; the stop is allowed`);
    loop = { ...started, start_rows: (await nextHandOff(engineOptions(root, planPath, started.sandbox, options, noAgent))).rows };
  }
  if (wanted !== null && loop.plan !== wanted) return null;
  if (!loop.active) {
    // A record an older deepplan left behind when its loop ended: moved aside, so the next stop starts no Node.
    await endLoop(root, loop, loop.ended ?? 'ended');
    return null;
  }
  // The session guard: a loop belongs to one session; any other session's stop goes through untouched.
  if (loop.session_id === null) {
    if (!input.transcript_path || !existsSync(input.transcript_path) || !readTranscript(input.transcript_path).includes(loop.token)) return null;
    loop = { ...loop, session_id: input.session_id };
  } else if (loop.session_id !== input.session_id) {
    return null;
  }
  const planPath = resolve(root, loop.plan);
  const sandbox = loop.sandbox && options.sandbox !== false;
  const notes: string[] = [];

  if (loop.pending) {
    const pending = loop.pending;
    if (pending.via === 'hook' && input.stop_hook_active !== true) {
      // The block that handed this step out was not followed (Claude Code's cap on consecutive blocks, or the person
      // stepped in): what the session said is no answer to it. Hand the same step out again.
      notes.push(`${actionLabel(pending.action)} was not answered; it is handed out again`);
    } else {
      const answer = answerText(input);
      if (answer === null)
        return allow(
          `deepplan: the session's last message cannot be read (no last_assistant_message and ${input.transcript_path ? `no assistant text in ${input.transcript_path}` : 'no transcript_path'}); nothing recorded, the stop is allowed`,
        );
      // The plan must be readable (a corrupt plan throws here and allows the stop with the reason) and untouched.
      const preview = await nextHandOff(engineOptions(root, planPath, sandbox, options, noAgent));
      if (sha256(planPath) !== pending.plan_sha && preview.revision === pending.revision) {
        await endLoop(root, loop, 'plan edited outside the engine');
        return ending(
          `${loop.plan} changed while ${actionLabel(pending.action)} was with the session (only the engine may write it); nothing recorded and the loop has ended: restore the plan, then run /deepplan:loop ${loop.plan} again`,
        );
      }
      if (preview.kind === 'agent' && preview.action === pending.action && preview.revision === pending.revision) {
        const before = new Map(Object.entries(pending.snapshot));
        const sessionAgent: AgentRunner = async (handOff, context) => {
          if (handOff.action !== pending.action)
            throw new EngineError(`the plan's next action is ${handOff.action}, not ${pending.action} that the session answered`);
          return { stdout: answer, code: 0, timedOut: false, changed: changedFiles(before, snapshot(context.scope)), actionMs: 0 };
        };
        const report = await runIteration(engineOptions(root, planPath, sandbox, options, sessionAgent));
        const row = report.rows[report.rows.length - 1];
        if (row) notes.push(`#${row.number} ${actionLabel(row.action)} ${row.result}`);
      } else {
        notes.push(`the plan moved on since ${actionLabel(pending.action)} was handed out; the answer was not recorded`);
      }
    }
  }

  const engine = engineOptions(root, planPath, sandbox, options, noAgent);
  const result = await advance({ ...loop, pending: null }, engine, Date.now() + options.timeLimitMs);
  const lead = notes.length > 0 ? `${notes.join('; ')}. ` : '';
  if (result.kind !== 'hand-out') {
    await endLoop(root, loop, result.kind === 'signal' ? result.signal : result.kind);
    return ending(`${lead}${endMessage(loop, result)}`);
  }
  // Rows appended since the last hand-out reset the count; a loop that only hands out (nothing recorded) ends.
  const handedOut = result.preview.rows > (loop.pending?.rows ?? -1) ? 1 : loop.handed_out + 1;
  if (handedOut > HAND_OUTS_WITHOUT_ROW) {
    await endLoop(root, loop, 'no rows recorded');
    return ending(
      `${lead}${HAND_OUTS_WITHOUT_ROW} prompts were handed out without an iteration being recorded; the loop has ended: run /deepplan:loop ${loop.plan} again`,
    );
  }
  const pending = pendingOf(result.preview, planPath, 'hook');
  await writeLoop(root, { ...loop, handed_out: handedOut, pending });
  return handOut(
    handOffText(loop, result.preview.prompt),
    `deepplan: ${lead}${actionLabel(result.preview.action)} handed to this session (${standing(loop, result.preview.rows, result.preview.budget)})`,
  );
}

/** The session's answer: the hook input's last_assistant_message, else the last assistant text of the transcript. */
function answerText(input: StopHookInput): string | null {
  if (typeof input.last_assistant_message === 'string' && input.last_assistant_message.trim() !== '') return input.last_assistant_message;
  if (!input.transcript_path) return null;
  return lastAssistantText(readTranscript(input.transcript_path));
}
