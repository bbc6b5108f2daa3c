import { relative } from 'node:path';
import { ModelError } from '../models/errors.js';
import type { ModelRunner } from '../models/runner.js';
import { PlanFileError, readPlanFile, updatePlanFile, type PlanEdit } from '../plan/store.js';
import { toPosix } from '../plan/text.js';
import type { Plan } from '../plan/types.js';
import { setPlanStatus, setReview, setState } from '../plan/update.js';
import { relocateFindings, type ReviewFinding } from './findings.js';
import { frontMatterUnreadable } from './offline.js';
import { counts, reportPaths, roundName, writeReports } from './report.js';
import { applyRevision, requestRevision, RevisionError, type AppliedRevision } from './revise.js';
import {
  contentDigest,
  isPlanDocument,
  planIdOf,
  readPreviousRound,
  REVISION_FORMAT,
  reviewCycleOf,
  ReviewError,
  reviewPlan,
  type ReviewRound,
} from './review.js';

/**
 * The review rounds of a document: up to 3 rounds a review cycle, the planner revising the plan between them. The
 * command (`deepplan review`, `deepplan plan`) and the `deepplan new` session both run them here and render the events.
 */

export const MAX_ROUNDS = 3;

/** What happens as the rounds go, in order; every one is for a person to read, none changes what comes next. */
export type RoundsEvent =
  /** Another process is running an iteration of the plan; the write waits for it. */
  | { type: 'waiting'; holder: string }
  | { type: 'warning'; message: string }
  /** A round is done: the plan's `review:` block and the round's reports are written. */
  | { type: 'round'; round: ReviewRound; report: string }
  /** The planner's progress while it revises. */
  | { type: 'progress'; message: string }
  /** The planner's revision: the findings it addressed (none: nothing could be applied, the rounds stop). */
  | { type: 'revised'; applied: number[]; skipped: string[]; diff: string; budget: string | null }
  /** The last round a cycle may have, and still REVISE: the findings that keep the plan in review. */
  | { type: 'exhausted'; open: ReviewFinding[] };

export interface RoundsOptions {
  /** The document, an absolute path. */
  path: string;
  root: string;
  models: ModelRunner;
  /** Rounds to run now (the plan's total in a cycle stays at most 3); default 3. */
  rounds?: number;
  /** false: one review, no revision by the planner. */
  revise?: boolean;
  /** The document as the person named it, for messages; default the path. */
  label?: string;
  emit?: (event: RoundsEvent) => void;
  /** Aborted: no further round, revision or write starts. */
  signal?: AbortSignal;
}

/** The rounds cannot go on; one line for the person. `unreadable`: the document could not be read at all. */
export class ReviewRoundsError extends Error {
  override name = 'ReviewRoundsError';
  constructor(
    message: string,
    readonly unreadable = false,
  ) {
    super(message);
  }
}

/** The rounds were stopped by their signal (Ctrl-C) before they finished. */
export class ReviewStoppedError extends Error {
  override name = 'ReviewStoppedError';
}

/** What one review rounds run knows as it goes. */
interface Rounds {
  options: RoundsOptions;
  emit: (event: RoundsEvent) => void;
  /** The plan's `review:` block can be written (a plan whose front matter reads). */
  writable: boolean;
  cycle: number;
}

/** Runs the review rounds; the last round's result. Failures are ReviewRoundsError, a stop is ReviewStoppedError. */
export async function runReviewRounds(options: RoundsOptions): Promise<ReviewRound> {
  const { path, root, models } = options;
  let before: Plan;
  try {
    before = await readPlanFile(path);
  } catch (error) {
    throw new ReviewRoundsError((error as Error).message, true);
  }
  // A plan records its rounds in its review: block; another document (an email, an article, code) is reviewed once
  // a run, and only its reports are written. A plan whose front matter cannot be read is reviewed (a `parse`
  // finding, REVISE) but its review: block cannot be written.
  const isPlan = isPlanDocument(before);
  const run: Rounds = {
    options,
    emit: options.emit ?? (() => {}),
    writable: isPlan && !frontMatterUnreadable(before),
    cycle: isPlan ? reviewCycleOf(before) : 1,
  };
  let done = isPlan ? (before.meta.review?.rounds ?? 0) : 0;
  const previous = isPlan && done > 0 ? readPreviousRound(root, planIdOf(before, root, path), done, run.cycle) : null;
  if (done >= MAX_ROUNDS) {
    // A cycle has 3 rounds. A plan changed since its last round starts the next cycle; the earlier reports stay.
    if (previous?.digest !== undefined && previous.digest === contentDigest(before)) {
      const inCycle = run.cycle > 1 ? ` in review cycle ${run.cycle}` : '';
      throw new ReviewRoundsError(
        `${options.label ?? path} has had ${MAX_ROUNDS} review rounds${inCycle} and has not changed since the last one; ` +
          `revise it, then review it again to start review cycle ${run.cycle + 1}`,
      );
    }
    run.cycle++;
    done = 0;
  }
  const last = isPlan ? Math.min(MAX_ROUNDS, done + Math.max(1, options.rounds ?? MAX_ROUNDS)) : 1;
  // Revision needs the planner model; the offline reviewer's findings are for a person to act on.
  const canRevise = run.writable && options.revise !== false && models.answers('planner', REVISION_FORMAT);
  let round = done;
  let result: ReviewRound | null = null;
  while (round < last) {
    round++;
    result = await reviewRound(run, round, result ?? previous);
    if (result.verdict === 'APPROVED' || !canRevise || round >= last) break;
    if (!(await revise(run, result.findings))) break;
  }
  if (!result) throw new ReviewRoundsError('no review round ran');
  if (result.verdict === 'REVISE' && round >= MAX_ROUNDS) {
    const open = result.findings.filter((finding) => finding.verified && (finding.severity === 'critical' || finding.severity === 'high'));
    run.emit({ type: 'exhausted', open });
  }
  return result;
}

function stopIfAborted(run: Rounds): void {
  if (run.options.signal?.aborted) throw new ReviewStoppedError('the review was stopped');
}

/** One round: the review, then the plan's `review:` block and status, then the reports. */
async function reviewRound(run: Rounds, round: number, previous: ReviewRound | null): Promise<ReviewRound> {
  const { path, root, models } = run.options;
  stopIfAborted(run);
  let result: ReviewRound;
  try {
    result = await reviewPlan(path, root, models, { round, cycle: run.cycle, previous });
  } catch (error) {
    if (error instanceof ReviewError || error instanceof ModelError) throw new ReviewRoundsError(error.message);
    throw error;
  }
  if (result.warning) run.emit({ type: 'warning', message: result.warning });
  stopIfAborted(run);
  const reports = reportPaths(root, result);
  if (run.writable) {
    // The plan is written first, through the locked writer, so the report's lines are lines of the file as written.
    const reviewed = result;
    const block = {
      verdict: result.verdict,
      rounds: round,
      reviewer: result.reviewer,
      report: toPosix(relative(root, reports.md)),
      ...(run.cycle > 1 ? { cycle: run.cycle } : {}),
    };
    let written: Plan;
    try {
      written = await updatePlan(run, (text, plan) => {
        const withReview = setReview(text, block);
        // Under review until approved; a REVISE also takes an approved plan back to review.
        const status = plan.meta.status;
        const back = status === 'draft' || (reviewed.verdict === 'REVISE' && status === 'approved');
        return back ? setPlanStatus(withReview, 'in_review') : withReview;
      });
    } catch (error) {
      if (error instanceof ReviewRoundsError) await writeReports(root, result, path);
      throw error;
    }
    result = { ...result, findings: relocateFindings(result.findings, result.documentText ?? written.text, written.text), documentText: written.text };
  }
  await writeReports(root, result, path);
  run.emit({ type: 'round', round: result, report: reports.md });
  return result;
}

/** The planner revises the plan for the findings; false when none of its edits could be applied (the rounds stop). */
async function revise(run: Rounds, findings: ReviewFinding[]): Promise<boolean> {
  const { path, root, models } = run.options;
  stopIfAborted(run);
  let revision;
  try {
    revision = await requestRevision(models, root, (await readPlanFile(path)).text, findings, {
      path,
      progress: (message) => run.emit({ type: 'progress', message }),
    });
  } catch (error) {
    if (error instanceof ModelError || error instanceof RevisionError) throw new ReviewRoundsError(error.message);
    throw error;
  }
  stopIfAborted(run);
  let applied: AppliedRevision | null = null;
  await updatePlan(run, (text) => {
    applied = applyRevision(relative(root, path), text, revision, { root });
    return applied.text;
  });
  // Set inside the edit, which TypeScript does not follow.
  const outcome = applied as AppliedRevision | null;
  run.emit({ type: 'revised', applied: outcome?.applied ?? [], skipped: outcome?.skipped ?? [], diff: outcome?.diff ?? '', budget: outcome?.budget ?? null });
  return (outcome?.applied.length ?? 0) > 0;
}

/**
 * Writes the plan through the locked writer, with the review's model calls added to `state.spent_usd` in the same
 * write so a cost cap counts them too (a plan without `state:` records nothing).
 */
async function updatePlan(run: Rounds, edit: PlanEdit): Promise<Plan> {
  const { models } = run.options;
  const withSpend: PlanEdit = (text, plan) => {
    const edited = edit(text, plan);
    if (models.ledger.unrecordedUsd <= 0 || !plan.meta.state) return edited;
    return setState(edited, { spent_usd: models.ledger.totalWith(plan.meta.state.spent_usd ?? 0) } as never);
  };
  try {
    const written = await updatePlanFile(run.options.path, withSpend, { onWait: (holder) => run.emit({ type: 'waiting', holder }) });
    models.ledger.recordedInPlan(written.meta.state?.spent_usd ?? 0);
    return written;
  } catch (error) {
    if (error instanceof PlanFileError) throw new ReviewRoundsError(error.message);
    throw error;
  }
}

/**
 * A rounds event as the plain text `deepplan review` prints on standard error: `always` whatever the output format
 * (a wait, a warning), `text` only with the text format (the rounds as they go). Paths are shown from `cwd`.
 */
export function roundsEventText(event: RoundsEvent, cwd: string): { always?: string; text?: string } {
  switch (event.type) {
    case 'waiting':
      return { always: `waiting: ${event.holder} is running an iteration of this plan` };
    case 'warning':
      return { always: `deepplan: ${event.message}` };
    case 'round':
      return { text: `${roundName(event.round)}: ${event.round.verdict} (${counts(event.round)}); report: ${relative(cwd, event.report)}` };
    case 'progress':
      return { text: event.message };
    case 'revised': {
      const lines = event.skipped.map((skipped) => `  planner: ${skipped}`);
      if (event.applied.length === 0) lines.push("  the planner's edits could not be applied; stopping");
      else lines.push(`  planner revised for finding(s) ${event.applied.map((number) => `#${number}`).join(', ')}:\n${event.diff}`);
      if (event.applied.length > 0 && event.budget) lines.push(`  budget recomputed for the revised plan: ${event.budget}`);
      return lines.length > 0 ? { text: lines.join('\n') } : {};
    }
    case 'exhausted': {
      const open = event.open.map((finding) => `  #${finding.number} ${finding.severity} ${finding.section} line ${finding.line}: ${finding.issue}`);
      return { text: `${MAX_ROUNDS} rounds and still REVISE; the plan stays in_review. Open findings:\n${open.join('\n')}` };
    }
  }
}
