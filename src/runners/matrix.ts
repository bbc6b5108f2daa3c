import { isoSecond } from '../execute/history.js';
import { runLoop } from '../execute/loop.js';
import { currentPhase, describeNext, nextAction } from '../execute/next.js';
import { parsePlan } from '../plan/parse.js';
import { readPlanFile, updatePlanFile } from '../plan/store.js';
import type { LogResult, LogRow, Phase, Plan, Signal } from '../plan/types.js';
import { appendLearning, appendLogRow, setPhaseStatus, setPlanStatus, setState, tickCriterion } from '../plan/update.js';
import { runOneIteration, type PlanRunRequest } from './runner.js';

/**
 * The GitHub Actions matrix (docs/scale-out.md): the ready phases of a plan run as parallel jobs, each in its own
 * checkout; each job writes a row record (the rows its phase's iterations appended, and what they changed in the
 * plan); one job then merges the records into the plan in one locked, revision-checked write.
 *
 * The engine runs the first ready phase in document order, and has no per-phase run yet. A job therefore focuses its
 * own copy of the plan on its phase: every other open phase is made to depend on it there. That edit stays in the
 * job's copy; only the record travels. (docs/scale-out.md names the engine change that would make it unneeded.)
 */

export const RECORD_VERSION = 1;

export interface RecordedRow {
  when: string;
  phase: string;
  action: string;
  result: LogResult;
  signal: Signal;
  notes: string;
}

/** One matrix job's result: the file the merge reads. */
export interface RowRecord {
  version: typeof RECORD_VERSION;
  plan: string;
  planId: string | null;
  phase: string;
  /** The log the job started from: its row count and last row's time. */
  base: { rows: number; lastWhen: string | null };
  rows: RecordedRow[];
  /** The phase's Status when the job stopped. */
  status: 'done' | 'blocked' | 'active' | 'pending';
  blockers: string[];
  learnings: string[];
  /** Success criteria the job's last iteration verified (only when its phase was the last open one). */
  ticks: string[];
  /** Files the phase's actions changed (repository-relative): the job uploads them, the merge checks no overlap. */
  changed: string[];
  /** Model spend of the job's iterations, added to the plan's state.spent_usd. */
  spentUsd: number;
}

/** Why a phase cannot run as a matrix job now, or null when it can. */
function notReady(plan: Plan, phase: Phase, done: Set<string>): string | null {
  if (phase.status === 'done') return 'it is done';
  if (phase.status === 'blocked') return 'it is blocked';
  const waiting = phase.dependsOn.filter((id) => !done.has(id));
  return waiting.length > 0 ? `it waits for ${waiting.join(', ')}` : null;
}

export interface ReadyPhases {
  phase: string[];
  count: number;
  /** Every phase is done but the plan is not complete: one serial run verifies the success criteria. */
  finish: boolean;
  /** Why nothing can run (a person must act first), or null. */
  blocked: string | null;
}

/** The phases whose dependencies are all done and that are not done or blocked: what the matrix fans out. */
export function readyPhases(plan: Plan): ReadyPhases {
  const blockers = plan.meta.state?.blockers ?? [];
  const open = plan.phases.filter((phase) => phase.status !== 'done');
  if (plan.meta.status === 'complete') return { phase: [], count: 0, finish: false, blocked: null };
  if (blockers.length > 0) return { phase: [], count: 0, finish: false, blocked: blockers[0]! };
  const done = new Set(plan.phases.filter((phase) => phase.status === 'done').map((phase) => phase.id));
  const phases = open.filter((phase) => notReady(plan, phase, done) === null).map((phase) => phase.id);
  return { phase: phases, count: phases.length, finish: open.length === 0, blocked: null };
}

/** Adds `on` to a phase's `Depends on` (replacing `none`), in the text; the phase must have a field list. */
function addDependency(text: string, phaseId: string, on: string): string {
  const bom = text.startsWith('\uFEFF') ? '\uFEFF' : '';
  const plan = parsePlan(text.slice(bom.length));
  const phase = plan.phases.find((candidate) => candidate.id === phaseId);
  if (!phase || phase.dependsOn.includes(on)) return text;
  const body = plan.text;
  const field = phase.fields.get('depends on');
  if (field) {
    const value = body.slice(field.valueStart, field.valueEnd).trim();
    const next = value === '' || /^none$/i.test(value) ? on : `${value}, ${on}`;
    return bom + body.slice(0, field.valueStart) + next + body.slice(field.valueEnd);
  }
  if (!phase.fieldInsert) throw new Error(`phase ${phaseId} has no field list`);
  const { offset, prefix } = phase.fieldInsert;
  const before = offset > 0 && body[offset - 1] !== '\n' ? plan.eol : '';
  return `${bom}${body.slice(0, offset)}${before}${prefix}Depends on: ${on}${plan.eol}${body.slice(offset)}`;
}

export interface PhaseRunOptions {
  request: PlanRunRequest;
  phase: string;
}

/**
 * Runs one ready phase's iterations in this copy of the repository until the phase is done or blocked, and returns
 * its row record. The plan file of this copy is changed (the focus, the rows); the record is what is merged.
 */
export async function runPhase({ request, phase: phaseId }: PhaseRunOptions, planPath: string): Promise<RowRecord> {
  const before = await readPlanFile(planPath);
  const ready = readyPhases(before);
  if (!ready.phase.includes(phaseId)) {
    const phase = before.phases.find((candidate) => candidate.id === phaseId);
    const done = new Set(before.phases.filter((candidate) => candidate.status === 'done').map((candidate) => candidate.id));
    const why = !phase ? 'the plan has no such phase' : (ready.blocked ?? notReady(before, phase, done) ?? 'the plan is complete');
    throw new MatrixError(`${phaseId} cannot run now: ${why}`);
  }
  await focusPlan(planPath, before, phaseId);
  const baseRows = before.log?.rows.length ?? 0;
  const changed = new Set<string>();
  const limit = before.meta.budget?.max_iterations ?? 0;
  await runLoop({
    limit,
    // The job runs its own phase only: it stops once that phase is done, blocked, or no longer the current one.
    before: async () => (phaseStops(await readPlanFile(planPath), phaseId) ? true : null),
    iterate: async () => {
      const summary = await runOneIteration(request);
      for (const file of summary.changed) changed.add(file);
      return summary;
    },
  });
  const after = await readPlanFile(planPath);
  return recordOf({
    plan: request.plan,
    before,
    after,
    phase: phaseId,
    rows: (after.log?.rows ?? []).slice(baseRows),
    changed: [...changed].sort(),
    spentUsd: Math.max(0, (after.meta.state?.spent_usd ?? 0) - (before.meta.state?.spent_usd ?? 0)),
  });
}

/** Makes every other open phase of this copy of the plan depend on `phaseId`, so the engine runs that phase next. */
export async function focusPlan(planPath: string, plan: Plan, phaseId: string): Promise<void> {
  const others = plan.phases.filter((phase) => phase.id !== phaseId && phase.status !== 'done').map((phase) => phase.id);
  await updatePlanFile(planPath, (text) => others.reduce((edited, id) => addDependency(edited, id, phaseId), text));
}

/** Whether a copy focused on `phaseId` should stop: the phase is done, the copy is blocked, or it moved on. */
export function phaseStops(plan: Plan, phaseId: string): boolean {
  const phase = plan.phases.find((candidate) => candidate.id === phaseId);
  return !phase || phase.status === 'done' || (plan.meta.state?.blockers ?? []).length > 0 || currentPhase(plan)?.id !== phaseId;
}

export interface RecordParts {
  plan: string;
  /** The plan the record is merged into (its log is the record's base) and the copy that ran the phase. */
  before: Plan;
  after: Plan;
  phase: string;
  /** The copy's rows to carry over. */
  rows: LogRow[];
  changed: string[];
  spentUsd: number;
}

/** A row record of `rows` that a copy of the plan (`after`) wrote for one phase, to merge into `before`. */
export function recordOf(parts: RecordParts): RowRecord {
  const { before, after } = parts;
  const phase = after.phases.find((candidate) => candidate.id === parts.phase);
  const known = new Set((before.learnings ?? []).map((entry) => entry.text));
  return {
    version: RECORD_VERSION,
    plan: parts.plan,
    planId: before.meta.id ?? null,
    phase: parts.phase,
    base: { rows: before.log?.rows.length ?? 0, lastWhen: before.log?.rows.at(-1)?.when ?? null },
    rows: parts.rows.map((row) => ({
      when: row.when,
      phase: row.phase,
      action: row.action,
      result: row.result as LogResult,
      signal: row.signal as Signal,
      notes: row.notes,
    })),
    status: (phase?.status ?? 'pending') as RowRecord['status'],
    blockers: after.meta.state?.blockers ?? [],
    learnings: (after.learnings ?? []).map((entry) => entry.text).filter((text) => !known.has(text)),
    ticks: (after.criteria ?? []).filter((criterion) => criterion.checked === true && criterion.id !== null).map((criterion) => criterion.id!),
    changed: parts.changed,
    spentUsd: parts.spentUsd,
  };
}

/** A record that does not fit the plan: one line, nothing written. */
export class MatrixError extends Error {
  override name = 'MatrixError';
}

/** Checks a parsed record's shape; the merge trusts nothing else about it. */
export function checkRecord(value: unknown, source: string): RowRecord {
  const record = value as Partial<RowRecord> | null;
  const rowOk = (row: unknown) => {
    const candidate = row as Partial<RecordedRow> | null;
    return (
      candidate !== null &&
      typeof candidate === 'object' &&
      ['when', 'phase', 'action', 'notes'].every((key) => typeof (candidate as Record<string, unknown>)[key] === 'string') &&
      ['ok', 'no-change', 'failed', 'blocked'].includes(String(candidate.result)) &&
      ['CONTINUE', 'TASK_COMPLETE', 'BLOCKED_NEED_HUMAN'].includes(String(candidate.signal))
    );
  };
  if (
    record === null ||
    typeof record !== 'object' ||
    record.version !== RECORD_VERSION ||
    typeof record.phase !== 'string' ||
    !/^P\d+[a-z]?$/.test(record.phase) ||
    typeof record.base?.rows !== 'number' ||
    !Array.isArray(record.rows) ||
    !record.rows.every(rowOk) ||
    !['done', 'blocked', 'active', 'pending'].includes(String(record.status)) ||
    !Array.isArray(record.blockers) ||
    !Array.isArray(record.learnings) ||
    !Array.isArray(record.ticks) ||
    !Array.isArray(record.changed) ||
    typeof record.spentUsd !== 'number'
  ) {
    throw new MatrixError(`${source} is not a deepplan row record (version ${RECORD_VERSION})`);
  }
  return record as RowRecord;
}

/**
 * Whether the plan's log already holds the record's rows (a merge job run again): then the record is skipped. Known by
 * its first row's phase, action and time; times have one-second resolution, so the same step run elsewhere in the
 * same second with the same action reads as merged (its outputs are then the plan's own, and the record is dropped).
 */
function alreadyMerged(plan: Plan, record: RowRecord): boolean {
  const first = record.rows[0];
  if (!first) return true;
  return (plan.log?.rows ?? []).slice(record.base.rows).some((row) => row.phase === first.phase && row.action === first.action && row.when === first.when);
}

export interface MergeResult {
  merged: string[];
  skipped: string[];
  rows: number;
  plan: Plan;
}

/**
 * Applies row records to the plan in one write under the plan's locks: every record's rows appended in time order
 * (renumbered after the plan's last row), each phase's status, learnings, ticks and spend, then the plan's state.
 * Refused as a whole, nothing written, when a record is for another plan, two records are for one phase or
 * changed one file, or a record's phase already has rows after the record's base (it ran elsewhere meanwhile).
 */
export async function mergeRecords(
  planPath: string,
  records: RowRecord[],
  now: () => Date = () => new Date(),
  options: { pending?: string[] } = {},
): Promise<MergeResult> {
  const read = await readPlanFile(planPath);
  const fresh: RowRecord[] = [];
  const skipped: string[] = [];
  const owners = new Map<string, string>();
  for (const record of records) {
    if (record.planId !== (read.meta.id ?? null)) throw new MatrixError(`the record of ${record.phase} is for plan ${record.planId}, not ${read.meta.id}`);
    if (fresh.some((other) => other.phase === record.phase)) throw new MatrixError(`two records for ${record.phase}`);
    if (alreadyMerged(read, record)) {
      skipped.push(record.phase);
      continue;
    }
    const phase = read.phases.find((candidate) => candidate.id === record.phase);
    if (!phase) throw new MatrixError(`the plan has no phase ${record.phase}`);
    if (phase.status === 'done') throw new MatrixError(`${record.phase} is done in the plan already`);
    const rows = read.log?.rows ?? [];
    if (record.base.rows > rows.length)
      throw new MatrixError(`the record of ${record.phase} starts after row ${record.base.rows}; the plan has ${rows.length} rows`);
    const since = rows.slice(record.base.rows).find((row) => row.phase === record.phase);
    if (since) throw new MatrixError(`${record.phase} ran elsewhere after the record's job started (row ${since.number}); run the phase again`);
    for (const file of record.changed) {
      const owner = owners.get(file);
      if (owner) throw new MatrixError(`${file} was written by both ${owner} and ${record.phase}; no output is overwritten: run one of them again`);
      owners.set(file, record.phase);
    }
    fresh.push(record);
  }
  // Rows in time order; the order of records breaks ties.
  const rows = fresh
    .flatMap((record, order) => record.rows.map((row, index) => ({ row, order, index })))
    .sort((a, b) => Date.parse(a.row.when) - Date.parse(b.row.when) || a.order - b.order || a.index - b.index);
  if (rows.length === 0 && fresh.length === 0) return { merged: [], skipped, rows: 0, plan: read };
  const plan = await updatePlanFile(
    planPath,
    (text, current) => {
      let edited = text;
      let last = current.log?.rows.at(-1)?.when ?? null;
      for (const { row } of rows) {
        // Never earlier than the row above (the log's rule): a clock behind the plan's gives the row above's time.
        const when = last && Date.parse(last) > Date.parse(row.when) ? last : row.when;
        edited = appendLogRow(edited, { ...row, when });
        last = when;
      }
      // Phases shown as pending while they run elsewhere (runners/waves.ts: one active phase at most).
      for (const id of options.pending ?? []) edited = setPhaseStatus(edited, id, 'pending');
      for (const record of fresh) {
        edited = setPhaseStatus(edited, record.phase, record.status);
        for (const learning of record.learnings) edited = appendLearning(edited, learning);
        for (const id of record.ticks) edited = tickCriterion(edited, id, true);
      }
      const after = parsePlan(edited);
      // Blockers already in the plan stay (a phase merged earlier in the same run waits for a person).
      const blockers = [...new Set([...(current.meta.state?.blockers ?? []), ...fresh.flatMap((record) => record.blockers)])];
      const complete = blockers.length === 0 && after.phases.every((phase) => phase.status === 'done') && rows.at(-1)?.row.signal === 'TASK_COMPLETE';
      const status = complete ? 'complete' : blockers.length > 0 ? 'blocked' : 'executing';
      if (current.meta.status !== status) edited = setPlanStatus(edited, status);
      const next = nextAction(parsePlan(edited));
      const spent = fresh.reduce((sum, record) => sum + record.spentUsd, 0);
      // A plan that waits for a person stands at the phase that waits (deepplan approve names it): the one it stood at,
      // else the first record's that blocked; never a phase that is done.
      const open = (id: string | null | undefined) => id && after.phases.some((phase) => phase.id === id && phase.status !== 'done');
      const waiting =
        blockers.length === 0
          ? undefined
          : [
              (current.meta.state?.blockers ?? []).length > 0 ? current.meta.state?.phase : null,
              ...fresh.filter((record) => record.blockers.length > 0).map((record) => record.phase),
            ].find(open);
      return setState(edited, {
        phase: complete ? null : (waiting ?? currentPhase(after)?.id ?? null),
        iteration: after.log?.rows.length ?? 0,
        blockers,
        next_action: complete ? 'None: the plan is complete' : blockers.length > 0 ? `Waiting for a person: ${blockers[0]}` : (describeNext(next) ?? null),
        updated: isoSecond(now()),
        ...(spent > 0 ? { spent_usd: (current.meta.state?.spent_usd ?? 0) + spent } : {}),
      });
    },
    // The merged rows were written in other copies, a write each: the revision counts them (revision >= iteration).
    { expectedRevision: read.meta.state?.revision ?? 0, revisionAtLeast: (read.log?.rows.length ?? 0) + rows.length },
  );
  return { merged: fresh.map((record) => record.phase), skipped, rows: rows.length, plan };
}
