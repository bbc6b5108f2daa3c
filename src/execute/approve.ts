import { resolve } from 'node:path';
import { parsePlan } from '../plan/parse.js';
import { lockPlan, readPlanFile, runLockOf, unreadableReason, updatePlanFile } from '../plan/store.js';
import type { Plan } from '../plan/types.js';
import { appendLearning, appendLogRow, setPhaseStatus, setPlanStatus, setState } from '../plan/update.js';
import { EngineError } from './executors.js';
import { APPROVE_RETRY, isoSecond, rowTime } from './history.js';
import { currentPhase, describeNext, nextAction } from './next.js';

/**
 * `deepplan approve <plan> <phase>`: a person answers BLOCKED_NEED_HUMAN. The approval is a log row (`P1 approve`)
 * like any iteration. By default it accepts the phase (a human gate passed, or a person did the step by hand);
 * with `retry` it clears the blockers and lets the engine try the phase again (after the person fixed the cause).
 */
export interface ApproveOptions {
  note?: string;
  retry?: boolean;
  now?: () => Date;
  lockWaitMs?: number;
}

export interface ApproveResult {
  plan: Plan;
  row: number;
  nextAction: string | null;
}


export async function approvePhase(planArgument: string, phaseId: string, options: ApproveOptions = {}): Promise<ApproveResult> {
  const planPath = resolve(planArgument);
  const now = options.now ?? (() => new Date());
  // Approvals take turns with iterations of the same plan.
  const release = await lockPlan(runLockOf(planPath), options.lockWaitMs ?? 60_000);
  try {
    const plan = await readPlanFile(planPath);
    const unreadable = unreadableReason(plan);
    if (unreadable) throw new EngineError(`${planArgument}: ${unreadable}`);
    const phase = plan.phases.find((candidate) => candidate.id.toLowerCase() === phaseId.toLowerCase());
    if (!phase) throw new EngineError(`${planArgument} has no phase ${phaseId} (phases: ${plan.phases.map((candidate) => candidate.id).join(', ')})`);
    if (plan.meta.status === 'complete') throw new EngineError(`${planArgument} is complete; there is nothing to approve`);
    const rows = plan.log?.rows.length ?? 0;
    const budget = plan.meta.budget?.max_iterations;
    if (budget !== undefined && rows + 1 > budget) {
      throw new EngineError(`the iteration budget is spent (${rows} of ${budget}); the approval is a log row too, so raise budget.max_iterations in ${planArgument} first`);
    }
    const blockers = plan.meta.state?.blockers ?? [];
    const waiting = blockers.length > 0 && (phase.status === 'blocked' || plan.meta.state?.phase === phase.id || blockers.some((blocker) => blocker.startsWith(`${phase.id} `) || blocker.startsWith(`${phase.id}.`)));
    if (!waiting) {
      const why = blockers.length === 0 ? 'the plan is not blocked' : `the plan is blocked at ${plan.meta.state?.phase ?? '?'}, not ${phase.id}`;
      throw new EngineError(`${phase.id} is not waiting for a person (${why}; its status is ${phase.status ?? 'pending'})`);
    }
    const note = options.note?.replace(/\s+/g, ' ').trim() ?? '';
    const notes = options.retry ? `${APPROVE_RETRY}${note ? `: ${note}` : ''}` : `approved${note ? `: ${note}` : ''}`;
    let row = 0;
    const updated = await updatePlanFile(
      planPath,
      (text, current) => {
        let edited = appendLogRow(text, { when: rowTime(current, now()), phase: phase.id, action: `${phase.id} approve`, result: 'ok', signal: 'CONTINUE', notes });
        edited = setPhaseStatus(edited, phase.id, options.retry ? 'active' : 'done');
        if (note) edited = appendLearning(edited, `${phase.id} (${options.retry ? 'retry' : 'approval'}): ${note}`);
        if (current.meta.status !== 'executing') edited = setPlanStatus(edited, 'executing');
        row = (current.log?.rows.length ?? 0) + 1;
        edited = setState(edited, { iteration: row, blockers: [], updated: isoSecond(now()) });
        const after = parsePlan(edited);
        return setState(edited, { phase: currentPhase(after)?.id ?? phase.id, next_action: describeNext(nextAction(after)) ?? null });
      },
      { expectedRevision: plan.meta.state!.revision },
    );
    return { plan: updated, row, nextAction: updated.meta.state?.next_action ?? null };
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
      throw new EngineError(`${planArgument} is ${status ?? 'without a status'}; only a draft or in_review plan is approved for execution (to pass a gate, name the phase: deepplan approve ${planArgument} P1)`);
    }
    const approved = setPlanStatus(plan.bom ? `\uFEFF${plan.text}` : plan.text, 'approved');
    const errors = lintText(approved, planPath).filter((finding) => finding.severity === 'error');
    if (errors.length > 0) {
      const first = errors[0]!;
      throw new EngineError(`${planArgument} cannot be approved: ${errors.length} lint error(s), first line ${first.line}: ${first.message} (${first.ruleId})`);
    }
    return await updatePlanFile(planPath, (text) => setPlanStatus(text, 'approved'), { expectedRevision: plan.meta.state!.revision, ...(options.lockWaitMs ? { lockWaitMs: options.lockWaitMs } : {}) });
  } finally {
    await release();
  }
}
