import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { actionLabel, inFlightText, parseAction, rowNotes } from '../plan/log-grammar.js';
import { parsePlan } from '../plan/parse.js';
import { RevisionConflictError, updatePlanFile } from '../plan/store.js';
import type { IterationLog, LogLines, Phase, Plan } from '../plan/types.js';
import {
  appendedRow,
  appendLearning,
  appendLogRow,
  deleteFrontMatterKey,
  setPhaseStatus,
  setPlanStatus,
  setState,
  tickCriterion,
  type NewLogRow,
} from '../plan/update.js';
import type { PlanStatus } from '../plan/schema.js';
import type { ActionOutcome } from './executors.js';
import { isoSecond, rowCount, rowTime, succeeded } from './history.js';
import { approveCommand, type Decision, type IterationReport, type IterationRun } from './iteration-run.js';
import { currentPhase, describeNext, nextAction } from './next.js';

const execFileAsync = promisify(execFile);

/**
 * Steps 4 and 5 of an iteration, and what it keeps beside the plan: the in-flight record before the action, the row
 * and the state after it, the optional git commit, and the cache of the last tool output.
 */

/** The state key of the action in flight (`P3.2 run x (started ..., pid ...)`), cleared by the write of its row. */
export const IN_FLIGHT = 'in_flight';

/** The cache of the last tool output, shown to the next iteration; deleting it loses nothing the plan needs. */
export function observationFile(root: string, plan: Plan): string {
  return join(root, '.deepplan', 'cache', `${plan.meta.id ?? 'plan'}.observation.json`);
}

export function readObservation(root: string, plan: Plan): string | null {
  try {
    const cached = JSON.parse(readFileSync(observationFile(root, plan), 'utf8')) as { iteration: number; text: string };
    return cached.iteration === rowCount(plan) ? cached.text : null;
  } catch {
    return null;
  }
}

export function writeObservation(root: string, plan: Plan, iteration: number, text: string | null): void {
  const file = observationFile(root, plan);
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify({ iteration, text: text ?? '' }));
  } catch {
    // A cache: the next iteration works without it.
  }
}

/** The report as the iteration ends: the plan written last, its blockers and next action, the time spent. */
export function finishReport(run: IterationRun, started: number): IterationReport {
  const { report, plan } = run;
  report.plan = plan;
  if (report.blockers.length === 0) report.blockers = plan.meta.state?.blockers ?? [];
  report.nextAction = plan.meta.state?.next_action ?? null;
  report.engineMs = performance.now() - started - report.actionMs;
  return report;
}

/**
 * The engine's two writes of an iteration may be made in place on a long log (store.ts): their edits read the plan
 * only through the plan they are given (its log whole) and change the text only through update.ts's edits.
 */
const IN_PLACE = { inPlace: true } as const;

/** Records the action as in flight before it runs (a crash leaves it to be logged as outcome unknown). */
export async function markInFlight(run: IterationRun, phase: Phase, action: string): Promise<void> {
  const { plan, planPath, now } = run;
  run.plan = await updatePlanFile(
    planPath,
    (text, current) => {
      // Another writer since the plan was read (a person's edit): go on only if this is still the step to take.
      const changed = changedUnderneath(plan, current, phase.id, action);
      if (changed) throw new RevisionConflictError(planPath, plan.meta.state!.revision, current.meta.state?.revision ?? -1, `${changed}; nothing ran`);
      let edited = setState(text, { [IN_FLIGHT]: inFlightText(action, isoSecond(now()), process.pid), phase: phase.id } as never);
      if (current.meta.status !== 'executing') edited = setPlanStatus(edited, 'executing');
      if (phase.status !== 'active') edited = setPhaseStatus(edited, phase.id, 'active');
      return edited;
    },
    IN_PLACE,
  );
}

/**
 * Why the plan as another writer left it (`current`) no longer fits an action decided on the plan as it was read
 * (`read`), or null when it still does and the iteration's write is applied to the fresh text. deepplan's own
 * writers take turns with iterations (the run lock); another writer is a person's edit or a tool that skips the lock.
 */
function changedUnderneath(read: Plan, current: Plan, phaseId: string, action: string): string | null {
  if (current.meta.state?.revision === read.meta.state?.revision) return null;
  const status = current.meta.status;
  if (status !== read.meta.status && (status === 'draft' || status === 'in_review' || status === 'complete')) return `its status became ${status}`;
  const phase = current.phases.find((candidate) => candidate.id === phaseId);
  if (!phase) return `phase ${phaseId} is no longer in it`;
  const index = parseAction(action)?.step ?? null;
  if (index !== null) {
    const before = read.phases.find((candidate) => candidate.id === phaseId)?.steps.find((step) => step.index === index);
    const after = phase.steps.find((step) => step.index === index);
    if (!after || (before && after.text !== before.text)) return `step ${phaseId}.${index} was changed or removed`;
  }
  const known = new Set(read.meta.state?.blockers ?? []);
  const added = (current.meta.state?.blockers ?? []).filter((blocker) => !known.has(blocker));
  if (added.length > 0) return `it was blocked meanwhile: ${added[0]}`;
  return null;
}

/**
 * Steps 4 and 5: one row and the state, in one locked, revision-checked, atomic write. The row is written whatever
 * changed meanwhile (the action ran); what it decided applies only to a plan that did not change underneath it.
 */
export async function commitDecision(run: IterationRun, decision: Decision): Promise<void> {
  const { plan, context, report, emit, now } = run;
  const { outcome } = decision;
  const notes = rowNotes({ action: outcome.action, stepDone: outcome.stepDone && succeeded(outcome), notes: outcome.notes, checks: decision.checkNotes });
  let rowNumber = 0;
  let { signal, blockers } = decision;
  const ledger = context.models?.ledger ?? null;
  // No expected revision: the action ran, so its row is written whatever changed meanwhile, onto the fresh text.
  const updated = await updatePlanFile(
    run.planPath,
    (text, current) => {
      const changed = changedUnderneath(plan, current, decision.phase.id, outcome.action);
      if (changed) {
        // The row is recorded as it happened; what it decided no longer applies to this plan, so a person looks.
        signal = 'BLOCKED_NEED_HUMAN';
        blockers = [
          `${decision.phase.id}: the plan changed while ${actionLabel(outcome.action)} ran (${changed}); its row is recorded as it happened; ` +
            `check the plan, then ${approveCommand(run, decision.phase.id, true)}`,
        ];
      }
      // Rows are only ever appended, after the last one's time.
      const row = { when: rowTime(current, now()), phase: decision.phase.id, action: outcome.action, result: outcome.result, signal, notes };
      let edited = appendLogRow(text, row);
      if (!changed) {
        for (const [id, status] of decision.phaseStatus) edited = setPhaseStatus(edited, id, status);
        for (const [id, checked] of decision.ticks) edited = tickCriterion(edited, id, checked);
      }
      for (const learning of decision.learnings) edited = appendLearning(edited, learning);
      rowNumber = rowCount(current) + 1;
      const status = signal === 'TASK_COMPLETE' ? 'complete' : signal === 'BLOCKED_NEED_HUMAN' ? 'blocked' : 'executing';
      // A plan another writer took back to draft or review stays there.
      const kept = changed !== null && (current.meta.status === 'draft' || current.meta.status === 'in_review');
      if (current.meta.status !== status && !kept) edited = setPlanStatus(edited, status);
      const after = planAfter(current, edited, { row, phaseStatus: changed ? null : decision.phaseStatus, status: kept ? null : status });
      const next = nextAction(after, run.isModelStep);
      const phase = signal === 'TASK_COMPLETE' ? null : (currentPhase(after)?.id ?? decision.phase.id);
      edited = setState(edited, {
        phase,
        iteration: rowNumber,
        next_action:
          signal === 'BLOCKED_NEED_HUMAN'
            ? `Waiting for a person: ${blockers[0]}`
            : signal === 'TASK_COMPLETE'
              ? 'None: the plan is complete'
              : (describeNext(next) ?? null),
        blockers,
        updated: isoSecond(now()),
        // This run's model spend since the last write, added to the plan's total (what cost caps count).
        ...(ledger && ledger.unrecordedUsd > 0 ? { spent_usd: ledger.totalWith(current.meta.state?.spent_usd ?? 0) } : {}),
      });
      // The same write clears the in-flight record.
      return deleteFrontMatterKey(edited, ['state', IN_FLIGHT]);
    },
    IN_PLACE,
  );
  ledger?.recordedInPlan(updated.meta.state?.spent_usd ?? 0);
  decision.signal = signal;
  decision.blockers = blockers;
  report.rows.push({ number: rowNumber, action: outcome.action, result: outcome.result, signal, notes });
  report.signal = signal;
  report.blockers = blockers;
  emit({ type: 'row', number: rowNumber, action: outcome.action, result: outcome.result, signal, notes });
  run.plan = updated;
}

/**
 * The plan `edited` holds, as far as the next action goes: `current` with the row appended, the phases' new statuses
 * and the plan's status, which is what the edits changed that nextAction reads. Parsing `edited` instead would copy
 * and read the whole file again, a long log and all (~3 ms at 10,000 rows). The row is the one the log reader will
 * read back (update.ts appendedRow); a log without lines (a table without a delimiter row, where the appended line
 * would be no row) is parsed instead.
 */
function planAfter(current: Plan, edited: string, change: { row: NewLogRow; phaseStatus: Map<string, string> | null; status: PlanStatus | null }): Plan {
  const log = current.log;
  // A log read from a table with a delimiter row has lines; the row is then read back as the row after the last.
  const lines = log?.lines;
  if (!log || log.header === null || !lines) return parsePlan(edited);
  const { phaseStatus, status } = change;
  const added = appendedRow(log, change.row);
  const count = lines.count;
  const after: IterationLog = {
    headingLine: log.headingLine,
    header: log.header,
    headerLine: log.headerLine,
    insertOffset: null,
    // Read when asked for (nextAction reads the lines): the rows read, then the new one.
    get rows() {
      const rows = [...log.rows, added.row];
      Object.defineProperty(this, 'rows', { value: rows, writable: true, enumerable: true });
      return rows;
    },
    get problems() {
      return log.problems;
    },
  };
  const afterLines: LogLines = {
    count: count + 1,
    row: (index) => (index === count ? added.row : lines.row(index)),
    containing: (needle) => (added.line.includes(needle) ? [...lines.containing(needle), count] : lines.containing(needle)),
  };
  Object.defineProperty(after, 'lines', { value: afterLines, enumerable: false });
  return {
    ...current,
    meta: status === null ? current.meta : { ...current.meta, status },
    phases: current.phases.map((phase) => (phaseStatus?.has(phase.id) ? { ...phase, status: phaseStatus.get(phase.id)! } : phase)),
    log: after,
  };
}

/** --commit: the plan and the files the action changed, in one git commit. */
export async function commitToGit(run: IterationRun, outcome: ActionOutcome): Promise<void> {
  const { report, emit, planPath } = run;
  const root = run.options.root;
  const row = report.rows[report.rows.length - 1];
  if (!row) return;
  const files = [relative(root, planPath), ...outcome.changed];
  const message = `deepplan: ${actionLabel(outcome.action)} ${row.result}, iteration ${row.number}`;
  try {
    await execFileAsync('git', ['add', '--all', '--', ...files], { cwd: root });
    await execFileAsync('git', ['commit', '--quiet', '--no-verify', '-m', message, '--', ...files], { cwd: root });
  } catch (error) {
    emit({
      type: 'notice',
      message: `--commit: git could not commit (${
        String((error as { stderr?: string }).stderr ?? (error as Error).message)
          .trim()
          .split('\n')[0]
      })`,
    });
  }
}
