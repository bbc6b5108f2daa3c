import { relative, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { findRepoRoot } from '../config/config.js';
import { noticeOfflineRoles } from '../models/roles.js';
import { runPipeline, type PipelineEvent } from '../pipeline/run.js';
import type { Question } from '../pipeline/sufficiency.js';
import { describeQuestion, planningFailure, planningModels, planPath, readAnswersFile, readRequest, refuseOverwrite, remainingCost, reviewReason, writePlan } from './planning.js';
import { EXIT, interruptSignal, UserError } from './exit.js';

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

function eventLine(event: PipelineEvent): string | null {
  if (event.type === 'result') return `${event.phase.padEnd(12)} ${event.summary}`;
  if (event.type === 'progress') return `${''.padEnd(12)} ${event.message}`;
  return null;
}

/**
 * Asks interview questions on the terminal, one readline for the whole interview (typed-ahead answers are kept):
 * Enter takes the recommended option, a number picks one, text is a free answer.
 */
function terminalInterview(): { ask: (question: Question) => Promise<string>; close: () => void } {
  let readline: ReturnType<typeof createInterface> | null = null;
  let lines: AsyncIterator<string> | null = null;
  return {
    async ask(question) {
      readline ??= createInterface({ input: process.stdin, output: process.stdout });
      // The line iterator buffers what was typed ahead; question() would drop lines typed before its prompt.
      lines ??= readline[Symbol.asyncIterator]();
      const recommended = question.recommended === null ? '' : String(question.recommended + 1);
      process.stdout.write(`\n${describeQuestion(question, 0).replace(/^1\. /, '? ')}\nAnswer${recommended ? ` [${recommended}]` : ''}: `);
      const next = await lines.next();
      if (next.done) throw new UserError('the interview was cancelled; nothing was written', EXIT.blocked);
      return next.value.trim() === '' ? recommended : next.value.trim();
    },
    close() {
      readline?.close();
    },
  };
}

/** `deepplan plan`: the headless planning pipeline (PLAN_FORMAT.md section 4). */
export async function runPlanCommand(options: PlanOptions): Promise<number> {
  const request = readRequest(options.request);
  const answersFile = options.answers ? readAnswersFile(options.answers) : undefined;
  const root = findRepoRoot(process.cwd());
  if (options.out) refuseOverwrite(resolve(options.out), options.force);
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
      process.stdout.write(
        `The request leaves too much open to plan. Answer these (--answers answers.yaml with "id: answer" lines, or --yes for the recommended ones):\n\n${outcome.questions.map(describeQuestion).join('\n\n')}\n`,
      );
    }
    return EXIT.blocked;
  }
  const out = planPath(root, options.out, outcome.draft.meta.id);
  refuseOverwrite(out, options.force);
  await writePlan(out, outcome.text);
  const warnings = outcome.findings.length;
  if (options.json) process.stdout.write(`${JSON.stringify({ type: 'written', path: relative(process.cwd(), out) || out, warnings })}\n`);
  else process.stdout.write(`${relative(process.cwd(), out) || out}: ${outcome.draft.phases.length} phases, lints with 0 errors${warnings > 0 ? ` and ${warnings} warning(s)` : ''}\n`);

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
