import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { parse, stringify } from 'yaml';
import { loadConfig } from '../config/config.js';
import { ModelError } from '../models/errors.js';
import { ModelRunner } from '../models/runner.js';
import type { PlanDraft } from '../pipeline/draft.js';
import { PipelineError } from '../pipeline/run.js';
import { parseSkillChoice, type SkillChoice } from '../pipeline/skill-choice.js';
import type { Question } from '../pipeline/sufficiency.js';
import { EXIT, UserError } from './exit.js';

/**
 * What `deepplan plan` (headless) and `deepplan new` (the Ink screens) share: reading the request and the answers,
 * where the plan goes, the model runner, writing the plan, and whether it is reviewed before approval.
 */

export function readArgumentFile(value: string, what: string): string {
  try {
    return readFileSync(resolve(value), 'utf8');
  } catch (error) {
    throw new UserError(`cannot read the ${what} ${value}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
}

/** The request as given, or the text of the file `@path` names; an empty request is a usage error. */
export function readRequest(value: string): string {
  const request = value.startsWith('@') ? readArgumentFile(value.slice(1), 'request file') : value;
  if (request.trim() === '') throw new UserError('the request is empty; say what the work is (--request "…" or --request @file)');
  return request;
}

export interface AnswersFile {
  /** Interview answers by question id. */
  answers: Record<string, string>;
  /** `skills: {map: [...], exclude: [...]}`: changes to the skill audit. */
  skills?: SkillChoice;
}

/** An answers file: `id: answer` lines, and optionally `skills: {map: [name], exclude: [name]}`. */
export function readAnswersFile(path: string): AnswersFile {
  let data: unknown;
  try {
    data = parse(readArgumentFile(path, 'answers file'));
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`${path} is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new UserError(`${path} must map question ids to answers (success: "…")`);
  const { skills, ...rest } = data as Record<string, unknown>;
  const answers = Object.fromEntries(Object.entries(rest).map(([key, value]) => [key, String(value)]));
  if (skills === undefined) return { answers };
  const choice = parseSkillChoice(skills);
  if (typeof choice === 'string') throw new UserError(`${path}: ${choice}`);
  return { answers, skills: choice };
}

/** The answers file for what was answered so far (the draft `deepplan new` leaves behind on Ctrl-C). */
export function answersFileText(answers: Record<string, string>, skills: SkillChoice | null): string {
  const data: Record<string, unknown> = { ...answers };
  if (skills && (skills.map.length > 0 || skills.exclude.length > 0)) data['skills'] = { ...(skills.map.length > 0 ? { map: skills.map } : {}), ...(skills.exclude.length > 0 ? { exclude: skills.exclude } : {}) };
  return Object.keys(data).length === 0 ? '{}\n' : stringify(data);
}

export function describeQuestion(question: Question, index: number): string {
  const lines = [`${index + 1}. [${question.id}] ${question.text}`];
  question.options.forEach((option, n) => lines.push(`   ${n + 1}) ${option}${question.recommended === n ? '  (recommended)' : ''}`));
  if (question.options.length === 0) lines.push('   (a short free answer)');
  return lines.join('\n');
}

/** Refuses to overwrite an existing plan unless --force. */
export function refuseOverwrite(path: string, force: boolean | undefined): void {
  if (existsSync(path) && !force) throw new UserError(`${relative(process.cwd(), path)} exists; choose another --out or pass --force`);
}

/** Where the plan goes: --out, or plans/<id>.md (before the id is known, plans/plan.md stands in for linting). */
export function planPath(root: string, out: string | undefined, id?: string): string {
  return resolve(out ?? resolve(root, 'plans', `${id ?? 'plan'}.md`));
}

/** The model runner of a planning session: the configured roles, the cost cap, notices to `notice`. */
export function planningModels(root: string, options: { maxCost?: number; signal: AbortSignal; notice: (line: string) => void }): ModelRunner {
  return new ModelRunner({ config: loadConfig(root), root, signal: options.signal, maxCostUsd: options.maxCost ?? null, notice: options.notice });
}

/** A pipeline or model failure as a one-line error (exit 1); anything else is passed on. */
export function planningFailure(error: unknown): unknown {
  if (error instanceof PipelineError || error instanceof ModelError) return new UserError(error.message, EXIT.failed);
  return error;
}

/** Writes the plan atomically, creating its folder. */
export async function writePlan(path: string, text: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  await writeFileAtomic(path, text);
}

/** Why a plan is reviewed before anyone may approve it (10+ phases or quality bar adversarial), or null. */
export function reviewReason(draft: PlanDraft): string | null {
  if (draft.meta.quality_bar === 'adversarial') return 'quality bar adversarial';
  if (draft.phases.length >= 10) return `${draft.phases.length} phases`;
  return null;
}

/** What is left of a --max-cost cap for the review after the pipeline spent some of it. */
export function remainingCost(maxCost: number | undefined, models: ModelRunner): number | undefined {
  return maxCost === undefined ? undefined : Math.max(maxCost - models.ledger.spentUsd, 1e-9);
}
