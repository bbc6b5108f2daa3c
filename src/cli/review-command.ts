import { dirname, relative, resolve } from 'node:path';
import { findRepoRoot, loadConfig } from '../config/config.js';
import { ModelError } from '../models/errors.js';
import { noticeOfflineRoles } from '../models/roles.js';
import { ModelRunner } from '../models/runner.js';
import { readPlanFile, PlanFileError, updatePlanFile } from '../plan/store.js';
import { setPlanStatus, setReview } from '../plan/update.js';
import { counts, jsonReport, markdownReport, writeReports } from '../review/report.js';
import { readPreviousRound, ReviewError, reviewPlan } from '../review/review.js';
import { EXIT, interruptSignal, UserError } from './program.js';

export interface ReviewOptions {
  reviewer?: string;
  format: 'text' | 'md' | 'json' | 'github';
}

export const MAX_ROUNDS = 3;

function escapeData(value: string): string {
  return value.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** `deepplan review <plan>`: one review round, its reports, and the plan's `review:` block. */
export async function runReviewCommand(planArgument: string, options: ReviewOptions): Promise<number> {
  const path = resolve(planArgument);
  const root = findRepoRoot(dirname(path));
  const config = loadConfig(root);
  if (options.reviewer) config.models = { ...config.models, reviewer: options.reviewer };
  const models = new ModelRunner({ config, root, signal: interruptSignal(), notice: (line) => process.stderr.write(`${line}\n`) });
  if (options.format === 'text') noticeOfflineRoles(models.roles, (line) => process.stderr.write(`${line}\n`));

  let before;
  try {
    before = await readPlanFile(path);
  } catch (error) {
    throw new UserError((error as Error).message);
  }
  const done = before.meta.review?.rounds ?? 0;
  if (done >= MAX_ROUNDS) {
    throw new UserError(`${planArgument} has had ${MAX_ROUNDS} review rounds (the most there are); revise it by hand and remove its review: block to start again`, EXIT.failed);
  }
  const round = done + 1;
  let result;
  try {
    result = await reviewPlan(path, root, models, round, before.meta.id ? readPreviousRound(root, before.meta.id, done) : null);
  } catch (error) {
    if (error instanceof ReviewError || error instanceof ModelError) throw new UserError(error.message, EXIT.failed);
    throw error;
  }
  if (result.warning) process.stderr.write(`deepplan: ${result.warning}\n`);
  const reports = await writeReports(root, result, path);
  try {
    await updatePlanFile(path, (text, plan) => {
      const reviewed = setReview(text, { verdict: result.verdict, rounds: round, reviewer: result.reviewer, report: relative(root, reports.md).split('\\').join('/') });
      // Under review until approved; a REVISE also takes an approved plan back to review.
      const status = plan.meta.status;
      const back = status === 'draft' || (result.verdict === 'REVISE' && status === 'approved');
      return back ? setPlanStatus(reviewed, 'in_review') : reviewed;
    });
  } catch (error) {
    if (error instanceof PlanFileError) throw new UserError(error.message, EXIT.failed);
    throw error;
  }

  const shown = relative(process.cwd(), path) || path;
  if (options.format === 'json') process.stdout.write(jsonReport({ ...result, path: shown }));
  else if (options.format === 'md') process.stdout.write(markdownReport({ ...result, path: shown }, null));
  else if (options.format === 'github') {
    for (const finding of result.findings.filter((candidate) => candidate.verified)) {
      const level = finding.severity === 'critical' || finding.severity === 'high' ? 'error' : 'warning';
      process.stdout.write(`::${level} file=${shown},line=${finding.line},title=review ${finding.number} (${finding.severity})::${escapeData(`${finding.issue} Fix: ${finding.fix}`)}\n`);
    }
    process.stdout.write(`deepplan review: ${result.verdict} (${counts(result)})\n`);
  } else {
    const lines = [`${shown}: review round ${round} by ${result.reviewer}: ${result.verdict} (${counts(result)})`];
    for (const finding of result.findings) {
      lines.push(`  ${String(finding.number).padStart(2)}. ${finding.severity.padEnd(8)} ${finding.section} line ${finding.line}: ${finding.issue}${finding.verified ? '' : ' [quote not found: not counted]'}`);
    }
    lines.push(`report: ${relative(process.cwd(), reports.md)}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return result.verdict === 'APPROVED' ? EXIT.ok : EXIT.failed;
}
