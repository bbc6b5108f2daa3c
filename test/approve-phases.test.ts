import { describe, expect, it } from 'vitest';
import { blockersLeft } from '../src/execute/approve.js';
import { blockerPhase } from '../src/plan/log-grammar.js';
import type { Plan } from '../src/plan/types.js';

/**
 * `deepplan approve <plan> <phase>` when several phases wait for a person at once (run --parallel, the matrix merge):
 * it answers the phase it names. test/waves-resume.test.ts runs it end to end; these are the rules, case by case.
 */

const plan = (blockers: string[], done: string[] = []): Plan =>
  ({
    meta: { state: { blockers } },
    phases: ['P1', 'P2', 'P3', 'P4'].map((id) => ({ id, status: done.includes(id) ? 'done' : 'pending' })),
  }) as unknown as Plan;

const P3_FAILED =
  'P3.1 failed 3 times (last: outcome unknown: ...); a scripted step has no alternative: fix the cause, then deepplan approve plans/w.md P3 --retry';
const P4_STALL =
  '7 iterations without progress (last: P4.1 run x: outcome unknown); look at the log, fix the cause, then deepplan approve plans/w.md P4 --retry';
const P2_CHECK = 'P2: every step ran but the Done when check fails (Done when exit 1); fix the cause, then deepplan approve plans/w.md P2 --retry';
const COST = '--max-cost $0.10 spent ($0.1200 by the phases run at once): 9 of 120 iterations used; last action P4.1 Write the notes';

describe('approve answers the phase it names', () => {
  it('reads the phase a blocker waits on: the one it starts with, else the one whose approval it asks for', () => {
    expect([P3_FAILED, P4_STALL, P2_CHECK, COST].map(blockerPhase)).toEqual(['P3', 'P4', 'P2', null]);
    expect(blockerPhase('P1 gate: waiting for approval by Ana; check the outputs (out/a.md), then deepplan approve plans/w.md P1 --by "<your name>"')).toBe(
      'P1',
    );
    expect(blockerPhase('every phase is done but success criteria fail: SC1 (exit 1); fix them, then deepplan approve plans/my plan.md P4 --retry')).toBe('P4');
  });

  it('leaves the blockers of other phases that are not done; a blocker of the whole plan goes with any approval', () => {
    expect(blockersLeft(plan([P3_FAILED, P4_STALL, COST]), 'P3')).toEqual([P4_STALL]);
    expect(blockersLeft(plan([P3_FAILED, P4_STALL]), 'P4')).toEqual([P3_FAILED]);
    expect(blockersLeft(plan([P2_CHECK, P3_FAILED]), 'P2')).toEqual([P3_FAILED]);
    expect(blockersLeft(plan([COST]), 'P3')).toEqual([]);
  });

  it('clears every blocker when none is the phase own (the plan stood at it), and ignores those of phases done since', () => {
    expect(blockersLeft(plan([P3_FAILED, P4_STALL]), 'P1')).toEqual([]);
    expect(blockersLeft(plan([P2_CHECK, P3_FAILED, P4_STALL], ['P2']), 'P3')).toEqual([P4_STALL]);
    expect(blockersLeft(plan([P2_CHECK, P4_STALL], ['P2']), 'P4')).toEqual([]);
  });
});
