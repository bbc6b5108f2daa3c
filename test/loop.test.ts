import { describe, expect, it } from 'vitest';
import type { IterationReport } from '../src/execute/iteration.js';
import { eventLine, LoopControl, type LoopEvent, reportOfPlan, runLoop } from '../src/execute/loop.js';
import type { Plan, Signal } from '../src/plan/types.js';

/**
 * The one loop (src/execute/loop.ts) with a scripted iteration instead of the engine: what ends it, what pauses it,
 * and how it waits at a human gate. test/execute.test.ts, test/run-dashboard-approve.test.tsx and test/hook.test.ts
 * drive it with the real engine.
 */

const planWith = (blockers: string[]): Plan => ({ meta: { status: 'executing', state: { blockers } }, log: { rows: [] }, phases: [] }) as unknown as Plan;

const report = (signal: Signal, blockers: string[] = []): IterationReport => ({
  signal,
  rows: [],
  blockers,
  nextAction: null,
  plan: planWith(blockers),
  changed: [],
  engineMs: 0,
  actionMs: 0,
  prompt: null,
});

/** An iterate that answers the signals in turn (the last one again when they run out), counting its calls. */
function scripted(...signals: Array<Signal | [Signal, string[]]>) {
  let calls = 0;
  const iterate = async () => {
    const next = signals[Math.min(calls, signals.length - 1)]!;
    calls++;
    return Array.isArray(next) ? report(next[0], next[1]) : report(next);
  };
  return { iterate, calls: () => calls };
}

const WAITING = 'P2 gate: waiting for approval; check the outputs, then deepplan approve plans/p.md P2';

describe('the one loop', () => {
  it('iterates while the signal is CONTINUE, and stops at the limit (once by default)', async () => {
    const done = scripted('CONTINUE', 'CONTINUE', 'TASK_COMPLETE');
    expect(await runLoop({ iterate: done.iterate, limit: 10 })).toMatchObject({ reason: 'signal', count: 3, gate: null });
    expect(done.calls()).toBe(3);
    const once = scripted('CONTINUE');
    expect(await runLoop({ iterate: once.iterate })).toMatchObject({ reason: 'limit', count: 1 });
    const limited = scripted('CONTINUE');
    const ended = await runLoop({ iterate: limited.iterate, limit: 4 });
    expect([ended.reason, ended.count, ended.last?.signal]).toEqual(['limit', 4, 'CONTINUE']);
  });

  it('without gates, a waiting human gate ends the loop like any BLOCKED_NEED_HUMAN', async () => {
    const blocked = scripted('CONTINUE', ['BLOCKED_NEED_HUMAN', [WAITING]]);
    expect(await runLoop({ iterate: blocked.iterate, limit: Number.POSITIVE_INFINITY })).toMatchObject({ reason: 'signal', count: 2, gate: null });
  });

  it('stops between iterations, and an aborted signal stops it before the first', async () => {
    const control = new LoopControl();
    const events: LoopEvent[] = [];
    const runs = scripted('CONTINUE');
    const ended = await runLoop({
      iterate: runs.iterate,
      limit: Number.POSITIVE_INFINITY,
      control,
      onEvent: (event) => {
        events.push(event);
        if (event.type === 'iteration' && event.count === 2) control.stop();
      },
    });
    expect([ended.reason, ended.count]).toEqual(['stopped', 2]);
    const aborted = new AbortController();
    aborted.abort();
    expect(await runLoop({ iterate: runs.iterate, limit: 5, control: LoopControl.from(aborted.signal) })).toMatchObject({
      reason: 'stopped',
      count: 0,
      last: null,
    });
  });

  it('waits while paused and goes on when resumed', async () => {
    const control = new LoopControl();
    control.togglePause();
    const runs = scripted('CONTINUE', 'TASK_COMPLETE');
    const running = runLoop({ iterate: runs.iterate, limit: 5, control });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(runs.calls()).toBe(0);
    control.togglePause();
    expect(await running).toMatchObject({ reason: 'signal', count: 2 });
  });

  it('with gates, waits at a human gate for an approval, refuses a name unfit for the log, then goes on', async () => {
    const control = new LoopControl();
    const approvals: string[] = [];
    const events: LoopEvent[] = [];
    const runs = scripted(['BLOCKED_NEED_HUMAN', [WAITING]], 'TASK_COMPLETE');
    const gates = {
      plan: planWith([]),
      approve: async (gate: string, by: string) => {
        approvals.push(`${gate} by ${by}`);
        return { plan: planWith([]), note: by === 'Dana Ruiz' ? "P2's Done when was not met" : null };
      },
    };
    const running = runLoop({ iterate: runs.iterate, limit: 10, control, gates, onEvent: (event) => events.push(event) });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(events.filter((event) => event.type === 'iteration').map((event) => event.type === 'iteration' && event.gate)).toEqual(['P2']);
    control.approve('Dana: Ruiz');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(approvals).toEqual([]);
    control.approve('Dana Ruiz');
    expect(await running).toMatchObject({ reason: 'signal', count: 2, gate: null });
    expect(approvals).toEqual(['P2 by Dana Ruiz']);
    expect(events.map(eventLine).filter(Boolean)).toEqual([
      "not approved: the approver's name may not hold a colon: Dana: Ruiz",
      "P2 approved by Dana Ruiz; note: P2's Done when was not met",
    ]);
  });

  it('with gates, a plan already waiting says so first, and a stop leaves the gate waiting', async () => {
    const control = new LoopControl();
    const events: LoopEvent[] = [];
    const runs = scripted('CONTINUE');
    const running = runLoop({
      iterate: runs.iterate,
      limit: 10,
      control,
      gates: { plan: planWith([WAITING]), approve: async () => ({ plan: planWith([]), note: null }) },
      onEvent: (event) => events.push(event),
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    control.stop();
    expect(await running).toMatchObject({ reason: 'stopped', count: 0, gate: 'P2' });
    expect(events).toEqual([{ type: 'gate', gate: 'P2' }]);
    expect(reportOfPlan(planWith([WAITING])).signal).toBe('BLOCKED_NEED_HUMAN');
  });

  it('ends with what `before` holds instead of iterating (the hook hands a model step to its session)', async () => {
    const runs = scripted('CONTINUE');
    let asked = 0;
    const ended = await runLoop({ iterate: runs.iterate, limit: Number.POSITIVE_INFINITY, before: async () => (++asked === 3 ? 'hand-out' : null) });
    expect([ended.reason, ended.held, ended.count]).toEqual(['held', 'hand-out', 2]);
  });
});
