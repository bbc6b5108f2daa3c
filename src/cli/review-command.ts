import { dirname, relative, resolve } from 'node:path';
import { findRepoRoot, loadConfig } from '../config/config.js';
import { repositoryRootOf } from '../lint/reporters.js';
import { noticeOfflineRoles } from '../models/roles.js';
import { ModelRunner } from '../models/runner.js';
import { readPlanFile } from '../plan/store.js';
import { toPosix } from '../plan/text.js';
import { counts, githubAnnotations, jsonReport, markdownReport, planGraph, reportPaths, reviewSummary, roundName } from '../review/report.js';
import type { ReviewRound } from '../review/review.js';
import { ReviewRoundsError, roundsEventText, runReviewRounds } from '../review/rounds.js';
import { EXIT, interruptSignal, UserError } from './exit.js';
import { planPathArgument } from './plan-argument.js';

export interface ReviewOptions {
  reviewer?: string;
  /** Rounds to run in this invocation (the plan's total stays at most 3). */
  rounds?: number;
  /** false: one review, no revision by the planner. */
  revise?: boolean;
  /** US dollars: refuse a model call that could pass it. */
  maxCost?: number;
  format: 'text' | 'md' | 'json' | 'github';
  /** On a terminal, open the findings browser (deepplan review itself; not the review that follows deepplan plan). */
  browse?: boolean;
}

const stderr = (line: string) => process.stderr.write(`${line}\n`);

/** `deepplan review <plan>`: the review rounds (src/review/rounds.ts), their reports, and the plan's `review:` block. */
export async function runReviewCommand(planArgument: string, options: ReviewOptions): Promise<number> {
  // No such file, or no file at all (a folder): a usage error (exit 2) before any model is set up.
  planPathArgument(planArgument);
  const path = resolve(planArgument);
  const root = findRepoRoot(dirname(path));
  const config = loadConfig(root);
  if (options.reviewer) config.models = { ...config.models, reviewer: options.reviewer };
  const models = new ModelRunner({ config, root, signal: interruptSignal(), maxCostUsd: options.maxCost ?? null, notice: stderr });
  if (options.format === 'text') noticeOfflineRoles(models.roles, stderr);
  let result: ReviewRound;
  try {
    result = await runReviewRounds({
      path,
      root,
      models,
      label: planArgument,
      ...(options.rounds !== undefined ? { rounds: options.rounds } : {}),
      ...(options.revise !== undefined ? { revise: options.revise } : {}),
      emit: (event) => {
        const line = roundsEventText(event, process.cwd());
        if (line.always) stderr(line.always);
        if (line.text && options.format === 'text') stderr(line.text);
      },
    });
  } catch (error) {
    if (error instanceof ReviewRoundsError) throw new UserError(error.message, error.unreadable ? EXIT.usage : EXIT.failed);
    throw error;
  }
  await printResult(result, { ...options, path, root });
  return result.verdict === 'APPROVED' ? EXIT.ok : EXIT.failed;
}

/** The last round on standard output in the chosen format; on a terminal, the findings browser. */
async function printResult(result: ReviewRound, options: ReviewOptions & { path: string; root: string }): Promise<void> {
  const { path, root } = options;
  const shown = relative(process.cwd(), path) || path;
  const report = relative(process.cwd(), reportPaths(root, result).md);
  if (options.format === 'json') process.stdout.write(jsonReport({ ...result, path: shown }));
  else if (options.format === 'md') process.stdout.write(markdownReport({ ...result, path: shown }, null, planGraph(result, path)));
  else if (options.format === 'github') {
    // Annotations name the file from the repository root, whatever folder the command ran in.
    const repository = repositoryRootOf(path);
    process.stdout.write(githubAnnotations(result, repository ? toPosix(relative(repository, path)) : shown));
  } else if (options.browse && process.stdout.isTTY && process.stdin.isTTY && !process.env['CI'] && result.findings.length > 0) {
    // On a terminal: the findings browser, then the verdict line for the scrollback.
    const { browseFindings } = await import('../ui/findings-browser.js');
    const title = `${shown}: review ${roundName(result)} by ${result.reviewer}`;
    await browseFindings({ title, verdict: result.verdict, findings: result.findings, documentLines: (await readPlanFile(path)).text.split('\n') });
    process.stdout.write(`${title}: ${result.verdict} (${counts(result)}); report: ${report}\n`);
  } else process.stdout.write(reviewSummary(result, shown, report));
}
