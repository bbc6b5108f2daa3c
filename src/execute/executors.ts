import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import picomatch from 'picomatch';
import { globSync } from 'tinyglobby';
import writeFileAtomic from 'write-file-atomic';
import * as z from 'zod';
import type { Config } from '../config/config.js';
import { ModelError } from '../models/errors.js';
import type { ModelRunner } from '../models/runner.js';
import { actionLabel, driftNotes, droppedCallsNotes, refusedNotes, stepActionText } from '../plan/log-grammar.js';
import { toPosix } from '../plan/text.js';
import type { LogResult, Phase, Plan, Step } from '../plan/types.js';
import type { Skill, SkillIndex } from '../skills/discover.js';
import { configuredReadPaths } from '../plan/protected.js';
import { runCommand, SandboxError, writableFolder, type CommandResult, type SandboxLimits } from './sandbox.js';
import { changedFiles, checkCommand, checkReadable, quoteSkillArguments, checkWritable, ScopeError, snapshot, type Scope } from './scope.js';

/**
 * The executors: how one action is carried out. Scripted steps and tool skills are commands; other skill steps
 * and model steps go to the executor model (one tool call) or to an external agent command. Every executor reports
 * what it did; the result (ok, no-change, failed) is measured from the files, not taken from a claim.
 */

export interface ExecutionContext {
  root: string;
  planPath: string;
  scope: Scope;
  config: Config;
  skills: SkillIndex;
  models: ModelRunner | null;
  /** false with --no-sandbox. */
  sandbox: boolean;
  network: boolean;
  timeoutMs: number;
  executor: 'builtin' | 'command';
  env: Record<string, string | undefined>;
}

export interface ActionOutcome {
  /** The log's Action: `P3.2 run node scripts/x.mjs`, `P6.1 /generate-outreach-email write_file drafts/a.md`. */
  action: string;
  result: LogResult;
  /** The step is finished (a command succeeded; the model or agent said so). */
  stepDone: boolean;
  /** One line for the log's Notes. */
  notes: string;
  changed: string[];
  /** Something this action taught, for the running learnings. */
  learning: string | null;
  /**
   * The learning is the executor's own claim (a model's or an agent's), not something the engine measured: it
   * becomes a running learning only when the action made progress, so a false claim ("all phases are complete")
   * that changed nothing does not reach later prompts.
   */
  learningClaimed?: boolean;
  /** Set when the action cannot go on without a person. */
  blocker: string | null;
  /** Output to show the next iteration (a file read, a search), kept in the cache. */
  observation: string | null;
  /** Time spent outside the engine: the command, the model call. */
  actionMs: number;
}

/** The context a plan's commands run in: its scope, the configuration's limits, the skills and models at hand. */
export function executionContext(
  plan: Plan,
  options: {
    root: string;
    planPath: string;
    config: Config;
    skills: SkillIndex;
    models: ModelRunner | null;
    sandbox: boolean;
    executor?: 'builtin' | 'command';
    env?: Record<string, string | undefined>;
  },
): ExecutionContext {
  const { root, planPath, config } = options;
  const execute = config.execute ?? {};
  return {
    root,
    planPath,
    scope: {
      root,
      write: plan.meta.scope?.write ?? null,
      commands: plan.meta.scope?.commands ?? null,
      planFile: toPosix(relative(root, resolve(planPath))),
    },
    config,
    skills: options.skills,
    models: options.models,
    sandbox: options.sandbox,
    network: execute.network ?? false,
    timeoutMs: execute.timeout_ms ?? 120_000,
    executor: options.executor ?? 'builtin',
    env: options.env ?? process.env,
  };
}

/** Whether a model (or an external agent) carries a step out: a model step, or a skill step whose skill is no tool. */
export function carriedOutByModel(step: Step, skills: SkillIndex): boolean {
  return step.kind === 'model' || (step.kind === 'skill' && !skills.skills.get(step.skill ?? '')?.run);
}

export class EngineError extends Error {
  override name = 'EngineError';
}

const OUTPUT_NOTE = 160;

/** A path with glob characters (a folder or file name otherwise). */
const isGlob = (path: string) => /[*?[\]{}]/.test(path);

/** The line of a command's output that says what went wrong: the first that names an error, else the last. */
function telling(text: string): string {
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const line = lines.find((candidate) => /\b(error|fatal|denied|read-only|not found|no such)\b/i.test(candidate)) ?? lines[lines.length - 1] ?? '';
  return line.length > OUTPUT_NOTE ? `${line.slice(0, OUTPUT_NOTE - 1)}…` : line;
}

/** The configuration's execute.limits, in the sandbox's terms (what is not set keeps the sandbox's default). */
export function sandboxLimits(config: Config): Partial<SandboxLimits> {
  const limits = config.execute?.limits ?? {};
  return Object.fromEntries(
    Object.entries({ memoryMb: limits.memory_mb, processes: limits.processes, fileMb: limits.file_mb, outputMb: limits.output_mb }).filter(
      ([, value]) => value !== undefined,
    ),
  );
}

export function describeExit(result: CommandResult, timeoutMs: number): string {
  if (result.timedOut) return `timed out after ${Math.round(timeoutMs / 1000)} s`;
  if (result.outputLimited) return 'stopped: its output passed the output limit (execute.limits.output_mb)';
  const detail = telling(result.stderr) || telling(result.stdout);
  return `exit ${result.code ?? 'signal'}${detail ? `: ${detail}` : ''}`;
}

/** Runs a command the way every plan command runs: in the sandbox (or refused without one), with the scope writable. */
export async function sandboxed(
  command: string,
  context: ExecutionContext,
  extra: {
    env?: Record<string, string>;
    writable?: boolean;
    input?: string;
    network?: boolean;
    keepKeys?: boolean;
    extraWritable?: string[];
    passEnv?: string[];
  } = {},
): Promise<CommandResult> {
  try {
    return await runCommand(command, {
      root: context.root,
      writable: extra.writable === false ? [] : context.scope.write,
      planPath: context.planPath,
      network: extra.network ?? context.network,
      timeoutMs: context.timeoutMs,
      env: context.env,
      ...(extra.env ? { stepEnv: extra.env } : {}),
      protect: configuredReadPaths(context.config.skills?.paths),
      passEnv: [...(context.config.execute?.env ?? []), ...(extra.passEnv ?? [])],
      limits: sandboxLimits(context.config),
      unsandboxed: !context.sandbox,
      ...(extra.input !== undefined ? { input: extra.input } : {}),
      ...(extra.keepKeys ? { keepKeys: true } : {}),
      ...(extra.extraWritable ? { extraWritable: extra.extraWritable } : {}),
    });
  } catch (error) {
    if (error instanceof SandboxError) throw new EngineError(error.message);
    throw error;
  }
}

/** A verify command: read-only, in the sandbox. */
export async function runVerify(command: string, context: ExecutionContext): Promise<{ passed: boolean; detail: string; ms: number }> {
  const started = performance.now();
  const result = await sandboxed(command, context, { writable: false });
  return { passed: result.code === 0, detail: result.code === 0 ? 'passes' : describeExit(result, context.timeoutMs), ms: performance.now() - started };
}

/** An action's outcome: what is not given did not happen (no step done, no change, no learning, no blocker). */
export function makeOutcome(partial: Partial<ActionOutcome> & Pick<ActionOutcome, 'action' | 'result' | 'notes'>): ActionOutcome {
  return { stepDone: false, changed: [], learning: null, blocker: null, observation: null, actionMs: 0, ...partial };
}

/** Runs `work` and measures what it changed under the scope (from the files, not from claims) and how long it took. */
export async function measureChanges<T>(scope: Scope, work: () => Promise<T>): Promise<{ value: T; changed: string[]; actionMs: number }> {
  const before = snapshot(scope);
  const started = performance.now();
  const value = await work();
  const actionMs = performance.now() - started;
  return { value, changed: changedFiles(before, snapshot(scope)), actionMs };
}

function changeNote(changed: string[]): string {
  if (changed.length === 0) return 'nothing changed';
  const shown = changed.slice(0, 3).join(', ');
  return `${changed.length} file${changed.length === 1 ? '' : 's'} changed (${shown}${changed.length > 3 ? ', …' : ''})`;
}

/** A `run:` step, or a tool skill's command: one command, progress read from the files. */
export async function runCommandStep(
  action: string,
  commandOf: string | (() => string),
  context: ExecutionContext,
  options: { checkPrefix: boolean; env?: Record<string, string> },
): Promise<ActionOutcome> {
  let command: string;
  try {
    // A tool skill's command is built here: arguments it cannot quote are refused like a command out of scope.
    command = typeof commandOf === 'string' ? commandOf : commandOf();
    if (options.checkPrefix) checkCommand(context.scope, command);
  } catch (error) {
    if (!(error instanceof ScopeError)) throw error;
    return makeOutcome({
      action,
      result: 'blocked',
      notes: refusedNotes(error.message),
      blocker: `${actionLabel(action)} is refused: ${error.message}; fix the plan's step or scope.commands`,
    });
  }
  const { value: result, changed, actionMs } = await measureChanges(context.scope, () => sandboxed(command, context, options.env ? { env: options.env } : {}));
  if (result.code !== 0) return makeOutcome({ action, result: 'failed', notes: describeExit(result, context.timeoutMs), changed, actionMs });
  return makeOutcome({ action, result: changed.length > 0 ? 'ok' : 'no-change', stepDone: true, notes: changeNote(changed), changed, actionMs });
}

/**
 * A skill step whose SKILL.md has `metadata.run`: the skill's command (the team's, trusted) with the step's
 * arguments quoted word by word (the plan's, not trusted to be shell). Throws ScopeError for shell syntax.
 */
export function toolSkillCommand(skill: Skill, step: Step): string {
  return `${skill.run}${step.args ? ` ${quoteSkillArguments(step.args)}` : ''}`;
}

// ---------------------------------------------------------------------------------------------------------------
// The executor model: one tool call per iteration

export const MODEL_TOOLS = ['read_file', 'write_file', 'list_files', 'search_text', 'run_command'] as const;
export type ModelTool = (typeof MODEL_TOOLS)[number];

/**
 * The executor model's answer: exactly one tool call and what it believes about the step. A flat object (every
 * field present, unused ones null) so each provider's strict structured output accepts the schema.
 */
export const ModelActionSchema = z.object({
  tool: z.enum(MODEL_TOOLS).describe('The one tool this iteration calls'),
  path: z.string().nullable().describe('read_file, write_file, list_files (a folder or glob), search_text (a folder or glob); else null'),
  content: z.string().nullable().describe('write_file: the whole new content of the file; else null'),
  pattern: z.string().nullable().describe('search_text: the text to find; else null'),
  command: z.string().nullable().describe('run_command: one command starting with an allowed prefix; else null'),
  step_done: z.boolean().describe('true when this call finishes the current step'),
  summary: z.string().describe('One line: what this call does and why'),
  learning: z.string().nullable().describe("Something a later iteration should know (a failure's cause, a quirk), or null"),
});
export type ModelAction = z.infer<typeof ModelActionSchema>;

/** Claude Code's tool names in `allowed-tools`, as the executor's tools. */
const TOOL_ALIASES: Record<string, ModelTool> = {
  read: 'read_file',
  read_file: 'read_file',
  write: 'write_file',
  edit: 'write_file',
  multiedit: 'write_file',
  write_file: 'write_file',
  glob: 'list_files',
  ls: 'list_files',
  list_files: 'list_files',
  grep: 'search_text',
  search_text: 'search_text',
  bash: 'run_command',
  run_command: 'run_command',
};

/** The executor tools a skill's `allowed-tools` permits; null when the skill does not restrict them. */
export function allowedToolsOf(skill: Skill | null): Set<ModelTool> | null {
  if (!skill?.allowedTools || skill.allowedTools.length === 0) return null;
  const tools = new Set<ModelTool>();
  for (const entry of skill.allowedTools) {
    const name = entry.replace(/\(.*$/, '').trim().toLowerCase();
    const tool = TOOL_ALIASES[name];
    if (tool) tools.add(tool);
  }
  return tools;
}

export function modelActionText(phase: Phase, step: Step, answer: Pick<ModelAction, 'tool' | 'path' | 'command' | 'pattern'>): string {
  const target =
    answer.tool === 'run_command'
      ? answer.command
      : answer.tool === 'search_text'
        ? `${JSON.stringify(answer.pattern ?? '')} in ${answer.path ?? '.'}`
        : answer.path;
  const skill = step.kind === 'skill' ? `/${step.skill} ` : '';
  return stepActionText(phase.id, step.index, `${skill}${answer.tool} ${(target ?? '').replace(/\s+/g, ' ').slice(0, 120)}`).trim();
}

/**
 * The log note for calls an executor answer carried beyond the one that ran: `dropped 2 extra call(s): write_file
 * out/b.md, run_command node scripts/x.mjs`. Only the first call of an answer is ever carried out.
 */
export function droppedCallsNote(extra: unknown[]): string {
  const names = extra.map((call) => {
    if (call === null || typeof call !== 'object' || typeof (call as { tool?: unknown }).tool !== 'string') return 'a call that is not an executor tool call';
    const { tool, path, command, pattern } = call as Record<string, unknown>;
    const target = [command, pattern, path].find((value) => typeof value === 'string' && value.trim() !== '') as string | undefined;
    return `${tool}${target ? ` ${target}` : ''}`.replace(/\s+/g, ' ').slice(0, 80);
  });
  return droppedCallsNotes(names);
}

const OBSERVATION_LIMIT = 8_000;

function clip(text: string, limit = OBSERVATION_LIMIT): string {
  return text.length > limit ? `${text.slice(0, limit)}\n… (${text.length - limit} more characters)` : text;
}

/** Carries out the model's one tool call inside the scope. Refusals are failed actions, never exceptions. */
export async function performModelAction(answer: ModelAction, action: string, skill: Skill | null, context: ExecutionContext): Promise<ActionOutcome> {
  const allowed = allowedToolsOf(skill);
  if (allowed && !allowed.has(answer.tool)) {
    const names = [...allowed].join(', ') || 'no executor tool';
    return makeOutcome({
      action,
      result: 'failed',
      notes: driftNotes(`/${skill!.name} allows ${names}; ${answer.tool} refused`),
      learning: `/${skill!.name} is carried out with ${names} only`,
    });
  }
  const started = performance.now();
  try {
    switch (answer.tool) {
      case 'read_file': {
        const rel = checkReadable(context.scope, answer.path ?? '');
        const full = join(context.root, rel);
        if (statSync(full).size > 2 * 1024 * 1024) throw new ScopeError(`"${rel}" is larger than 2 MB`);
        return makeOutcome({
          action,
          result: 'no-change',
          stepDone: answer.step_done,
          notes: `read ${rel}`,
          observation: `${rel}:\n${clip(readFileSync(full, 'utf8'))}`,
          actionMs: performance.now() - started,
        });
      }
      case 'list_files': {
        const base = answer.path && answer.path !== '.' ? answer.path : '**';
        const pattern = isGlob(base) ? base : `${checkReadable(context.scope, base)}/**`;
        if (pattern.split('/').includes('..') || pattern.startsWith('/')) throw new ScopeError(`"${base}" is outside the repository`);
        const files = globSync(pattern, { cwd: context.root, onlyFiles: true, ignore: ['.git/**', '**/node_modules/**'] })
          .sort()
          .slice(0, 500);
        return makeOutcome({
          action,
          result: 'no-change',
          stepDone: answer.step_done,
          notes: `listed ${files.length} file(s)`,
          observation: clip(files.join('\n')),
          actionMs: performance.now() - started,
        });
      }
      case 'search_text': {
        if (!answer.pattern) throw new ScopeError('search_text needs a pattern');
        const base = answer.path && answer.path !== '.' ? answer.path : '**';
        const glob = isGlob(base) ? base : statSync(join(context.root, checkReadable(context.scope, base))).isDirectory() ? `${base}/**` : base;
        if (glob.split('/').includes('..') || glob.startsWith('/')) throw new ScopeError(`"${base}" is outside the repository`);
        const hits: string[] = [];
        for (const file of globSync(glob, { cwd: context.root, onlyFiles: true, ignore: ['.git/**', '**/node_modules/**'] }).sort()) {
          const rel = checkReadable(context.scope, file);
          const full = join(context.root, rel);
          if (statSync(full).size > 1024 * 1024) continue;
          readFileSync(full, 'utf8')
            .split('\n')
            .forEach((line, index) => {
              if (hits.length < 200 && line.includes(answer.pattern!)) hits.push(`${rel}:${index + 1}: ${line.slice(0, 200)}`);
            });
        }
        return makeOutcome({
          action,
          result: 'no-change',
          stepDone: answer.step_done,
          notes: `${hits.length} match(es) for ${JSON.stringify(answer.pattern)}`,
          observation: clip(hits.join('\n')),
          actionMs: performance.now() - started,
        });
      }
      case 'write_file': {
        const rel = checkWritable(context.scope, answer.path ?? '');
        const full = join(context.root, rel);
        const { changed, actionMs } = await measureChanges(context.scope, async () => {
          mkdirSync(dirname(full), { recursive: true });
          // The folder just made must not have become a way out (a symlink raced in): check again, then write.
          checkWritable(context.scope, rel);
          await writeFileAtomic(full, answer.content ?? '');
        });
        return makeOutcome({
          action,
          result: changed.length > 0 ? 'ok' : 'no-change',
          stepDone: answer.step_done,
          notes: `wrote ${rel}${changed.length === 0 ? ' (unchanged)' : ''}`,
          changed,
          actionMs,
        });
      }
      case 'run_command': {
        const command = answer.command ?? '';
        checkCommand(context.scope, command);
        const { value: result, changed, actionMs } = await measureChanges(context.scope, () => sandboxed(command, context));
        const observation = clip(`exit ${result.code}\n${result.stdout}${result.stderr ? `\nstderr:\n${result.stderr}` : ''}`);
        if (result.code !== 0) return makeOutcome({ action, result: 'failed', notes: describeExit(result, context.timeoutMs), changed, observation, actionMs });
        return makeOutcome({
          action,
          result: changed.length > 0 ? 'ok' : 'no-change',
          stepDone: answer.step_done,
          notes: changeNote(changed),
          changed,
          observation,
          actionMs,
        });
      }
    }
  } catch (error) {
    if (error instanceof ScopeError)
      return makeOutcome({ action, result: 'failed', notes: refusedNotes(error.message), actionMs: performance.now() - started });
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      return makeOutcome({ action, result: 'failed', notes: `no such file: ${answer.path ?? ''}`, actionMs: performance.now() - started });
    throw error;
  }
}

export function isCostCap(error: unknown): boolean {
  return error instanceof ModelError && error.kind === 'cost';
}

/** Files of a folder, for the prompt's view of a phase's inputs; bounded. */
export function readInputs(root: string, patterns: string[], limitChars: number): string {
  const files = new Set<string>();
  for (const pattern of patterns) {
    if (pattern.startsWith('/') || pattern.split('/').includes('..')) continue;
    const matcher = isGlob(pattern) ? null : pattern;
    if (matcher) files.add(matcher);
    else for (const file of globSync(pattern, { cwd: root, onlyFiles: true, ignore: ['.git/**', '**/node_modules/**'] })) files.add(file);
  }
  let out = '';
  for (const file of [...files].sort()) {
    if (out.length >= limitChars) {
      out += `\n(further inputs not shown: read them with read_file)\n`;
      break;
    }
    let text: string;
    try {
      text = readFileSync(join(root, file), 'utf8');
    } catch {
      out += `\n--- ${file} (missing)\n`;
      continue;
    }
    out += `\n--- ${file}\n${text.slice(0, Math.max(0, limitChars - out.length))}\n`;
  }
  return out;
}

/** Whether a folder exists and holds files; used to tell a missing output from an empty one. */
export function hasFiles(root: string, pattern: string): boolean {
  try {
    if (!isGlob(pattern)) return statSync(join(root, pattern)).size > 0;
    const isMatch = picomatch(pattern);
    // The folder to search: the pattern's path up to its first glob part (`crm/*/sync.json` → crm).
    const dir = join(root, writableFolder(pattern));
    return readdirSync(dir, { recursive: true, withFileTypes: true }).some(
      (entry) => entry.isFile() && isMatch(join(entry.parentPath, entry.name).slice(root.length + 1)),
    );
  } catch {
    return false;
  }
}
