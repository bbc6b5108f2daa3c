import { describe, expect, it } from 'vitest';
import {
  actionLabel,
  approvalNotes,
  approverOf,
  blockerNamesPhase,
  blockerWaitsAtGate,
  droppedCallsNotes,
  droppedCallsOf,
  gateActionText,
  gateReviewNotes,
  gateVerdictOf,
  inFlightText,
  isCheckRow,
  isCriteriaRow,
  isRetryApproval,
  isReviewRow,
  leftWaiting,
  notesTellOfProblem,
  outcomeUnknownNotes,
  parseAction,
  parseBlocker,
  parseInFlight,
  preflightBlocker,
  preflightNotes,
  rowNotes,
  skillOfAction,
  waitingBlocker,
  waitingGateOf,
  completesStep,
  modelActionNotes,
} from '../src/plan/log-grammar.js';

/**
 * The log grammar writes every marker of an iteration-log row and reads it back. Each writer is checked against its
 * reader, and each reader against the exact wording earlier versions wrote (rows of plans already on disk).
 */

const row = (notes: string) => ({ notes });

describe('the log grammar: Action', () => {
  it('reads step, approve and gate references, with the gate kind', () => {
    expect(parseAction('P3.2 run node scripts/x.mjs')).toEqual({ text: 'P3.2', phase: 'P3', step: 2, kind: 'step', gate: null });
    expect(parseAction('P4a.1 /write-summary agent x')).toMatchObject({ phase: 'P4a', step: 1, kind: 'step' });
    expect(parseAction('P1 approve')).toEqual({ text: 'P1 approve', phase: 'P1', step: null, kind: 'approve', gate: null });
    expect(parseAction('P6 gate review')).toMatchObject({ kind: 'gate', gate: 'review' });
    expect(parseAction('P6 gate check')).toMatchObject({ kind: 'gate', gate: 'check' });
    expect(parseAction('P6 gate criteria')).toMatchObject({ kind: 'gate', gate: 'criteria' });
    // A gate's pre-flight blocker is logged under the bare `P6 gate`.
    expect(parseAction('P6 gate')).toMatchObject({ kind: 'gate', gate: null });
    expect(parseAction('run node x.mjs')).toBeNull();
    expect(parseAction('P6 gated')).toBeNull();
  });

  it('writes what it reads', () => {
    for (const kind of ['review', 'check', 'criteria'] as const) expect(parseAction(gateActionText('P2', kind))?.gate).toBe(kind);
    expect(gateActionText('P2', null)).toBe('P2 gate');
    expect(isCriteriaRow({ action: 'P7 gate criteria' })).toBe(true);
    expect(isCheckRow({ action: 'P7 gate check' })).toBe(true);
    expect(isCheckRow({ action: 'P7 gate review' })).toBe(false);
    expect(isReviewRow({ action: 'P7 gate review' })).toBe(true);
    // A step whose command mentions a gate is a step, not a gate row.
    expect(isCheckRow({ action: 'P7.1 run grep -r "gate criteria" docs' })).toBe(false);
    expect(actionLabel('P3.2 run node x.mjs')).toBe('P3.2');
  });

  it('reads a skill invocation only right after the step reference', () => {
    expect(skillOfAction('P6.1 /generate-outreach-email derick')).toEqual({ step: 1, skill: 'generate-outreach-email' });
    expect(skillOfAction('P6.1 run_command node /bin/x')).toBeNull();
  });
});

describe('the log grammar: Notes', () => {
  it('puts step done first, never on a gate row', () => {
    expect(rowNotes({ action: 'P1.1 run x', stepDone: true, notes: '1 file changed', checks: ['Done when passes'] })).toBe(
      'step done; 1 file changed; Done when passes',
    );
    expect(rowNotes({ action: 'P1 gate review', stepDone: true, notes: 'APPROVED round 1', checks: [] })).toBe('APPROVED round 1');
    expect(rowNotes({ action: 'P1.1 run x', stepDone: false, notes: '', checks: ['a'] })).toBe('a');
    // Only the Action's reference makes a gate row: a command that names a gate still completes its step.
    const notes = rowNotes({ action: 'P1.1 run grep " gate " docs/x.md', stepDone: true, notes: 'nothing changed', checks: [] });
    expect(completesStep({ notes })).toBe(true);
  });

  it('reads the gate verdicts it writes and the ones earlier versions wrote', () => {
    expect(gateVerdictOf(row(gateReviewNotes({ verdict: 'APPROVED', round: 2, model: 'openai/gpt-5.4', findings: [] })))).toBe('APPROVED');
    expect(gateVerdictOf(row(gateReviewNotes({ verdict: 'REVISE', round: 1, model: null, findings: ['a', 'b'] })))).toBe('REVISE');
    expect(gateVerdictOf(row('APPROVED round 1 by anthropic/claude-sonnet-5'))).toBe('APPROVED');
    expect(gateVerdictOf(row('REVISE round 2: drafts/a.html is empty'))).toBe('REVISE');
    expect(gateVerdictOf(row('step done; x'))).toBeNull();
  });

  it('reads approvals and approvers, old rows with no name included', () => {
    expect(approverOf(row(approvalNotes({ by: 'Dana Ruiz', note: 'reads well' })))).toBe('Dana Ruiz');
    expect(isRetryApproval(row(approvalNotes({ retry: true, by: 'Dana' })))).toBe(true);
    expect(isRetryApproval(row('Retry: fixed the path'))).toBe(true);
    expect(approverOf(row('approved: looks right'))).toBeNull();
    expect(approverOf(row(''))).toBeNull();
  });

  it('reads waiting gates, problems and dropped calls', () => {
    expect(leftWaiting(row('step done; 2 files changed; gate: waiting for approval'))).toBe(true);
    expect(notesTellOfProblem(row(preflightNotes('x is not installed')))).toBe(true);
    expect(notesTellOfProblem(row(outcomeUnknownNotes(null)))).toBe(true);
    expect(notesTellOfProblem(row('refused: outside the write scope'))).toBe(true);
    expect(notesTellOfProblem(row('step done; 1 file changed'))).toBe(false);
    expect(droppedCallsOf(row(`write_file a: done; ${droppedCallsNotes(['write_file b', 'run_command c'])}`))).toBe(2);
    expect(droppedCallsOf(row('step done'))).toBe(0);
    const dropped = droppedCallsNotes(['write_file b']);
    expect(modelActionNotes('wrote a.md', 'x'.repeat(400), dropped)).toBe(`${`wrote a.md: ${'x'.repeat(400)}`.slice(0, 300 - dropped.length - 2)}; ${dropped}`);
    expect(modelActionNotes('wrote a.md', null, null)).toBe('wrote a.md');
  });
});

describe('the log grammar: blockers and the in-flight record', () => {
  it('reads the waiting gate of a blocker, as written now and by hand', () => {
    const blocker = waitingBlocker('P3', 'Ana, account lead', 'check the outputs (drafts/**), then deepplan approve plans/p.md P3');
    expect(blocker).toBe('P3 gate: waiting for approval by Ana, account lead; check the outputs (drafts/**), then deepplan approve plans/p.md P3');
    expect(waitingGateOf(['other', blocker])).toBe('P3');
    expect(waitingGateOf(['P3 gate: waiting for approval; check'])).toBe('P3');
    expect(parseBlocker(preflightBlocker('P2', 'x is not installed'))).toEqual({ kind: 'pre-flight', phase: 'P2' });
    expect(parseBlocker('P2.1 failed 3 times')).toEqual({ kind: 'other', phase: 'P2' });
    expect(blockerWaitsAtGate('P1 gate: waiting for the deal owner', 'P1')).toBe(true);
    expect(blockerNamesPhase('P1.2 is refused: x', 'P1')).toBe(true);
    expect(blockerNamesPhase('P10 gate: x', 'P1')).toBe(false);
  });

  it('reads back the in-flight record it writes', () => {
    const text = inFlightText('P1.1 /fetch-notes "- Acme (renewed)"', '2026-11-22T10:00:00Z', 999);
    expect(parseInFlight(text)).toEqual({ action: 'P1.1 /fetch-notes "- Acme (renewed)"', started: 'started 2026-11-22T10:00:00Z, pid 999' });
    expect(parseInFlight('P1.1 run x')).toEqual({ action: 'P1.1 run x', started: null });
  });
});
