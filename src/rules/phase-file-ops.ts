import type { Phase } from '../plan/types.js';
import type { Rule, RuleContext } from './rule.js';

export const FILE_OPS_WARN = 10;
export const FILE_OPS_BLOCK = 20;

/** The distinct files some paths or globs name; a pattern that matches nothing yet stands for one file. */
export function touchedFiles(patterns: string[], context: Pick<RuleContext, 'expand'>): Set<string> {
  const files = new Set<string>();
  for (const pattern of patterns) {
    const matched = context.expand(pattern);
    if (matched.length === 0) files.add(`\0${pattern}`);
    for (const file of matched) files.add(file);
  }
  return files;
}

/** Distinct files matched by a phase's Inputs and Outputs (PLAN_FORMAT.md 2.3). */
export function countFileOperations(phase: Pick<Phase, 'inputs' | 'outputs'>, context: Pick<RuleContext, 'expand'>): number {
  return touchedFiles([...phase.inputs, ...phase.outputs], context).size;
}

export const phaseFileOps: Rule = {
  id: 'phase-file-ops',
  severity: 'warning',
  description: 'A phase touches at most 10 files (more: split it by entity); more than 20 is an error the executor blocks on.',
  check(plan, context, report) {
    for (const phase of plan.phases) {
      if (phase.malformedHeading) continue;
      const count = countFileOperations(phase, context);
      const line = phase.heading.start.line;
      if (count > FILE_OPS_BLOCK) {
        report(`${phase.id} touches ${count} files; more than ${FILE_OPS_BLOCK} is blocked by pre-flight (split it by entity)`, {
          line,
          severity: 'error',
        });
      } else if (count > FILE_OPS_WARN) {
        report(`${phase.id} touches ${count} files; more than ${FILE_OPS_WARN} should be split by entity`, { line });
      }
    }
  },
};
