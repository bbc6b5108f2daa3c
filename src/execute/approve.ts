import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import type { Config } from '../config/config.js';
import { approveActionText, blockerPhase, CHECK_NOT_MET, GATE_WAITING } from '../plan/log-grammar.js';
import { parsePlan } from '../plan/parse.js';
import { lockPlan, readPlanFile, runLockOf, unreadableReason, updatePlanFile } from '../plan/store.js';
import type { Phase, Plan } from '../plan/types.js';
import { appendLearning, appendLogRow, setPhaseStatus, setPlanStatus, setState } from '../plan/update.js';
import { EngineError } from './executors.js';
import { approvalNotes, approverName, isoSecond, rowTime } from './history.js';
import { currentPhase, describeNext, nextAction } from './next.js';

/**
 * `deepplan approve <plan> <phase>`: a person answers BLOCKED_NEED_HUMAN. The approval is a log row (`P1 approve`)
 * like any iteration, whose Notes name the person (`approved by Dana Ruiz: <note>`, history.ts approvalNotes). By
 * default it accepts the phase (a human gate passed, or a person did the step by hand); with `retry` it clears the
 * phase's blockers and lets the engine try the phase again (after the person fixed the cause). Blockers of other
 * phases stay (blockersLeft): the plan then still waits, at the next of them.
 */
export interface ApproveOptions {
  note?: string;
  retry?: boolean;
  /** Who approves (resolveApprover); the command line and the run dashboard always give one. */
  by?: string;
  now?: () => Date;
  lockWaitMs?: number;
}

export interface ApproveResult {
  plan: Plan;
  row: number;
  nextAction: string | null;
  /** Blockers of other phases the approval left: the plan still waits for a person (at state.phase). */
  waiting: string[];
  /**
   * The phase's Done when, when the run stopped at its human gate with the check failing and this approval accepts
   * the phase anyway: a success criterion that checks the same thing fails at the end unless its files say so.
   */
  unmet: { text: string; verify: string | null } | null;
}

/**
 * What an approver is told when the approval accepts a phase whose Done when was not met when the run stopped
 * (ApproveResult.unmet), for `deepplan approve` and the run dashboard alike.
 */
export function unmetNote(phaseId: string, unmet: NonNullable<ApproveResult['unmet']>): string {
  const check = `"${unmet.text}"${unmet.verify ? ` (verify \`${unmet.verify}\`)` : ''}`;
  return `${phaseId.toUpperCase()}'s Done when ${check} was not met when the run stopped; this approval accepts the phase as it is, and a success criterion that checks the same fails at the end unless the files say so`;
}

/**
 * The blockers an approval of `phaseId` leaves: those of other phases not done (blockerPhase). Several phases can wait
 * at once (run --parallel, the matrix merge): each is answered on its own, so one person's approval does not let
 * another phase's step be tried again. A blocker of the whole plan (a cost cap) goes with any approval; so does every
 * blocker when none is the phase's own (the plan stood at it: the approval answers what it waits for).
 */
export function blockersLeft(plan: Plan, phaseId: string): string[] {
  const blockers = plan.meta.state?.blockers ?? [];
  const open = new Set(plan.phases.filter((phase) => phase.status !== 'done').map((phase) => phase.id));
  const others = blockers.filter((blocker) => {
    const phase = blockerPhase(blocker);
    return phase !== null && phase !== phaseId && open.has(phase);
  });
  return others.length === blockers.length ? [] : others;
}

/**
 * The phase `phaseId` of a plan when a person may approve it now; else an EngineError that says why (no such phase,
 * the plan is complete, no log row left in the budget, or the phase is not waiting for a person). approvePhase checks
 * it under the run lock; a caller may check it first, before it asks the person for anything.
 */
export function waitingPhase(plan: Plan, planArgument: string, phaseId: string): Phase {
  const unreadable = unreadableReason(plan);
  if (unreadable) throw new EngineError(`${planArgument}: ${unreadable}`);
  const phase = plan.phases.find((candidate) => candidate.id.toLowerCase() === phaseId.toLowerCase());
  if (!phase) throw new EngineError(`${planArgument} has no phase ${phaseId} (phases: ${plan.phases.map((candidate) => candidate.id).join(', ')})`);
  if (plan.meta.status === 'complete') throw new EngineError(`${planArgument} is complete; there is nothing to approve`);
  const rows = plan.log?.rows.length ?? 0;
  const budget = plan.meta.budget?.max_iterations;
  if (budget !== undefined && rows + 1 > budget) {
    throw new EngineError(
      `the iteration budget is spent (${rows} of ${budget}); the approval is a log row too, so raise budget.max_iterations in ${planArgument} first`,
    );
  }
  const blockers = plan.meta.state?.blockers ?? [];
  const waiting =
    blockers.length > 0 &&
    (phase.status === 'blocked' || plan.meta.state?.phase === phase.id || blockers.some((blocker) => blockerPhase(blocker) === phase.id));
  if (!waiting) {
    const why = blockers.length === 0 ? 'the plan is not blocked' : `the plan is blocked at ${plan.meta.state?.phase ?? '?'}, not ${phase.id}`;
    throw new EngineError(`${phase.id} is not waiting for a person (${why}; its status is ${phase.status ?? 'pending'})`);
  }
  return phase;
}

export async function approvePhase(planArgument: string, phaseId: string, options: ApproveOptions = {}): Promise<ApproveResult> {
  const planPath = resolve(planArgument);
  const now = options.now ?? (() => new Date());
  // Approvals take turns with iterations of the same plan.
  const release = await lockPlan(runLockOf(planPath), options.lockWaitMs ?? 60_000);
  try {
    const plan = await readPlanFile(planPath);
    const phase = waitingPhase(plan, planArgument, phaseId);
    const stoppedOnCheck = (plan.meta.state?.blockers ?? []).some(
      (blocker) => blockerPhase(blocker) === phase.id && blocker.includes(GATE_WAITING) && blocker.includes(CHECK_NOT_MET),
    );
    const unmet = !options.retry && stoppedOnCheck && phase.doneWhen ? { text: phase.doneWhen.text, verify: phase.doneWhen.verify } : null;
    const note = options.note?.replace(/\s+/g, ' ').trim() ?? '';
    let by: string | null = null;
    if (options.by !== undefined) {
      const checked = approverName(options.by);
      if ('problem' in checked) throw new EngineError(checked.problem);
      by = checked.name;
    }
    const notes = approvalNotes({ retry: options.retry === true, by, note });
    let row = 0;
    let waiting: string[] = [];
    const updated = await updatePlanFile(
      planPath,
      (text, current) => {
        waiting = blockersLeft(current, phase.id);
        let edited = appendLogRow(text, {
          when: rowTime(current, now()),
          phase: phase.id,
          action: approveActionText(phase.id),
          result: 'ok',
          // The log ends with BLOCKED_NEED_HUMAN while the plan still waits for a person (another phase's blockers).
          signal: waiting.length > 0 ? 'BLOCKED_NEED_HUMAN' : 'CONTINUE',
          notes,
        });
        // One phase is active at most: a phase tried again while another still waits is pending until it runs.
        const held = waiting.length > 0 || current.phases.some((other) => other.id !== phase.id && other.status === 'active');
        edited = setPhaseStatus(edited, phase.id, !options.retry ? 'done' : held ? 'pending' : 'active');
        if (note) edited = appendLearning(edited, `${phase.id} (${options.retry ? 'retry' : 'approval'}): ${note}`);
        const status = waiting.length > 0 ? 'blocked' : 'executing';
        if (current.meta.status !== status) edited = setPlanStatus(edited, status);
        row = (current.log?.rows.length ?? 0) + 1;
        edited = setState(edited, { iteration: row, blockers: waiting, updated: isoSecond(now()) });
        const after = parsePlan(edited);
        if (waiting.length > 0) {
          // The plan stands at the phase that waits next (deepplan approve names it).
          const next = after.phases.find((candidate) => candidate.id === blockerPhase(waiting[0]!));
          return setState(edited, { phase: next?.id ?? currentPhase(after)?.id ?? phase.id, next_action: `Waiting for a person: ${waiting[0]}` });
        }
        return setState(edited, { phase: currentPhase(after)?.id ?? phase.id, next_action: describeNext(nextAction(after)) ?? null });
      },
      { expectedRevision: plan.meta.state!.revision },
    );
    return { plan: updated, row, nextAction: updated.meta.state?.next_action ?? null, waiting, unmet };
  } finally {
    await release();
  }
}

/**
 * `deepplan approve <plan>` with no phase: a person signs the plan off for execution (status: approved). The plan
 * must lint without errors, so a plan that needs a review (10+ phases or quality bar adversarial) needs its
 * APPROVED verdict first.
 */
export async function approvePlan(planArgument: string, options: { lockWaitMs?: number } = {}): Promise<Plan> {
  const planPath = resolve(planArgument);
  const { lintText } = await import('../lint/lint.js');
  // Like every writer, the approval takes turns with iterations: what it checks is what it writes over.
  const release = await lockPlan(runLockOf(planPath), options.lockWaitMs ?? 60_000);
  try {
    const plan = await readPlanFile(planPath);
    const unreadable = unreadableReason(plan);
    if (unreadable) throw new EngineError(`${planArgument}: ${unreadable}`);
    const status = plan.meta.status;
    if (status !== 'draft' && status !== 'in_review') {
      throw new EngineError(
        `${planArgument} is ${status ?? 'without a status'}; only a draft or in_review plan is approved for execution (to pass a gate, name the phase: deepplan approve ${planArgument} P1)`,
      );
    }
    const approved = setPlanStatus(plan.bom ? `\uFEFF${plan.text}` : plan.text, 'approved');
    const errors = lintText(approved, planPath).filter((finding) => finding.severity === 'error');
    if (errors.length > 0) {
      const first = errors[0]!;
      throw new EngineError(`${planArgument} cannot be approved: ${errors.length} lint error(s), first line ${first.line}: ${first.message} (${first.ruleId})`);
    }
    return await updatePlanFile(planPath, (text) => setPlanStatus(text, 'approved'), {
      expectedRevision: plan.meta.state!.revision,
      ...(options.lockWaitMs ? { lockWaitMs: options.lockWaitMs } : {}),
    });
  } finally {
    await release();
  }
}

/** Where the approver's name came from. */
export type ApproverSource = 'by' | 'config' | 'git';

/**
 * Who approves a human gate: `by` (--by), else `user.name` of deepplan.config.yaml, else `git config user.name` in
 * the repository; null when none is known (the caller asks the person, or refuses). A name given but unfit for the
 * log (approverName) is an EngineError that says where it came from.
 */
export function resolveApprover(options: { by?: string | undefined; config: Config; root: string }): { name: string; source: ApproverSource } | null {
  const candidates: Array<[ApproverSource, string | null | undefined, string]> = [
    ['by', options.by, '--by'],
    ['config', options.config.user?.name, 'user.name of deepplan.config.yaml'],
  ];
  for (const [source, raw, where] of candidates) {
    if (raw === undefined || raw === null) continue;
    const checked = approverName(raw);
    if ('problem' in checked) throw new EngineError(`${where}: ${checked.problem}`);
    return { name: checked.name, source };
  }
  const fromGit = gitUserName(options.root);
  if (fromGit === null) return null;
  const checked = approverName(fromGit);
  if ('problem' in checked) throw new EngineError(`git config user.name: ${checked.problem}; give the name with --by`);
  return { name: checked.name, source: 'git' };
}

/**
 * The approver a screen offers before it asks for a name (resolveApprover without --by): the name, or why the
 * configured one is unfit for the log (the person then types one instead, told why).
 */
export function defaultApprover(options: { config: Config; root: string }): { name: string | null; problem: string | null } {
  try {
    return { name: resolveApprover(options)?.name ?? null, problem: null };
  } catch (error) {
    if (!(error instanceof EngineError)) throw error;
    return { name: null, problem: error.message };
  }
}

/** `git config user.name` in `root`; null when git is missing, fails or has no name set. */
export function gitUserName(root: string): string | null {
  try {
    const name = execFileSync('git', ['config', 'user.name'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim();
    return name === '' ? null : name;
  } catch {
    return null;
  }
}
