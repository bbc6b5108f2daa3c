import type { LogRow } from './types.js';

/**
 * The grammar of an iteration-log row: the one module that writes and reads the markers a row's Action and Notes
 * (and the state's blockers and in-flight record) carry. Everything else asks this module what a row means instead
 * of matching its prose, so a rewording happens here once and plans written by earlier versions still read (the
 * readers accept every wording the engine ever wrote). docs/plan-format.md "The log grammar" lists the markers.
 *
 * It lives in plan/ because the rules (iteration-log, escape-hatch) read rows too, and rules may only depend on plan/.
 */

// ---------------------------------------------------------------------------------------------------------------
// Action: `P3.2 run node x.mjs`, `P3.2 /skill args`, `P3 approve`, `P3 gate review|check|criteria`, `P3 gate`

/** `P3.2 run ...`, `P4a.1 ...`, `P1 approve`, `P6 gate`. */
export const ACTION_REFERENCE = /^(P\d+[a-z]?)(?:\.(\d+)|\s+(approve|gate)\b)/;
const GATE_KIND = /^P\d+[a-z]?\s+gate\s+(review|check|criteria)\b/;
const STEP_SKILL = /^P\d+[a-z]?\.(\d+) \/([a-z0-9][a-z0-9-]*)(?:\s|$)/;

export type ActionKind = 'step' | 'approve' | 'gate';
/** What a gate row did: the reviewer's quality gate, a phase's check again, or the plan's success criteria. */
export type GateKind = 'review' | 'check' | 'criteria';

export interface ActionReference {
  /** The reference as written: `P3.2`, `P3 approve`, `P3 gate`. */
  text: string;
  phase: string;
  /** The step number of `P3.2 ...`; null for `P3 approve` and `P3 gate`. */
  step: number | null;
  kind: ActionKind;
  /** The gate row's kind; null for other rows and for a bare `P3 gate` (a gate's pre-flight blocker). */
  gate: GateKind | null;
}

/** What an Action says it is; null for an Action that starts with no step reference. */
export function parseAction(action: string): ActionReference | null {
  const match = ACTION_REFERENCE.exec(action);
  if (!match) return null;
  const text = match[0];
  if (match[2] !== undefined) return { text, phase: match[1]!, step: Number(match[2]), kind: 'step', gate: null };
  if (match[3] === 'approve') return { text, phase: match[1]!, step: null, kind: 'approve', gate: null };
  return { text, phase: match[1]!, step: null, kind: 'gate', gate: (GATE_KIND.exec(action)?.[1] as GateKind | undefined) ?? null };
}

/** The Action's first word (`P3.2`, `P3`): how messages name the action in short. */
export function actionLabel(action: string): string {
  return action.split(' ')[0]!;
}

/** `P3.2 <rest>`: the Action of a step; `rest` is the verb and its target (`run node x.mjs`, `/skill args`). */
export function stepActionText(phaseId: string, step: number, rest: string): string {
  return `${phaseId}.${step} ${rest}`;
}

/** `P3 gate review`; with no kind, `P3 gate` (the Action a gate's pre-flight blocker is logged under). */
export function gateActionText(phaseId: string, kind: GateKind | null): string {
  return kind ? `${phaseId} gate ${kind}` : `${phaseId} gate`;
}

/** `P3 approve`: a person's approval of the phase. */
export function approveActionText(phaseId: string): string {
  return `${phaseId} approve`;
}

/** Whether the Action belongs to the phase (`P3.2 ...`, `P3 gate ...`), by its text alone. */
export function actionNamesPhase(action: string, phaseId: string): boolean {
  return action.startsWith(`${phaseId}.`) || action.startsWith(`${phaseId} `);
}

/** Whether the Action is one of step `index` of the phase (`P3.2 ...`). */
export function actionOfStep(action: string, phaseId: string, index: number): boolean {
  return action.startsWith(`${phaseId}.${index} `);
}

/** Two rows with the same Action are the same action (the escape hatches count them). */
export function sameAction(a: string, b: string): boolean {
  return a.trim() === b.trim();
}

/**
 * The skill a step row invoked: the engine writes the skill right after the step reference (`P6.1 /write-email ...`).
 * A `/name` anywhere else in an Action (a model's command or search pattern) is not an invocation.
 */
export function skillOfAction(action: string): { step: number; skill: string } | null {
  const match = STEP_SKILL.exec(action);
  return match ? { step: Number(match[1]), skill: match[2]! } : null;
}

/** A row of a phase's check or of the success criteria: the rows a gate check (not a step or review) wrote. */
export function isCheckRow(row: Pick<LogRow, 'action'>): boolean {
  const gate = parseAction(row.action)?.gate;
  return gate === 'check' || gate === 'criteria';
}

/** A row that verified the success criteria after the last phase; it finishes no phase. */
export function isCriteriaRow(row: Pick<LogRow, 'action'>): boolean {
  return parseAction(row.action)?.gate === 'criteria';
}

/** A quality gate's review row. */
export function isReviewRow(row: Pick<LogRow, 'action'>): boolean {
  return parseAction(row.action)?.gate === 'review';
}

// ---------------------------------------------------------------------------------------------------------------
// Notes: `step done; ...`, `APPROVED round 2 by ...`, `REVISE round 1: ...`, `approved by Dana: ...`, ...

/** Notes of a row that completed its step start with this. */
export const STEP_DONE = 'step done';
/** Notes of a gate row whose reviewer asked for changes start with this. */
export const GATE_REVISE = 'REVISE';
/** Notes of a gate row whose reviewer approved the outputs start with this. */
export const GATE_APPROVED = 'APPROVED';
/** Notes of an approval that lets the engine try the phase again instead of accepting it. */
export const APPROVE_RETRY = 'retry';
/** Notes of an approval that accepts the phase. */
export const APPROVE_ACCEPT = 'approved';
/** The check note (and blocker marker) of a phase whose human gate waits for a person. */
export const GATE_WAITING = 'gate: waiting for approval';

/**
 * A row's Notes, the one place they are composed: `step done` first when the action completed its step (never on a
 * gate row), then the action's own notes, then what the engine checked after it, `; ` between.
 */
export function rowNotes(parts: { action: string; stepDone: boolean; notes: string; checks: string[] }): string {
  const own = parts.stepDone && parseAction(parts.action)?.kind !== 'gate' ? `${STEP_DONE}; ${parts.notes}` : parts.notes;
  return [own, ...parts.checks].filter((part) => part !== '').join('; ');
}

/** The Notes of a row projected before it is written, which only need to say whether the step is done. */
export function projectedNotes(stepDone: boolean): string {
  return stepDone ? STEP_DONE : '';
}

/** Whether a row's Notes say it completed its step. */
export function completesStep(row: Pick<LogRow, 'notes'>): boolean {
  return row.notes.startsWith(STEP_DONE);
}

/** The Notes of a quality gate's review: `APPROVED round 2 by openai/gpt-5.4`, `REVISE round 1: finding; finding`. */
export function gateReviewNotes(review: { verdict: 'APPROVED' | 'REVISE'; round: number; model: string | null; findings: string[] }): string {
  const notes =
    review.verdict === 'APPROVED'
      ? `${GATE_APPROVED} round ${review.round}${review.model ? ` by ${review.model}` : ''}`
      : `${GATE_REVISE} round ${review.round}: ${review.findings.join('; ')}`;
  return notes.slice(0, 400);
}

/** The verdict a gate row's Notes carry, or null when they carry none. */
export function gateVerdictOf(row: Pick<LogRow, 'notes'>): 'APPROVED' | 'REVISE' | null {
  if (row.notes.startsWith(GATE_APPROVED)) return 'APPROVED';
  if (row.notes.startsWith(GATE_REVISE)) return 'REVISE';
  return null;
}

/**
 * The Notes of a `P<n> approve` row, the one place they are written: `approved by Dana Ruiz: the page reads well`
 * (`retry by ...` for another try). Without a name (an engine caller that gives none): `approved: <note>`.
 */
export function approvalNotes(options: { retry?: boolean; by?: string | null; note?: string }): string {
  const word = options.retry ? APPROVE_RETRY : APPROVE_ACCEPT;
  const note = options.note?.replace(/\s+/g, ' ').trim() ?? '';
  return `${word}${options.by ? ` by ${options.by}` : ''}${note ? `: ${note}` : ''}`;
}

/**
 * Who approved, as an approval row's Notes name them (approvalNotes); null for a row that names no one (rows written
 * before approvals named a person, or `approved: ...`). A name holds no colon (approverName refuses one), so the
 * first colon ends it.
 */
export function approverOf(row: Pick<LogRow, 'notes'>): string | null {
  const match = new RegExp(`^(?:${APPROVE_ACCEPT}|${APPROVE_RETRY}) by ([^:]+)`, 'i').exec(row.notes.trim());
  return match ? match[1]!.trim() || null : null;
}

/** Whether an approval row only asked for another try (`--retry`) rather than accepting the phase. */
export function isRetryApproval(row: Pick<LogRow, 'notes'>): boolean {
  return row.notes.toLowerCase().startsWith(APPROVE_RETRY);
}

/** Whether a row's Notes say its human gate was left waiting for a person. */
export function leftWaiting(row: Pick<LogRow, 'notes'>): boolean {
  return row.notes.includes(GATE_WAITING);
}

/** `refused: <why>`: an action the engine would not carry out (out of scope, a skill's tool, a failed action again). */
export function refusedNotes(why: string): string {
  return `refused: ${why}`;
}

/** `drift: <why>`: the executor used a tool its skill does not allow. */
export function driftNotes(why: string): string {
  return `drift: ${why}`;
}

/** `pre-flight: <why>`: the pre-flight check blocked the action before it ran. */
export function preflightNotes(why: string): string {
  return `pre-flight: ${why}`;
}

/** The Notes of an action that started but whose row was never written (the run stopped). */
export function outcomeUnknownNotes(started: string | null): string {
  return `outcome unknown: the run stopped after starting this action (${started ?? 'start time not recorded'}); its effects are whatever the files now show`;
}

/** Rows whose Notes tell of a problem even when the row did not fail: refusals, drift, pre-flight, lost outcomes. */
export function notesTellOfProblem(row: Pick<LogRow, 'notes'>): boolean {
  return /\brefused\b|\bdrift\b|pre-flight:|outcome unknown/i.test(row.notes);
}

/**
 * The note for calls an executor answer carried beyond the one that ran: `dropped 2 extra call(s): write_file
 * out/b.md, run_command node scripts/x.mjs`. Only the first call of an answer is ever carried out.
 */
export function droppedCallsNotes(calls: string[]): string {
  return `dropped ${calls.length} extra call(s): ${calls.join(', ')}`;
}

/**
 * The Notes of a model's action: what the engine saw (`own`), the model's summary when it did not fail (the two kept
 * within 300 characters), then the calls it dropped (droppedCallsNotes), which are always kept whole.
 */
export function modelActionNotes(own: string, summary: string | null, dropped: string | null): string {
  const tail = dropped ? `; ${dropped}` : '';
  return `${summary ? `${own}: ${summary}`.slice(0, 300 - tail.length) : own}${tail}`;
}

/** The calls a row's Notes say were dropped (droppedCallsNotes); 0 when none were. */
export function droppedCallsOf(row: Pick<LogRow, 'notes'>): number {
  const match = /\bdropped (\d+) extra call\(s\)/.exec(row.notes);
  return match ? Number(match[1]) : 0;
}

/** A row's Notes cut to `max` characters, for a blocker or a learning that quotes them. */
export function notesExcerpt(row: Pick<LogRow, 'notes'>, max: number): string {
  return row.notes.slice(0, max);
}

/** The first clause of a row's Notes (up to `;` or `(`): what a learning quotes of an earlier failure. */
export function notesGist(row: Pick<LogRow, 'notes'>, max = 120): string {
  return row.notes.split(/[;(]/)[0]!.trim().slice(0, max);
}

// ---------------------------------------------------------------------------------------------------------------
// Blockers (state.blockers): the ones read back start with their phase and a marker.

export type BlockerKind = 'gate-waiting' | 'pre-flight' | 'other';

/** A human gate's blocker: `P3 gate: waiting for approval by Ana; check the outputs (...), then ...`. */
export function waitingBlocker(phaseId: string, owner: string | null, rest: string): string {
  return `${phaseId} ${GATE_WAITING}${owner ? ` by ${owner}` : ''}; ${rest}`;
}

/** What a human gate's blocker says when every step is done but the phase's Done when fails (decide.ts). */
export const CHECK_NOT_MET = 'is not met yet';

/** A pre-flight blocker: `P3 pre-flight: <why>`. */
export function preflightBlocker(phaseId: string, why: string): string {
  return `${phaseId} pre-flight: ${why}`;
}

/** What a blocker is, and the phase it names. */
export function parseBlocker(blocker: string): { kind: BlockerKind; phase: string | null } {
  const waiting = /^(P\d+[a-z]?) gate: waiting for approval/.exec(blocker);
  if (waiting) return { kind: 'gate-waiting', phase: waiting[1]! };
  const preflight = /^(P\d+[a-z]?) pre-flight: /.exec(blocker);
  if (preflight) return { kind: 'pre-flight', phase: preflight[1]! };
  return { kind: 'other', phase: /^(P\d+[a-z]?)[ .:]/.exec(blocker)?.[1] ?? null };
}

/**
 * The phase a blocker waits on: the one it starts with (`P3 gate: ...`, `P3.2 failed 3 times`, `P3: ...`), else the one
 * whose approval it asks for (`... then deepplan approve plans/p.md P3 --retry`); null for a blocker of the whole plan.
 */
export function blockerPhase(blocker: string): string | null {
  return parseBlocker(blocker).phase ?? /\bdeepplan approve .*? (P\d+[a-z]?)(?=$|[\s;,)])/.exec(blocker)?.[1] ?? null;
}

/** The human gate the blockers say waits for approval (`P1 gate: waiting for approval ...`), if any. */
export function waitingGateOf(blockers: readonly string[]): string | null {
  for (const blocker of blockers) {
    const parsed = parseBlocker(blocker);
    if (parsed.kind === 'gate-waiting') return parsed.phase;
  }
  return null;
}

/** Whether a blocker says the phase's gate waits (any wording after `gate: waiting`, as hand-written plans put it). */
export function blockerWaitsAtGate(blocker: string, phaseId: string): boolean {
  return blocker.startsWith(`${phaseId} gate: waiting`);
}

/** Whether a blocker is about the phase: it starts with the phase (`P3 ...`) or one of its steps (`P3.2 ...`). */
export function blockerNamesPhase(blocker: string, phaseId: string): boolean {
  return blocker.startsWith(`${phaseId} `) || blocker.startsWith(`${phaseId}.`);
}

// ---------------------------------------------------------------------------------------------------------------
// The in-flight record (state.in_flight): `P3.2 run x (started 2026-11-22T10:00:00Z, pid 4242)`

export function inFlightText(action: string, started: string, pid: number): string {
  return `${action} (started ${started}, pid ${pid})`;
}

/** The action an in-flight record names and when it started (null when the record does not say). */
export function parseInFlight(text: string): { action: string; started: string | null } {
  return { action: text.replace(/\s+\(started .*\)$/, ''), started: /\((started [^)]*)\)$/.exec(text)?.[1] ?? null };
}
