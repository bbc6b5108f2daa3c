import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import writeFileAtomic from 'write-file-atomic';
import { parse } from 'yaml';
import { findRepoRoot, loadConfig } from '../config/config.js';
import { ModelError } from '../models/errors.js';
import { noticeOfflineRoles } from '../models/roles.js';
import { ModelRunner } from '../models/runner.js';
import { PipelineError, runPipeline, type PipelineEvent } from '../pipeline/run.js';
import type { Question } from '../pipeline/sufficiency.js';
import { EXIT, interruptSignal, UserError } from './program.js';

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

function readArgumentFile(value: string, what: string): string {
  try {
    return readFileSync(resolve(value), 'utf8');
  } catch (error) {
    throw new UserError(`cannot read the ${what} ${value}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
}

function readAnswers(path: string): Record<string, string> {
  let data: unknown;
  try {
    data = parse(readArgumentFile(path, 'answers file'));
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`${path} is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new UserError(`${path} must map question ids to answers (success: "…")`);
  return Object.fromEntries(Object.entries(data as Record<string, unknown>).map(([key, value]) => [key, String(value)]));
}

function describeQuestion(question: Question, index: number): string {
  const lines = [`${index + 1}. [${question.id}] ${question.text}`];
  question.options.forEach((option, n) => lines.push(`   ${n + 1}) ${option}${question.recommended === n ? '  (recommended)' : ''}`));
  if (question.options.length === 0) lines.push('   (a short free answer)');
  return lines.join('\n');
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
  const request = options.request.startsWith('@') ? readArgumentFile(options.request.slice(1), 'request file') : options.request;
  if (request.trim() === '') throw new UserError('the request is empty; say what the work is (--request "…" or --request @file)');
  const answers = options.answers ? readAnswers(options.answers) : undefined;
  const root = findRepoRoot(process.cwd());
  const refuseOverwrite = (path: string) => {
    if (existsSync(path) && !options.force) throw new UserError(`${relative(process.cwd(), path)} exists; choose another --out or pass --force`);
  };
  if (options.out) refuseOverwrite(resolve(options.out));
  const emit = (event: PipelineEvent) => {
    if (options.json) process.stdout.write(`${JSON.stringify(event)}\n`);
    else {
      const line = eventLine(event);
      if (line) process.stderr.write(`${line}\n`);
    }
  };
  const provisionalOut = resolve(options.out ?? resolve(root, 'plans', 'plan.md'));
  const config = loadConfig(root);
  const models = new ModelRunner({ config, root, signal: interruptSignal(), maxCostUsd: options.maxCost ?? null, notice: (line) => process.stderr.write(`${line}\n`) });
  if (!options.json) noticeOfflineRoles(models.roles, (line) => process.stderr.write(`${line}\n`));
  let outcome;
  try {
    const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true && !options.json && !options.yes && !process.env['CI'];
    const interview = interactive ? terminalInterview() : null;
    outcome = await runPipeline({
      request,
      root,
      out: provisionalOut,
      ...(answers ? { answers } : {}),
      acceptRecommended: options.yes === true,
      emit,
      models,
      ...(interview ? { ask: interview.ask } : {}),
    }).finally(() => interview?.close());
  } catch (error) {
    if (error instanceof PipelineError || error instanceof ModelError) throw new UserError(error.message, EXIT.failed);
    throw error;
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
  const out = resolve(options.out ?? resolve(root, 'plans', `${outcome.draft.meta.id}.md`));
  refuseOverwrite(out);
  mkdirSync(dirname(out), { recursive: true });
  await writeFileAtomic(out, outcome.text);
  const warnings = outcome.findings.length;
  if (options.json) process.stdout.write(`${JSON.stringify({ type: 'written', path: relative(process.cwd(), out) || out, warnings })}\n`);
  else process.stdout.write(`${relative(process.cwd(), out) || out}: ${outcome.draft.phases.length} phases, lints with 0 errors${warnings > 0 ? ` and ${warnings} warning(s)` : ''}\n`);

  // Plans with 10+ phases or quality bar adversarial are reviewed before anyone may approve them.
  const substantial = outcome.draft.meta.quality_bar === 'adversarial' || outcome.draft.phases.length >= 10;
  if (substantial && options.review !== false && !options.json) {
    process.stderr.write(`${outcome.draft.meta.quality_bar === 'adversarial' ? 'quality bar adversarial' : `${outcome.draft.phases.length} phases`}: reviewing before approval\n`);
    const { runReviewCommand } = await import('./review-command.js');
    // The review spends from what is left of the same cap.
    await runReviewCommand(out, { format: 'text', ...(options.maxCost !== undefined ? { maxCost: Math.max(options.maxCost - models.ledger.spentUsd, 1e-9) } : {}) });
  }
  return EXIT.ok;
}
