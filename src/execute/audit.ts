import type { Config } from '../config/config.js';
import { escapeTableCell } from '../plan/text.js';
import type { LogRow, Phase, Plan } from '../plan/types.js';
import type { RuleContext } from '../rules/rule.js';
import { executionContext, type ExecutionContext } from './executors.js';
import {
  approverOf,
  completesStep,
  GATE_WAITING,
  gateVerdictOf,
  isCriteriaRow,
  isRetryApproval,
  isReviewRow,
  leftWaiting,
  notesTellOfProblem,
  blockerWaitsAtGate,
} from '../plan/log-grammar.js';
import { acceptsPhase, completedSteps, isApproval, mappedSkills, referenceOf, skillInvocations, succeeded } from './history.js';

/**
 * `deepplan audit`: Required vs Delivered for each phase and step of a plan, with the evidence a person would cite in
 * a post-mortem: the log rows that completed each step, the verify commands run again now (read-only), the outputs
 * on disk, the skills the log shows invoked, the gate's outcome, the failures and refusals, the iterations spent.
 * This module holds the logic and the Markdown rendering; it prints nothing.
 *
 * The JSON form (`deepplan audit --format json`) is the `AuditReport` below, stable within `version: 1`:
 *
 * {
 *   "version": 1,
 *   "plan": { "path", "id", "title", "status" },            // status: the front matter's (complete, blocked, ...)
 *   "delivered": boolean,                                    // every phase delivered and every criterion met
 *   "summary": {
 *     "phases":   { "delivered", "total" },
 *     "steps":    { "done", "total" },                       // steps with a completing row (or accepted by a person)
 *     "criteria": { "met", "total" }
 *   },
 *   "iterations": { "used", "budget" (number | null), "byResult": { "ok", "no-change", "failed", "blocked" } },
 *   "blockers": string[],                                    // state.blockers of the plan
 *   "phases": [{
 *     "id", "title", "status",                               // status: pending | active | done | blocked
 *     "delivered": boolean,
 *     "missing": string[],                                   // why it is not delivered, one reason each; [] when delivered
 *     "doneWhen": { "text", "verify" (string | null), "now": "passes" | "fails" | "no-verify", "detail" (string | null) },
 *     "steps": [{ "index", "kind" ("run" | "skill" | "model"), "text", "state": "done" | "accepted" | "not-done",
 *                 "evidence": Evidence | null, "attempts", "failures" }],
 *     "outputs": [{ "pattern", "exists": boolean, "files": number }],
 *     "skills": [{ "name", "mapped": boolean, "invoked": boolean, "row": number | null }],  // mapped false: drift
 *     "gate": { "kind": "none" | "human" | "review",
 *               "outcome": "none" | "approved" | "waiting" | "revise" | "not-reached",
 *               "evidence": Evidence | null,                 // the approval row, or the last review row
 *               "rounds": number,                            // review rounds (gate review rows with a verdict)
 *               "verdict": "APPROVED" | "REVISE" | null,     // the last review verdict
 *               "approver": string | null },                 // who passed it, as the approval row names them;
 *                                                            // null for a model's APPROVED or a row naming no one
 *     "acceptedBy": Evidence | null,                         // an approval row that accepted the phase
 *     "approvals": [Evidence & { "by": string | null }],     // every `P<n> approve` row (accepting or --retry) and
 *                                                            // who approved (null: a row that names no one)
 *     "problems": Evidence[],                                // failed and blocked rows, refusals, drift
 *     "iterations": number,                                  // log rows of the phase (the final criteria check excluded)
 *     "rows": { "first": number | null, "last": number | null }
 *   }],
 *   "criteria": [{ "id" (string | null), "text", "ticked": boolean, "verify" (string | null),
 *                  "now": "passes" | "fails" | "no-verify", "detail" (string | null), "met": boolean }],
 *   "criteriaChecks": Evidence[]                             // the `P<n> gate criteria` rows
 * }
 *
 * Evidence is { "row": number | null, "when", "action", "result", "signal", "notes" }.
 */

export interface Evidence {
  row: number | null;
  when: string;
  action: string;
  result: string;
  signal: string;
  notes: string;
}

export type VerifyNow = 'passes' | 'fails' | 'no-verify';

export interface StepAudit {
  index: number;
  kind: 'run' | 'skill' | 'model';
  text: string;
  /** `accepted`: no completing row, but a person accepted the phase (`deepplan approve`). */
  state: 'done' | 'accepted' | 'not-done';
  /** The last row that completed the step. */
  evidence: Evidence | null;
  attempts: number;
  failures: number;
}

export interface GateAudit {
  kind: 'none' | 'human' | 'review';
  outcome: 'none' | 'approved' | 'waiting' | 'revise' | 'not-reached';
  evidence: Evidence | null;
  rounds: number;
  verdict: 'APPROVED' | 'REVISE' | null;
  /** Who passed the gate, as the approval row names them (history.ts approverOf); null for a model's APPROVED. */
  approver: string | null;
}

/** A `P<n> approve` row and the person it names (null: a row written before approvals named one). */
export interface ApprovalEvidence extends Evidence {
  by: string | null;
}

export interface PhaseAudit {
  id: string;
  title: string;
  status: string;
  delivered: boolean;
  missing: string[];
  doneWhen: { text: string | null; verify: string | null; now: VerifyNow; detail: string | null };
  steps: StepAudit[];
  outputs: Array<{ pattern: string; exists: boolean; files: number }>;
  skills: Array<{ name: string; mapped: boolean; invoked: boolean; row: number | null }>;
  gate: GateAudit;
  acceptedBy: Evidence | null;
  approvals: ApprovalEvidence[];
  problems: Evidence[];
  iterations: number;
  rows: { first: number | null; last: number | null };
}

export interface CriterionAudit {
  id: string | null;
  text: string;
  ticked: boolean;
  verify: string | null;
  now: VerifyNow;
  detail: string | null;
  met: boolean;
}

export interface AuditReport {
  version: 1;
  plan: { path: string; id: string | null; title: string | null; status: string | null };
  delivered: boolean;
  summary: { phases: { delivered: number; total: number }; steps: { done: number; total: number }; criteria: { met: number; total: number } };
  iterations: { used: number; budget: number | null; byResult: Record<'ok' | 'no-change' | 'failed' | 'blocked', number> };
  blockers: string[];
  phases: PhaseAudit[];
  criteria: CriterionAudit[];
  criteriaChecks: Evidence[];
}

/** Runs one verify command now (read-only); the audit runs each distinct command once. */
export type VerifyRunner = (command: string) => Promise<{ passed: boolean; detail: string }>;

export interface AuditOptions {
  /** The plan's path as shown in the report. */
  path: string;
  verify: VerifyRunner;
  /** Expands an output pattern to the repository's files that match it (a rule context's `expand`). */
  expand: RuleContext['expand'];
}

/** An execution context for the verify commands alone: no model, no skills, the plan's scope. */
export function verifyContext(
  plan: Plan,
  options: { root: string; planPath: string; config: Config; sandbox: boolean; env?: Record<string, string | undefined> },
): ExecutionContext {
  return executionContext(plan, { ...options, skills: { skills: new Map(), invalid: [], searched: [] }, models: null });
}

const isCriteriaCheck = (row: LogRow) => isCriteriaRow(row);
const isReview = (row: LogRow) => isReviewRow(row);

function evidenceOf(row: LogRow): Evidence {
  return { row: row.number, when: row.when, action: row.action, result: row.result, signal: row.signal, notes: row.notes };
}

export async function auditPlan(plan: Plan, options: AuditOptions): Promise<AuditReport> {
  const rows = plan.log?.rows ?? [];
  const verified = new Map<string, Promise<{ passed: boolean; detail: string }>>();
  const verifyNow = async (command: string | null): Promise<{ now: VerifyNow; detail: string | null }> => {
    if (!command) return { now: 'no-verify', detail: null };
    let pending = verified.get(command);
    if (!pending) {
      pending = options.verify(command);
      verified.set(command, pending);
    }
    const result = await pending;
    return { now: result.passed ? 'passes' : 'fails', detail: result.detail };
  };

  const phases: PhaseAudit[] = [];
  for (const phase of plan.phases) phases.push(await auditPhase(plan, phase, rows, options, verifyNow));

  const criteria: CriterionAudit[] = [];
  for (const criterion of plan.criteria ?? []) {
    const { now, detail } = await verifyNow(criterion.verify);
    const ticked = criterion.checked === true;
    criteria.push({ id: criterion.id, text: criterion.text, ticked, verify: criterion.verify, now, detail, met: criterion.verify ? now === 'passes' : ticked });
  }

  const byResult = { ok: 0, 'no-change': 0, failed: 0, blocked: 0 };
  for (const row of rows) if (row.result in byResult) byResult[row.result as keyof typeof byResult]++;
  const steps = phases.flatMap((phase) => phase.steps);
  const delivered = phases.every((phase) => phase.delivered) && criteria.every((criterion) => criterion.met);
  return {
    version: 1,
    plan: { path: options.path, id: plan.meta.id ?? null, title: plan.meta.title ?? null, status: plan.meta.status ?? null },
    delivered,
    summary: {
      phases: { delivered: phases.filter((phase) => phase.delivered).length, total: phases.length },
      steps: { done: steps.filter((step) => step.state !== 'not-done').length, total: steps.length },
      criteria: { met: criteria.filter((criterion) => criterion.met).length, total: criteria.length },
    },
    iterations: { used: rows.length, budget: plan.meta.budget?.max_iterations ?? null, byResult },
    blockers: plan.meta.state?.blockers ?? [],
    phases,
    criteria,
    criteriaChecks: rows.filter(isCriteriaCheck).map(evidenceOf),
  };
}

async function auditPhase(
  plan: Plan,
  phase: Phase,
  allRows: LogRow[],
  options: AuditOptions,
  verifyNow: (command: string | null) => Promise<{ now: VerifyNow; detail: string | null }>,
): Promise<PhaseAudit> {
  const own = allRows.filter((row) => row.phase === phase.id && !isCriteriaCheck(row));
  const approvals = own.filter((row) => isApproval(row, phase.id));
  const accepting = [...approvals].reverse().find(acceptsPhase) ?? null;
  const done = completedSteps(phase, allRows);
  const missing: string[] = [];

  const steps: StepAudit[] = phase.steps.map((step) => {
    const attempts = own.filter((row) => {
      const reference = referenceOf(row);
      return reference?.kind === 'step' && reference.step === step.index;
    });
    const completing = [...attempts].reverse().find((row) => succeeded(row) && completesStep(row)) ?? null;
    const state = done.has(step.index) ? 'done' : accepting ? 'accepted' : 'not-done';
    if (state === 'not-done') missing.push(`step ${step.index} has no completing row`);
    return {
      index: step.index,
      kind: step.kind,
      text: step.text,
      state,
      evidence: state === 'done' && completing ? evidenceOf(completing) : null,
      attempts: attempts.length,
      failures: attempts.filter((row) => row.result === 'failed' || row.result === 'blocked').length,
    };
  });

  const check = await verifyNow(phase.doneWhen?.verify ?? null);
  if (check.now === 'fails') missing.push(`Done when verify fails now (${check.detail ?? 'failed'})`);
  else if (check.now === 'no-verify' && phase.doneWhen === null) missing.push('no Done when');

  const outputs = phase.outputs.map((pattern) => {
    const files = options.expand(pattern).length;
    if (files === 0) missing.push(`output ${pattern} does not exist`);
    return { pattern, exists: files > 0, files };
  });

  const mapped = mappedSkills(plan, phase.id);
  const invocations = skillInvocations(phase, own);
  const skills = [
    ...mapped.map((name) => ({ name, mapped: true, invoked: invocations.has(name), row: invocations.get(name)?.number ?? null })),
    ...[...invocations].filter(([name]) => !mapped.includes(name)).map(([name, row]) => ({ name, mapped: false, invoked: true, row: row.number })),
  ];
  for (const skill of skills) {
    if (skill.mapped && !skill.invoked && !accepting) missing.push(`skill /${skill.name} was never invoked`);
  }

  const gate = gateOf(phase, own, accepting, steps, plan);
  if (gate.outcome === 'waiting') missing.push(GATE_WAITING);
  else if (gate.outcome === 'revise') missing.push(`gate: the reviewer asked for changes (round ${gate.rounds})`);
  else if (gate.outcome === 'not-reached') missing.push('gate: not reached');

  const status = phase.status ?? 'pending';
  if (status !== 'done') missing.unshift(`status is ${status}`);

  return {
    id: phase.id,
    title: phase.title,
    status,
    delivered: missing.length === 0,
    missing,
    doneWhen: { text: phase.doneWhen?.text ?? null, verify: phase.doneWhen?.verify ?? null, now: check.now, detail: check.detail },
    steps,
    outputs,
    skills,
    gate,
    acceptedBy: accepting ? evidenceOf(accepting) : null,
    approvals: approvals.map((row) => ({ ...evidenceOf(row), by: approverOf(row) })),
    problems: own.filter((row) => row.result === 'failed' || row.result === 'blocked' || notesTellOfProblem(row)).map(evidenceOf),
    iterations: own.length,
    rows: { first: own[0]?.number ?? null, last: own[own.length - 1]?.number ?? null },
  };
}

function gateOf(phase: Phase, own: LogRow[], accepting: LogRow | null, steps: StepAudit[], plan: Plan): GateAudit {
  const reviews = own.filter((row) => isReview(row) && row.result !== 'failed' && gateVerdictOf(row) !== null);
  const last = reviews[reviews.length - 1] ?? null;
  const verdict: GateAudit['verdict'] = last ? gateVerdictOf(last) : null;
  const kind: GateAudit['kind'] = phase.gate === 'human' || phase.gate === 'review' ? phase.gate : 'none';
  const gate = (outcome: GateAudit['outcome'], row: LogRow | null): GateAudit => ({
    kind,
    outcome,
    evidence: row ? evidenceOf(row) : null,
    rounds: reviews.length,
    verdict,
    approver: outcome === 'approved' && row !== null && isApproval(row) ? approverOf(row) : null,
  });
  if (kind === 'none') return gate('none', null);
  if (kind === 'review') {
    if (verdict === 'APPROVED') return gate('approved', last);
    if (accepting) return gate('approved', accepting);
    if (verdict === 'REVISE') return gate('revise', last);
    return gate('not-reached', null);
  }
  if (accepting) return gate('approved', accepting);
  const waitingRow = [...own].reverse().find(leftWaiting) ?? null;
  const blocked = (plan.meta.state?.blockers ?? []).some((blocker) => blockerWaitsAtGate(blocker, phase.id));
  if (blocked || waitingRow || (steps.length > 0 && steps.every((step) => step.state === 'done'))) return gate('waiting', waitingRow);
  return gate('not-reached', null);
}

// ---------------------------------------------------------------------------------------------------------------
// Markdown: a heading, a summary line, a table of the phases, Required vs Delivered per phase, the criteria.

const YES = '✅';
const NO = '❌';
const WAIT = '⏳';

/** Plain text for a table cell: pipes escaped, line breaks folded, HTML kept from rendering. */
export function cell(text: string): string {
  return escapeTableCell(text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'));
}

/** A code span for a table cell, whatever backticks and pipes the text holds. */
export function code(text: string): string {
  const flat = text.replace(/\r?\n|\r/g, ' ').trim();
  if (flat === '') return '';
  const longest = Math.max(0, ...[...flat.matchAll(/`+/g)].map((match) => match[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return escapeTableCell(`${fence}${pad}${flat}${pad}${fence}`);
}

function clip(text: string, max = 160): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function table(header: string[], rows: string[][]): string[] {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.join(' | ')} |`)];
}

function rowRef(evidence: Evidence): string {
  return `row ${evidence.row ?? '?'}`;
}

function evidenceCell(evidence: Evidence, withNotes = false): string {
  const parts = [`${rowRef(evidence)} · ${evidence.result} · ${evidence.when}`];
  if (withNotes && evidence.notes) parts.push(cell(clip(evidence.notes)));
  return parts.join(' · ');
}

function verifyCell(now: VerifyNow, detail: string | null): string {
  if (now === 'passes') return `${YES} passes now`;
  if (now === 'fails') return `${NO} fails now${detail ? ` (${cell(clip(detail, 100))})` : ''}`;
  return '— no verify';
}

function gateCell(gate: GateAudit): string {
  switch (gate.outcome) {
    case 'none':
      return '—';
    case 'approved':
      if (gate.kind === 'review' && gate.verdict === 'APPROVED') return `${YES} APPROVED (${gate.rounds} round${gate.rounds === 1 ? '' : 's'})`;
      return `${YES} approved${gate.approver ? ` by ${cell(gate.approver)}` : ''}`;
    case 'waiting':
      return `${WAIT} waiting for approval`;
    case 'revise':
      return `${NO} REVISE (${gate.rounds} round${gate.rounds === 1 ? '' : 's'})`;
    case 'not-reached':
      return `${NO} not reached`;
  }
}

/** Who an approval row names, for a cell: the name, or "a person" for a row that names no one. */
function whoCell(approval: Evidence | null): string {
  const name = approval ? approverOf(approval) : null;
  return name ? cell(name) : 'a person';
}

function stepLabel(state: StepAudit['state'], acceptedBy: Evidence | null): string {
  return state === 'done' ? `${YES} done` : state === 'accepted' ? `${YES} accepted by ${whoCell(acceptedBy)}` : `${NO} not done`;
}

/** One phase's section of the audit: what it required, what the log and the files show was delivered, the evidence. */
function phaseSection(phase: PhaseAudit): string[] {
  const verdict = phase.delivered ? `${YES} delivered` : `${NO} not delivered: ${cell(phase.missing.join('; '))}`;
  const lines = [`### ${phase.id}. ${cell(phase.title)}: ${verdict}`, ''];
  const rows: string[][] = [];
  for (const step of phase.steps) {
    const tries = step.attempts > 1 || step.failures > 0 ? ` (${step.attempts} attempt${step.attempts === 1 ? '' : 's'}, ${step.failures} failed)` : '';
    const evidence = step.evidence
      ? evidenceCell(step.evidence)
      : step.state === 'accepted' && phase.acceptedBy
        ? `accepted at ${rowRef(phase.acceptedBy)}`
        : 'no completing row';
    rows.push([`Step ${step.index}: ${code(clip(step.text, 120))}`, `${stepLabel(step.state, phase.acceptedBy)}${tries}`, evidence]);
  }
  const done = phase.doneWhen;
  rows.push([
    `Done when: ${cell(clip(done.text ?? '(none)', 120))}${done.verify ? ` · verify ${code(done.verify)}` : ''}`,
    verifyCell(done.now, done.detail),
    done.now === 'no-verify' ? 'judged by the log only' : 'run now, read-only',
  ]);
  for (const output of phase.outputs) {
    rows.push([`Output ${code(output.pattern)}`, output.exists ? `${YES} exists` : `${NO} missing`, `${output.files} file${output.files === 1 ? '' : 's'}`]);
  }
  for (const skill of phase.skills) {
    const required = skill.mapped ? `Skill ${code(`/${skill.name}`)}` : `Unmapped skill ${code(`/${skill.name}`)} (drift)`;
    const delivered = skill.invoked ? `${YES} invoked` : phase.acceptedBy ? `${NO} never invoked (phase accepted by a person)` : `${NO} never invoked`;
    rows.push([required, delivered, skill.row !== null ? `row ${skill.row}` : '']);
  }
  if (phase.gate.kind !== 'none') {
    const evidence = phase.gate.evidence ? evidenceCell(phase.gate.evidence, true) : '';
    rows.push([`Gate: ${phase.gate.kind}`, gateCell(phase.gate), evidence]);
  } else if (phase.acceptedBy) {
    rows.push([`Accepted by ${whoCell(phase.acceptedBy)}`, `${YES} approved`, evidenceCell(phase.acceptedBy, true)]);
  }
  for (const approval of phase.approvals) {
    if (approval === phase.acceptedBy || approval.row === phase.gate.evidence?.row || approval.row === phase.acceptedBy?.row) continue;
    const word = isRetryApproval(approval) ? 'retry' : 'approved';
    rows.push(['Approval', `${word}${approval.by ? ` by ${cell(approval.by)}` : ''}`, evidenceCell(approval, true)]);
  }
  for (const problem of phase.problems) {
    rows.push([`Problem: ${code(clip(problem.action, 100))}`, `${NO} ${cell(problem.result)}`, evidenceCell(problem, true)]);
  }
  const span =
    phase.rows.first === null ? 'no rows' : phase.rows.first === phase.rows.last ? `row ${phase.rows.first}` : `rows ${phase.rows.first}–${phase.rows.last}`;
  rows.push(['Status', cell(phase.status), `${phase.iterations} iteration${phase.iterations === 1 ? '' : 's'} · ${span}`]);
  return [...lines, ...table(['Required', 'Delivered', 'Evidence'], rows), ''];
}

/** `graph`: the plan's phases as a ```mermaid block (`mermaidBlock`), shown under the phases table. */
export function renderAuditMarkdown(report: AuditReport, options: { graph?: string | null } = {}): string {
  const lines: string[] = [];
  const title = report.plan.title ?? report.plan.id ?? report.plan.path;
  lines.push(`## Audit: ${cell(title)}`, '');
  lines.push(`${code(report.plan.path)} · plan ${code(report.plan.id ?? '?')} · status **${cell(report.plan.status ?? '?')}**`, '');
  const { summary, iterations } = report;
  const results = Object.entries(iterations.byResult)
    .map(([result, count]) => `${count} ${result}`)
    .join(', ');
  lines.push(
    `**${report.delivered ? `${YES} Delivered` : `${NO} Not delivered`}**: ${summary.phases.delivered}/${summary.phases.total} phases, ` +
      `${summary.steps.done}/${summary.steps.total} steps, ${summary.criteria.met}/${summary.criteria.total} success criteria · ` +
      `${iterations.used} of ${iterations.budget ?? '?'} iterations (${results}) · ` +
      `blockers: ${report.blockers.length === 0 ? 'none' : report.blockers.length}`,
    '',
  );

  lines.push('### Phases', '');
  lines.push(
    ...table(
      ['Phase', 'Status', 'Steps', 'Done when', 'Outputs', 'Skills', 'Gate', 'Iterations', 'Delivered'],
      report.phases.map((phase) => [
        `${phase.id}. ${cell(phase.title)}`,
        cell(phase.status),
        `${phase.steps.filter((step) => step.state !== 'not-done').length}/${phase.steps.length}`,
        verifyCell(phase.doneWhen.now, null),
        `${phase.outputs.filter((output) => output.exists).length}/${phase.outputs.length}`,
        `${phase.skills.filter((skill) => skill.mapped && skill.invoked).length}/${phase.skills.filter((skill) => skill.mapped).length}`,
        gateCell(phase.gate),
        String(phase.iterations),
        phase.delivered ? YES : NO,
      ]),
    ),
    '',
  );
  if (options.graph) lines.push(options.graph.trimEnd(), '');

  for (const phase of report.phases) lines.push(...phaseSection(phase));

  if (report.criteria.length > 0) {
    lines.push('### Success criteria', '');
    const last = report.criteriaChecks[report.criteriaChecks.length - 1];
    if (last) lines.push(`Last checked by the engine at ${rowRef(last)} (${cell(last.result)}, ${last.when}).`, '');
    lines.push(
      ...table(
        ['Criterion', 'Ticked', 'Verify', 'Met'],
        report.criteria.map((criterion) => [
          `${criterion.id ? `${criterion.id}: ` : ''}${cell(clip(criterion.text, 140))}${criterion.verify ? ` · verify ${code(criterion.verify)}` : ''}`,
          criterion.ticked ? YES : NO,
          verifyCell(criterion.now, criterion.detail),
          criterion.met ? YES : NO,
        ]),
      ),
      '',
    );
  }

  if (report.blockers.length > 0) {
    lines.push('### Blockers', '');
    for (const blocker of report.blockers) lines.push(`- ${cell(blocker)}`);
    lines.push('');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
