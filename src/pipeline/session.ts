import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { parse, stringify } from 'yaml';
import { findRepoRoot, loadConfig } from '../config/config.js';
import { ModelError } from '../models/errors.js';
import { noticeOfflineRoles } from '../models/roles.js';
import { ModelRunner } from '../models/runner.js';
import { readPlanFile } from '../plan/store.js';
import { counts } from '../review/report.js';
import { readPreviousRound } from '../review/review.js';
import { ReviewRoundsError, runReviewRounds } from '../review/rounds.js';
import type { PlanDraft } from './draft.js';
import { PipelineError } from './errors.js';
import { runPipeline, type PhaseDetail, type PipelineEvent, type PipelineOutcome } from './run.js';
import { parseSkillChoice, toggleSkillChoice, type SkillAuditView, type SkillChoice } from './skill-choice.js';
import type { Question } from './sufficiency.js';
import type { ReviewFinding } from '../review/findings.js';

/**
 * The `deepplan new` session: the request, the same pipeline, plan writing and review as `deepplan plan`, then the
 * choice to run the plan now. It emits events and waits on the answers they carry; the screens
 * (src/ui/new-screen.tsx) render them, and it runs the same with any other renderer. What `deepplan plan` shares
 * with it (reading the request and the answers, where the plan goes, whether it is reviewed) is here too.
 */

/** Input the person can fix: one line. `kind` picks the exit status (PLAN_FORMAT.md section 4) at the command. */
export class SessionError extends Error {
  override name = 'SessionError';
  constructor(
    message: string,
    readonly kind: 'usage' | 'failed' | 'blocked' = 'usage',
  ) {
    super(message);
  }
}

export type RunChoice = 'once' | 'loop' | 'later';
export type SizingDetail = Extract<PhaseDetail, { kind: 'sizing' }>;
export type BudgetDetail = Extract<PhaseDetail, { kind: 'budget' }>;

export interface RoundView {
  round: number;
  reviewer: string;
  verdict: string;
  counts: string;
  findings: ReviewFinding[];
}

/** A finished line (or block) of the session, for the scrollback. */
export type SessionLine =
  | { kind: 'title'; text: string }
  | { kind: 'note'; text: string; tone?: 'error' | 'ok' | 'dim' }
  | { kind: 'answer'; question: string; answer: string }
  | { kind: 'skills'; audit: SkillAuditView }
  | { kind: 'budget'; sizing: SizingDetail | null; budget: BudgetDetail }
  | { kind: 'round'; round: RoundView };

/** What the session shows; an event that waits for the person carries the function that answers it. */
export type SessionEvent =
  | { type: 'request'; error: string | null; submit: (text: string) => void }
  /** The pipeline is at work (nothing waits for the person). */
  | { type: 'working' }
  | { type: 'phase'; event: PipelineEvent }
  | { type: 'question'; question: Question; number: number; answer: (text: string) => void }
  | { type: 'skills'; audit: SkillAuditView; confirm: (toggled: string[]) => void }
  | { type: 'reviewing'; reason: string; startedAt: number }
  | { type: 'review'; round: RoundView; next: () => void }
  /** The last choice; `choose` is null while the plan is being approved. */
  | { type: 'final'; plan: string; facts: string; message: string | null; choose: ((choice: RunChoice) => void) | null }
  | { type: 'line'; line: SessionLine };

/** How the review of the written plan went, as the session shows it. */
export interface ReviewStep {
  /** A line for the person (a warning, or why the review failed), or null. */
  message: string | null;
  /** The review did not finish: the person is told to run deepplan review. */
  failed: boolean;
}

export type SessionReview = (request: { path: string; maxCost: number | undefined; signal: AbortSignal }) => Promise<ReviewStep>;

export interface SessionOptions {
  out?: string;
  force?: boolean;
  maxCost?: number;
}

export interface Draft {
  dir: string;
  request: string;
  answers: AnswersFile;
}

/** What the session starts from, checked before any screen. */
export interface SessionStart {
  cwd: string;
  root: string;
  /** null: asked for on the first screen. */
  request: string | null;
  /** The Ctrl-C draft it goes on from. */
  draft: Draft | null;
  options: SessionOptions;
}

export interface SessionInput extends SessionStart {
  emit: (event: SessionEvent) => void;
  /** Ctrl-C (a key on the screens, or a SIGINT): the session stops and leaves the plan or a draft consistent. */
  signal: AbortSignal;
  /** Approves the plan before a run (src/execute/approve.ts); throws when it may not be approved. */
  approve: (path: string) => Promise<void>;
  /** Default: the review rounds in this process (reviewInProcess). */
  review?: SessionReview;
  /** Fixed dates for reproducible plans (tests). */
  today?: string;
  now?: string;
}

export type SessionOutcome =
  | { kind: 'planned'; plan: string; choice: RunChoice; message: string }
  | { kind: 'interrupted'; message: string }
  | { kind: 'failed'; error: SessionError; message: string | null };

const shown = (cwd: string, path: string) => relative(cwd, path) || path;
const quote = (text: string) => (/^[\w./@:-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`);

/** Checks the arguments before any screen: an --out that exists, a draft folder, a request file. */
export function startNewSession(requestArgument: string | undefined, options: SessionOptions, cwd: string): SessionStart {
  const at = (path: string) => resolve(cwd, path);
  if (options.out) refuseOverwrite(at(options.out), options.force);
  // @<draft folder>: a session left with Ctrl-C goes on with its request, its answers and its skill choice.
  const draft = requestArgument?.startsWith('@') ? readDraft(at(requestArgument.slice(1))) : null;
  const request = draft
    ? draft.request
    : requestArgument === undefined
      ? null
      : readRequest(requestArgument.startsWith('@') ? `@${at(requestArgument.slice(1))}` : requestArgument);
  return { cwd, root: findRepoRoot(cwd), request, draft, options };
}

/** A request typed on the screen: `@path` resolved from `cwd`, any other as given. */
const atPath = (text: string, cwd: string) => (text.startsWith('@') ? `@${resolve(cwd, text.slice(1).trim())}` : text);

/** What a Ctrl-C must leave consistent: the answers so far before the plan exists, the plan after. */
interface Progress {
  request: string | null;
  answered: Record<string, string>;
  skillChoice: SkillChoice | null;
  written: string | null;
  reviewing: boolean;
}

/** Runs the session to its end: a plan and the choice to run it, a failure, or a Ctrl-C. */
export async function runNewSession(input: SessionInput): Promise<SessionOutcome> {
  const { draft } = input;
  const progress: Progress = {
    request: input.request,
    answered: { ...draft?.answers.answers },
    skillChoice: draft?.answers.skills ?? null,
    written: null,
    reviewing: false,
  };
  const interrupted = new Promise<'interrupted'>((resolveInterrupt) => {
    if (input.signal.aborted) resolveInterrupt('interrupted');
    input.signal.addEventListener('abort', () => resolveInterrupt('interrupted'), { once: true });
  });
  const result = await Promise.race([sessionFlow(input, progress), interrupted]);
  if (result === 'interrupted') return { kind: 'interrupted', message: interruptedMessage(input, progress) };
  if (result instanceof SessionError) {
    if (progress.written || progress.request === null) return { kind: 'failed', error: result, message: null };
    const saved = saveDraft(input.root, progress, draft?.dir ?? null);
    const [dir, request, answers] = [saved.dir, saved.request, saved.answers].map((path) => shown(input.cwd, path));
    const commands = `deepplan new @${quote(dir!)}, or deepplan plan --request @${quote(request!)} --answers ${quote(answers!)}`;
    return { kind: 'failed', error: result, message: `deepplan: the request and the answers are saved in ${dir}/ (${commands})` };
  }
  const path = shown(input.cwd, result.plan);
  if (result.choice === 'later')
    return {
      kind: 'planned',
      ...result,
      message: `${path} is ready. When it is time:\n  deepplan approve ${quote(path)}\n  deepplan run ${quote(path)} --loop`,
    };
  return { kind: 'planned', ...result, message: `${path} approved; running ${result.choice === 'once' ? 'one iteration' : 'the loop'}` };
}

function interruptedMessage(input: SessionInput, progress: Progress): string {
  const { cwd, options } = input;
  if (progress.written) {
    const stopped = progress.reviewing ? ` (the review was stopped: deepplan review ${shown(cwd, progress.written)})` : '';
    return `deepplan: interrupted; the plan is written and lints clean: ${shown(cwd, progress.written)}${stopped}`;
  }
  if (progress.request === null) return 'deepplan: interrupted; nothing was written';
  const saved = saveDraft(input.root, progress, input.draft?.dir ?? null);
  const out = options.out ? [`--out ${quote(options.out)}`] : [];
  const resume = ['deepplan new', `@${quote(shown(cwd, saved.dir))}`, ...out].join(' ');
  const headless = ['deepplan plan', `--request @${quote(shown(cwd, saved.request))}`, `--answers ${quote(shown(cwd, saved.answers))}`, ...out].join(' ');
  const where = `deepplan: interrupted; the request and the answers so far are in ${shown(cwd, saved.dir)}/`;
  return `${where}\ncontinue on this terminal with:\n  ${resume}\nor without the screens:\n  ${headless}`;
}

const waitFor = <T>(ask: (answer: (value: T) => void) => void) => new Promise<T>((resolveWith) => ask(resolveWith));

async function sessionFlow(input: SessionInput, progress: Progress): Promise<{ plan: string; choice: RunChoice } | SessionError> {
  const { emit, cwd } = input;
  const line = (sessionLine: SessionLine) => emit({ type: 'line', line: sessionLine });
  // 1. The request.
  let refused: string | null = null;
  while (progress.request === null) {
    const text = await waitFor<string>((submit) => emit({ type: 'request', error: refused, submit }));
    try {
      progress.request = readRequest(atPath(text, cwd));
    } catch (error) {
      if (!(error instanceof SessionError)) throw error;
      refused = error.message;
    }
  }
  line({ kind: 'title', text: `deepplan new: ${progress.request.trim().split('\n')[0]}` });
  if (input.draft) {
    const { dir, answers } = input.draft;
    const given = Object.keys(answers.answers).length;
    line({ kind: 'note', text: `resuming ${shown(cwd, dir)}/: ${given} answer(s) given before${answers.skills ? ' and the skill choice' : ''}`, tone: 'dim' });
  }
  emit({ type: 'working' });

  // 2. The pipeline, its phases as a live list.
  const notice = (text: string) => line({ kind: 'note', text, tone: 'dim' });
  const models = planningModels(input.root, { maxCost: input.options.maxCost, signal: input.signal, notice });
  noticeOfflineRoles(models.roles, notice);
  const planned = await plan(input, progress, models);
  if (planned instanceof SessionError) return planned;

  // 3. The plan, written only when it lints with no errors (the pipeline made sure).
  const out = await writeSessionPlan(input, planned);
  if (out instanceof SessionError) return out;
  progress.written = out;

  // 4. The review of a substantial plan, as deepplan plan does it.
  const reason = reviewReason(planned.draft);
  if (reason) await reviewStep(input, { out, reason, planId: planned.draft.meta.id, maxCost: remainingCost(input.options.maxCost, models), progress });

  // 5. Run it now, or later.
  const written = await readPlanFile(out);
  const verdict = written.meta.review?.verdict ? `, review ${written.meta.review.verdict}` : '';
  const facts = `${written.phases.length} phases, ${written.meta.status ?? 'draft'}${verdict}`;
  const final = { type: 'final', plan: shown(cwd, out), facts } as const;
  let message: string | null = null;
  for (;;) {
    const choice = await waitFor<RunChoice>((choose) => emit({ ...final, message, choose }));
    if (choice === 'later') return { plan: out, choice };
    emit({ ...final, message: null, choose: null });
    try {
      await input.approve(out);
      return { plan: out, choice };
    } catch (error) {
      message = `not approved: ${(error as Error).message}`;
    }
  }
}

/** The pipeline, with the interview and the skill audit on the screens; the plan it drafted. */
async function plan(input: SessionInput, progress: Progress, models: ModelRunner): Promise<Extract<PipelineOutcome, { kind: 'plan' }> | SessionError> {
  const { emit, draft } = input;
  let sizing: SizingDetail | null = null;
  let budget: BudgetDetail | null = null;
  const onEvent = (event: PipelineEvent) => {
    emit({ type: 'phase', event });
    if (event.type === 'result' && event.detail?.kind === 'sizing') sizing = event.detail;
    if (event.type === 'result' && event.detail?.kind === 'budget') budget = event.detail;
  };
  let questionNumber = 0;
  const ask = async (question: Question): Promise<string> => {
    const answer = await waitFor<string>((answerWith) => emit({ type: 'question', question, number: ++questionNumber, answer: answerWith }));
    progress.answered[question.id] = answer;
    emit({ type: 'line', line: { kind: 'answer', question: question.text, answer } });
    emit({ type: 'working' });
    return answer;
  };
  const reviewSkills = async (audit: SkillAuditView): Promise<string[]> => {
    progress.skillChoice = audit.choice;
    const toggled = await waitFor<string[]>((confirm) => emit({ type: 'skills', audit, confirm }));
    progress.skillChoice = toggleSkillChoice(audit, toggled);
    emit({ type: 'working' });
    return toggled;
  };
  let outcome: PipelineOutcome;
  try {
    outcome = await runPipeline({
      request: progress.request!,
      root: input.root,
      out: planPath(input.root, input.options.out && resolve(input.cwd, input.options.out)),
      emit: onEvent,
      models,
      ask,
      reviewSkills,
      ...(draft ? { answers: draft.answers.answers } : {}),
      ...(draft?.answers.skills ? { skills: draft.answers.skills } : {}),
      ...(input.today ? { today: input.today } : {}),
      ...(input.now ? { now: input.now } : {}),
    });
  } catch (error) {
    if (error instanceof PipelineError || error instanceof ModelError) return new SessionError(error.message, 'failed');
    throw error;
  }
  if (outcome.kind === 'questions') return new SessionError('the interview ended with questions open', 'blocked');
  emit({ type: 'line', line: { kind: 'skills', audit: { ...outcome.draft.skills, problem: null, choice: progress.skillChoice ?? { map: [], exclude: [] } } } });
  // Set by the pipeline's events, which TypeScript does not follow.
  const detail = { sizing: sizing as SizingDetail | null, budget: budget as BudgetDetail | null };
  if (detail.budget) emit({ type: 'line', line: { kind: 'budget', sizing: detail.sizing, budget: detail.budget } });
  return outcome;
}

/**
 * Writes the plan. --out was checked before the interview; the default plans/<id>.md (the id comes from the
 * pipeline) never throws the interview away: a taken name gets the next free number.
 */
async function writeSessionPlan(input: SessionInput, planned: Extract<PipelineOutcome, { kind: 'plan' }>): Promise<string | SessionError> {
  const { cwd, options } = input;
  let out = planPath(input.root, options.out && resolve(cwd, options.out), planned.draft.meta.id);
  if (!options.out && !options.force && existsSync(out)) {
    const taken = out;
    out = freePath(out);
    input.emit({
      type: 'line',
      line: {
        kind: 'note',
        text: `${shown(cwd, taken)} exists; the plan is written to ${shown(cwd, out)} (deepplan new --out <path> chooses the file)`,
        tone: 'dim',
      },
    });
  }
  try {
    refuseOverwrite(out, options.force);
  } catch (error) {
    if (error instanceof SessionError) return error;
    throw error;
  }
  await writePlan(out, planned.text);
  const text = `${shown(cwd, out)}: ${planned.draft.phases.length} phases written, lint clean (warnings: ${planned.findings.length})`;
  input.emit({ type: 'line', line: { kind: 'note', text, tone: 'ok' } });
  return out;
}

interface ReviewRequest {
  out: string;
  reason: string;
  planId: string;
  maxCost: number | undefined;
  progress: Progress;
}

/** The review rounds of the written plan, then each round: the last one waits on its screen for the person. */
async function reviewStep(input: SessionInput, request: ReviewRequest): Promise<void> {
  const { emit, cwd } = input;
  const { out, progress } = request;
  emit({ type: 'reviewing', reason: request.reason, startedAt: Date.now() });
  progress.reviewing = true;
  const result = await (input.review ?? reviewInProcess)({ path: out, maxCost: request.maxCost, signal: input.signal });
  progress.reviewing = false;
  const rounds: RoundView[] = [];
  const written = await readPlanFile(out);
  for (let round = 1; round <= (written.meta.review?.rounds ?? 0); round++) {
    const report = readPreviousRound(input.root, request.planId, round);
    if (report) rounds.push({ round, reviewer: report.reviewer, verdict: report.verdict, counts: counts(report), findings: report.findings });
  }
  const note = (text: string) => emit({ type: 'line', line: { kind: 'note', text, tone: 'error' } });
  if (result.failed) note(`the review failed: ${result.message ?? 'no reason given'}; run deepplan review ${shown(cwd, out)}`);
  else if (result.message) note(result.message);
  for (const round of rounds.slice(0, -1)) emit({ type: 'line', line: { kind: 'round', round } });
  const last = rounds.at(-1);
  if (last) {
    await waitFor<void>((next) => emit({ type: 'review', round: last, next }));
    emit({ type: 'line', line: { kind: 'round', round: last } });
  }
}

/**
 * The review rounds in this process, as `deepplan review <plan>` runs them (src/review/rounds.ts), with a model
 * runner of their own that spends from what is left of the cap. Nothing is printed: the screens show the rounds
 * from their reports, and the last warning or failure as one line.
 */
export const reviewInProcess: SessionReview = async ({ path, maxCost, signal }) => {
  let message: string | null = null;
  const root = findRepoRoot(dirname(path));
  try {
    // A notice that is a warning (a fallback model) is the line the person sees, as a later warning would be.
    const notice = (line: string) => {
      if (line.startsWith('deepplan: ')) message = line.slice('deepplan: '.length);
    };
    const models = new ModelRunner({ config: loadConfig(root), root, signal, maxCostUsd: maxCost ?? null, notice });
    await runReviewRounds({ path, root, models, signal, emit: (event) => (event.type === 'warning' ? (message = event.message) : undefined) });
    return { message, failed: false };
  } catch (error) {
    // A document that cannot be read or a configuration that does not load is a failed review; a round that could
    // not finish (a model error, a refused write) stands as a warning beside the rounds that were written.
    if (error instanceof ReviewRoundsError) return { message: error.message, failed: error.unreadable };
    return { message: (error as Error).message, failed: (error as Error).name === 'ConfigError' || (error as Error).name === 'ReviewStoppedError' };
  }
};

/** `plans/x.md` when free, else `plans/x-2.md`, `plans/x-3.md`, ... */
function freePath(path: string): string {
  const stem = join(dirname(path), basename(path, extname(path)));
  let candidate = path;
  for (let n = 2; existsSync(candidate); n++) candidate = `${stem}-${n}${extname(path)}`;
  return candidate;
}

const DRAFTS = join('.deepplan', 'drafts');

/**
 * The draft a `deepplan new @<path>` names, or null when the path is not a folder (then it is a request file): a
 * draft folder (request.md and answers.yaml), or .deepplan/drafts itself for the newest draft in it.
 */
export function readDraft(path: string): Draft | null {
  if (!existsSync(path) || !statSync(path).isDirectory()) return null;
  let dir = path;
  if (!existsSync(join(dir, 'request.md'))) {
    const drafts = readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, 'request.md')))
      .map((entry) => entry.name)
      // Named by their UTC time stamp (a second one in the same second gets -2): the last sorts newest.
      .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    const newest = drafts.at(-1);
    if (!newest)
      throw new SessionError(
        `${relative(process.cwd(), path) || path} is a folder but holds no draft (request.md); ` +
          `a draft is a folder of ${DRAFTS}/ that deepplan new leaves on Ctrl-C`,
      );
    dir = join(dir, newest);
  }
  const request = readRequest(`@${join(dir, 'request.md')}`);
  const answers = existsSync(join(dir, 'answers.yaml')) ? readAnswersFile(join(dir, 'answers.yaml')) : { answers: {} };
  return { dir, request, answers };
}

/** Saves the request and the answers given so far under .deepplan/drafts/ (or back into the draft it resumed). */
function saveDraft(root: string, progress: Progress, resumed: string | null): { dir: string; request: string; answers: string } {
  const stamp = new Date()
    .toISOString()
    .replace(/\.\d+Z$/, '')
    .replace(/[:T]/g, '-');
  let dir = resumed ?? join(root, DRAFTS, stamp);
  if (!resumed) for (let n = 2; existsSync(dir); n++) dir = join(root, DRAFTS, `${stamp}-${n}`);
  mkdirSync(dir, { recursive: true });
  const paths = { dir, request: join(dir, 'request.md'), answers: join(dir, 'answers.yaml') };
  const request = progress.request ?? '';
  writeFileSync(paths.request, request.endsWith('\n') ? request : `${request}\n`);
  writeFileSync(paths.answers, answersFileText(progress.answered, progress.skillChoice));
  return paths;
}

// What `deepplan plan` (headless) and `deepplan new` share: reading the request and the answers, where the plan
// goes, the model runner, writing the plan, and whether it is reviewed before approval.

export function readArgumentFile(value: string, what: string): string {
  try {
    return readFileSync(resolve(value), 'utf8');
  } catch (error) {
    throw new SessionError(
      `cannot read the ${what} ${value}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`,
    );
  }
}

/** The request as given, or the text of the file `@path` names; an empty request is a usage error. */
export function readRequest(value: string): string {
  const request = value.startsWith('@') ? readArgumentFile(value.slice(1), 'request file') : value;
  if (request.trim() === '') throw new SessionError('the request is empty; say what the work is (--request "…" or --request @file)');
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
    if (error instanceof SessionError) throw error;
    throw new SessionError(`${path} is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new SessionError(`${path} must map question ids to answers (success: "…")`);
  const { skills, ...rest } = data as Record<string, unknown>;
  const answers = Object.fromEntries(Object.entries(rest).map(([key, value]) => [key, String(value)]));
  if (skills === undefined) return { answers };
  const choice = parseSkillChoice(skills);
  if (typeof choice === 'string') throw new SessionError(`${path}: ${choice}`);
  return { answers, skills: choice };
}

/** The answers file for what was answered so far (the draft `deepplan new` leaves behind on Ctrl-C). */
export function answersFileText(answers: Record<string, string>, skills: SkillChoice | null): string {
  const data: Record<string, unknown> = { ...answers };
  if (skills && (skills.map.length > 0 || skills.exclude.length > 0)) {
    data['skills'] = { ...(skills.map.length > 0 ? { map: skills.map } : {}), ...(skills.exclude.length > 0 ? { exclude: skills.exclude } : {}) };
  }
  return Object.keys(data).length === 0 ? '{}\n' : stringify(data);
}

/** Refuses to overwrite an existing plan unless --force. */
export function refuseOverwrite(path: string, force: boolean | undefined): void {
  if (existsSync(path) && !force) throw new SessionError(`${relative(process.cwd(), path)} exists; choose another --out or pass --force`);
}

/** Where the plan goes: --out, or plans/<id>.md (before the id is known, plans/plan.md stands in for linting). */
export function planPath(root: string, out: string | undefined, id?: string): string {
  return resolve(out ?? resolve(root, 'plans', `${id ?? 'plan'}.md`));
}

/** The model runner of a planning session: the configured roles, the cost cap, notices to `notice`. */
export function planningModels(root: string, options: { maxCost?: number | undefined; signal: AbortSignal; notice: (line: string) => void }): ModelRunner {
  return new ModelRunner({ config: loadConfig(root), root, signal: options.signal, maxCostUsd: options.maxCost ?? null, notice: options.notice });
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
