import { actionNamesPhase, parseAction } from '../plan/log-grammar.js';
import type { Rule } from './rule.js';

export const SAME_ACTION_FAILURES = 3;
export const ITERATIONS_WITHOUT_PROGRESS = 5;

export const escapeHatch: Rule = {
  id: 'escape-hatch',
  severity: 'error',
  description:
    'The log honours the escape hatches: no 4th try of an action that failed 3 times (until a person approves the phase again), a stop after 5 iterations without progress or at the budget.',
  check(plan, _context, report) {
    const rows = plan.log?.rows ?? [];
    if (rows.length === 0) return;
    const failures = new Map<string, number>();
    let stalled = 0;
    let stallReported = false;
    rows.forEach((row, index) => {
      const action = row.action.trim();
      // An approval is a person stepping in: the phase's actions may be tried again.
      const reference = parseAction(action);
      if (reference?.kind === 'approve') {
        for (const key of failures.keys()) if (actionNamesPhase(key, reference.phase)) failures.delete(key);
      }
      const failed = failures.get(action) ?? 0;
      if (failed >= SAME_ACTION_FAILURES) {
        report(`log row ${index + 1} tries "${action}" again after it failed ${failed} times; the executor must try an alternative or stop`, {
          line: row.line,
        });
      }
      if (row.result === 'failed') failures.set(action, failed + 1);
      if (row.result === 'no-change' || row.result === 'failed') {
        stalled++;
        if (stalled >= ITERATIONS_WITHOUT_PROGRESS && row.signal !== 'BLOCKED_NEED_HUMAN' && !stallReported) {
          report(
            `log rows ${index + 2 - stalled} to ${index + 1} made no progress but row ${index + 1} signalled ${row.signal}; the 5th iteration without progress must be BLOCKED_NEED_HUMAN`,
            {
              line: row.line,
            },
          );
          stallReported = true;
        }
      } else {
        stalled = 0;
        stallReported = false;
      }
    });
    const max = plan.meta.budget?.max_iterations;
    if (max === undefined) return;
    if (rows.length > max) {
      report(`the log has ${rows.length} iterations; the budget allows ${max}`, { line: rows[max]!.line });
    } else if (rows.length === max) {
      const last = rows[rows.length - 1]!;
      if (last.signal === 'CONTINUE') {
        report(`the budget of ${max} iterations is spent but the last row signalled CONTINUE; it must be BLOCKED_NEED_HUMAN with a summary`, {
          line: last.line,
        });
      }
    }
  },
};
