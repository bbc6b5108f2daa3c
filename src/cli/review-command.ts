import { dirname, relative, resolve } from 'node:path';
import { findRepoRoot, loadConfig } from '../config/config.js';
import { ModelError } from '../models/errors.js';
import { noticeOfflineRoles } from '../models/roles.js';
import { ModelRunner } from '../models/runner.js';
import { readPlanFile, PlanFileError, updatePlanFile } from '../plan/store.js';
import { setPlanStatus, setReview } from '../plan/update.js';
import { escapeWorkflowData } from '../lint/reporters.js';
import { counts, jsonReport, markdownReport, planGraph, reportPaths, writeReports } from '../review/report.js';
import { applyRevision, requestRevision, type AppliedRevision } from '../review/revise.js';
import { isPlanDocument, readPreviousRound, ReviewError, reviewPlan, type ReviewRound } from '../review/review.js';
import { EXIT, interruptSignal, UserError } from './program.js';
import { toPosix } from '../plan/text.js';

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

export const MAX_ROUNDS = 3;

async function updatePlan(path: string, edit: Parameters<typeof updatePlanFile>[1]): Promise<void> {
  try {
    await updatePlanFile(path, edit);
  } catch (error) {
    if (error instanceof PlanFileError) throw new UserError(error.message, EXIT.failed);
    throw error;
  }
}

/** `deepplan review <plan>`: one review round, its reports, and the plan's `review:` block. */
export async function runReviewCommand(planArgument: string, options: ReviewOptions): Promise<number> {
  const path = resolve(planArgument);
  const root = findRepoRoot(dirname(path));
  const config = loadConfig(root);
  if (options.reviewer) config.models = { ...config.models, reviewer: options.reviewer };
  const models = new ModelRunner({ config, root, signal: interruptSignal(), maxCostUsd: options.maxCost ?? null, notice: (line) => process.stderr.write(`${line}\n`) });
  if (options.format === 'text') noticeOfflineRoles(models.roles, (line) => process.stderr.write(`${line}\n`));

  let before;
  try {
    before = await readPlanFile(path);
  } catch (error) {
    throw new UserError((error as Error).message);
  }
  // A plan records its rounds in its review: block; another document (an email, an article, code) is reviewed once
  // a run, and only its reports are written.
  const isPlan = isPlanDocument(before);
  const done = isPlan ? (before.meta.review?.rounds ?? 0) : 0;
  if (done >= MAX_ROUNDS) {
    throw new UserError(`${planArgument} has had ${MAX_ROUNDS} review rounds (the most there are); revise it by hand and remove its review: block to start again`, EXIT.failed);
  }
  const last = isPlan ? Math.min(MAX_ROUNDS, done + Math.max(1, options.rounds ?? MAX_ROUNDS)) : 1;
  // Revision needs the planner model; the offline reviewer's findings are for a person to act on.
  const canRevise = options.revise !== false && models.roles.planner.provider !== 'offline';
  const say = (line: string) => {
    if (options.format === 'text') process.stderr.write(`${line}\n`);
  };
  let result: ReviewRound | null = null;
  let round = done;
  while (round < last) {
    round++;
    try {
      result = await reviewPlan(path, root, models, round, result ?? (before.meta.id ? readPreviousRound(root, before.meta.id, done) : null));
    } catch (error) {
      if (error instanceof ReviewError || error instanceof ModelError) throw new UserError(error.message, EXIT.failed);
      throw error;
    }
    if (result.warning) process.stderr.write(`deepplan: ${result.warning}\n`);
    const reports = await writeReports(root, result, path);
    const verdict = result.verdict;
    if (isPlan) await updatePlan(path, (text, plan) => {
      const reviewed = setReview(text, { verdict, rounds: round, reviewer: result!.reviewer, report: toPosix(relative(root, reports.md)) });
      // Under review until approved; a REVISE also takes an approved plan back to review.
      const status = plan.meta.status;
      const back = status === 'draft' || (verdict === 'REVISE' && status === 'approved');
      return back ? setPlanStatus(reviewed, 'in_review') : reviewed;
    });
    say(`round ${round}: ${verdict} (${counts(result)}); report: ${relative(process.cwd(), reports.md)}`);
    if (verdict === 'APPROVED' || !canRevise || round >= last) break;

    let revision;
    try {
      revision = await requestRevision(models, root, (await readPlanFile(path)).text, result.findings);
    } catch (error) {
      if (error instanceof ModelError) throw new UserError(error.message, EXIT.failed);
      throw error;
    }
    let applied: AppliedRevision | null = null;
    await updatePlan(path, (text) => {
      applied = applyRevision(relative(root, path), text, revision);
      return applied.text;
    });
    const outcome = applied as AppliedRevision | null;
    for (const skipped of outcome?.skipped ?? []) say(`  planner: ${skipped}`);
    if (!outcome || outcome.applied.length === 0) {
      say('  the planner\'s edits could not be applied; stopping');
      break;
    }
    say(`  planner revised for finding(s) ${outcome.applied.map((number) => `#${number}`).join(', ')}:\n${outcome.diff}`);
  }
  if (!result) throw new UserError('no review round ran', EXIT.failed);
  if (result.verdict === 'REVISE' && round >= MAX_ROUNDS) {
    const open = result.findings.filter((finding) => finding.verified && (finding.severity === 'critical' || finding.severity === 'high'));
    say(`${MAX_ROUNDS} rounds and still REVISE; the plan stays in_review. Open findings:\n${open.map((finding) => `  #${finding.number} ${finding.severity} ${finding.section} line ${finding.line}: ${finding.issue}`).join('\n')}`);
  }

  const shown = relative(process.cwd(), path) || path;
  if (options.format === 'json') process.stdout.write(jsonReport({ ...result, path: shown }));
  else if (options.format === 'md') process.stdout.write(markdownReport({ ...result, path: shown }, null, planGraph(result, path)));
  else if (options.format === 'github') {
    for (const finding of result.findings.filter((candidate) => candidate.verified)) {
      const level = finding.severity === 'critical' || finding.severity === 'high' ? 'error' : 'warning';
      process.stdout.write(`::${level} file=${shown},line=${finding.line},title=review ${finding.number} (${finding.severity})::${escapeWorkflowData(`${finding.issue} Fix: ${finding.fix}`)}\n`);
    }
    process.stdout.write(`deepplan review: ${result.verdict} (${counts(result)})\n`);
  } else if (options.browse && process.stdout.isTTY && process.stdin.isTTY && !process.env['CI'] && result.findings.length > 0) {
    // On a terminal: the findings browser, then the verdict line for the scrollback.
    const { browseFindings } = await import('../ui/findings-browser.js');
    const title = `${shown}: review round ${round} by ${result.reviewer}`;
    await browseFindings({ title, verdict: result.verdict, findings: result.findings, documentLines: (await readPlanFile(path)).text.split('\n') });
    process.stdout.write(`${title}: ${result.verdict} (${counts(result)}); report: ${relative(process.cwd(), reportPaths(root, result).md)}\n`);
  } else {
    const lines = [`${shown}: review round ${round} by ${result.reviewer}: ${result.verdict} (${counts(result)})`];
    for (const finding of result.findings) {
      lines.push(`  ${String(finding.number).padStart(2)}. ${finding.severity.padEnd(8)} ${finding.section} line ${finding.line}: ${finding.issue}${finding.verified ? '' : ' [quote not found: not counted]'}`);
    }
    lines.push(`report: ${relative(process.cwd(), reportPaths(root, result).md)}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return result.verdict === 'APPROVED' ? EXIT.ok : EXIT.failed;
}
