import { dirname, relative, resolve } from 'node:path';
import { findRepoRoot, loadConfig } from '../config/config.js';
import { ModelError } from '../models/errors.js';
import { noticeOfflineRoles } from '../models/roles.js';
import { ModelRunner } from '../models/runner.js';
import { readPlanFile, PlanFileError, updatePlanFile } from '../plan/store.js';
import { setPlanStatus, setReview, setState } from '../plan/update.js';
import type { Plan } from '../plan/types.js';
import { escapeWorkflowData, repositoryRootOf } from '../lint/reporters.js';
import { counts, jsonReport, markdownReport, planGraph, reportPaths, roundName, writeReports } from '../review/report.js';
import { relocateFindings } from '../review/findings.js';
import { frontMatterUnreadable } from '../review/offline.js';
import { applyRevision, requestRevision, RevisionError, type AppliedRevision } from '../review/revise.js';
import { contentDigest, isPlanDocument, planIdOf, readPreviousRound, reviewCycleOf, ReviewError, reviewPlan, type ReviewRound } from '../review/review.js';
import { planPathArgument } from './plan-argument.js';
import { EXIT, interruptSignal, UserError } from './exit.js';
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

/** A review waiting for a running iteration of the plan says so once, instead of waiting silently. */
const waiting = (holder: string) => process.stderr.write(`waiting: ${holder} is running an iteration of this plan\n`);

/**
 * The review's model calls added to the plan's `state.spent_usd` in the same write, so a cost cap counts them too
 * (a plan without `state:` records nothing).
 */
function withSpend(text: string, plan: Plan, models: ModelRunner): string {
  const ledger = models.ledger;
  if (ledger.unrecordedUsd <= 0 || !plan.meta.state) return text;
  return setState(text, { spent_usd: ledger.totalWith(plan.meta.state.spent_usd ?? 0) } as never);
}

async function updatePlan(path: string, edit: Parameters<typeof updatePlanFile>[1], models: ModelRunner): Promise<void> {
  try {
    const written = await updatePlanFile(path, (text, plan) => withSpend(edit(text, plan), plan, models), { onWait: waiting });
    models.ledger.recordedInPlan(written.meta.state?.spent_usd ?? 0);
  } catch (error) {
    if (error instanceof PlanFileError) throw new UserError(error.message, EXIT.failed);
    throw error;
  }
}

/** `deepplan review <plan>`: one review round, its reports, and the plan's `review:` block. */
export async function runReviewCommand(planArgument: string, options: ReviewOptions): Promise<number> {
  // No such file, or no file at all (a folder): a usage error (exit 2) before any model is set up.
  planPathArgument(planArgument);
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
  // a run, and only its reports are written. A plan whose front matter cannot be read is reviewed (a `parse`
  // finding, REVISE) but its review: block cannot be written.
  const isPlan = isPlanDocument(before);
  const writable = isPlan && !frontMatterUnreadable(before);
  const planId = planIdOf(before, root, path);
  let cycle = isPlan ? reviewCycleOf(before) : 1;
  let done = isPlan ? (before.meta.review?.rounds ?? 0) : 0;
  let previous = isPlan && done > 0 ? readPreviousRound(root, planId, done, cycle) : null;
  if (done >= MAX_ROUNDS) {
    // A cycle has 3 rounds. A plan changed since its last round starts the next cycle; the earlier reports stay.
    const unchanged = previous?.digest !== undefined && previous.digest === contentDigest(before);
    if (unchanged) {
      throw new UserError(
        `${planArgument} has had ${MAX_ROUNDS} review rounds${cycle > 1 ? ` in review cycle ${cycle}` : ''} and has not changed since the last one; revise it, then review it again to start review cycle ${cycle + 1}`,
        EXIT.failed,
      );
    }
    cycle++;
    done = 0;
  }
  const last = isPlan ? Math.min(MAX_ROUNDS, done + Math.max(1, options.rounds ?? MAX_ROUNDS)) : 1;
  // Revision needs the planner model; the offline reviewer's findings are for a person to act on.
  const canRevise = writable && options.revise !== false && models.roles.planner.provider !== 'offline';
  const say = (line: string) => {
    if (options.format === 'text') process.stderr.write(`${line}\n`);
  };
  let result: ReviewRound | null = null;
  let round = done;
  while (round < last) {
    round++;
    try {
      result = await reviewPlan(path, root, models, { round, cycle, previous: result ?? previous });
    } catch (error) {
      if (error instanceof ReviewError || error instanceof ModelError) throw new UserError(error.message, EXIT.failed);
      throw error;
    }
    if (result.warning) process.stderr.write(`deepplan: ${result.warning}\n`);
    const reports = reportPaths(root, result);
    const verdict = result.verdict;
    if (writable) {
      // The plan is written first, through the locked writer, so the report's lines are lines of the file as written.
      const reviewed = result;
      let written;
      try {
        written = await updatePlanFile(
          path,
          (text, plan) => {
            const block = { verdict, rounds: round, reviewer: reviewed.reviewer, report: toPosix(relative(root, reports.md)), ...(cycle > 1 ? { cycle } : {}) };
            const withReview = setReview(text, block);
            // Under review until approved; a REVISE also takes an approved plan back to review.
            const status = plan.meta.status;
            const back = status === 'draft' || (verdict === 'REVISE' && status === 'approved');
            return withSpend(back ? setPlanStatus(withReview, 'in_review') : withReview, plan, models);
          },
          { onWait: waiting },
        );
        models.ledger.recordedInPlan(written.meta.state?.spent_usd ?? 0);
      } catch (error) {
        if (!(error instanceof PlanFileError)) throw error;
        await writeReports(root, result, path);
        throw new UserError(error.message, EXIT.failed);
      }
      result = { ...result, findings: relocateFindings(result.findings, result.documentText ?? written.text, written.text), documentText: written.text };
    }
    await writeReports(root, result, path);
    say(`${roundName(result)}: ${verdict} (${counts(result)}); report: ${relative(process.cwd(), reports.md)}`);
    if (verdict === 'APPROVED' || !canRevise || round >= last) break;

    let revision;
    try {
      revision = await requestRevision(models, root, (await readPlanFile(path)).text, result.findings, { path, progress: say });
    } catch (error) {
      if (error instanceof ModelError || error instanceof RevisionError) throw new UserError(error.message, EXIT.failed);
      throw error;
    }
    let applied: AppliedRevision | null = null;
    await updatePlan(
      path,
      (text) => {
        applied = applyRevision(relative(root, path), text, revision, { root });
        return applied.text;
      },
      models,
    );
    const outcome = applied as AppliedRevision | null;
    for (const skipped of outcome?.skipped ?? []) say(`  planner: ${skipped}`);
    if (!outcome || outcome.applied.length === 0) {
      say('  the planner\'s edits could not be applied; stopping');
      break;
    }
    say(`  planner revised for finding(s) ${outcome.applied.map((number) => `#${number}`).join(', ')}:\n${outcome.diff}`);
    if (outcome.budget) say(`  budget recomputed for the revised plan: ${outcome.budget}`);
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
    // Annotations name the file from the repository root, whatever folder the command ran in.
    const repository = repositoryRootOf(path);
    const annotated = repository ? toPosix(relative(repository, path)) : shown;
    for (const finding of result.findings.filter((candidate) => candidate.verified)) {
      const level = finding.severity === 'critical' || finding.severity === 'high' ? 'error' : 'warning';
      process.stdout.write(`::${level} file=${annotated},line=${finding.line},title=review ${finding.number} (${finding.severity})::${escapeWorkflowData(`${finding.issue} Fix: ${finding.fix}`)}\n`);
    }
    process.stdout.write(`deepplan review: ${result.verdict} (${counts(result)})\n`);
  } else if (options.browse && process.stdout.isTTY && process.stdin.isTTY && !process.env['CI'] && result.findings.length > 0) {
    // On a terminal: the findings browser, then the verdict line for the scrollback.
    const { browseFindings } = await import('../ui/findings-browser.js');
    const title = `${shown}: review ${roundName(result)} by ${result.reviewer}`;
    await browseFindings({ title, verdict: result.verdict, findings: result.findings, documentLines: (await readPlanFile(path)).text.split('\n') });
    process.stdout.write(`${title}: ${result.verdict} (${counts(result)}); report: ${relative(process.cwd(), reportPaths(root, result).md)}\n`);
  } else {
    const lines = [`${shown}: review ${roundName(result)} by ${result.reviewer}: ${result.verdict} (${counts(result)})`];
    for (const finding of result.findings) {
      lines.push(`  ${String(finding.number).padStart(2)}. ${finding.severity.padEnd(8)} ${finding.section} line ${finding.line}: ${finding.issue}${finding.verified ? '' : ' [quote not found: not counted]'}`);
    }
    lines.push(`report: ${relative(process.cwd(), reportPaths(root, result).md)}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return result.verdict === 'APPROVED' ? EXIT.ok : EXIT.failed;
}
