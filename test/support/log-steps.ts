import type { LogRow } from '../../src/plan/types.js';

/**
 * What the kill and scale-out tests read from a log: which steps the rows completed. Read from the row text as
 * docs/plan-format.md defines it, on purpose not through src/plan/log-grammar.ts: the tests judge the engine's rows
 * with an oracle of their own.
 */

/** `P2.3 run node …` → `P2.3`; null for a row that is no step's. */
export function stepRef(row: LogRow): string | null {
  return /^(P\d+[a-z]?\.\d+)\s/.exec(row.action)?.[1] ?? null;
}

/** The step references of rows that completed a step, in log order (a row with no reference shows its action). */
export function doneSteps(rows: LogRow[]): string[] {
  return rows
    .filter((row) => (row.result === 'ok' || row.result === 'no-change') && row.notes.startsWith('step done'))
    .map((row) => stepRef(row) ?? row.action);
}

/**
 * The steps each phase completed since it last started over, in phase order: `approve --retry` makes the engine run
 * the phase from its first step again (next.ts), so only the rows after it count.
 */
export function liveDoneSteps(rows: LogRow[]): string[] {
  const byPhase = new Map<string, LogRow[]>();
  for (const row of rows) {
    const retry = /^(P\d+[a-z]?) approve$/.exec(row.action.trim());
    if (retry && row.notes.startsWith('retry')) byPhase.set(retry[1]!, []);
    else byPhase.set(row.phase, [...(byPhase.get(row.phase) ?? []), row]);
  }
  return [...byPhase.keys()].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1))).flatMap((phase) => doneSteps(byPhase.get(phase)!));
}

/** `P1.1` … for plans of `steps[i]` steps in phase P(i+1). */
export function allStepRefs(steps: number[]): string[] {
  return steps.flatMap((count, index) => Array.from({ length: count }, (_, step) => `P${index + 1}.${step + 1}`));
}
