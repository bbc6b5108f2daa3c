import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findRepoRoot } from '../config/config.js';
import type { ModelRunner } from '../models/runner.js';
import { noticeOfflineRoles } from '../models/roles.js';
import { PIPELINE_PHASES, runPipeline, type PhaseDetail, type PipelineEvent } from '../pipeline/run.js';
import { toggleSkillChoice, type SkillAuditView, type SkillChoice } from '../pipeline/skill-choice.js';
import type { Question } from '../pipeline/sufficiency.js';
import { readPlanFile } from '../plan/store.js';
import { counts } from '../review/report.js';
import { readPreviousRound } from '../review/review.js';
import type { BudgetDetail, LogInput, NewActions, NewState, NewStore, PhaseLine, RoundView, RunChoice, SizingDetail } from '../ui/new-screen.js';
import { answersFileText, planningFailure, planningModels, planPath, readAnswersFile, readRequest, refuseOverwrite, remainingCost, reviewReason, writePlan, type AnswersFile } from './planning.js';
import { EXIT, interruptSignal, UserError } from './exit.js';

export interface NewOptions {
  out?: string;
  force?: boolean;
  maxCost?: number;
}

/** Exit status after Ctrl-C. */
export const EXIT_INTERRUPTED = 130;

/** What the session needs from its surroundings; tests replace the terminal, the review and the run. */
export interface NewSessionIo {
  cwd: string;
  /** Mounts the screens (Ink's render on a terminal, ink-testing-library in tests). */
  mount(store: NewStore, actions: NewActions): Promise<{ unmount(): void }>;
  /** Aborted by a SIGINT from outside the screens (Ctrl-C on the screens arrives as a key). */
  signal: AbortSignal;
  /** Lines for the person after the screens have gone (standard error). */
  say(line: string): void;
  /** Reviews the written plan as `deepplan review` does; resolves with its exit status and last error line. */
  review(planPath: string, maxCost: number | undefined): { done: Promise<{ code: number; error: string | null }>; stop(): void };
  /** Runs the approved plan as `deepplan run --once | --loop` does; its exit status. */
  run(planPath: string, choice: Exclude<RunChoice, 'later'>): Promise<number>;
  /** Fixed dates for reproducible plans (tests). */
  today?: string;
  now?: string;
}

const CLI_MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** The review as a child process (`deepplan review <plan> --format json`), so its output cannot tear the screens. */
export function reviewInChild(cwd: string): NewSessionIo['review'] {
  return (path, maxCost) => {
    const child = spawn(process.execPath, [CLI_MAIN, 'review', path, '--format', 'json', ...(maxCost !== undefined ? ['--max-cost', String(maxCost)] : [])], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const done = new Promise<{ code: number; error: string | null }>((resolveDone) => {
      child.on('error', (error) => resolveDone({ code: EXIT.failed, error: error.message }));
      child.on('close', (code) => {
        const last = stderr.trim().split('\n').filter((line) => line.startsWith('deepplan: ')).at(-1) ?? null;
        resolveDone({ code: code ?? EXIT.failed, error: last ? last.replace(/^deepplan: /, '') : null });
      });
    });
    return { done, stop: () => child.kill('SIGINT') };
  };
}

/** `deepplan new` on a terminal; anywhere else one line pointing to `deepplan plan` (exit 2), without loading Ink. */
export async function runNewCommand(request: string | undefined, options: NewOptions): Promise<number> {
  if (!process.stdin.isTTY || !process.stdout.isTTY || process.env['CI']) {
    throw new UserError(`deepplan new needs a terminal${process.env['CI'] ? ' (CI is set)' : ''}; in scripts and CI use deepplan plan --request "…" (--answers answers.yaml or --yes)`);
  }
  const cwd = process.cwd();
  return runNewSession(request, options, {
    cwd,
    signal: interruptSignal(),
    async mount(store, actions) {
      const { renderNewScreen } = await import('../ui/new-screen.js');
      return renderNewScreen(store, actions);
    },
    say: (line) => process.stderr.write(`${line}\n`),
    review: reviewInChild(cwd),
    async run(path, choice) {
      const { runRunCommand } = await import('./run-command.js');
      return runRunCommand(path, { [choice]: true, executor: 'builtin' });
    },
  });
}

type Pending<T> = ((value: T) => void) | null;

const shown = (cwd: string, path: string) => relative(cwd, path) || path;
const quote = (text: string) => (/^[\w./@:-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`);

/**
 * The interactive planning session: the same pipeline, plan writing and review as `deepplan plan`, shown on the
 * screens of src/ui/new-screen.tsx, then the choice to run the plan now.
 */
export async function runNewSession(requestArgument: string | undefined, options: NewOptions, io: NewSessionIo): Promise<number> {
  const root = findRepoRoot(io.cwd);
  const at = (path: string) => resolve(io.cwd, path);
  // Bad arguments fail before any screen: one line, exit 2. An --out that exists is refused now, not after the interview.
  if (options.out) refuseOverwrite(at(options.out), options.force);
  // @<draft folder>: a session left with Ctrl-C goes on with its request, its answers and its skill choice.
  const draft = requestArgument?.startsWith('@') ? readDraft(at(requestArgument.slice(1))) : null;
  let request: string | null = draft ? draft.request : requestArgument === undefined ? null : readRequest(requestArgument.startsWith('@') ? `@${at(requestArgument.slice(1))}` : requestArgument);

  const { NewStore } = await import('../ui/new-screen.js');
  const pendingPhases = (): PhaseLine[] => PIPELINE_PHASES.map((phase) => ({ phase, status: 'pending', startedAt: null, elapsedMs: null, summary: null, notes: [] }));
  const initial: NewState = { log: [], phases: pendingPhases(), stage: request === null ? { kind: 'request', error: null } : { kind: 'pipeline' } };
  const store = new NewStore(initial);
  const append = (...items: LogInput[]) => store.append(...items);

  // What a Ctrl-C must leave consistent: the answers so far before the plan exists, the plan after.
  const answered: Record<string, string> = { ...draft?.answers.answers };
  let skillChoice: SkillChoice | null = draft?.answers.skills ?? null;
  let written: string | null = null;
  let reviewing: { stop(): void } | null = null;
  const controller = new AbortController();

  let onRequest: Pending<string> = null;
  let onAnswer: Pending<string> = null;
  let onSkills: Pending<string[]> = null;
  let onReview: Pending<void> = null;
  let onChoice: Pending<RunChoice> = null;
  let interrupt!: () => void;
  const interrupted = new Promise<'interrupted'>((resolveInterrupt) => {
    interrupt = () => {
      controller.abort();
      resolveInterrupt('interrupted');
    };
  });
  if (io.signal.aborted) interrupt();
  io.signal.addEventListener('abort', () => interrupt(), { once: true });
  const wait = <T,>(set: (resolveWith: (value: T) => void) => void) => new Promise<T>((resolveWait) => set(resolveWait));

  const actions: NewActions = {
    submitRequest: (text) => onRequest?.(text),
    answer: (text) => onAnswer?.(text),
    confirmSkills: (toggled) => onSkills?.(toggled),
    continueReview: () => onReview?.(),
    choose: (choice) => onChoice?.(choice),
    interrupt: () => interrupt(),
  };
  const app = await io.mount(store, actions);

  const flow = async (): Promise<{ plan: string; choice: RunChoice } | { error: UserError }> => {
    // 1. The request.
    while (request === null) {
      const text = await wait<string>((resolveWith) => (onRequest = resolveWith));
      try {
        request = readRequest(text.startsWith('@') ? `@${at(text.slice(1).trim())}` : text);
      } catch (error) {
        if (!(error instanceof UserError)) throw error;
        store.set({ stage: { kind: 'request', error: error.message } });
      }
    }
    append({ kind: 'title', text: `deepplan new: ${request.trim().split('\n')[0]}` });
    if (draft) {
      const given = Object.keys(draft.answers.answers).length;
      append({ kind: 'note', text: `resuming ${shown(io.cwd, draft.dir)}/: ${given} answer(s) given before${draft.answers.skills ? ' and the skill choice' : ''}`, tone: 'dim' });
    }
    store.set({ stage: { kind: 'pipeline' } });

    // 2. The pipeline, its phases as a live list.
    const models: ModelRunner = planningModels(root, { maxCost: options.maxCost, signal: controller.signal, notice: (line) => append({ kind: 'note', text: line, tone: 'dim' }) });
    noticeOfflineRoles(models.roles, (line) => append({ kind: 'note', text: line, tone: 'dim' }));
    let sizing: SizingDetail | null = null;
    let budget: BudgetDetail | null = null;
    const update = (phase: string, patch: Partial<PhaseLine>) => store.set({ phases: store.get().phases.map((line) => (line.phase === phase ? { ...line, ...patch } : line)) });
    const line = (phase: string) => store.get().phases.find((candidate) => candidate.phase === phase)!;
    const emit = (event: PipelineEvent) => {
      if (event.type === 'started') update(event.phase, { status: 'running', startedAt: Date.now() });
      else if (event.type === 'progress') {
        if (line(event.phase).status === 'running') update(event.phase, { notes: [...line(event.phase).notes, event.message] });
        else append({ kind: 'note', text: `  ${event.message}`, tone: 'dim' });
      } else if (event.type === 'result') {
        update(event.phase, { summary: event.summary });
        const detail: PhaseDetail | undefined = event.detail;
        if (detail?.kind === 'sizing') sizing = detail;
        if (detail?.kind === 'budget') budget = detail;
      } else if (event.type === 'finished') {
        const current = line(event.phase);
        const done: PhaseLine = { ...current, status: 'done', elapsedMs: Date.now() - (current.startedAt ?? Date.now()) };
        update(event.phase, done);
        append({ kind: 'phase', line: done });
      }
    };
    let questionNumber = 0;
    const ask = async (question: Question): Promise<string> => {
      store.set({ stage: { kind: 'question', question, number: ++questionNumber } });
      const answer = await wait<string>((resolveWith) => (onAnswer = resolveWith));
      answered[question.id] = answer;
      append({ kind: 'answer', question: question.text, answer });
      store.set({ stage: { kind: 'pipeline' } });
      return answer;
    };
    const reviewSkills = async (audit: SkillAuditView): Promise<string[]> => {
      skillChoice = audit.choice;
      store.set({ stage: { kind: 'skills', audit } });
      const toggled = await wait<string[]>((resolveWith) => (onSkills = resolveWith));
      skillChoice = toggleSkillChoice(audit, toggled);
      store.set({ stage: { kind: 'pipeline' } });
      return toggled;
    };
    let outcome;
    try {
      outcome = await runPipeline({
        request,
        root,
        out: planPath(root, options.out && at(options.out)),
        emit,
        models,
        ask,
        reviewSkills,
        ...(draft ? { answers: draft.answers.answers } : {}),
        ...(draft?.answers.skills ? { skills: draft.answers.skills } : {}),
        ...(io.today ? { today: io.today } : {}),
        ...(io.now ? { now: io.now } : {}),
      });
    } catch (error) {
      const failure = planningFailure(error);
      if (failure instanceof UserError) return { error: failure };
      throw failure;
    }
    if (outcome.kind === 'questions') return { error: new UserError('the interview ended with questions open', EXIT.blocked) };
    append({ kind: 'skills', audit: { ...outcome.draft.skills, problem: null, choice: skillChoice ?? { map: [], exclude: [] } } });
    if (budget) append({ kind: 'budget', sizing, budget });

    // 3. The plan, written only when it lints with no errors (the pipeline made sure). --out was checked before the
    // interview; the default plans/<id>.md (the id comes from the pipeline) never throws the interview away: a taken
    // name gets the next free number.
    let out = planPath(root, options.out && at(options.out), outcome.draft.meta.id);
    if (!options.out && !options.force && existsSync(out)) {
      const taken = out;
      out = freePath(out);
      append({ kind: 'note', text: `${shown(io.cwd, taken)} exists; the plan is written to ${shown(io.cwd, out)} (deepplan new --out <path> chooses the file)`, tone: 'dim' });
    }
    try {
      refuseOverwrite(out, options.force);
    } catch (error) {
      if (error instanceof UserError) return { error };
      throw error;
    }
    await writePlan(out, outcome.text);
    written = out;
    const warnings = outcome.findings.length;
    append({ kind: 'note', text: `${shown(io.cwd, out)}: ${outcome.draft.phases.length} phases written, lint clean (warnings: ${warnings})`, tone: 'ok' });

    // 4. The review of a substantial plan, as deepplan plan does it.
    const reason = reviewReason(outcome.draft);
    if (reason) {
      const startedAt = Date.now();
      store.set({ stage: { kind: 'reviewing', reason, startedAt, message: null } });
      const review = io.review(out, remainingCost(options.maxCost, models));
      reviewing = review;
      const result = await review.done;
      reviewing = null;
      const rounds: RoundView[] = [];
      const plan = await readPlanFile(out);
      for (let round = 1; round <= (plan.meta.review?.rounds ?? 0); round++) {
        const report = readPreviousRound(root, outcome.draft.meta.id, round);
        if (report) rounds.push({ round, reviewer: report.reviewer, verdict: report.verdict, counts: counts(report), findings: report.findings });
      }
      if (result.code !== EXIT.ok && result.code !== EXIT.failed) append({ kind: 'note', text: `the review failed: ${result.error ?? `exit ${result.code}`}; run deepplan review ${shown(io.cwd, out)}`, tone: 'error' });
      else if (result.error) append({ kind: 'note', text: result.error, tone: 'error' });
      for (const round of rounds.slice(0, -1)) append({ kind: 'round', round });
      const last = rounds.at(-1);
      if (last) {
        store.set({ stage: { kind: 'review', round: last } });
        await wait<void>((resolveWith) => (onReview = resolveWith));
        append({ kind: 'round', round: last });
      }
    }

    // 5. Run it now, or later.
    const plan = await readPlanFile(out);
    const facts = `${plan.phases.length} phases, ${plan.meta.status ?? 'draft'}${plan.meta.review?.verdict ? `, review ${plan.meta.review.verdict}` : ''}`;
    store.set({ stage: { kind: 'final', plan: shown(io.cwd, out), facts, message: null, busy: false } });
    for (;;) {
      const choice = await wait<RunChoice>((resolveWith) => (onChoice = resolveWith));
      if (choice === 'later') return { plan: out, choice };
      store.set({ stage: { kind: 'final', plan: shown(io.cwd, out), facts, message: null, busy: true } });
      try {
        const { approvePlan } = await import('../execute/approve.js');
        await approvePlan(out);
        return { plan: out, choice };
      } catch (error) {
        store.set({ stage: { kind: 'final', plan: shown(io.cwd, out), facts, message: `not approved: ${(error as Error).message}`, busy: false } });
      }
    }
  };

  let result: Awaited<ReturnType<typeof flow>> | 'interrupted';
  try {
    result = await Promise.race([flow(), interrupted]);
  } catch (error) {
    app.unmount();
    throw error;
  }
  // Let Ink draw the last state (it throttles frames) before the screens go.
  await new Promise((resolveLater) => setTimeout(resolveLater, 120));
  store.set({ stage: { kind: 'done' }, phases: store.get().phases.filter((line) => line.status === 'done') });
  await new Promise((resolveLater) => setTimeout(resolveLater, 30));
  app.unmount();

  if (result === 'interrupted') {
    // Set inside the flow, which TypeScript does not follow.
    const review = reviewing as { stop(): void } | null;
    review?.stop();
    if (written) {
      io.say(`deepplan: interrupted; the plan is written and lints clean: ${shown(io.cwd, written)}${review ? ` (the review was stopped: deepplan review ${shown(io.cwd, written)})` : ''}`);
    } else if (request === null) {
      io.say('deepplan: interrupted; nothing was written');
    } else {
      const saved = saveDraft(root, request, answered, skillChoice, draft?.dir ?? null);
      const resume = ['deepplan new', `@${quote(shown(io.cwd, saved.dir))}`, ...(options.out ? [`--out ${quote(options.out)}`] : [])].join(' ');
      const headless = ['deepplan plan', `--request @${quote(shown(io.cwd, saved.request))}`, `--answers ${quote(shown(io.cwd, saved.answers))}`, ...(options.out ? [`--out ${quote(options.out)}`] : [])].join(' ');
      io.say(`deepplan: interrupted; the request and the answers so far are in ${shown(io.cwd, saved.dir)}/\ncontinue on this terminal with:\n  ${resume}\nor without the screens:\n  ${headless}`);
    }
    return EXIT_INTERRUPTED;
  }
  if ('error' in result) {
    if (!written && request !== null) {
      const saved = saveDraft(root, request, answered, skillChoice, draft?.dir ?? null);
      io.say(`deepplan: the request and the answers are saved in ${shown(io.cwd, saved.dir)}/ (deepplan new @${quote(shown(io.cwd, saved.dir))}, or deepplan plan --request @${quote(shown(io.cwd, saved.request))} --answers ${quote(shown(io.cwd, saved.answers))})`);
    }
    throw result.error;
  }
  const path = shown(io.cwd, result.plan);
  if (result.choice === 'later') {
    io.say(`${path} is ready. When it is time:\n  deepplan approve ${quote(path)}\n  deepplan run ${quote(path)} --loop`);
    return EXIT.ok;
  }
  io.say(`${path} approved; running ${result.choice === 'once' ? 'one iteration' : 'the loop'}`);
  return io.run(result.plan, result.choice);
}

/** `plans/x.md` when free, else `plans/x-2.md`, `plans/x-3.md`, ... */
function freePath(path: string): string {
  const stem = join(dirname(path), basename(path, extname(path)));
  let candidate = path;
  for (let n = 2; existsSync(candidate); n++) candidate = `${stem}-${n}${extname(path)}`;
  return candidate;
}

export interface Draft {
  dir: string;
  request: string;
  answers: AnswersFile;
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
    if (!newest) throw new UserError(`${relative(process.cwd(), path) || path} is a folder but holds no draft (request.md); a draft is a folder of ${DRAFTS}/ that deepplan new leaves on Ctrl-C`);
    dir = join(dir, newest);
  }
  const request = readRequest(`@${join(dir, 'request.md')}`);
  const answers = existsSync(join(dir, 'answers.yaml')) ? readAnswersFile(join(dir, 'answers.yaml')) : { answers: {} };
  return { dir, request, answers };
}

/** Saves the request and the answers given so far under .deepplan/drafts/ (or back into the draft it resumed). */
function saveDraft(root: string, request: string, answers: Record<string, string>, skills: SkillChoice | null, resumed: string | null): { dir: string; request: string; answers: string } {
  const stamp = new Date().toISOString().replace(/\.\d+Z$/, '').replace(/[:T]/g, '-');
  let dir = resumed ?? join(root, DRAFTS, stamp);
  if (!resumed) for (let n = 2; existsSync(dir); n++) dir = join(root, DRAFTS, `${stamp}-${n}`);
  mkdirSync(dir, { recursive: true });
  const paths = { dir, request: join(dir, 'request.md'), answers: join(dir, 'answers.yaml') };
  writeFileSync(paths.request, request.endsWith('\n') ? request : `${request}\n`);
  writeFileSync(paths.answers, answersFileText(answers, skills));
  return paths;
}
