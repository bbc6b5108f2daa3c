import { parseAction } from '../plan/log-grammar.js';
import { LOG_HEADER } from '../plan/parse.js';
import type { Rule } from './rule.js';

export const LOG_RESULTS = ['ok', 'no-change', 'failed', 'blocked'] as const;
export const SIGNALS = ['CONTINUE', 'TASK_COMPLETE', 'BLOCKED_NEED_HUMAN'] as const;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

export const iterationLog: Rule = {
  id: 'iteration-log',
  severity: 'error',
  description: 'The iteration log is the fixed 7-column table, numbered from 1 without gaps, in time order, with valid values.',
  check(plan, _context, report) {
    const log = plan.log;
    if (!log) return;
    if (log.header === null) {
      report('the `## Iteration log` section has no table; start it with the header row `| # | When | Phase | Action | Result | Signal | Notes |`', {
        line: log.headingLine,
      });
      return;
    }
    const expected = LOG_HEADER.map((cell) => cell.toLowerCase());
    if (log.header.length !== expected.length || log.header.some((cell, i) => cell.toLowerCase() !== expected[i])) {
      report(`the iteration log header must be | ${LOG_HEADER.join(' | ')} |`, { line: log.headerLine ?? log.headingLine });
    }
    for (const problem of log.problems) report(problem.message, { line: problem.line });
    const phaseIds = new Set(plan.phases.map((phase) => phase.id));
    let previousTime: number | null = null;
    let completedAt: number | null = null;
    log.rows.forEach((row, index) => {
      const where = { line: row.line };
      if (row.number !== index + 1) report(`log row ${index + 1} is numbered "${row.cells[0] ?? ''}"; rows count from 1 without gaps`, where);
      if (!ISO_UTC.test(row.when)) {
        report(`log row ${index + 1}: When "${row.when}" is not an ISO 8601 UTC time (2026-11-20T10:02:11Z)`, where);
      } else {
        const time = Date.parse(row.when);
        if (Number.isNaN(time)) report(`log row ${index + 1}: When "${row.when}" is not a real time`, where);
        else if (previousTime !== null && time < previousTime) report(`log row ${index + 1} is earlier than the row above`, where);
        else previousTime = time;
      }
      if (phaseIds.size > 0 && !phaseIds.has(row.phase)) report(`log row ${index + 1}: phase "${row.phase}" is not a phase of this plan`, where);
      const reference = parseAction(row.action);
      if (!reference) {
        report(`log row ${index + 1}: Action must start with a step reference (P3.2, P1 approve, P6 gate)`, where);
      } else if (reference.phase !== row.phase) {
        report(`log row ${index + 1}: Action ${reference.text} does not belong to phase ${row.phase}`, where);
      }
      if (!(LOG_RESULTS as readonly string[]).includes(row.result)) {
        report(`log row ${index + 1}: Result "${row.result}" is not one of ${LOG_RESULTS.join(', ')}`, where);
      }
      if (!(SIGNALS as readonly string[]).includes(row.signal)) {
        report(`log row ${index + 1}: Signal "${row.signal}" is not one of ${SIGNALS.join(', ')}`, where);
      }
      if (completedAt !== null) report(`log row ${index + 1} follows TASK_COMPLETE on row ${completedAt}`, where);
      if (row.signal === 'TASK_COMPLETE' && completedAt === null) completedAt = index + 1;
    });
  },
};
