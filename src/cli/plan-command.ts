import { relative, resolve } from 'node:path';
import { findRepoRoot } from '../config/config.js';
import { noticeOfflineRoles } from '../models/roles.js';
import { runPipeline, type PipelineEvent } from '../pipeline/run.js';
import { planningModels, planPath, readAnswersFile, readRequest, refuseOverwrite, remainingCost, reviewReason, writePlan } from '../pipeline/session.js';
import { asUserError, describeQuestion, eventLine, planningFailure, terminalInterview } from './planning.js';
import { EXIT, interruptSignal } from './exit.js';

export interface PlanOptions {
  request: string;
  answers?: string;
  yes?: boolean;
  out?: string;
  json?: boolean;
  force?: boolean;
  /** false: do not review a substantial plan after writing it. */
  review?: boolean;
  /** US dollars: refuse a model call that could pass it. */
  maxCost?: number;
}

/** `deepplan plan`: the headless planning pipeline (PLAN_FORMAT.md section 4). */
export async function runPlanCommand(options: PlanOptions): Promise<number> {
  const request = asUserError(() => readRequest(options.request));
  const answersFile = options.answers ? asUserError(() => readAnswersFile(options.answers!)) : undefined;
  const root = findRepoRoot(process.cwd());
  if (options.out) asUserError(() => refuseOverwrite(resolve(options.out!), options.force));
  const emit = (event: PipelineEvent) => {
    if (options.json) process.stdout.write(`${JSON.stringify(event)}\n`);
    else {
      const line = eventLine(event);
      if (line) process.stderr.write(`${line}\n`);
    }
  };
  const notice = (line: string) => process.stderr.write(`${line}\n`);
  const models = planningModels(root, { maxCost: options.maxCost, signal: interruptSignal(), notice });
  if (!options.json) noticeOfflineRoles(models.roles, notice);
  let outcome;
  try {
    const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true && !options.json && !options.yes && !process.env['CI'];
    const interview = interactive ? terminalInterview() : null;
    outcome = await runPipeline({
      request,
      root,
      out: planPath(root, options.out),
      ...(answersFile ? { answers: answersFile.answers } : {}),
      ...(answersFile?.skills ? { skills: answersFile.skills } : {}),
      acceptRecommended: options.yes === true,
      emit,
      models,
      ...(interview ? { ask: interview.ask } : {}),
    }).finally(() => interview?.close());
  } catch (error) {
    throw planningFailure(error);
  }
  if (outcome.kind === 'questions') {
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ type: 'needs-answers', questions: outcome.questions })}\n`);
    } else {
      const how = '(--answers answers.yaml with "id: answer" lines, or --yes for the recommended ones)';
      process.stdout.write(`The request leaves too much open to plan. Answer these ${how}:\n\n${outcome.questions.map(describeQuestion).join('\n\n')}\n`);
    }
    return EXIT.blocked;
  }
  const out = planPath(root, options.out, outcome.draft.meta.id);
  asUserError(() => refuseOverwrite(out, options.force));
  await writePlan(out, outcome.text);
  const warnings = outcome.findings.length;
  const shown = relative(process.cwd(), out) || out;
  if (options.json) process.stdout.write(`${JSON.stringify({ type: 'written', path: shown, warnings })}\n`);
  else process.stdout.write(`${shown}: ${outcome.draft.phases.length} phases, lints with 0 errors${warnings > 0 ? ` and ${warnings} warning(s)` : ''}\n`);

  // Plans with 10+ phases or quality bar adversarial are reviewed before anyone may approve them.
  const reason = reviewReason(outcome.draft);
  if (reason && options.review !== false && !options.json) {
    process.stderr.write(`${reason}: reviewing before approval\n`);
    const { runReviewCommand } = await import('./review-command.js');
    // The review spends from what is left of the same cap.
    const maxCost = remainingCost(options.maxCost, models);
    await runReviewCommand(out, { format: 'text', ...(maxCost !== undefined ? { maxCost } : {}) });
  }
  return EXIT.ok;
}
