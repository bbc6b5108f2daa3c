import { SAME_ACTION_FAILURES } from '../rules/escape-hatch.js';
import { actionOfStep, completesStep, gateVerdictOf, isRetryApproval, parseAction, sameAction, skillOfAction } from '../plan/log-grammar.js';
import { logLines, logNeedle } from '../plan/log-table.js';
import type { LogLines, LogRow, Phase, Plan, Step } from '../plan/types.js';

/**
 * What the iteration log says happened. The log is the executor's only memory: which steps are done, how often an
 * action failed, how long the plan has gone without progress and which skills each phase invoked are all read here.
 */

// The markers a row's Notes carry are the log grammar's (plan/log-grammar.ts); they are re-exported for the engine.
export { APPROVE_ACCEPT, APPROVE_RETRY, approvalNotes, approverOf, GATE_REVISE, STEP_DONE } from '../plan/log-grammar.js';

/**
 * A person's name for an approval row, white space folded: one line of at most 80 characters with no colon (the
 * colon ends the name in the row's Notes) and no control characters. Returns the reason instead when it is not one.
 */
export function approverName(raw: string): { name: string } | { problem: string } {
  const name = raw.replace(/\s+/g, ' ').trim();
  if (name === '') return { problem: "the approver's name is empty" };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return { problem: "the approver's name holds a control character" };
  if (name.includes(':')) return { problem: `the approver's name may not hold a colon: ${name}` };
  if (name.length > 80) return { problem: "the approver's name is longer than 80 characters" };
  return { name };
}

export type { ActionReference as RowReference } from '../plan/log-grammar.js';

/** A log row's time: ISO 8601 UTC to the second. */
export function isoSecond(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/** The When of a row appended now: never earlier than the row above (a clock set back must not reorder the log). */
export function rowTime(plan: Pick<Plan, 'log'>, now: Date): string {
  const lines = logLines(plan.log);
  const last = lines.count > 0 ? lines.row(lines.count - 1) : undefined;
  const when = isoSecond(now);
  return last && /Z$/.test(last.when) && Date.parse(last.when) > Date.parse(when) ? last.when : when;
}

/**
 * Rows read from a plan are shared by every later read of its log and frozen (plan/log-table.ts): their references are
 * parsed once, not on every scan of a long log (two full scans an iteration at 10,000 rows cost ~3 ms).
 */
const references = new WeakMap<object, ReturnType<typeof parseAction>>();

export function referenceOf(row: Pick<LogRow, 'action'>) {
  if (!Object.isFrozen(row)) return parseAction(row.action);
  let reference = references.get(row);
  if (reference === undefined) {
    reference = parseAction(row.action);
    references.set(row, reference);
  }
  return reference;
}

/** A row whose action was done (`ok`: something changed; `no-change`: nothing did). */
export const succeeded = (row: Pick<LogRow, 'result'>) => row.result === 'ok' || row.result === 'no-change';

export function isApproval(row: LogRow, phase?: string): boolean {
  // An approval's Action is `P3 approve`: a row without the word is none, and is not looked up (a long log's every
  // row is tested several times an iteration).
  if (!row.action.includes('approve')) return false;
  const reference = referenceOf(row);
  return reference?.kind === 'approve' && (phase === undefined || reference.phase === phase);
}

/** An approval that accepts the phase as done (not one that only asks for another try). */
export function acceptsPhase(row: LogRow): boolean {
  return isApproval(row) && !isRetryApproval(row);
}

/** Index of the last row of the log that is an approval (of any phase), or -1. */
export function lastApprovalIndex(rows: LogRow[], phase?: string): number {
  for (let i = rows.length - 1; i >= 0; i--) if (isApproval(rows[i]!, phase)) return i;
  return -1;
}

/** How many rows the plan's log has (without reading them). */
export function rowCount(plan: Pick<Plan, 'log'>): number {
  return logLines(plan.log).count;
}

/**
 * The rows of a phase an iteration reads, in log order: every row of the phase and every row whose Action names it
 * (its approvals, its gates), and maybe a few others (a row whose Notes name it); `indices` are their places in the
 * log. A long log is mostly other phases' rows, and those are never read (LogLines.containing finds these by text).
 * The scans of history.ts over these give what they give over the whole log: each of them tests a row's Phase or
 * the phase its Action names.
 */
export function phaseRows(lines: LogLines, phaseId: string): { rows: LogRow[]; indices: number[] } {
  const indices = lines.containing(logNeedle(phaseId));
  return { rows: indices.map((index) => lines.row(index)), indices };
}

/** The last row of the log that passes `test` and whose Action is `action` (a cell holding it, found by its text). */
export function lastRowWithAction(lines: LogLines, action: string, test: (row: LogRow) => boolean): LogRow | null {
  const indices = lines.containing(logNeedle(action));
  for (let k = indices.length - 1; k >= 0; k--) {
    const row = lines.row(indices[k]!);
    if (test(row)) return row;
  }
  return null;
}

/** failuresOf over a log's lines: the rows of exactly this action are found by its text, the phase's approvals by the phase's. */
export function failuresIn(lines: LogLines, action: string, phaseId: string): number {
  const own = phaseRows(lines, phaseId);
  const approval = lastApprovalIndex(own.rows, phaseId);
  const since = approval === -1 ? 0 : own.indices[approval]! + 1;
  let count = 0;
  for (const index of lines.containing(logNeedle(action.trim()))) {
    const row = lines.row(index);
    if (index >= since && sameAction(row.action, action) && row.result === 'failed') count++;
  }
  return count;
}

/** rowsWithoutProgress over a log's lines, reading rows from the end only as far as the run of them goes. */
export function linesWithoutProgress(lines: LogLines): number {
  let count = 0;
  for (let i = lines.count - 1; i >= 0; i--) {
    const result = lines.row(i).result;
    if (result !== 'failed' && result !== 'no-change') break;
    count++;
  }
  return count;
}

/** Rows of one phase. */
export function rowsOf(rows: LogRow[], phaseId: string): LogRow[] {
  return rows.filter((row) => row.phase === phaseId);
}

/** Index in `rows` of the last gate row of `phaseId` that asked for changes, or -1. */
function lastReviseIndex(rows: LogRow[], phaseId: string): number {
  for (let i = rows.length - 1; i >= 0; i--) {
    const row = rows[i]!;
    if (row.phase === phaseId && gateVerdictOf(row) === 'REVISE' && referenceOf(row)?.kind === 'gate') return i;
  }
  return -1;
}

/**
 * The steps of a phase the log shows as completed. A gate that asked for changes reopens the phase's last step that
 * a model carries out, so the next iterations revise the outputs.
 */
/** Whether a model (or an agent) carries a step out; a `run:` step or a tool skill is a command and cannot adapt. */
export type ModelStepTest = (step: Step) => boolean;
/** Without the installed skills at hand: every step but a `run:` step (a skill step might be a model's). */
export const byKind: ModelStepTest = (step) => step.kind !== 'run';

export function completedSteps(phase: Phase, rows: LogRow[], isModelStep: ModelStepTest = byKind): Set<number> {
  const done = new Set<number>();
  const revise = lastReviseIndex(rows, phase.id);
  const reopened = revise === -1 ? null : ([...phase.steps].reverse().find(isModelStep)?.index ?? null);
  rows.forEach((row, index) => {
    if (row.phase !== phase.id || !succeeded(row) || !completesStep(row)) return;
    const reference = referenceOf(row);
    if (reference?.kind !== 'step' || reference.step === null) return;
    if (reference.step === reopened && index < revise) return;
    done.add(reference.step);
  });
  return done;
}

/** Failures of exactly this action since the phase was last approved (an approval is a person stepping in). */
export function failuresOf(action: string, phaseId: string, rows: LogRow[]): number {
  const since = lastApprovalIndex(rows, phaseId) + 1;
  let count = 0;
  for (let i = since; i < rows.length; i++) if (sameAction(rows[i]!.action, action) && rows[i]!.result === 'failed') count++;
  return count;
}

/**
 * What the log says about one step for the executor's prompt: its failures (`action: notes`) and the actions it may
 * not propose again because they failed SAME_ACTION_FAILURES times since the phase was last approved.
 */
export function stepFailures(phase: Pick<Phase, 'id'>, step: Pick<Step, 'index'>, rows: LogRow[]): { failures: string[]; refused: string[] } {
  const failed = rows.filter((row) => row.phase === phase.id && row.result === 'failed' && actionOfStep(row.action, phase.id, step.index));
  return {
    failures: failed.map((row) => `${row.action}: ${row.notes}`),
    refused: [...new Set(failed.map((row) => row.action))].filter((action) => failuresOf(action, phase.id, rows) >= SAME_ACTION_FAILURES),
  };
}

/** Rows at the end of the log that made no progress (`failed`, `no-change`), as the escape-hatch rule counts them. */
export function rowsWithoutProgress(rows: LogRow[]): number {
  let count = 0;
  for (let i = rows.length - 1; i >= 0; i--) {
    const result = rows[i]!.result;
    if (result !== 'failed' && result !== 'no-change') break;
    count++;
  }
  return count;
}

/** Review rounds a phase's quality gate has had since the phase was last approved. */
export function gateRounds(phaseId: string, rows: LogRow[]): { rounds: number; lastVerdict: 'APPROVED' | 'REVISE' | null } {
  const since = lastApprovalIndex(rows, phaseId) + 1;
  let rounds = 0;
  let lastVerdict: 'APPROVED' | 'REVISE' | null = null;
  for (let i = since; i < rows.length; i++) {
    const row = rows[i]!;
    if (row.phase !== phaseId || row.result === 'failed') continue;
    const verdict = gateVerdictOf(row);
    if (verdict === null || referenceOf(row)?.kind !== 'gate') continue;
    rounds++;
    lastVerdict = verdict;
  }
  return { rounds, lastVerdict };
}

/**
 * Each skill a phase's rows invoked successfully, with its first invoking row: rows of a skill step of that skill
 * (`P6.1 /generate-outreach-email ...`, the engine writes the skill right after the step reference). A `/name`
 * anywhere else in an Action (a model's command or search pattern) is not an invocation.
 */
export function skillInvocations(phase: Pick<Phase, 'id' | 'steps'>, rows: LogRow[]): Map<string, LogRow> {
  const invocations = new Map<string, LogRow>();
  for (const row of rows) {
    if (row.phase !== phase.id || !succeeded(row)) continue;
    const invoked = skillOfAction(row.action);
    if (!invoked) continue;
    const step = phase.steps.find((candidate) => candidate.index === invoked.step);
    if (step?.kind === 'skill' && step.skill === invoked.skill && !invocations.has(invoked.skill)) invocations.set(invoked.skill, row);
  }
  return invocations;
}

export function invokedSkills(phase: Pick<Phase, 'id' | 'steps'>, rows: LogRow[]): Set<string> {
  return new Set(skillInvocations(phase, rows).keys());
}

/** Skills the audit maps to a phase. */
export function mappedSkills(plan: Plan, phaseId: string): string[] {
  return (plan.skills?.mapped ?? []).filter((skill) => skill.phases.includes(phaseId)).map((skill) => skill.name);
}
